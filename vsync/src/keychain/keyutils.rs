//! The kernel session keyring (Linux), the explicit headless choice (`VSYNC_KEYCHAIN=keyutils`).
//!
//! Direct `linux-keyutils` calls rather than `linux-keyutils-keyring-store`: that store also links
//! every key into the user's persistent keyring, which outlives the session (days) and is shared by
//! all of the user's sessions. Here a key lives exactly as long as the session keyring.
//! A description names one key, so there are never duplicates.

use linux_keyutils::{KeyError, KeyRing, KeyRingIdentifier};
use zeroize::Zeroizing;

use super::logic::ItemStore;
use super::naming;
use super::{Backend, KeychainError};

/// The session keyring.
pub(crate) struct KeyutilsStore {
    session: KeyRing,
}

impl KeyutilsStore {
    /// Open the calling process's session keyring (not creating one).
    pub(crate) fn open() -> Result<Self, KeychainError> {
        let session = KeyRing::from_special_id(KeyRingIdentifier::Session, false).map_err(map)?;
        Ok(Self { session })
    }
}

fn map(e: KeyError) -> KeychainError {
    KeychainError::Keyutils {
        detail: format!("{e:?}"),
    }
}

impl ItemStore for KeyutilsStore {
    /// The description; one per account.
    type Handle = String;

    fn backend(&self) -> Backend {
        Backend::Keyutils
    }

    fn find(&self, account: &str) -> Result<Vec<String>, KeychainError> {
        let description = naming::keyutils_description(account);
        match self.session.search(&description) {
            Ok(_) => Ok(vec![description]),
            Err(KeyError::KeyDoesNotExist | KeyError::KeyRevoked | KeyError::KeyExpired) => {
                Ok(Vec::new())
            }
            Err(e) => Err(map(e)),
        }
    }

    fn read(&self, item: &String) -> Result<Zeroizing<Vec<u8>>, KeychainError> {
        let key = self.session.search(item).map_err(map)?;
        Ok(Zeroizing::new(key.read_to_vec().map_err(map)?))
    }

    fn create(&self, account: &str, secret: &[u8]) -> Result<String, KeychainError> {
        // add_key updates the payload of a key with the same description in place.
        let description = naming::keyutils_description(account);
        self.session.add_key(&description, secret).map_err(map)?;
        Ok(description)
    }

    fn remove(&self, item: &String) -> Result<(), KeychainError> {
        match self.session.search(item) {
            Ok(key) => key.invalidate().map_err(map),
            Err(KeyError::KeyDoesNotExist | KeyError::KeyRevoked | KeyError::KeyExpired) => Ok(()),
            Err(e) => Err(map(e)),
        }
    }
}
