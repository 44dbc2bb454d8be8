//! The OS keychain half of a (repo, env): service `tools.vsync`, account `<repo>/<env>`, value the
//! 44-character key text.
//!
//! Linux: the Secret Service (gnome-keyring, KWallet…) over D-Bus, items carrying the attributes
//! `service` and `account` so `secret-tool lookup service tools.vsync account <repo>/<env>` finds
//! them. Where no Secret Service runs, the kernel keyring is an *explicit* choice
//! (`VSYNC_KEYCHAIN=keyutils`): never a silent fallback, and never a plaintext file.

use zeroize::Zeroizing;

/// The keychain service name shared with upstream.
pub const SERVICE: &str = "tools.vsync";

/// Which keychain backend to talk to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The freedesktop Secret Service on the session bus.
    SecretService,
    /// The Linux kernel session keyring (keyutils).
    Keyutils,
}

impl Backend {
    /// The backend chosen by `VSYNC_KEYCHAIN` (default: the Secret Service).
    pub fn from_env() -> Result<Self, KeychainError> {
        match std::env::var("VSYNC_KEYCHAIN")
            .ok()
            .as_deref()
            .map(str::trim)
        {
            None | Some("") | Some("secret-service") | Some("secretservice") => {
                Ok(Backend::SecretService)
            }
            Some("keyutils") => Ok(Backend::Keyutils),
            Some(other) => Err(KeychainError::UnknownBackend {
                name: other.to_owned(),
            }),
        }
    }

    /// A human name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Backend::SecretService => "Secret Service (D-Bus)",
            Backend::Keyutils => "kernel keyring (keyutils)",
        }
    }
}

/// Failures talking to the keychain. Never carries the secret.
#[derive(Debug, thiserror::Error)]
pub enum KeychainError {
    /// No Secret Service answers on the session bus.
    #[error("no Secret Service is reachable on the session D-Bus ({detail})")]
    SecretServiceUnavailable {
        /// What the D-Bus layer said.
        detail: String,
    },
    /// The Secret Service refused (locked collection, dismissed prompt…).
    #[error("the Secret Service refused the request ({detail})")]
    SecretServiceRefused {
        /// What the D-Bus layer said.
        detail: String,
    },
    /// The kernel keyring failed.
    #[error("the kernel keyring failed ({detail})")]
    Keyutils {
        /// What the kernel said.
        detail: String,
    },
    /// `VSYNC_KEYCHAIN` names no backend we know.
    #[error("VSYNC_KEYCHAIN={name} is not a keychain backend (use secret-service or keyutils)")]
    UnknownBackend {
        /// The value given.
        name: String,
    },
    /// The stored value is not UTF-8 text.
    #[error("the keychain entry for {account} is not text")]
    NotText {
        /// The account.
        account: String,
    },
    /// This OS has no backend compiled in.
    #[error("no keychain backend is available on this OS in this build")]
    Unsupported,
}

impl KeychainError {
    /// The next step for the user.
    pub fn hint(&self) -> String {
        match self {
            KeychainError::SecretServiceUnavailable { .. } | KeychainError::SecretServiceRefused { .. } => {
                "start and unlock a Secret Service (gnome-keyring-daemon --unlock --components=secrets, inside a D-Bus session), \
                 or choose the kernel keyring explicitly with VSYNC_KEYCHAIN=keyutils; in CI use keyless mode (VSYNC_CONFIG + VSYNC_PASSPHRASE)"
                    .to_owned()
            }
            KeychainError::Keyutils { .. } => {
                "the process needs a session keyring: run under `keyctl session` (package keyutils)".to_owned()
            }
            KeychainError::UnknownBackend { .. } => "unset VSYNC_KEYCHAIN or set it to secret-service or keyutils".to_owned(),
            KeychainError::NotText { .. } => "re-import the key with `vsync import`".to_owned(),
            KeychainError::Unsupported => "use keyless mode (VSYNC_CONFIG + VSYNC_PASSPHRASE)".to_owned(),
        }
    }
}

/// The keychain account of a (repo, env): `<repo>/<env>` (env not lower-cased).
pub fn account(repo: &str, env: &str) -> String {
    format!("{repo}/{env}")
}

/// Read the key text stored for `account`; `Ok(None)` when there is none.
pub async fn get(
    backend: Backend,
    account: &str,
) -> Result<Option<Zeroizing<String>>, KeychainError> {
    let raw = match backend {
        Backend::SecretService => secret_service_impl::get(account).await?,
        Backend::Keyutils => {
            let account = account.to_owned();
            run_blocking(move || keyutils_impl::get(&account)).await?
        }
    };
    match raw {
        None => Ok(None),
        Some(bytes) => match String::from_utf8(bytes.to_vec()) {
            Ok(s) => Ok(Some(Zeroizing::new(s))),
            Err(e) => {
                let mut v = e.into_bytes();
                zeroize::Zeroize::zeroize(&mut v);
                Err(KeychainError::NotText {
                    account: account.to_owned(),
                })
            }
        },
    }
}

/// Store (create or replace) the key text for `account`.
pub async fn set(backend: Backend, account: &str, secret: &str) -> Result<(), KeychainError> {
    match backend {
        Backend::SecretService => secret_service_impl::set(account, secret).await,
        Backend::Keyutils => {
            let account = account.to_owned();
            let secret = Zeroizing::new(secret.to_owned());
            run_blocking(move || keyutils_impl::set(&account, &secret)).await
        }
    }
}

/// Delete the entry for `account`; deleting a missing entry succeeds.
pub async fn delete(backend: Backend, account: &str) -> Result<(), KeychainError> {
    match backend {
        Backend::SecretService => secret_service_impl::delete(account).await,
        Backend::Keyutils => {
            let account = account.to_owned();
            run_blocking(move || keyutils_impl::delete(&account)).await
        }
    }
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, KeychainError> + Send + 'static,
) -> Result<T, KeychainError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| KeychainError::Keyutils {
            detail: format!("worker failed: {e}"),
        })?
}

#[cfg(target_os = "linux")]
mod secret_service_impl {
    use std::collections::HashMap;

    use secret_service::{EncryptionType, Error, SecretService};
    use zeroize::Zeroizing;

    use super::{KeychainError, SERVICE};

    fn map(e: Error) -> KeychainError {
        match e {
            Error::Unavailable | Error::Zbus(_) | Error::ZbusFdo(_) => {
                KeychainError::SecretServiceUnavailable {
                    detail: e.to_string(),
                }
            }
            other => KeychainError::SecretServiceRefused {
                detail: other.to_string(),
            },
        }
    }

    async fn connect() -> Result<SecretService<'static>, KeychainError> {
        if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none()
            && std::env::var_os("XDG_RUNTIME_DIR").is_none()
        {
            return Err(KeychainError::SecretServiceUnavailable {
                detail: "no session bus: DBUS_SESSION_BUS_ADDRESS is not set".to_owned(),
            });
        }
        SecretService::connect(EncryptionType::Dh)
            .await
            .map_err(map)
    }

    // Looked up by attributes only (no schema filter), so items written by upstream are found.
    fn lookup_attrs(account: &str) -> HashMap<&str, &str> {
        HashMap::from([("service", SERVICE), ("account", account)])
    }

    pub(super) async fn get(account: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeychainError> {
        let ss = connect().await?;
        let found = ss.search_items(lookup_attrs(account)).await.map_err(map)?;
        let item = match (found.unlocked.first(), found.locked.first()) {
            (Some(item), _) => item,
            (None, Some(item)) => {
                item.unlock().await.map_err(map)?;
                item
            }
            (None, None) => return Ok(None),
        };
        Ok(Some(Zeroizing::new(item.get_secret().await.map_err(map)?)))
    }

    pub(super) async fn set(account: &str, secret: &str) -> Result<(), KeychainError> {
        let ss = connect().await?;
        let collection = ss.get_default_collection().await.map_err(map)?;
        collection.ensure_unlocked().await.map_err(map)?;
        // `username` too, so stores that key on it (keyring-rs) see the same item.
        let attrs = HashMap::from([
            ("service", SERVICE),
            ("account", account),
            ("username", account),
        ]);
        let label = format!("vsync key for {account}");
        collection
            .create_item(&label, attrs, secret.as_bytes(), true, "text/plain")
            .await
            .map_err(map)?;
        Ok(())
    }

    pub(super) async fn delete(account: &str) -> Result<(), KeychainError> {
        let ss = connect().await?;
        let found = ss.search_items(lookup_attrs(account)).await.map_err(map)?;
        for item in found.unlocked.iter().chain(found.locked.iter()) {
            item.delete().await.map_err(map)?;
        }
        Ok(())
    }
}

#[cfg(target_os = "linux")]
mod keyutils_impl {
    use linux_keyutils::{KeyError, KeyRing, KeyRingIdentifier};
    use zeroize::Zeroizing;

    use super::{KeychainError, SERVICE};

    fn map(e: KeyError) -> KeychainError {
        KeychainError::Keyutils {
            detail: format!("{e:?}"),
        }
    }

    fn description(account: &str) -> String {
        format!("{SERVICE}:{account}")
    }

    fn session() -> Result<KeyRing, KeychainError> {
        KeyRing::from_special_id(KeyRingIdentifier::Session, false).map_err(map)
    }

    pub(super) fn get(account: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeychainError> {
        match session()?.search(&description(account)) {
            Ok(key) => Ok(Some(Zeroizing::new(key.read_to_vec().map_err(map)?))),
            Err(KeyError::KeyDoesNotExist) => Ok(None),
            Err(e) => Err(map(e)),
        }
    }

    pub(super) fn set(account: &str, secret: &str) -> Result<(), KeychainError> {
        session()?
            .add_key(&description(account), secret.as_bytes())
            .map_err(map)?;
        Ok(())
    }

    pub(super) fn delete(account: &str) -> Result<(), KeychainError> {
        let ring = session()?;
        match ring.search(&description(account)) {
            Ok(key) => key.invalidate().map_err(map),
            Err(KeyError::KeyDoesNotExist) => Ok(()),
            Err(e) => Err(map(e)),
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod secret_service_impl {
    use zeroize::Zeroizing;

    use super::KeychainError;

    pub(super) async fn get(_account: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeychainError> {
        Err(KeychainError::Unsupported)
    }
    pub(super) async fn set(_account: &str, _secret: &str) -> Result<(), KeychainError> {
        Err(KeychainError::Unsupported)
    }
    pub(super) async fn delete(_account: &str) -> Result<(), KeychainError> {
        Err(KeychainError::Unsupported)
    }
}

#[cfg(not(target_os = "linux"))]
mod keyutils_impl {
    use zeroize::Zeroizing;

    use super::KeychainError;

    pub(super) fn get(_account: &str) -> Result<Option<Zeroizing<Vec<u8>>>, KeychainError> {
        Err(KeychainError::Unsupported)
    }
    pub(super) fn set(_account: &str, _secret: &str) -> Result<(), KeychainError> {
        Err(KeychainError::Unsupported)
    }
    pub(super) fn delete(_account: &str) -> Result<(), KeychainError> {
        Err(KeychainError::Unsupported)
    }
}
