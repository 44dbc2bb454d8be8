//! `asset_path`: write an asset to a private file, once, and remove it with the handle
//! (docs/runtime-contract.md §6).
//!
//! The directory is created on the first call with a random name (`vsync-<pid>-XXXXXX`), under
//! `/dev/shm` when it exists (tmpfs, never on disk) and the system temp dir otherwise, mode
//! 0700. Each file is `<index>-<basename>` (so `a/x.pem` and `b/x.pem` do not collide, and no
//! name can escape the directory), created new with mode 0600. A second call for the same asset
//! returns the same path. Dropping (or [`crate::Vault::close`]-ing) the handle removes the
//! directory; a SIGKILL does not, and the files then stay until reboot (tmpfs) or a sweep.

use std::collections::HashMap;
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};

use tempfile::TempDir;

/// Materialised files of one handle.
#[derive(Default)]
pub(crate) struct Materialised {
    dir: Option<TempDir>,
    paths: HashMap<usize, PathBuf>,
}

impl Materialised {
    /// The path of asset number `index` named `name`, writing `bytes` on the first call.
    pub(crate) fn path(&mut self, index: usize, name: &str, bytes: &[u8]) -> io::Result<PathBuf> {
        if let Some(p) = self.paths.get(&index) {
            return Ok(p.clone());
        }
        if self.dir.is_none() {
            self.dir = Some(private_dir()?);
        }
        let dir = self
            .dir
            .as_ref()
            .map(TempDir::path)
            .unwrap_or(Path::new("."));
        let base = name
            .rsplit('/')
            .next()
            .filter(|b| !b.is_empty())
            .unwrap_or("_asset");
        let path = dir.join(format!("{index}-{base}"));
        write_private(&path, bytes)?;
        self.paths.insert(index, path.clone());
        Ok(path)
    }

    /// Remove the directory now.
    pub(crate) fn close(&mut self) -> io::Result<()> {
        self.paths.clear();
        match self.dir.take() {
            Some(d) => d.close(),
            None => Ok(()),
        }
    }
}

fn private_dir() -> io::Result<TempDir> {
    let prefix = format!("vsync-{}-", std::process::id());
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
    }
    let shm = Path::new("/dev/shm");
    let dir = if cfg!(target_os = "linux") && shm.is_dir() {
        builder.tempdir_in(shm).or_else(|_| builder.tempdir())?
    } else {
        builder.tempdir()?
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(dir)
}

fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    #[cfg(unix)]
    {
        // In case the umask interfered with the mode given at creation.
        use std::os::unix::fs::PermissionsExt as _;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    }
    f.write_all(bytes)?;
    f.sync_all()
}
