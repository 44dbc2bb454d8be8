//! The private folder that holds a run's assets, and the sweep of folders left behind.
//!
//! Layout: `<parent>/assets-<id>/` (0700) plus `<parent>/assets-<id>.lock`, where `<parent>` is
//! `$XDG_RUNTIME_DIR/vsync` (a per-user tmpfs, so a crash never leaves plaintext on a disk) or,
//! without one, `<tmp>/vsync-<uid>`. The run holds an exclusive `flock` on its lock file for its
//! whole life; the kernel drops it when the process dies, however it dies. A later run that can
//! take the lock of a folder therefore knows its owner is gone, whatever pid is reused since,
//! and removes the folder.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::{CliError, ExitKind};
use crate::local::fsutil;

const DIR_PREFIX: &str = "assets-";
const LOCK_SUFFIX: &str = ".lock";
/// A folder without a lock file is only removed once it is this old: its creator may be between
/// creating the folder and... nothing (the lock comes first), but an older vsync or a manual copy
/// may have put it there, and a minute costs nothing.
const LOCKLESS_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// A run's asset folder. Dropping it removes the folder, then releases and removes the lock.
pub struct AssetDir {
    dir: PathBuf,
    lock_path: Option<PathBuf>,
    lock: Option<File>,
    /// Fallback when no private parent could be used: a plain temporary folder.
    _plain: Option<tempfile::TempDir>,
}

impl AssetDir {
    /// Sweep stale folders of dead runs, then create a fresh locked folder.
    pub fn create() -> Result<Self, CliError> {
        if let Some(parent) = private_parent() {
            sweep(&parent);
            match create_locked(&parent) {
                Ok(a) => return Ok(a),
                Err(e) => crate::output::warn(format!(
                    "cannot use {} for assets ({e}); using the temporary folder",
                    parent.display()
                )),
            }
        }
        let plain = tempfile::Builder::new()
            .prefix("vsync-assets-")
            .tempdir()
            .map_err(|e| {
                CliError::new(
                    ExitKind::Failed,
                    format!("cannot create the asset folder: {e}"),
                )
            })?;
        fsutil::set_mode(plain.path(), 0o700);
        Ok(Self {
            dir: plain.path().to_path_buf(),
            lock_path: None,
            lock: None,
            _plain: Some(plain),
        })
    }

    /// The folder the child sees as `VSYNC_ASSET_DIR`.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

impl Drop for AssetDir {
    fn drop(&mut self) {
        if self._plain.is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
        if let Some(p) = &self.lock_path {
            let _ = std::fs::remove_file(p);
        }
        drop(self.lock.take());
    }
}

/// The per-user parent folder, created 0700 if needed; `None` when it cannot be trusted (not a
/// folder, a symlink, or owned by someone else).
pub fn private_parent() -> Option<PathBuf> {
    let parent = match crate::settings::machine::runtime_dir(crate::settings::env()) {
        Some(rt) if owned_private_dir(&rt) => rt.join("vsync"),
        _ => std::env::temp_dir().join(format!("vsync-{}", current_uid()?)),
    };
    match std::fs::create_dir(&parent) {
        Ok(()) => fsutil::set_mode(&parent, 0o700),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(_) => return None,
    }
    owned_private_dir(&parent).then_some(parent)
}

/// A real folder (not a symlink) owned by us and closed to group and others.
fn owned_private_dir(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let Ok(m) = std::fs::symlink_metadata(p) else {
            return false;
        };
        m.is_dir() && Some(m.uid()) == current_uid() && m.permissions().mode() & 0o077 == 0
    }
    #[cfg(not(unix))]
    {
        p.is_dir()
    }
}

fn current_uid() -> Option<u32> {
    #[cfg(target_os = "linux")]
    {
        Some(rustix::process::geteuid().as_raw())
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

fn create_locked(parent: &Path) -> std::io::Result<AssetDir> {
    for _ in 0..8 {
        let id = random_id();
        let lock_path = parent.join(format!("{DIR_PREFIX}{id}{LOCK_SUFFIX}"));
        let mut opts = OpenOptions::new();
        opts.read(true).write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let lock = match opts.open(&lock_path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        };
        lock.try_lock()
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        // A sweeper may have taken and removed the lock file between create and lock: then our
        // lock guards nothing on disk; start over with a new name.
        if !same_file(&lock, &lock_path) {
            continue;
        }
        {
            use std::io::Write;
            let _ = writeln!(&lock, "pid {}", std::process::id());
        }
        let dir = parent.join(format!("{DIR_PREFIX}{id}"));
        if let Err(e) = fsutil::ensure_private_dir(&dir) {
            let _ = std::fs::remove_file(&lock_path);
            return Err(std::io::Error::other(e.to_string()));
        }
        return Ok(AssetDir {
            dir,
            lock_path: Some(lock_path),
            lock: Some(lock),
            _plain: None,
        });
    }
    Err(std::io::Error::other("no free asset folder name"))
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
        let _ = (f, path);
        true
    }
}

fn random_id() -> String {
    let mut b = [0u8; 8];
    vsync_crypto::random::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Remove the asset folders of runs that are no longer alive. Only entries owned by us are
/// considered; a folder whose lock is held (its run is alive) is left alone. Best effort.
pub fn sweep(parent: &Path) -> usize {
    let Ok(rd) = std::fs::read_dir(parent) else {
        return 0;
    };
    let mut removed = 0;
    for entry in rd.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_prefix(DIR_PREFIX) else {
            continue;
        };
        if id.ends_with(LOCK_SUFFIX) || !is_ours_dir(&entry.path()) {
            continue;
        }
        let lock_path = parent.join(format!("{name}{LOCK_SUFFIX}"));
        match OpenOptions::new().read(true).write(true).open(&lock_path) {
            Ok(lock) => {
                if lock.try_lock().is_ok() && same_file(&lock, &lock_path) {
                    let _ = std::fs::remove_dir_all(entry.path());
                    let _ = std::fs::remove_file(&lock_path);
                    removed += 1;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age > LOCKLESS_GRACE);
                if old {
                    let _ = std::fs::remove_dir_all(entry.path());
                    removed += 1;
                }
            }
            Err(_) => {}
        }
    }
    // Lock files whose folder is gone (a run killed between the two removals).
    if let Ok(rd) = std::fs::read_dir(parent) {
        for entry in rd.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(LOCK_SUFFIX)
                && stem.starts_with(DIR_PREFIX)
                && !parent.join(stem).exists()
                && let Ok(lock) = OpenOptions::new().read(true).write(true).open(entry.path())
                && lock.try_lock().is_ok()
            {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    removed
}

fn is_ours_dir(p: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir() && Some(m.uid()) == current_uid())
    }
    #[cfg(not(unix))]
    {
        p.is_dir()
    }
}
