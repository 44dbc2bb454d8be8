//! Read a vsync vault at application start: one pull, then memory only.
//!
//! The runtime reads exactly what `vsync push` writes (docs/decisions.md §2): the config blob
//! (`vsync runtime-token`) names the bucket and the `<repo>/<env>/` prefix; the passphrase is the
//! keychain value text (`vsync key show <env>`). Opening follows `latest` →
//! `versions/<ts>.enc` → RQE1 → RQEM0001 seal check → zip; keys come from `.env.<env>`, every
//! other file is an asset.
//!
//! | Job | Where |
//! |---|---|
//! | Open from `VSYNC_CONFIG` / `VSYNC_PASSPHRASE` (or their `_FILE` forms) | [`Vault::open`], [`Vault::open_blocking`] |
//! | Open from two strings | [`Vault::open_with`], [`Vault::open_with_blocking`] |
//! | Defaults, a simulated environment, another transport | [`OpenOptions`], [`EnvLookup`], [`Fetcher`] |
//! | A value, with the fallback chain vault → env → defaults | [`Vault::env`] (alias `get_env`), [`Vault::has`], [`Vault::source`] |
//! | The vault's own value only | [`Vault::vault_env`] |
//! | Files in the vault (certs, JSON keys) | [`Vault::asset_bytes`] (alias `get_as_content`), [`Vault::asset_path`] |
//! | Is there something newer? | [`Vault::generation`], [`Vault::remote_generation`] |
//! | Refuse a rolled-back `latest` | [`OpenOptions::min_ts`], [`MIN_TS_VAR`], the token's `minTs` |
//! | What went wrong | [`Error`] and [`Error::class`] |
//!
//! ```no_run
//! # async fn boot() -> Result<(), vsync_runtime::Error> {
//! let vault = vsync_runtime::Vault::open().await?; // VSYNC_CONFIG + VSYNC_PASSPHRASE
//! let db = vault.env("DATABASE_URL").expect("DATABASE_URL is required");
//! let tls_key = vault.asset_path("tls/server.key").expect("materialise the key");
//! println!("opened {vault}"); // <vsync:redacted gen=0 env=prod>
//! # let _ = (db, tls_key); Ok(()) }
//! ```
//!
//! Pull-once: two round trips and one key derivation at open, nothing afterwards (no refresh, no
//! cache, no background task). Restart the process to pick up a new version. Every failure to open is an
//! error; the library never falls back to environment variables alone.
//!
//! The handle never prints a value: `Debug`, `Display` and `Serialize` give
//! `<vsync:redacted gen=N env=E>`. What the two-input bootstrap does and does not protect
//! against is in the crate README ("trust ceiling").
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod assets;
mod blocking;
mod bootstrap;
mod error;
mod fetch;
mod floor;
mod lookup;
mod open;
mod remote;
mod store;
mod vault;

pub use bootstrap::{CONFIG_FILE_VAR, CONFIG_VAR, PASSPHRASE_FILE_VAR, PASSPHRASE_VAR};
pub use error::{Error, Unreachable};
pub use fetch::{FetchError, Fetcher, MemoryFetcher};
pub use floor::MIN_TS_VAR;
pub use lookup::{EmptyEnv, EnvLookup, ProcessEnv, Source};
pub use open::OpenOptions;
pub use vault::Vault;
pub use vsync_vault::zip_bundle::ZipLimits;

/// Re-exported so implementors of [`Fetcher`] need no extra dependency.
pub use async_trait::async_trait;
pub use bytes::Bytes;
