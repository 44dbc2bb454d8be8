//! The private folder that holds a run's assets, and the sweep of folders left behind.
//!
//! Layout: `<parent>/assets-<id>/` (0700) plus `<parent>/assets-<id>.lock`, where `<parent>` is
//! `$XDG_RUNTIME_DIR/vsync` (a per-user tmpfs, so a crash never leaves plaintext on a disk) or,
//! without one, `<tmp>/vsync-<uid>`. The folder is claimed through [`crate::locked_dir`]: a later
//! run removes it once its owner is gone, however it died, and never while it lives.

use std::path::{Path, PathBuf};

use crate::error::{CliError, ExitKind};
use crate::local::fsutil;
use crate::locked_dir::{self, LockedDir};

const DIR_PREFIX: &str = "assets-";

/// A run's asset folder, removed when dropped.
pub struct AssetDir {
    dir: PathBuf,
    _claim: Option<LockedDir>,
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
            _claim: None,
            _plain: Some(plain),
        })
    }

    /// The folder the child sees as `VSYNC_ASSET_DIR`.
    pub fn path(&self) -> &Path {
        &self.dir
    }
}

/// The per-user parent folder, created 0700 if needed; `None` when it cannot be trusted (not a
/// folder, a symlink, or owned by someone else).
pub fn private_parent() -> Option<PathBuf> {
    let parent = match crate::settings::machine::runtime_dir(crate::settings::env()) {
        Some(rt) if owned_private_dir(&rt) => rt.join("vsync"),
        _ => std::env::temp_dir().join(format!("vsync-{}", locked_dir::current_uid()?)),
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
        m.is_dir()
            && Some(m.uid()) == locked_dir::current_uid()
            && m.permissions().mode() & 0o077 == 0
    }
    #[cfg(not(unix))]
    {
        p.is_dir()
    }
}

fn create_locked(parent: &Path) -> std::io::Result<AssetDir> {
    for _ in 0..8 {
        let claim = match LockedDir::claim(parent, &format!("{DIR_PREFIX}{}", random_id())) {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        };
        fsutil::ensure_private_dir(claim.path())
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        return Ok(AssetDir {
            dir: claim.path().to_path_buf(),
            _claim: Some(claim),
            _plain: None,
        });
    }
    Err(std::io::Error::other("no free asset folder name"))
}

fn random_id() -> String {
    let mut b = [0u8; 8];
    vsync_crypto::random::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Remove the asset folders of runs that are no longer alive. Only entries owned by us are
/// considered; a folder whose lock is held (its run is alive) is left alone. Best effort.
pub fn sweep(parent: &Path) -> usize {
    let owner_of = |name: &str| name.starts_with(DIR_PREFIX).then(|| name.to_owned());
    locked_dir::sweep(parent, &owner_of).len()
}
