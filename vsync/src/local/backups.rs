//! Encrypted rolling backups of the vault (docs/formats.md §9.8): before a pull (or a restore) replaces
//! the vault folder, the folder is zipped exactly like a bundle (§4.1) and stored as
//! `RQE1(zip)` — no RQEM0001 seal — under this env's key text and config salt, so upstream's
//! `restore-backup` opens our files and we open theirs.
//!
//! Location (docs/formats.md §9.8 is marked [conflict]; what is followed here):
//! - written to `<root>/<repo>/<env_lc>-<BUNDLE_TS>.zip.enc`, where `<root>` is
//!   `$VSYNC_BACKUP_DIR` (upstream's override) or `<base>/backups` (upstream's current code).
//!   Upstream puts the file directly in `<root>` without the repo; two repos with a `prod` env
//!   then share one name space and prune each other's backups, so the repo folder is added
//!   (the folder the plain `pull --backup` copies already use).
//! - read from there, and from upstream's places: `<root>/<env_lc>-<ts>.zip.enc` and the
//!   legacy `$LOCALDEVCONFIG_DIR` or `~/.config/localdevconfig/<env_lc>-<ts>.zip.enc`.
//! - retention: the newest `VSYNC_BACKUP_KEEP` (default 5) of ours per (repo, env), by the
//!   timestamp in the name. Upstream's files are never pruned by us.

use std::io::Read;
use std::path::{Path, PathBuf};

use vsync_crypto::kdf::DerivedKey;

use crate::error::{CliError, ExitKind};
use crate::local::fsutil;
use crate::settings::{env, machine};

/// The file name ending.
pub const EXT: &str = ".zip.enc";
/// Largest backup file read: the zip-bomb cap on the content plus room for zip and RQE1 framing.
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024 + 16 * 1024 * 1024;

/// What can go wrong with a backup file.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading or writing failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The path is not a regular file (a symlink, a folder, a device).
    #[error("{} is not a regular file", path.display())]
    NotAFile {
        /// The file.
        path: PathBuf,
    },
    /// Larger than any backup vsync writes.
    #[error("{} is {size} bytes, more than a backup can be ({MAX_FILE_BYTES})", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        size: u64,
    },
    /// Not an RQE1 envelope at all.
    #[error("{} is not a vsync backup ({reason})", path.display())]
    NotABackup {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The envelope does not open with this env's key.
    #[error("{} does not decrypt with the key of this env: it was made with another key (before a rotation, or for another repo) or it is damaged", path.display())]
    WrongKey {
        /// The file.
        path: PathBuf,
    },
    /// `VSYNC_BACKUP_KEEP` is not a positive number.
    #[error("VSYNC_BACKUP_KEEP={0:?} is not a whole number of at least 1")]
    BadKeep(String),
}

impl From<BackupError> for CliError {
    fn from(e: BackupError) -> Self {
        let kind = match &e {
            BackupError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                ExitKind::NotFound
            }
            BackupError::Io { .. } => ExitKind::Failed,
            BackupError::BadKeep(_) => ExitKind::Usage,
            _ => ExitKind::Integrity,
        };
        let hint = match &e {
            BackupError::BadKeep(_) => "unset it (5 are kept) or set a number like 10",
            BackupError::Io { .. } => "nothing was changed",
            _ => "nothing was changed; `vsync restore-backup <env> --list` shows the backups",
        };
        CliError::new(kind, e.to_string()).with_hint(hint)
    }
}

/// Where our backups and upstream's current ones live.
pub fn root(base: &Path) -> PathBuf {
    machine::backup_dir(env()).unwrap_or_else(|| base.join("backups"))
}

/// The folder of one repo's encrypted backups.
pub fn repo_dir(base: &Path, repo: &str) -> PathBuf {
    root(base).join(repo)
}

/// Upstream's pre-rename backup folder.
fn legacy_dir() -> Option<PathBuf> {
    machine::legacy_backup_dir(env())
}

/// How many backups to keep per (repo, env).
pub fn keep() -> Result<usize, BackupError> {
    machine::backup_keep(env()).map_err(BackupError::BadKeep)
}

/// `<env_lc>-<ts>.zip.enc`.
pub fn file_name(env: &str, ts: &str) -> String {
    format!("{}-{ts}{EXT}", env.to_lowercase())
}

/// The timestamp of a backup file name of `env`, if it is one.
pub fn ts_of(name: &str, env: &str) -> Option<String> {
    let rest = name
        .strip_prefix(&format!("{}-", env.to_lowercase()))?
        .strip_suffix(EXT)?;
    vsync_crypto::rqem0001::is_bundle_ts(rest).then(|| rest.to_owned())
}

/// Who wrote a backup, as far as its place tells.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// Ours: `<root>/<repo>/`.
    Vsync,
    /// Upstream's current place (no repo in the name).
    Upstream,
    /// Upstream's pre-rename place.
    UpstreamLegacy,
}

/// One backup file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    /// The timestamp in its name.
    pub ts: String,
    /// Where it is.
    pub path: PathBuf,
    /// Who wrote it.
    pub origin: Origin,
    /// Its size in bytes.
    pub size: u64,
}

/// Every backup of (repo, env) this machine has, newest first (ours before upstream's on a tie).
pub fn list(base: &Path, repo: &str, env: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    scan(&repo_dir(base, repo), env, Origin::Vsync, &mut out);
    scan(&root(base), env, Origin::Upstream, &mut out);
    if let Some(d) = legacy_dir() {
        scan(&d, env, Origin::UpstreamLegacy, &mut out);
    }
    out.sort_by(|a, b| {
        b.ts.cmp(&a.ts)
            .then((a.origin as u8).cmp(&(b.origin as u8)))
    });
    out
}

fn scan(dir: &Path, env: &str, origin: Origin, out: &mut Vec<Entry>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(ts) = ts_of(&name, env) else {
            continue;
        };
        // Regular files only; a symlink planted here is not followed.
        let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
            continue;
        };
        if meta.is_file() {
            out.push(Entry {
                ts,
                path: e.path(),
                origin,
                size: meta.len(),
            });
        }
    }
}

/// Encrypt `zip` and store it as a new backup of `env` in `dir` (0600, atomically). A name
/// already taken (two pulls in one second) moves to the next second rather than replace it.
pub fn write(dir: &Path, env: &str, key: &DerivedKey, zip: &[u8]) -> Result<PathBuf, BackupError> {
    fsutil::ensure_private_dir(dir).map_err(|e| BackupError::Io {
        action: "create",
        path: dir.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    let sealed = vsync_crypto::rqe1::encrypt(key, zip);
    let mut at = time::OffsetDateTime::now_utc();
    for _ in 0..60 {
        let path = dir.join(file_name(env, &vsync_vault::ts::format_bundle_ts(at)));
        if std::fs::symlink_metadata(&path).is_err() {
            fsutil::write_atomic(&path, &sealed, 0o600).map_err(|e| BackupError::Io {
                action: "write",
                path: path.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
            return Ok(path);
        }
        at += time::Duration::seconds(1);
    }
    Err(BackupError::Io {
        action: "write",
        path: dir.to_path_buf(),
        source: std::io::Error::other("no free backup name in the next minute"),
    })
}

/// Remove all but the `keep` newest of our backups of `env` in `dir`; returns what was removed.
pub fn prune(dir: &Path, env: &str, keep: usize) -> Vec<PathBuf> {
    let mut ours = Vec::new();
    scan(dir, env, Origin::Vsync, &mut ours);
    ours.sort_by(|a, b| b.ts.cmp(&a.ts));
    let mut removed = Vec::new();
    for e in ours.into_iter().skip(keep) {
        if std::fs::remove_file(&e.path).is_ok() {
            removed.push(e.path);
        }
    }
    removed
}

/// Read a backup file: a regular file (symlinks are not followed), within the size cap.
pub fn read(path: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>, BackupError> {
    let io = |action: &'static str, source| BackupError::Io {
        action,
        path: path.to_path_buf(),
        source,
    };
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    let f = match opts.open(path) {
        Ok(f) => f,
        Err(e) if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) => {
            let _ = e;
            return Err(BackupError::NotAFile {
                path: path.to_path_buf(),
            });
        }
        Err(e) => return Err(io("read", e)),
    };
    let meta = f.metadata().map_err(|e| io("read", e))?;
    if !meta.is_file() {
        return Err(BackupError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(BackupError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
        });
    }
    let mut buf = zeroize::Zeroizing::new(Vec::with_capacity(meta.len() as usize));
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut buf)
        .map_err(|e| io("read", e))?;
    Ok(buf)
}

/// Decrypt a backup file's bytes into its zip.
pub fn open(
    path: &Path,
    key: &DerivedKey,
    bytes: &[u8],
) -> Result<zeroize::Zeroizing<Vec<u8>>, BackupError> {
    vsync_crypto::rqe1::decrypt(key, bytes).map_err(|e| {
        if matches!(e, vsync_crypto::CryptoError::WrongPassphrase) {
            BackupError::WrongKey {
                path: path.to_path_buf(),
            }
        } else {
            BackupError::NotABackup {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_foreign_names_are_ignored() {
        assert_eq!(
            file_name("Prod", "20260101-120000"),
            "prod-20260101-120000.zip.enc"
        );
        assert_eq!(
            ts_of("prod-20260101-120000.zip.enc", "prod").as_deref(),
            Some("20260101-120000")
        );
        assert_eq!(ts_of("prod-x-20260101-120000.zip.enc", "prod"), None);
        assert_eq!(ts_of("prod-20260101-120000.zip.enc", "pro"), None);
        assert_eq!(ts_of("prod-20260101-120000.zip", "prod"), None);
    }

    #[test]
    fn prune_keeps_the_newest_by_name() {
        let d = tempfile::tempdir().unwrap();
        for ts in ["20260101-000001", "20260101-000003", "20260101-000002"] {
            std::fs::write(d.path().join(file_name("dev", ts)), b"x").unwrap();
        }
        std::fs::write(d.path().join(file_name("other", "20260101-000000")), b"x").unwrap();
        let removed = prune(d.path(), "dev", 2);
        assert_eq!(removed.len(), 1);
        assert!(removed[0].ends_with("dev-20260101-000001.zip.enc"));
        assert!(
            d.path()
                .join(file_name("other", "20260101-000000"))
                .exists()
        );
    }
}
