//! Vetting a plugin file before any of its code runs, and reading the exact bytes that will be
//! loaded.
//!
//! Like ssh's `StrictModes`: symlinks are resolved first, then the file and every folder up
//! to `/` must be owned by root or the current user and not writable by group or others (a
//! folder with the sticky bit, such as `/tmp`, is accepted: nobody else can rename what we own
//! inside it). The file is then opened once, checked through the open descriptor, read, and
//! hashed; the child process loads a private copy of exactly those bytes, so a swap after the
//! check loads nothing new.

use std::path::{Path, PathBuf};

use sha2::Digest;
use vsync_dest_api::{DestError, DestErrorKind};
use zeroize::Zeroizing;

/// Largest plugin file read.
pub const MAX_PLUGIN_BYTES: u64 = 512 * 1024 * 1024;

/// The bytes that will be loaded.
pub enum Image {
    /// Linux: a sealed in-memory copy, filled in the kernel (no pass through our memory).
    #[cfg(target_os = "linux")]
    Sealed(super::image::Sealed),
    /// Elsewhere: the bytes, sent to the child over its socket.
    Bytes(Zeroizing<Vec<u8>>),
}

impl Image {
    fn sha256(&self) -> std::io::Result<String> {
        let digest = match self {
            #[cfg(target_os = "linux")]
            Self::Sealed(s) => sha2::Sha256::digest(&s.read_all()?[..]),
            Self::Bytes(b) => sha2::Sha256::digest(&b[..]),
        };
        Ok(super::discover::hex(&digest))
    }
}

/// A vetted plugin: where it really is, the bytes that will be loaded, and (when asked for or
/// pinned) their SHA-256.
pub struct Vetted {
    /// The given path (for messages).
    pub path: PathBuf,
    /// Symlinks resolved.
    pub real: PathBuf,
    /// The bytes that will be loaded.
    pub image: Image,
    /// Lower-case hex SHA-256 of the image, when pinned or asked for.
    pub sha256: Option<String>,
}

impl std::fmt::Debug for Vetted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vetted({})", self.path.display())
    }
}

fn refuse(path: &Path, what: impl std::fmt::Display) -> DestError {
    DestError::new(
        DestErrorKind::Config,
        format!("refusing to load plugin {}: {what}", path.display()),
    )
}

/// Vet `path`, copy it, and compare with `pin` (hex SHA-256) when one is given; `hash` asks
/// for the SHA-256 even without a pin (hashing 10 MiB is most of a plugin's start-up cost).
pub fn vet(path: &Path, pin: Option<&str>, hash: bool) -> Result<Vetted, DestError> {
    let real = std::fs::canonicalize(path).map_err(|e| refuse(path, e.kind()))?;
    #[cfg(unix)]
    {
        // the folder holding the name we were given (a symlink can be swapped there) and the
        // folders of the file it resolves to
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            let dir = std::fs::canonicalize(dir).map_err(|e| refuse(path, e.kind()))?;
            unix::check_chain(path, &dir)?;
        }
        if let Some(dir) = real.parent() {
            unix::check_chain(path, dir)?;
        }
    }
    let mut file = std::fs::File::open(&real).map_err(|e| refuse(path, e.kind()))?;
    let meta = file.metadata().map_err(|e| refuse(path, e.kind()))?;
    if !meta.is_file() {
        return Err(refuse(path, "not a regular file"));
    }
    #[cfg(unix)]
    unix::check_file(path, &real, &meta)?;
    if meta.len() > MAX_PLUGIN_BYTES {
        return Err(refuse(path, "larger than 512 MiB"));
    }
    #[cfg(target_os = "linux")]
    let image = Image::Sealed(
        super::image::Sealed::copy_of(&mut file).map_err(|e| refuse(path, e.kind()))?,
    );
    #[cfg(not(target_os = "linux"))]
    let image = {
        use std::io::Read;
        let mut bytes = Zeroizing::new(Vec::with_capacity(meta.len() as usize));
        (&mut file)
            .take(MAX_PLUGIN_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| refuse(path, e.kind()))?;
        Image::Bytes(bytes)
    };
    let sha256 = if hash || pin.is_some() {
        Some(image.sha256().map_err(|e| refuse(path, e.kind()))?)
    } else {
        None
    };
    if let (Some(pin), Some(sha256)) = (pin, &sha256)
        && !sha256.eq_ignore_ascii_case(pin.trim())
    {
        return Err(refuse(
            path,
            format!("sha256 {sha256} does not match the pin sync.<id>.plugin_sha256"),
        ));
    }
    Ok(Vetted {
        path: path.to_owned(),
        real,
        image,
        sha256,
    })
}

#[cfg(unix)]
mod unix {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    use std::path::Path;

    use vsync_dest_api::DestError;

    use super::refuse;

    const STICKY: u32 = 0o1000;

    /// The user vsync runs as.
    pub(super) fn current_uid() -> u32 {
        #[cfg(target_os = "linux")]
        {
            rustix::process::geteuid().as_raw()
        }
        #[cfg(not(target_os = "linux"))]
        {
            // the owner of a file we just created is who we are
            tempfile::tempfile()
                .and_then(|f| f.metadata())
                .map(|m| m.uid())
                .unwrap_or(u32::MAX)
        }
    }

    fn owner_ok(uid: u32) -> bool {
        uid == 0 || uid == current_uid()
    }

    /// Every folder from `dir` up to `/`.
    pub(super) fn check_chain(path: &Path, dir: &Path) -> Result<(), DestError> {
        for d in dir.ancestors() {
            let m = std::fs::metadata(d).map_err(|e| refuse(path, e.kind()))?;
            if !owner_ok(m.uid()) {
                return Err(refuse(
                    path,
                    format!(
                        "folder {} is owned by uid {} (only root or you may own it)",
                        d.display(),
                        m.uid()
                    ),
                ));
            }
            let mode = m.permissions().mode();
            if mode & 0o022 != 0 && mode & STICKY == 0 {
                return Err(refuse(
                    path,
                    format!(
                        "folder {} is group- or world-writable (chmod go-w it)",
                        d.display()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The opened file: same inode as the resolved path, owner, mode.
    pub(super) fn check_file(
        path: &Path,
        real: &Path,
        opened: &std::fs::Metadata,
    ) -> Result<(), DestError> {
        let now = std::fs::symlink_metadata(real).map_err(|e| refuse(path, e.kind()))?;
        if now.ino() != opened.ino() || now.dev() != opened.dev() {
            return Err(refuse(path, "the file changed while it was being vetted"));
        }
        if !owner_ok(opened.uid()) {
            return Err(refuse(
                path,
                format!(
                    "the file is owned by uid {} (only root or you may own it)",
                    opened.uid()
                ),
            ));
        }
        if opened.permissions().mode() & 0o022 != 0 {
            return Err(refuse(path, "the file is group- or world-writable"));
        }
        Ok(())
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn private_dir() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        d
    }

    fn file_in(dir: &Path, name: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, b"not really a library").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    #[test]
    fn a_private_file_is_read_and_hashed() {
        let d = private_dir();
        let p = file_in(d.path(), "libvsync_dest_x.so");
        let v = vet(&p, None, true).unwrap();
        let sha = v.sha256.clone().unwrap();
        assert_eq!(sha.len(), 64);
        match &v.image {
            #[cfg(target_os = "linux")]
            Image::Sealed(s) => assert_eq!(&s.read_all().unwrap()[..], b"not really a library"),
            Image::Bytes(b) => assert_eq!(&b[..], b"not really a library"),
        }
        assert!(vet(&p, None, false).unwrap().sha256.is_none());
        assert!(vet(&p, Some(&sha.to_uppercase()), false).is_ok());
        let e = vet(&p, Some(&"0".repeat(64)), false).unwrap_err();
        assert!(e.message.contains("does not match the pin"), "{e}");
    }

    #[test]
    fn a_writable_folder_anywhere_up_the_chain_is_refused() {
        let d = private_dir();
        let mid = d.path().join("open");
        let leaf = mid.join("private");
        std::fs::create_dir_all(&leaf).unwrap();
        std::fs::set_permissions(&leaf, std::fs::Permissions::from_mode(0o700)).unwrap();
        std::fs::set_permissions(&mid, std::fs::Permissions::from_mode(0o777)).unwrap();
        let p = file_in(&leaf, "libvsync_dest_x.so");
        let e = vet(&p, None, false).unwrap_err();
        assert!(e.message.contains("world-writable"), "{e}");
        // the sticky bit makes it safe (nobody else can rename our folder inside it)
        std::fs::set_permissions(&mid, std::fs::Permissions::from_mode(0o1777)).unwrap();
        vet(&p, None, false).unwrap();
    }

    #[test]
    fn a_symlink_into_a_writable_folder_is_refused() {
        let d = private_dir();
        let open = d.path().join("open");
        std::fs::create_dir(&open).unwrap();
        let target = file_in(&open, "libvsync_dest_x.so");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let safe = d.path().join("safe");
        std::fs::create_dir(&safe).unwrap();
        std::fs::set_permissions(&safe, std::fs::Permissions::from_mode(0o700)).unwrap();
        let link = safe.join("libvsync_dest_x.so");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = vet(&link, None, false).unwrap_err();
        assert!(e.message.contains("world-writable"), "{e}");
    }

    #[test]
    fn a_file_of_another_user_is_refused() {
        if unix::current_uid() != 0 {
            return; // only root can give a file away; the e2e suite runs as root in CI
        }
        let d = private_dir();
        let p = file_in(d.path(), "libvsync_dest_x.so");
        std::os::unix::fs::chown(&p, Some(65534), None).unwrap();
        let e = vet(&p, None, false).unwrap_err();
        assert!(e.message.contains("owned by uid 65534"), "{e}");
    }

    #[test]
    fn a_group_writable_file_is_refused() {
        let d = private_dir();
        let p = file_in(d.path(), "libvsync_dest_x.so");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o775)).unwrap();
        assert!(
            vet(&p, None, false)
                .unwrap_err()
                .message
                .contains("writable")
        );
    }
}
