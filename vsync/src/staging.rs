//! Private staging folders for `pull` and `restore-backup`, and the sweep of the ones a killed
//! run left behind.
//!
//! A staging folder holds decrypted secrets, so one left behind by a run that was killed (SIGKILL,
//! power loss, Ctrl-C before the guard ran) is plaintext on disk. Each live folder is claimed by an
//! OS advisory lock on a sibling `<folder>.lock` file, held for as long as the run lives; the OS
//! drops it when the process dies, however it dies. The sweep removes only folders whose lock
//! nobody holds, so a concurrent pull's live folder is never pulled from under it (a folder name
//! with a process id alone cannot say that: ids are reused, and no portable liveness check exists).

use std::fs::{File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

use vsync_vault::fsutil;

/// Name prefixes of every staging folder vsync makes beside a vault; the sweep covers all of them,
/// whatever env or verb left them.
pub(crate) const VAULT_STAGING_PREFIXES: [&str; 2] = [".vsync-pull-", ".vsync-restore-"];

const LOCK_SUFFIX: &str = ".lock";
/// The old vault parked during a two-step swap (platforms without an atomic exchange).
pub(crate) const PARKED_SUFFIX: &str = ".old";

/// A claimed staging folder: removed, with its lock file, when dropped.
#[derive(Debug)]
pub(crate) struct Staging {
    dir: PathBuf,
    lock_path: PathBuf,
    // held open for the lock's lifetime; closed (unlocked) after the folder is gone
    lock: Option<File>,
}

impl Staging {
    /// Claim `parent/name` for this run: take the lock first, then clear whatever an earlier run
    /// of this process id left there. The folder itself is created by whoever fills it.
    pub(crate) fn claim(parent: &Path, name: &str) -> io::Result<Staging> {
        let lock_path = parent.join(format!("{name}{LOCK_SUFFIX}"));
        let lock = open_lock_file(&lock_path)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                return Err(io::Error::new(
                    io::ErrorKind::WouldBlock,
                    format!("{} is in use by another vsync run", lock_path.display()),
                ));
            }
            Err(TryLockError::Error(e)) => return Err(e),
        }
        let dir = parent.join(name);
        remove_tree(&dir);
        Ok(Staging {
            dir,
            lock_path,
            lock: Some(lock),
        })
    }

    /// The staging folder.
    pub(crate) fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        remove_tree(&self.dir);
        remove_tree(&parked(&self.dir));
        // the folder goes before the lock file: a sweeper never sees a folder without its lock
        let _ = std::fs::remove_file(&self.lock_path);
        drop(self.lock.take());
    }
}

/// Where a two-step swap parks the old vault while the staged one moves in.
pub(crate) fn parked(dir: &Path) -> PathBuf {
    let mut name = dir.as_os_str().to_owned();
    name.push(PARKED_SUFFIX);
    PathBuf::from(name)
}

/// Remove every staging folder in `parent` whose name starts with one of `prefixes` and whose
/// lock no live run holds. Returns the names removed. Never fails: a sweep is housekeeping.
pub(crate) fn sweep(parent: &Path, prefixes: &[&str]) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !prefixes.iter().any(|p| name.starts_with(p)) || name.ends_with(LOCK_SUFFIX) {
            continue;
        }
        let owner = name.strip_suffix(PARKED_SUFFIX).unwrap_or(&name);
        if is_claimed(&parent.join(format!("{owner}{LOCK_SUFFIX}"))) {
            continue;
        }
        remove_tree(&entry.path());
        removed.push(name);
    }
    sweep_orphan_locks(parent, prefixes);
    removed
}

/// Lock files whose folder is gone and which nobody holds (a run killed between the two removals).
fn sweep_orphan_locks(parent: &Path, prefixes: &[&str]) {
    let Ok(rd) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(owner) = name.strip_suffix(LOCK_SUFFIX) else {
            continue;
        };
        if !prefixes.iter().any(|p| owner.starts_with(p)) || parent.join(owner).exists() {
            continue;
        }
        if let Ok(f) = OpenOptions::new().read(true).write(true).open(entry.path())
            && f.try_lock().is_ok()
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether a live run holds the lock at `lock_path`. A missing lock file means no live owner:
/// a claim takes its lock before it creates the folder.
fn is_claimed(lock_path: &Path) -> bool {
    let Ok(f) = OpenOptions::new().read(true).write(true).open(lock_path) else {
        return false;
    };
    match f.try_lock() {
        Ok(()) => false,
        Err(TryLockError::WouldBlock) => true,
        // cannot tell: leave it rather than delete a live run's files
        Err(TryLockError::Error(_)) => true,
    }
}

fn open_lock_file(path: &Path) -> io::Result<File> {
    let f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    fsutil::set_mode(path, 0o600);
    Ok(f)
}

fn remove_tree(path: &Path) {
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

    fn leftover(parent: &Path, name: &str) -> PathBuf {
        let dir = parent.join(name);
        std::fs::create_dir_all(dir.join("assets")).unwrap();
        std::fs::write(dir.join(".env.dev"), "A=plaintext\n").unwrap();
        dir
    }

    #[test]
    fn a_killed_runs_folder_without_a_lock_file_is_swept() {
        let t = tempfile::tempdir().unwrap();
        let dir = leftover(t.path(), ".vsync-pull-dev-4242");
        let removed = sweep(t.path(), &VAULT_STAGING_PREFIXES);
        assert_eq!(removed, vec![".vsync-pull-dev-4242".to_owned()]);
        assert!(!dir.exists());
    }

    #[test]
    fn a_folder_whose_lock_nobody_holds_is_swept_with_its_lock_file() {
        let t = tempfile::tempdir().unwrap();
        let dir = leftover(t.path(), ".vsync-restore-prod-17");
        let lock = t.path().join(".vsync-restore-prod-17.lock");
        std::fs::write(&lock, "").unwrap();
        sweep(t.path(), &VAULT_STAGING_PREFIXES);
        assert!(!dir.exists());
        assert!(!lock.exists());
    }

    #[test]
    fn a_live_claim_is_left_alone_by_any_sweep() {
        let t = tempfile::tempdir().unwrap();
        let live = Staging::claim(t.path(), ".vsync-pull-dev-1").unwrap();
        leftover(t.path(), ".vsync-pull-dev-1");
        leftover(t.path(), ".vsync-pull-dev-1.old");
        let removed = sweep(t.path(), &VAULT_STAGING_PREFIXES);
        assert!(removed.is_empty(), "{removed:?}");
        assert!(live.path().join(".env.dev").exists());
        assert!(t.path().join(".vsync-pull-dev-1.old").exists());
        drop(live);
        assert!(!t.path().join(".vsync-pull-dev-1").exists());
        assert!(!t.path().join(".vsync-pull-dev-1.old").exists());
        assert!(!t.path().join(".vsync-pull-dev-1.lock").exists());
    }

    #[test]
    fn a_second_claim_of_a_held_name_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let _live = Staging::claim(t.path(), ".vsync-pull-dev-9").unwrap();
        let e = Staging::claim(t.path(), ".vsync-pull-dev-9").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    }

    #[test]
    fn a_claim_clears_what_an_earlier_run_with_the_same_pid_left() {
        let t = tempfile::tempdir().unwrap();
        let dir = leftover(t.path(), ".vsync-pull-dev-5");
        let claim = Staging::claim(t.path(), ".vsync-pull-dev-5").unwrap();
        assert!(!dir.exists());
        drop(claim);
    }

    #[test]
    fn other_folders_and_orphan_locks() {
        let t = tempfile::tempdir().unwrap();
        let mine = leftover(t.path(), "vault-dev");
        let other = leftover(t.path(), ".vsync-other");
        let orphan = t.path().join(".vsync-pull-x-3.lock");
        std::fs::write(&orphan, "").unwrap();
        sweep(t.path(), &VAULT_STAGING_PREFIXES);
        assert!(mine.exists() && other.exists());
        assert!(!orphan.exists());
    }

    #[test]
    fn parked_appends_a_suffix_even_when_the_name_has_dots() {
        let p = parked(Path::new("/v/.vsync-pull-prod.eu-12"));
        assert_eq!(p, Path::new("/v/.vsync-pull-prod.eu-12.old"));
    }
}
