//! Atomic, private file writes: temp file in the same folder, fsync, rename. Files 0600, folders 0700.
//!
//! The one implementation: the ledger, the high-water file and every file the CLI writes
//! (config, profiles, backups, shares, key exports) go through it.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A local file operation that failed, naming the path.
#[derive(Debug, thiserror::Error)]
#[error("{action} {path}: {source}")]
pub struct FsError {
    /// What we were doing ("write", "read", "create folder"…).
    pub action: &'static str,
    /// The path involved.
    pub path: PathBuf,
    /// The OS error.
    #[source]
    pub source: io::Error,
}

impl FsError {
    /// Wrap an `io::Error` with what and where.
    pub fn new(action: &'static str, path: &Path, source: io::Error) -> Self {
        Self {
            action,
            path: path.to_owned(),
            source,
        }
    }
}

/// Create `dir` and its missing parents with mode 0700 (and tighten `dir` itself if it existed).
pub fn ensure_private_dir(dir: &Path) -> Result<(), FsError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .map_err(|e| FsError::new("create folder", dir, e))?;
    set_mode(dir, 0o700);
    Ok(())
}

/// Best-effort chmod. Windows has no modes: the file keeps the ACL inherited from its folder and
/// vsync sets none of its own (the gap is documented in docs/security.md, "Files on Windows").
pub fn set_mode(path: &Path, mode: u32) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    {
        let _ = (path, mode);
    }
}

/// Write `bytes` to `path` atomically with `mode`: readers see the old file or the new one, never
/// a torn one. The parent folder must exist.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FsError> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(
        ".{name}.tmp.{}.{}",
        std::process::id(),
        random_suffix()
    ));
    let result = (|| {
        let mut opts = fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(mode);
        }
        let mut f = opts.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        set_mode(&tmp, mode);
        fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(FsError::new("write", path, e));
    }
    Ok(())
}

/// Write a private (0600) file atomically, creating its folder 0700.
pub fn write_private(path: &Path, bytes: &[u8]) -> Result<(), FsError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        ensure_private_dir(parent)?;
    }
    write_atomic(path, bytes, 0o600)
}

fn random_suffix() -> String {
    let mut b = [0u8; 6];
    vsync_crypto::random::fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Read a file; `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, FsError> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(FsError::new("read", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_write_sets_0600_in_0700_folder() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b/secret");
        write_private(&path, b"x").unwrap();
        write_private(&path, b"yz").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"yz");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
            assert_eq!(
                fs::metadata(path.parent().unwrap())
                    .unwrap()
                    .permissions()
                    .mode()
                    & 0o777,
                0o700
            );
        }
        // no temp files left behind
        assert_eq!(fs::read_dir(path.parent().unwrap()).unwrap().count(), 1);
    }
}
