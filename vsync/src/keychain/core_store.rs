//! The macOS Keychain and the Windows Credential Manager, through `keyring-core` and its native
//! store crates. Both stores name an item by one unique key (service + account on macOS,
//! TargetName on Windows), so there is at most one item per account and the handle is the account.
//!
//! This adapter is generic over any `keyring-core` store and is unit-tested on Linux with
//! keyring-core's in-memory sample store; only the two constructors at the bottom are
//! platform code, compiled on macOS and Windows by the release workflow.

use std::collections::HashMap;
use std::sync::Arc;

use keyring_core::{CredentialStore, Entry, Error};
use zeroize::Zeroizing;

use super::logic::ItemStore;
use super::naming::{self, SERVICE};
use super::{Backend, KeychainError};

/// How an account becomes a `keyring-core` entry in a given store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Identity {
    /// `build(SERVICE, account)`: a macOS generic password with service `tools.vsync` and
    /// account `<repo>/<env>`.
    ServiceAccount,
    /// A Windows generic credential with TargetName `tools.vsync/<account>`, UserName the
    /// account, persisted on the local machine (`CRED_PERSIST_LOCAL_MACHINE`), as upstream
    /// writes it.
    WindowsTarget,
}

/// A `keyring-core` store seen as an [`ItemStore`].
pub struct CoreStore {
    store: Arc<CredentialStore>,
    backend: Backend,
    identity: Identity,
}

impl CoreStore {
    /// Wrap `store`, naming items the `identity` way.
    pub fn new(store: Arc<CredentialStore>, backend: Backend, identity: Identity) -> Self {
        Self {
            store,
            backend,
            identity,
        }
    }

    fn entry(&self, account: &str) -> Result<Entry, KeychainError> {
        let built = match self.identity {
            Identity::ServiceAccount => self.store.build(SERVICE, account, None),
            Identity::WindowsTarget => {
                let target = naming::windows_target(account);
                let modifiers =
                    HashMap::from([("target", target.as_str()), ("persistence", "Local")]);
                self.store.build(SERVICE, account, Some(&modifiers))
            }
        };
        built.map_err(|e| self.map(e, account))
    }

    fn map(&self, e: Error, account: &str) -> KeychainError {
        let detail = match e {
            Error::Ambiguous(items) => {
                return KeychainError::Duplicates {
                    backend: self.backend,
                    account: account.to_owned(),
                    count: items.len(),
                };
            }
            // These two carry the stored bytes: never format them.
            Error::BadEncoding(_) | Error::BadDataFormat(..) => {
                return KeychainError::NotText {
                    account: account.to_owned(),
                };
            }
            other => other.to_string(),
        };
        KeychainError::Platform {
            backend: self.backend,
            detail,
        }
    }
}

impl ItemStore for CoreStore {
    /// The account: it names the one item.
    type Handle = String;

    fn backend(&self) -> Backend {
        self.backend
    }

    fn find(&self, account: &str) -> Result<Vec<String>, KeychainError> {
        match self.entry(account)?.get_credential() {
            Ok(_) => Ok(vec![account.to_owned()]),
            Err(Error::NoEntry) => Ok(Vec::new()),
            Err(e) => Err(self.map(e, account)),
        }
    }

    fn read(&self, account: &String) -> Result<Zeroizing<Vec<u8>>, KeychainError> {
        let entry = self.entry(account)?;
        entry
            .get_secret()
            .map(Zeroizing::new)
            .map_err(|e| self.map(e, account))
    }

    fn create(&self, account: &str, secret: &[u8]) -> Result<String, KeychainError> {
        // Raw bytes, not set_password: the Windows store would write a password as UTF-16,
        // upstream writes and reads UTF-8. Both stores update an existing item in place.
        let entry = self.entry(account)?;
        entry.set_secret(secret).map_err(|e| self.map(e, account))?;
        if self.identity == Identity::WindowsTarget {
            // Upstream also puts the account in UserName, which Credential Manager shows. Reads
            // go by TargetName only, so failing to set it does not fail the write.
            let _ = entry.update_attributes(&HashMap::from([("username", account)]));
        }
        Ok(account.to_owned())
    }

    fn remove(&self, account: &String) -> Result<(), KeychainError> {
        match self.entry(account)?.delete_credential() {
            Ok(()) | Err(Error::NoEntry) => Ok(()),
            Err(e) => Err(self.map(e, account)),
        }
    }
}

/// The macOS login keychain (`apple-native-keyring-store`, module `keychain`: the file-based
/// keychains every process may use, unlike the "protected data" store that needs entitlements).
#[cfg(target_os = "macos")]
pub fn macos() -> Result<CoreStore, KeychainError> {
    let store = apple_native_keyring_store::keychain::Store::new().map_err(|e| {
        KeychainError::Platform {
            backend: Backend::MacosKeychain,
            detail: e.to_string(),
        }
    })?;
    Ok(CoreStore::new(
        store,
        Backend::MacosKeychain,
        Identity::ServiceAccount,
    ))
}

/// The Windows Credential Manager (`windows-native-keyring-store`).
#[cfg(windows)]
pub fn windows() -> Result<CoreStore, KeychainError> {
    let store =
        windows_native_keyring_store::Store::new().map_err(|e| KeychainError::Platform {
            backend: Backend::WindowsCredentialManager,
            detail: e.to_string(),
        })?;
    Ok(CoreStore::new(
        store,
        Backend::WindowsCredentialManager,
        Identity::WindowsTarget,
    ))
}

#[cfg(test)]
mod tests {
    //! The adapter over keyring-core's in-memory sample store: logic only. The sample store
    //! accepts no modifiers, so the Windows identity is checked by naming's tests and on Windows.

    use super::super::logic;
    use super::*;

    const ACCT: &str = "github.com/acme/api/prod";

    fn sample() -> (Arc<CredentialStore>, CoreStore) {
        let store: Arc<CredentialStore> = keyring_core::sample::Store::new().unwrap();
        let adapter = CoreStore::new(
            store.clone(),
            Backend::MacosKeychain,
            Identity::ServiceAccount,
        );
        (store, adapter)
    }

    fn count(store: &Arc<CredentialStore>) -> usize {
        let spec = HashMap::from([("service", "^tools\\.vsync$"), ("user", "^github")]);
        store.search(&spec).unwrap().len()
    }

    /// Store `secret` under the upstream identity directly, as another tool would.
    fn written_by_another_tool(store: &Arc<CredentialStore>, secret: &[u8]) {
        let entry = store.build(SERVICE, ACCT, None).unwrap();
        entry.set_secret(secret).unwrap();
    }

    fn read_text(s: &CoreStore) -> Option<String> {
        logic::read(s, ACCT).unwrap().map(|t| t.to_string())
    }

    #[test]
    fn round_trip_overwrite_and_delete_keep_one_item() {
        let (store, s) = sample();
        assert_eq!(read_text(&s), None);
        logic::write(&s, ACCT, "first-key").unwrap();
        assert_eq!(read_text(&s).as_deref(), Some("first-key"));
        logic::write(&s, ACCT, "second-key").unwrap();
        assert_eq!(read_text(&s).as_deref(), Some("second-key"));
        assert_eq!(count(&store), 1);
        // The item is the upstream identity: service tools.vsync, account <repo>/<env>.
        let direct = store.build(SERVICE, ACCT, None).unwrap();
        assert_eq!(direct.get_secret().unwrap(), b"second-key");
        logic::remove_all(&s, ACCT).unwrap();
        assert_eq!(read_text(&s), None);
        assert_eq!(count(&store), 0);
        logic::remove_all(&s, ACCT).unwrap();
    }

    #[test]
    fn an_item_written_by_another_tool_is_read_and_replaced() {
        let (store, s) = sample();
        written_by_another_tool(&store, b"upstream-key");
        assert_eq!(read_text(&s).as_deref(), Some("upstream-key"));
        logic::write(&s, ACCT, "our-key").unwrap();
        assert_eq!(count(&store), 1);
        assert_eq!(read_text(&s).as_deref(), Some("our-key"));
    }

    #[test]
    fn an_ambiguous_store_is_refused_not_guessed() {
        let (store, s) = sample();
        for tag in ["one", "two"] {
            store
                .build(SERVICE, ACCT, Some(&HashMap::from([("force-create", tag)])))
                .unwrap();
        }
        assert!(matches!(
            logic::read(&s, ACCT),
            Err(KeychainError::Duplicates { count: 2, .. })
        ));
        assert!(matches!(
            logic::write(&s, ACCT, "k"),
            Err(KeychainError::Duplicates { .. })
        ));
    }

    #[test]
    fn bytes_that_are_not_text_are_reported_without_them() {
        let (store, s) = sample();
        written_by_another_tool(&store, &[0xff, 0x00, 0xfe]);
        let e = logic::read(&s, ACCT).unwrap_err();
        assert!(matches!(e, KeychainError::NotText { .. }), "{e:?}");
    }
}
