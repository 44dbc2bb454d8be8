//! The OS keychain half of a (repo, env): service `tools.vsync`, account `<repo>/<env>`, value the
//! 44-character key text, stored the way upstream (Bun.secrets) stores it on each OS so a key
//! written by either tool is found by the other ([`naming`]).
//!
//! Layout: [`logic`] holds everything that is the same on every OS (duplicates, replace-all,
//! error mapping) over the four-call [`logic::ItemStore`] trait; each platform store is a thin
//! implementation of it:
//! - Linux: the Secret Service over D-Bus ([`secret_service`]), or the kernel session keyring when
//!   chosen explicitly with `VSYNC_KEYCHAIN=keyutils` ([`keyutils`]): never a silent fallback, and
//!   never a plaintext file;
//! - macOS: the login Keychain, Windows: the Credential Manager, both through `keyring-core`
//!   ([`core_store`]).
//!
//! Every store call blocks, so the async functions here run it on tokio's blocking pool.

mod backend;
pub mod core_store;
mod error;
#[cfg(target_os = "linux")]
mod keyutils;
pub mod logic;
pub mod naming;
#[cfg(target_os = "linux")]
mod secret_service;

use zeroize::Zeroizing;

pub use backend::Backend;
pub use error::KeychainError;
pub use naming::{SERVICE, account, pending_account};

/// A store opened for one operation, whatever its item handle.
trait Keychain {
    fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>, KeychainError>;
    fn set(&self, account: &str, secret: &str) -> Result<(), KeychainError>;
    fn delete(&self, account: &str) -> Result<(), KeychainError>;
}

impl<S: logic::ItemStore> Keychain for S {
    fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>, KeychainError> {
        logic::read(self, account)
    }
    fn set(&self, account: &str, secret: &str) -> Result<(), KeychainError> {
        logic::write(self, account, secret)
    }
    fn delete(&self, account: &str) -> Result<(), KeychainError> {
        logic::remove_all(self, account)
    }
}

/// Connect to `backend`. Blocking.
fn open(backend: Backend) -> Result<Box<dyn Keychain>, KeychainError> {
    match backend {
        #[cfg(target_os = "linux")]
        Backend::SecretService => Ok(Box::new(secret_service::SecretServiceStore::connect()?)),
        #[cfg(target_os = "linux")]
        Backend::Keyutils => Ok(Box::new(keyutils::KeyutilsStore::open()?)),
        #[cfg(target_os = "macos")]
        Backend::MacosKeychain => Ok(Box::new(core_store::macos()?)),
        #[cfg(windows)]
        Backend::WindowsCredentialManager => Ok(Box::new(core_store::windows()?)),
        #[allow(unreachable_patterns)]
        other => Err(KeychainError::NotOnThisOs { backend: other }),
    }
}

/// Read the key text stored for `account`; `Ok(None)` when there is none. Several items that
/// disagree are an error ([`KeychainError::Duplicates`]), never a guess.
pub async fn get(
    backend: Backend,
    account: &str,
) -> Result<Option<Zeroizing<String>>, KeychainError> {
    let account = account.to_owned();
    run_blocking(move || open(backend)?.get(&account)).await
}

/// Store the key text for `account`, replacing every item that answered for it before (ours,
/// upstream's, older vsync's).
pub async fn set(backend: Backend, account: &str, secret: &str) -> Result<(), KeychainError> {
    let account = account.to_owned();
    let secret = Zeroizing::new(secret.to_owned());
    run_blocking(move || open(backend)?.set(&account, &secret)).await
}

/// Delete every item for `account`; deleting a missing entry succeeds.
pub async fn delete(backend: Backend, account: &str) -> Result<(), KeychainError> {
    let account = account.to_owned();
    run_blocking(move || open(backend)?.delete(&account)).await
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KeychainError> + Send + 'static,
) -> Result<T, KeychainError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| KeychainError::Worker {
            detail: e.to_string(),
        })?
}
