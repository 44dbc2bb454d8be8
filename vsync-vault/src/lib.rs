//! What a vault is, shared by the CLI and the runtime so both read the same bytes.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod envfile;
pub mod error;
pub mod identity;
pub mod ts;
pub mod walk;
pub mod zip_bundle;

pub use error::{Category, Result, StoreError, VaultError};
