//! Where entries live: `<prefix>sync/provenance/<name>.enc`, one object per writing sync, created
//! create-only and never rewritten (no read-modify-write, so concurrent syncs keep every entry).

use std::sync::Arc;

use tokio::sync::Semaphore;
use vsync_crypto::kdf::DerivedKey;
use vsync_vault::error::StoreError;
use vsync_vault::remote::Remote;

use super::entry::{self, Entry, Unreadable};

/// Parallel GETs when reading every entry.
const READERS: usize = 8;

/// An entry as found in the bucket: its object name, and the entry or why it is unusable.
#[derive(Debug)]
pub struct Stored {
    /// The object name (without `.enc`).
    pub name: String,
    /// The entry, or why it could not be used.
    pub entry: Result<Entry, Unreadable>,
}

/// Seal and create `e` under a fresh name (a second name is tried should the first be taken);
/// returns the name.
pub async fn write(
    remote: &Remote,
    key: &DerivedKey,
    e: &Entry,
    generation: u64,
) -> Result<String, vsync_vault::VaultError> {
    let sealed = entry::seal(key, e);
    let mut attempt = 0;
    loop {
        let name = entry::object_name(&e.time, generation);
        match remote.write_provenance(&name, sealed.clone()).await {
            Ok(()) => return Ok(name),
            Err(vsync_vault::VaultError::Store(StoreError::AlreadyExists { .. }))
                if attempt < 2 =>
            {
                attempt += 1;
            }
            Err(err) => return Err(err),
        }
    }
}

/// Every entry of (repo, env), oldest first (by name, which begins with the time). An entry that does not
/// open, parse or belong here is returned with the reason; one whose name says it predates the
/// current key `generation` and does not open is [`Unreadable::OlderGeneration`].
pub async fn read_all(
    remote: &Remote,
    key: &DerivedKey,
    repo: &str,
    env: &str,
    generation: u64,
) -> Result<Vec<Stored>, vsync_vault::VaultError> {
    let names = remote.list_provenance().await?;
    let sem = Arc::new(Semaphore::new(READERS));
    let mut set = tokio::task::JoinSet::new();
    for (i, name) in names.into_iter().enumerate() {
        let remote = remote.clone();
        let key = key.clone();
        let (repo, env) = (repo.to_owned(), env.to_owned());
        let sem = sem.clone();
        set.spawn(async move {
            let _permit = sem.acquire().await;
            let entry = match remote.read_provenance(&name).await {
                Ok(Some(bytes)) => match entry::open(&key, &bytes, &repo, &env) {
                    Err(Unreadable::Sealed) => match entry::generation_of_name(&name) {
                        Some(g) if g < generation => Err(Unreadable::OlderGeneration(g)),
                        _ => Err(Unreadable::Sealed),
                    },
                    other => other,
                },
                Ok(None) => Err(Unreadable::Fetch("removed since it was listed".into())),
                Err(e) => Err(Unreadable::Fetch(e.to_string())),
            };
            (i, Stored { name, entry })
        });
    }
    let mut out: Vec<(usize, Stored)> = Vec::new();
    while let Some(joined) = set.join_next().await {
        if let Ok(x) = joined {
            out.push(x);
        }
    }
    // names begin with the entry's time: name order is time order
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, s)| s).collect())
}

/// Every entry of an env, split into the usable ones and the ones that are not.
#[derive(Debug, Default)]
pub struct History {
    /// Usable entries, oldest first.
    pub entries: Vec<Entry>,
    /// Object name and reason, for each entry that could not be used.
    pub unreadable: Vec<(String, Unreadable)>,
}

impl History {
    /// Split what [`read_all`] returned.
    pub fn from_stored(stored: Vec<Stored>) -> Self {
        let mut h = Self::default();
        for s in stored {
            match s.entry {
                Ok(e) => h.entries.push(e),
                Err(why) => h.unreadable.push((s.name, why)),
            }
        }
        h
    }

    /// The usable entries, oldest first.
    pub fn refs(&self) -> Vec<&Entry> {
        self.entries.iter().collect()
    }

    /// How many unusable entries are not explained by a key rotation.
    pub fn suspicious(&self) -> usize {
        self.unreadable
            .iter()
            .filter(|(_, u)| !u.is_benign())
            .count()
    }
}
