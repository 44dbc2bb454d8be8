//! vsync's wire formats and key derivation. Pure and synchronous: no I/O, no async.
//!
//! | Job | Where |
//! |---|---|
//! | Derive a key from password text + salt text (PBKDF2-HMAC-SHA256, 600 000) | [`kdf::DerivedKey`] |
//! | The keychain value, passphrases, secret text | [`secret`] |
//! | Salts, IVs, random bytes | [`random`] |
//! | AES-256-GCM envelope `RQE1` | [`rqe1`] |
//! | Pointer seal `RQEM0001` | [`rqem0001`] |
//! | A whole `versions/<ts>.enc` object | [`bundle`] |
//! | `.share` files (`SLS1`, ExportPayload v2) | [`sls1`] |
//! | `.keytree` files (`VKT1`) | [`vkt1`] |
//! | The `vsync-cfg-v1:` runtime blob | [`cfg_blob`] |
//! | Errors and their canonical class names | [`CryptoError`] |
//!
//! Opening an object always runs the cheap structural check before the expensive KDF:
//!
//! ```
//! use vsync_crypto::{bundle, kdf::DerivedKey, rqe1};
//! # let key = DerivedKey::derive_with_iterations("key text", "salt text", 1);
//! # let object = bundle::seal(&key, "20260523-114201", b"PK...").unwrap();
//! rqe1::check_envelope(&object)?; // wrong magic or truncated: no KDF spent
//! # let _ = |k: &str, s: &str| DerivedKey::derive(k, s);
//! // let key = DerivedKey::derive(vault_key.expose(), &config_salt);
//! let zip = bundle::open(&key, &object, "20260523-114201")?;
//! assert_eq!(&zip[..], b"PK...");
//! # Ok::<(), vsync_crypto::CryptoError>(())
//! ```
//!
//! No function panics on any input. Key material and plaintext live in zeroizing buffers, and
//! every `Debug` of a secret prints a redaction.
#![forbid(unsafe_code)]
#![deny(missing_docs, rustdoc::broken_intra_doc_links)]

mod b64;
mod buf;
mod frame;

pub mod bundle;
pub mod cfg_blob;
pub mod error;
pub mod kdf;
pub mod random;
pub mod rqe1;
pub mod rqem0001;
pub mod secret;
pub mod sls1;
mod unknown_fields;
pub mod vkt1;

pub use error::CryptoError;
pub use unknown_fields::UnknownFields;
