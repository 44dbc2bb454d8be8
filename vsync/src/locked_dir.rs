//! Private folders claimed by a live process, and the sweep of the ones dead processes left.
//!
//! Used for every folder vsync fills with plaintext for a while: a run's asset folder
//! ([`crate::run::assets`]) and the staging folder of a pull or restore ([`crate::staging`]).
//! A process killed outright (SIGKILL, a crash, Ctrl-C before a guard runs) leaves such a folder
//! behind, so the next process sweeps — but must never take a folder from a live one.
//!
//! Each folder `<parent>/<name>` has a sibling `<name>.lock`. The owner holds an exclusive OS lock
//! on it (`flock`/`LockFileEx`) for its whole life; the OS drops it when the process dies, however
//! it dies. A sweeper that can take the lock knows the owner is gone (a process id could not say
//! that: ids are reused). The owner locks before it creates the folder and removes the folder
//! before the lock file, so a folder without a lock file has no live owner of this version;
//! such folders are still left alone for [`LOCKLESS_GRACE`] (an older vsync may own them).

use std::fs::{File, OpenOptions, TryLockError};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

const LOCK_SUFFIX: &str = ".lock";
/// How long a folder without a lock file is left alone.
pub(crate) const LOCKLESS_GRACE: Duration = Duration::from_secs(60);

/// A claimed folder: removed, then its lock file, then the lock, when dropped.
#[derive(Debug)]
pub(crate) struct LockedDir {
    dir: PathBuf,
    lock_path: PathBuf,
    lock: Option<File>,
}

impl LockedDir {
    /// Claim `parent/name`: create or open its lock file (0600), take the lock, then clear what
    /// a dead owner of the same name left there. Does not create the folder itself. Fails with
    /// `WouldBlock` when a live process holds the name.
    pub(crate) fn claim(parent: &Path, name: &str) -> io::Result<LockedDir> {
        let lock_path = parent.join(format!("{name}{LOCK_SUFFIX}"));
        // a sweeper may remove the lock file between our open and our lock: then the lock guards
        // nothing on disk, so open again
        for _ in 0..4 {
            let lock = open_lock_file(&lock_path)?;
            match lock.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    return Err(io::Error::new(
                        io::ErrorKind::WouldBlock,
                        format!("{} is held by another vsync process", lock_path.display()),
                    ));
                }
                Err(TryLockError::Error(e)) => return Err(e),
            }
            if !same_file(&lock, &lock_path) {
                continue;
            }
            let _ = lock.set_len(0);
            let _ = writeln!(&lock, "pid {}", std::process::id());
            let dir = parent.join(name);
            remove_tree(&dir);
            return Ok(LockedDir {
                dir,
                lock_path,
                lock: Some(lock),
            });
        }
        Err(io::Error::other(format!(
            "cannot hold the lock {}: it keeps being removed",
            lock_path.display()
        )))
    }

    /// The claimed folder.
    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for LockedDir {
    fn drop(&mut self) {
        remove_tree(&self.dir);
        let _ = std::fs::remove_file(&self.lock_path);
        drop(self.lock.take());
    }
}

/// Remove every entry of `parent` for which `owner_of(name)` names a folder (its own name, or
/// the claimed folder it belongs to) that no live process holds. Entries not owned by this user
/// are left alone. Returns the names removed. Best effort: never fails.
pub(crate) fn sweep(parent: &Path, owner_of: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(LOCK_SUFFIX) || !is_ours(&entry.path()) {
            continue;
        }
        let Some(owner) = owner_of(&name) else {
            continue;
        };
        let lock_path = parent.join(format!("{owner}{LOCK_SUFFIX}"));
        let gone = match OpenOptions::new().read(true).write(true).open(&lock_path) {
            Ok(lock) => lock.try_lock().is_ok() && same_file(&lock, &lock_path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                older_than(&entry.path(), LOCKLESS_GRACE)
            }
            // cannot tell: leave it rather than pull a live process's folder away
            Err(_) => false,
        };
        if gone {
            remove_tree(&entry.path());
            if owner == name {
                let _ = std::fs::remove_file(&lock_path);
            }
            removed.push(name);
        }
    }
    sweep_orphan_locks(parent, owner_of);
    removed
}

/// Lock files whose folder is gone and which nobody holds (a process killed between the two
/// removals of its drop).
fn sweep_orphan_locks(parent: &Path, owner_of: &dyn Fn(&str) -> Option<String>) {
    let Ok(rd) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(LOCK_SUFFIX) else {
            continue;
        };
        if owner_of(stem).as_deref() != Some(stem) || parent.join(stem).exists() {
            continue;
        }
        if let Ok(lock) = OpenOptions::new().read(true).write(true).open(entry.path())
            && lock.try_lock().is_ok()
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn open_lock_file(path: &Path) -> io::Result<File> {
    let mut opts = OpenOptions::new();
    opts.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
}

fn older_than(path: &Path, age: Duration) -> bool {
    std::fs::symlink_metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|a| a > age)
}

fn same_file(f: &File, path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (f.metadata(), std::fs::symlink_metadata(path)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        // Windows refuses to delete a file another process holds open: it cannot vanish under us
        let _ = f;
        path.exists()
    }
}

/// The effective user id (Unix); `None` elsewhere.
pub(crate) fn current_uid() -> Option<u32> {
    #[cfg(unix)]
    {
        Some(rustix::process::geteuid().as_raw())
    }
    #[cfg(not(unix))]
    {
        None
    }
}

/// Owned by the current user (on Unix); a folder planted by someone else is not ours to remove.
fn is_ours(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(p).is_ok_and(|m| Some(m.uid()) == current_uid())
    }
    #[cfg(not(unix))]
    {
        let _ = p;
        true
    }
}

pub(crate) fn remove_tree(path: &Path) {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.is_dir() => {
            let _ = std::fs::remove_dir_all(path);
        }
        Ok(_) => {
            let _ = std::fs::remove_file(path);
        }
        Err(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(name: &str) -> Option<String> {
        name.starts_with("x-").then(|| name.to_owned())
    }

    fn folder(parent: &Path, name: &str) -> PathBuf {
        let dir = parent.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("secret"), "plaintext").unwrap();
        dir
    }

    fn age(path: &Path) {
        let old = std::time::SystemTime::now() - LOCKLESS_GRACE - Duration::from_secs(5);
        File::open(path).unwrap().set_modified(old).unwrap();
    }

    /// `name` (at `path`, without a live owner's lock) is left while young and swept once older
    /// than the grace.
    #[track_caller]
    fn swept_only_after_the_grace(
        parent: &Path,
        owner_of: &dyn Fn(&str) -> Option<String>,
        name: &str,
    ) {
        assert!(sweep(parent, owner_of).is_empty());
        age(&parent.join(name));
        assert_eq!(sweep(parent, owner_of), vec![name.to_owned()]);
    }

    #[test]
    fn a_dead_owners_folder_is_swept_with_its_lock_file() {
        let t = tempfile::tempdir().unwrap();
        let dir = folder(t.path(), "x-1");
        std::fs::write(t.path().join("x-1.lock"), "pid 1").unwrap();
        assert_eq!(sweep(t.path(), &plain), vec!["x-1".to_owned()]);
        assert!(!dir.exists());
        assert!(!t.path().join("x-1.lock").exists());
    }

    #[test]
    fn a_lockless_folder_is_swept_only_after_the_grace() {
        let t = tempfile::tempdir().unwrap();
        folder(t.path(), "x-2");
        swept_only_after_the_grace(t.path(), &plain, "x-2");
    }

    #[test]
    fn a_live_claim_and_what_belongs_to_it_survive_any_sweep() {
        let t = tempfile::tempdir().unwrap();
        let live = LockedDir::claim(t.path(), "x-3").unwrap();
        folder(t.path(), "x-3");
        let parked = folder(t.path(), "x-3.old");
        let with_parked = |n: &str| plain(n.strip_suffix(".old").unwrap_or(n));
        assert!(sweep(t.path(), &with_parked).is_empty());
        assert!(live.path().join("secret").exists() && parked.exists());
        assert_eq!(
            LockedDir::claim(t.path(), "x-3").unwrap_err().kind(),
            io::ErrorKind::WouldBlock
        );
        drop(live);
        assert!(!t.path().join("x-3").exists());
        assert!(!t.path().join("x-3.lock").exists());
        // the parked folder's owner is gone now (and with it the lock file: the grace applies)
        swept_only_after_the_grace(t.path(), &with_parked, "x-3.old");
    }

    #[test]
    fn a_claim_clears_what_a_dead_owner_of_the_name_left() {
        let t = tempfile::tempdir().unwrap();
        let dir = folder(t.path(), "x-4");
        let claim = LockedDir::claim(t.path(), "x-4").unwrap();
        assert!(!dir.exists());
        drop(claim);
    }

    #[test]
    fn orphan_locks_go_and_other_names_stay() {
        let t = tempfile::tempdir().unwrap();
        let other = folder(t.path(), "vault-dev");
        age(&other);
        std::fs::write(t.path().join("x-5.lock"), "").unwrap();
        sweep(t.path(), &plain);
        assert!(other.exists());
        assert!(!t.path().join("x-5.lock").exists());
    }
}
