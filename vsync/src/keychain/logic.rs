//! What vsync does with a keychain, whatever the OS: read one key, replace every item of an
//! account, refuse to pick between items that disagree. The OS part is an [`ItemStore`]: find,
//! read, create, remove; nothing else.
//!
//! Why the rules:
//! - A Secret Service can hold several items answering for one account (upstream's, one an older
//!   vsync wrote without the schema attribute, one left by a crash). Reading "the first" after a
//!   rotation may hand out the old key, so a read that finds different values uses none.
//! - A write creates the new item first and then removes the others: a crash in between leaves
//!   duplicates (a loud error with the fix) rather than no key at all.
//! - The pending entry of `rotate-passphrase` has an account of its own
//!   ([`super::naming::pending_account`]), so it is never one of the duplicates.

use zeroize::Zeroizing;

use super::{Backend, KeychainError};

/// One OS store reduced to what [`read`], [`write`] and [`remove_all`] need. Calls block.
pub trait ItemStore {
    /// Names one stored item, for reading or removing it later in the same operation.
    type Handle: PartialEq;

    /// Which backend this is (for messages).
    fn backend(&self) -> Backend;

    /// Every item that answers for `account`, in the store's order.
    fn find(&self, account: &str) -> Result<Vec<Self::Handle>, KeychainError>;

    /// The stored bytes of one item.
    fn read(&self, item: &Self::Handle) -> Result<Zeroizing<Vec<u8>>, KeychainError>;

    /// Store `secret` under the upstream identity of `account`, replacing an item of exactly that
    /// identity if the store does so itself; returns the item now holding it.
    fn create(&self, account: &str, secret: &[u8]) -> Result<Self::Handle, KeychainError>;

    /// Delete one item.
    fn remove(&self, item: &Self::Handle) -> Result<(), KeychainError>;
}

/// The key text stored for `account`; `Ok(None)` when no item answers.
pub fn read<S: ItemStore>(
    store: &S,
    account: &str,
) -> Result<Option<Zeroizing<String>>, KeychainError> {
    let items = store.find(account)?;
    let mut value: Option<Zeroizing<Vec<u8>>> = None;
    for item in &items {
        let bytes = store.read(item)?;
        match &value {
            None => value = Some(bytes),
            Some(first) if *first == bytes => {}
            Some(_) => {
                return Err(KeychainError::Duplicates {
                    backend: store.backend(),
                    account: account.to_owned(),
                    count: items.len(),
                });
            }
        }
    }
    let Some(mut bytes) = value else {
        return Ok(None);
    };
    match String::from_utf8(std::mem::take(&mut *bytes)) {
        Ok(text) => Ok(Some(Zeroizing::new(text))),
        Err(e) => {
            drop(Zeroizing::new(e.into_bytes()));
            Err(KeychainError::NotText {
                account: account.to_owned(),
            })
        }
    }
}

/// Make `secret` the only item answering for `account`.
pub fn write<S: ItemStore>(store: &S, account: &str, secret: &str) -> Result<(), KeychainError> {
    let before = store.find(account)?;
    let kept = store.create(account, secret.as_bytes())?;
    for item in before.iter().filter(|item| **item != kept) {
        store.remove(item)?;
    }
    Ok(())
}

/// Delete every item answering for `account`; none is not an error.
pub fn remove_all<S: ItemStore>(store: &S, account: &str) -> Result<(), KeychainError> {
    for item in store.find(account)? {
        store.remove(&item)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! The rules above over an in-memory store that behaves like a Secret Service: items are
    //! attribute maps, a search matches a subset, and creating an item whose attributes equal an
    //! existing item's replaces it (`replace = true`). The real Secret Service is exercised by the
    //! e2e tests under scripts/with-keychain.

    use std::cell::{Cell, RefCell};
    use std::collections::BTreeMap;

    use super::super::naming::{self, SERVICE};
    use super::*;

    struct Item {
        id: u32,
        attrs: BTreeMap<String, String>,
        value: Vec<u8>,
    }

    #[derive(Default)]
    struct MemStore {
        items: RefCell<Vec<Item>>,
        next: Cell<u32>,
        fail_create: bool,
        fail_remove: bool,
    }

    impl MemStore {
        fn put(&self, attrs: &[(&str, &str)], value: &str) -> u32 {
            let id = self.next.get() + 1;
            self.next.set(id);
            self.items.borrow_mut().push(Item {
                id,
                attrs: attrs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                value: value.as_bytes().to_vec(),
            });
            id
        }
        fn upstream(&self, account: &str, value: &str) -> u32 {
            self.put(
                &[
                    ("xdg:schema", naming::SCHEMA),
                    ("service", SERVICE),
                    ("account", account),
                ],
                value,
            )
        }
        fn legacy(&self, account: &str, value: &str) -> u32 {
            self.put(
                &[
                    ("service", SERVICE),
                    ("account", account),
                    ("username", account),
                ],
                value,
            )
        }
        fn values_of(&self, account: &str) -> Vec<String> {
            self.items
                .borrow()
                .iter()
                .filter(|i| i.attrs.get("account").map(String::as_str) == Some(account))
                .map(|i| String::from_utf8(i.value.clone()).unwrap())
                .collect()
        }
        fn attrs_of(&self, account: &str) -> Vec<BTreeMap<String, String>> {
            self.items
                .borrow()
                .iter()
                .filter(|i| i.attrs.get("account").map(String::as_str) == Some(account))
                .map(|i| i.attrs.clone())
                .collect()
        }
    }

    impl ItemStore for MemStore {
        type Handle = u32;
        fn backend(&self) -> Backend {
            Backend::SecretService
        }
        fn find(&self, account: &str) -> Result<Vec<u32>, KeychainError> {
            let want = naming::search_attributes(account);
            Ok(self
                .items
                .borrow()
                .iter()
                .filter(|i| {
                    want.iter()
                        .all(|(k, v)| i.attrs.get(*k).map(String::as_str) == Some(*v))
                })
                .map(|i| i.id)
                .collect())
        }
        fn read(&self, item: &u32) -> Result<Zeroizing<Vec<u8>>, KeychainError> {
            let items = self.items.borrow();
            let found = items.iter().find(|i| i.id == *item).expect("live item");
            Ok(Zeroizing::new(found.value.clone()))
        }
        fn create(&self, account: &str, secret: &[u8]) -> Result<u32, KeychainError> {
            if self.fail_create {
                return Err(KeychainError::SecretServiceRefused {
                    detail: "locked".into(),
                });
            }
            let attrs: BTreeMap<String, String> = naming::item_attributes(account)
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect();
            if let Some(same) = self
                .items
                .borrow_mut()
                .iter_mut()
                .find(|i| i.attrs == attrs)
            {
                same.value = secret.to_vec();
                return Ok(same.id);
            }
            let pairs: Vec<(&str, &str)> = attrs
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            Ok(self.put(&pairs, std::str::from_utf8(secret).unwrap()))
        }
        fn remove(&self, item: &u32) -> Result<(), KeychainError> {
            if self.fail_remove {
                return Err(KeychainError::SecretServiceRefused {
                    detail: "locked".into(),
                });
            }
            self.items.borrow_mut().retain(|i| i.id != *item);
            Ok(())
        }
    }

    const ACCT: &str = "github.com/acme/api/prod";
    const OLD: &str = "b2xkLWtleS1vbGQta2V5LW9sZC1rZXktb2xkLWtleQ==";
    const NEW: &str = "bmV3LWtleS1uZXcta2V5LW5ldy1rZXktbmV3LWtleQ==";

    fn read_text(s: &MemStore, account: &str) -> Result<Option<String>, KeychainError> {
        read(s, account).map(|v| v.map(|t| t.to_string()))
    }

    #[test]
    fn no_item_reads_as_none() {
        assert_eq!(read_text(&MemStore::default(), ACCT).unwrap(), None);
    }

    #[test]
    fn an_item_written_by_upstream_or_an_older_vsync_is_read() {
        let s = MemStore::default();
        s.upstream(ACCT, OLD);
        assert_eq!(read_text(&s, ACCT).unwrap().as_deref(), Some(OLD));
        let s = MemStore::default();
        s.legacy(ACCT, OLD);
        assert_eq!(read_text(&s, ACCT).unwrap().as_deref(), Some(OLD));
    }

    #[test]
    fn duplicates_holding_the_same_key_are_harmless() {
        let s = MemStore::default();
        s.upstream(ACCT, OLD);
        s.legacy(ACCT, OLD);
        assert_eq!(read_text(&s, ACCT).unwrap().as_deref(), Some(OLD));
    }

    #[test]
    fn duplicates_holding_different_keys_are_refused_without_naming_a_value() {
        let s = MemStore::default();
        s.upstream(ACCT, OLD);
        s.legacy(ACCT, NEW);
        let e = read(&s, ACCT).unwrap_err();
        assert!(
            matches!(&e, KeychainError::Duplicates { account, count: 2, backend: Backend::SecretService } if account == ACCT),
            "{e:?}"
        );
        let shown = format!("{e} {} {e:?}", e.hint());
        assert!(!shown.contains(OLD) && !shown.contains(NEW), "{shown}");
    }

    #[test]
    fn the_pending_rotation_entry_is_not_a_duplicate() {
        let s = MemStore::default();
        s.upstream(ACCT, OLD);
        s.upstream(&format!("{ACCT}#rotating"), NEW);
        assert_eq!(read_text(&s, ACCT).unwrap().as_deref(), Some(OLD));
        assert_eq!(
            read_text(&s, &format!("{ACCT}#rotating"))
                .unwrap()
                .as_deref(),
            Some(NEW)
        );
    }

    #[test]
    fn write_replaces_every_item_of_the_account_and_writes_upstream_identity() {
        let s = MemStore::default();
        s.upstream(ACCT, OLD);
        s.legacy(ACCT, OLD);
        s.legacy(ACCT, "third");
        s.upstream("other/prod", OLD);
        write(&s, ACCT, NEW).unwrap();
        assert_eq!(s.values_of(ACCT), vec![NEW.to_owned()]);
        let attrs = &s.attrs_of(ACCT)[0];
        assert_eq!(attrs.len(), 3, "{attrs:?}");
        assert_eq!(attrs["xdg:schema"], naming::SCHEMA);
        assert_eq!(s.values_of("other/prod"), vec![OLD.to_owned()]);
        assert_eq!(read_text(&s, ACCT).unwrap().as_deref(), Some(NEW));
    }

    #[test]
    fn write_over_the_store_replacing_the_same_identity_keeps_that_item() {
        // The store's own replace returns the item it updated: it must not be removed after.
        let s = MemStore::default();
        let id = s.upstream(ACCT, OLD);
        write(&s, ACCT, NEW).unwrap();
        assert_eq!(s.find(ACCT).unwrap(), vec![id]);
        assert_eq!(s.values_of(ACCT), vec![NEW.to_owned()]);
    }

    #[test]
    fn a_failed_write_loses_nothing() {
        let s = MemStore {
            fail_create: true,
            ..MemStore::default()
        };
        s.legacy(ACCT, OLD);
        assert!(write(&s, ACCT, NEW).is_err());
        assert_eq!(s.values_of(ACCT), vec![OLD.to_owned()]);
    }

    #[test]
    fn a_write_that_cannot_remove_the_old_item_says_so() {
        // The new key is stored; the old item stays and a later read refuses both, loudly.
        let s = MemStore {
            fail_remove: true,
            ..MemStore::default()
        };
        s.legacy(ACCT, OLD);
        assert!(write(&s, ACCT, NEW).is_err());
        assert!(matches!(
            read(&s, ACCT),
            Err(KeychainError::Duplicates { count: 2, .. })
        ));
    }

    #[test]
    fn remove_all_clears_the_account_only() {
        let s = MemStore::default();
        s.upstream(ACCT, OLD);
        s.legacy(ACCT, NEW);
        s.upstream(&format!("{ACCT}#rotating"), NEW);
        remove_all(&s, ACCT).unwrap();
        assert!(s.values_of(ACCT).is_empty());
        assert_eq!(s.values_of(&format!("{ACCT}#rotating")).len(), 1);
        remove_all(&s, ACCT).unwrap();
    }

    #[test]
    fn a_value_that_is_not_text_is_an_error() {
        let s = MemStore::default();
        let id = s.upstream(ACCT, "x");
        s.items.borrow_mut()[0].value = vec![0xff, 0xfe];
        assert_eq!(s.find(ACCT).unwrap(), vec![id]);
        assert!(matches!(read(&s, ACCT), Err(KeychainError::NotText { .. })));
    }
}
