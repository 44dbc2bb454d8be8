//! The Secret Service store (Linux), over the `secret-service` crate's blocking API.
//!
//! Not `zbus-secret-service-keyring-store`: that store creates items with only its own attributes
//! (`service`, `username`, `target`), and adding upstream's `xdg:schema` and `account` afterwards
//! would be a second, non-atomic write. Here one CreateItem call writes upstream's whole identity.
//! Runs on a blocking thread (the zbus blocking API must not run on a tokio worker).

use secret_service::blocking::SecretService;
use secret_service::{EncryptionType, Error};
use zbus::zvariant::OwnedObjectPath;
use zeroize::Zeroizing;

use super::logic::ItemStore;
use super::naming;
use super::{Backend, KeychainError};

/// libsecret's content type for passwords (what upstream's `secret_password_store_sync` writes).
const CONTENT_TYPE: &str = "text/plain";

/// A connection to the session's Secret Service.
pub(crate) struct SecretServiceStore {
    ss: SecretService<'static>,
}

impl SecretServiceStore {
    /// Connect, or say why not.
    pub(crate) fn connect() -> Result<Self, KeychainError> {
        if !crate::settings::machine::may_have_session_bus(crate::settings::env()) {
            return Err(KeychainError::SecretServiceUnavailable {
                detail: "no session bus: DBUS_SESSION_BUS_ADDRESS is not set".to_owned(),
            });
        }
        let ss = SecretService::connect(EncryptionType::Dh).map_err(map)?;
        Ok(Self { ss })
    }
}

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

impl ItemStore for SecretServiceStore {
    type Handle = OwnedObjectPath;

    fn backend(&self) -> Backend {
        Backend::SecretService
    }

    fn find(&self, account: &str) -> Result<Vec<OwnedObjectPath>, KeychainError> {
        // No schema in the search: items written without it (older vsync) are found too.
        let found = self
            .ss
            .search_items(naming::search_attributes(account))
            .map_err(map)?;
        if !found.locked.is_empty() {
            let locked: Vec<_> = found.locked.iter().collect();
            self.ss.unlock_all(&locked).map_err(map)?;
        }
        Ok(found
            .unlocked
            .iter()
            .chain(found.locked.iter())
            .map(|item| item.item_path.clone())
            .collect())
    }

    fn read(&self, item: &OwnedObjectPath) -> Result<Zeroizing<Vec<u8>>, KeychainError> {
        let item = self.ss.get_item_by_path(item.clone()).map_err(map)?;
        Ok(Zeroizing::new(item.get_secret().map_err(map)?))
    }

    fn create(&self, account: &str, secret: &[u8]) -> Result<OwnedObjectPath, KeychainError> {
        let collection = self.ss.get_default_collection().map_err(map)?;
        collection.ensure_unlocked().map_err(map)?;
        // replace = true: an item with exactly these attributes (upstream's) is updated in place.
        let item = collection
            .create_item(
                &naming::label(account),
                naming::item_attributes(account),
                secret,
                true,
                CONTENT_TYPE,
            )
            .map_err(map)?;
        Ok(item.item_path.clone())
    }

    fn remove(&self, item: &OwnedObjectPath) -> Result<(), KeychainError> {
        let item = self.ss.get_item_by_path(item.clone()).map_err(map)?;
        item.delete().map_err(map)
    }
}
