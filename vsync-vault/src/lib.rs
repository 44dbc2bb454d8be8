//! What a vault is, shared by the CLI and the runtime so both read the same bytes.
//!
//! | module | what it holds |
//! |---|---|
//! | [`ts`] | `BUNDLE_TS` / `ISO_TS` formatting and parsing |
//! | [`envfile`] | the `.env.<env>` parser (docs/formats.md §5.4) |
//! | [`walk`] | the vault walk (docs/formats.md §5.2) |
//! | [`zip_bundle`] | build, list, read and safely extract the bundle zip (docs/formats.md §4) |
//! | [`identity`] | repo identity: normalize, remote URL, `.vsync` pin, resolution (docs/formats.md §13) |
//! | [`layout`] | object keys under `<repo>/<env>/` (docs/formats.md §11.3) |
//! | [`ledger`] | the ledger and the dirty check (docs/formats.md §9.6) |
//! | [`freshness`] | the one read path for `latest`: the rollback floor every reader applies |
//! | [`fsutil`] | atomic private writes (temp + rename, files 0600, folders 0700) for every local file |
//! | [`highwater`] | this machine's high-water mark, in a file upstream does not rewrite |
//! | [`audit`] | `audit.csv` rows, meta cell, reader, conditional append (docs/formats.md §12) |
//! | [`store`] | [`store::Bucket`]: `file://`, `s3://`, `gs://`, `az://` with create-only and compare-and-swap |
//! | [`vault_folder`] | the one rule for where the vault folder may be (`files.vaultFolder`) |
//! | [`limits`] | the bundle size limits, shared by push (before upload) and every reader |
//! | [`names`] | the env-name rule and its length cap |
//! | [`display`] | escaping bucket-controlled text before it reaches a terminal |
//! | [`remote`] | [`remote::Remote`]: `latest`, versions, publish, manifest; [`remote::pull_bundle`] |
//!
//! The push path: [`walk::walk`] → [`zip_bundle::build`] → [`remote::seal_bundle`] →
//! [`remote::Remote::publish`] → [`ledger::Ledger::write`] → [`audit::append`].
//! The pull path: [`remote::pull_bundle`] → [`zip_bundle::extract_vault`] into a staging
//! directory → swap → ledger → audit.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod audit;
pub mod display;
pub mod envfile;
pub mod error;
pub mod freshness;
pub mod fsutil;
pub mod highwater;
pub mod identity;
mod js_whitespace;
pub mod layout;
pub mod ledger;
pub mod limits;
pub mod names;
pub mod remote;
pub mod store;
pub mod ts;
pub mod vault_folder;
pub mod walk;
pub mod zip_bundle;
mod zip_write;

pub use error::{Category, Result, StoreError, VaultError};
pub use layout::Prefix;
pub use remote::{Pointer, Remote, pull_bundle};
pub use store::cloud;
pub use store::{Bucket, Expected, Fetched, StoreSpec};
