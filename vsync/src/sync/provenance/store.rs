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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use vsync_vault::layout::Prefix;
    use vsync_vault::store::{Bucket, StoreSpec};

    use super::super::entry::FORMAT;
    use super::*;

    fn remote(dir: &std::path::Path) -> Remote {
        let spec = StoreSpec::parse_url(&format!("file://{}", dir.display())).unwrap();
        Remote::new(
            Bucket::open(&spec).unwrap(),
            Prefix::new("acme", "dev").unwrap(),
        )
    }

    /// An entry of `acme`/`dev` with nothing synced.
    fn entry() -> Entry {
        Entry {
            format: FORMAT.into(),
            time: "2026-12-06T11:00:00.000Z".into(),
            repo: "acme".into(),
            env: "dev".into(),
            ..Default::default()
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_syncs_in_the_same_millisecond_each_keep_their_entry() {
        let d = tempfile::tempdir().unwrap();
        let r = remote(d.path());
        let key = DerivedKey::from_bytes([3; 32]);
        let e = entry();
        let mut set = tokio::task::JoinSet::new();
        for i in 0..8 {
            let (r, key, mut e) = (r.clone(), key.clone(), e.clone());
            e.release = Some(format!("r{i}"));
            set.spawn(async move { write(&r, &key, &e, 0).await.unwrap() });
        }
        let mut names = BTreeSet::new();
        while let Some(n) = set.join_next().await {
            names.insert(n.unwrap());
        }
        assert_eq!(names.len(), 8);
        let h = History::from_stored(read_all(&r, &key, "acme", "dev", 0).await.unwrap());
        assert_eq!(h.entries.len(), 8);
        let releases: BTreeSet<_> = h.entries.iter().filter_map(|e| e.release.clone()).collect();
        assert_eq!(releases.len(), 8, "no entry overwrote another");
        assert_eq!(h.suspicious(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_entry_that_does_not_open_is_suspicious_unless_it_predates_a_rotation() {
        let d = tempfile::tempdir().unwrap();
        let r = remote(d.path());
        let old_key = DerivedKey::from_bytes([1; 32]);
        let e = entry();
        write(&r, &old_key, &e, 0).await.unwrap();
        let new_key = DerivedKey::from_bytes([2; 32]);
        // after a rotation to generation 1: noted, not suspicious
        let h = History::from_stored(read_all(&r, &new_key, "acme", "dev", 1).await.unwrap());
        assert_eq!(h.unreadable.len(), 1);
        assert_eq!(h.unreadable[0].1, Unreadable::OlderGeneration(0));
        assert_eq!(h.suspicious(), 0);
        // same generation, another key: tampering or a foreign key
        let h = History::from_stored(read_all(&r, &new_key, "acme", "dev", 0).await.unwrap());
        assert_eq!(h.unreadable[0].1, Unreadable::Sealed);
        assert_eq!(h.suspicious(), 1);
    }
}
