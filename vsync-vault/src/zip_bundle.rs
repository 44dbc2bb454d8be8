//! The bundle payload (docs/formats.md §4): a zip of the vault folder, named by its path relative to the
//! vault root (`infra/vault/dev/`, `infra/vault/dev/.env.dev`, …).
//!
//! Writing is deterministic: the vault folder's directory entry first, then its children sorted
//! byte-wise, depth-first; Unix modes, DOS time and the `UT` extended timestamp; deflate (level 6)
//! unless it does not shrink the data, then stored.
//!
//! Reading validates **every** entry before anything is written: no `..`, `.` or empty
//! components, no absolute paths, drive letters or backslashes, no symlinks or other special
//! files, no encrypted entries, no duplicate names (or a file used as a directory), and the
//! entry-count and total-size caps of [`ZipLimits`]. Decompressed bytes stay in [`Zeroizing`].

use std::collections::HashSet;
use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;
use zip::ZipArchive;

use crate::error::{Result, VaultError};

/// Caps applied when reading a bundle (zip-bomb guard).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLimits {
    /// Maximum number of entries (directories included).
    pub max_entries: usize,
    /// Maximum total uncompressed size of all files, counted on the actual bytes produced.
    pub max_total_bytes: u64,
}

impl Default for ZipLimits {
    /// The limits of [`crate::limits`], the same ones `push` checks before uploading.
    fn default() -> Self {
        Self {
            max_entries: crate::limits::MAX_ENTRIES,
            max_total_bytes: crate::limits::MAX_TOTAL_BYTES,
        }
    }
}

/// One entry of a bundle, as listed by [`list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    /// The entry name without a trailing `/` (e.g. `infra/vault/dev/tls`).
    pub name: String,
    /// Directory entry?
    pub is_dir: bool,
    /// Declared uncompressed size.
    pub size: u64,
}

/// A file read from a bundle into memory.
pub struct BundleFile {
    /// Entry name (full, e.g. `infra/vault/dev/.env.dev`).
    pub name: String,
    /// Decompressed content.
    pub data: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for BundleFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleFile")
            .field("name", &self.name)
            .field("len", &self.data.len())
            .finish_non_exhaustive()
    }
}

/// All files of a bundle, read into memory (for the runtime and for `diff`).
#[derive(Debug)]
pub struct Bundle {
    /// The vault folder the bundle was made from (common directory of all entries), if any.
    pub folder: Option<String>,
    /// Files in archive order.
    pub files: Vec<BundleFile>,
}

impl Bundle {
    /// The path of `name` relative to [`Bundle::folder`].
    pub fn relative<'a>(&self, name: &'a str) -> &'a str {
        relative_to(self.folder.as_deref(), name)
    }

    /// The content of `.env.<env>` directly inside the vault folder, if present.
    pub fn env_file(&self, env: &str) -> Option<&[u8]> {
        let want = format!(".env.{env}");
        self.files
            .iter()
            .find(|f| self.relative(&f.name) == want)
            .map(|f| f.data.as_slice())
    }

    /// Every file except `.env.<env>`, with vault-relative names (the runtime's "assets").
    pub fn assets<'a>(&'a self, env: &str) -> impl Iterator<Item = (&'a str, &'a [u8])> + 'a {
        let want = format!(".env.{env}");
        self.files.iter().filter_map(move |f| {
            let rel = self.relative(&f.name);
            (rel != want).then_some((rel, f.data.as_slice()))
        })
    }
}

/// What [`extract`] and [`extract_vault`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractReport {
    /// The vault folder detected in the bundle (common directory of all entries), if any.
    pub folder: Option<String>,
    /// Files written, relative to the destination, in archive order.
    pub files: Vec<String>,
}

fn relative_to<'a>(folder: Option<&str>, name: &'a str) -> &'a str {
    match folder {
        Some(f) => name
            .strip_prefix(f)
            .and_then(|r| r.strip_prefix('/'))
            .unwrap_or(name),
        None => name,
    }
}

/// The one vault-folder rule ([`crate::vault_folder::normalize`]), under its older name.
pub use crate::vault_folder::normalize as normalize_vault_folder;

fn has_drive_letter(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

pub use crate::zip_write::{build, build_with_comment};

/// A validated entry.
struct Checked {
    index: usize,
    /// Name without trailing slash.
    name: String,
    is_dir: bool,
    size: u64,
    exec: bool,
}

fn open(zip: &[u8]) -> Result<ZipArchive<Cursor<&[u8]>>> {
    ZipArchive::new(Cursor::new(zip)).map_err(|e| VaultError::Zip {
        reason: short_zip_err(&e),
    })
}

fn short_zip_err(e: &zip::result::ZipError) -> String {
    let s = e.to_string();
    s.chars().take(120).collect()
}

/// Validate one entry name; returns it without the trailing slash.
pub(crate) fn check_name(raw: &str) -> std::result::Result<(String, bool), &'static str> {
    if raw.is_empty() {
        return Err("empty name");
    }
    if raw.contains('\0') {
        return Err("NUL byte in name");
    }
    if raw.contains('\\') {
        return Err("backslash in name");
    }
    if raw.starts_with('/') {
        return Err("absolute path");
    }
    if has_drive_letter(raw) {
        return Err("drive letter");
    }
    let is_dir = raw.ends_with('/');
    let trimmed = raw.strip_suffix('/').unwrap_or(raw);
    if trimmed.is_empty() {
        return Err("empty name");
    }
    for comp in trimmed.split('/') {
        match comp {
            "" => return Err("empty path component"),
            "." => return Err("`.` component"),
            ".." => return Err("`..` component"),
            _ if comp.chars().any(char::is_control) => return Err("control character in name"),
            _ => {}
        }
    }
    Ok((trimmed.to_owned(), is_dir))
}

fn validate(archive: &mut ZipArchive<Cursor<&[u8]>>, limits: &ZipLimits) -> Result<Vec<Checked>> {
    let count = archive.len();
    if count > limits.max_entries {
        return Err(VaultError::ZipLimit {
            what: "entries",
            limit: limits.max_entries as u64,
        });
    }
    if archive.has_duplicate_names() {
        return Err(VaultError::UnsafeZipPath {
            path: "(several)".to_owned(),
            reason: "duplicate names",
        });
    }
    let mut out = Vec::with_capacity(count);
    let mut names = HashSet::with_capacity(count);
    let mut declared: u64 = 0;
    for index in 0..count {
        let entry = archive.by_index_data(index).map_err(|e| VaultError::Zip {
            reason: short_zip_err(&e),
        })?;
        let raw = entry.name().map_err(|e| VaultError::Zip {
            reason: short_zip_err(&e),
        })?;
        let shown = crate::ts::printable(&raw);
        let (name, slash_dir) = check_name(&raw).map_err(|reason| VaultError::UnsafeZipPath {
            path: shown.clone(),
            reason,
        })?;
        let unsafe_entry = |reason| VaultError::UnsafeZipPath {
            path: shown.clone(),
            reason,
        };
        if entry.encrypted() {
            return Err(unsafe_entry("encrypted entry"));
        }
        if entry.is_symlink() {
            return Err(unsafe_entry("symlink entry"));
        }
        let mode = entry.unix_mode();
        let kind = mode.map(|m| m & 0o170_000).unwrap_or(0);
        let is_dir = match kind {
            0 => slash_dir,
            0o100_000 if !slash_dir => false,
            0o040_000 => true,
            _ => return Err(unsafe_entry("special file entry")),
        };
        if is_dir && !slash_dir && entry.size() > 0 {
            return Err(unsafe_entry("directory entry with content"));
        }
        if !names.insert(name.clone()) {
            return Err(unsafe_entry("duplicate names"));
        }
        let size = entry.size();
        if !is_dir {
            declared = declared.saturating_add(size);
            if declared > limits.max_total_bytes {
                return Err(VaultError::ZipLimit {
                    what: "uncompressed bytes",
                    limit: limits.max_total_bytes,
                });
            }
        }
        out.push(Checked {
            index,
            name,
            is_dir,
            size,
            exec: mode.is_some_and(|m| m & 0o100 != 0),
        });
    }
    // A file must not also be used as a directory (`a` and `a/b`).
    let files: HashSet<&str> = out
        .iter()
        .filter(|c| !c.is_dir)
        .map(|c| c.name.as_str())
        .collect();
    for c in &out {
        let mut rest = c.name.as_str();
        while let Some((parent, _)) = rest.rsplit_once('/') {
            if files.contains(parent) {
                return Err(VaultError::UnsafeZipPath {
                    path: crate::ts::printable(&c.name),
                    reason: "a file is used as a directory",
                });
            }
            rest = parent;
        }
    }
    Ok(out)
}

/// The archive comment of a bundle (empty when it has none); push seals the audit chain head
/// there (docs/audit-chain.md).
pub fn archive_comment(zip: &[u8]) -> Result<Vec<u8>> {
    Ok(open(zip)?.comment().to_vec())
}

/// List the entries of a bundle (names validated).
pub fn list(zip: &[u8]) -> Result<Vec<EntryInfo>> {
    let mut archive = open(zip)?;
    let limits = ZipLimits {
        max_entries: usize::MAX,
        max_total_bytes: u64::MAX,
    };
    Ok(validate(&mut archive, &limits)?
        .into_iter()
        .map(|c| EntryInfo {
            name: c.name,
            is_dir: c.is_dir,
            size: c.size,
        })
        .collect())
}

/// The common directory of all entry names (the vault folder the bundle was made from).
pub fn common_folder<'a>(names: impl IntoIterator<Item = (&'a str, bool)>) -> Option<String> {
    let mut common: Option<Vec<&str>> = None;
    for (name, is_dir) in names {
        let comps: Vec<&str> = name.split('/').collect();
        let dir_comps = if is_dir {
            &comps[..]
        } else {
            &comps[..comps.len().saturating_sub(1)]
        };
        common = Some(match common {
            None => dir_comps.to_vec(),
            Some(c) => c
                .iter()
                .zip(dir_comps)
                .take_while(|(a, b)| a == b)
                .map(|(a, _)| *a)
                .collect(),
        });
    }
    common.filter(|c| !c.is_empty()).map(|c| c.join("/"))
}

/// Read one checked file completely, counting actual bytes against `budget`.
fn read_entry(
    archive: &mut ZipArchive<Cursor<&[u8]>>,
    c: &Checked,
    budget: &mut u64,
    limit: u64,
) -> Result<Zeroizing<Vec<u8>>> {
    let mut file = archive.by_index(c.index).map_err(|e| VaultError::Zip {
        reason: short_zip_err(&e),
    })?;
    let cap = c.size.min(*budget);
    let mut data = Zeroizing::new(Vec::with_capacity(usize::try_from(cap).unwrap_or(0)));
    // Read at most budget + 1 bytes: one byte more than allowed proves a lying header.
    let n = (&mut file)
        .take(budget.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(|e| VaultError::Zip {
            reason: format!("entry {}: {}", crate::ts::printable(&c.name), e.kind()),
        })?;
    let n = n as u64;
    if n > *budget {
        return Err(VaultError::ZipLimit {
            what: "uncompressed bytes",
            limit,
        });
    }
    if n != c.size {
        return Err(VaultError::Zip {
            reason: format!(
                "entry {} has {n} bytes, header says {}",
                crate::ts::printable(&c.name),
                c.size
            ),
        });
    }
    *budget -= n;
    Ok(data)
}

/// Read every file of a bundle into memory (validated, capped).
pub fn read_bundle(zip: &[u8], limits: &ZipLimits) -> Result<Bundle> {
    let mut archive = open(zip)?;
    let checked = validate(&mut archive, limits)?;
    let folder = common_folder(checked.iter().map(|c| (c.name.as_str(), c.is_dir)));
    let mut budget = limits.max_total_bytes;
    let mut files = Vec::new();
    for c in checked.iter().filter(|c| !c.is_dir) {
        let data = read_entry(&mut archive, c, &mut budget, limits.max_total_bytes)?;
        files.push(BundleFile {
            name: c.name.clone(),
            data,
        });
    }
    Ok(Bundle { folder, files })
}

/// Extract a bundle under `dest` with the full entry names (upstream: relative to the vault
/// root). `dest` should be a fresh staging directory; on error everything this call created is
/// removed again.
pub fn extract(zip: &[u8], dest: &Path, limits: &ZipLimits) -> Result<ExtractReport> {
    extract_impl(zip, dest, limits, false)
}

/// Extract a bundle under `dest` with names relative to the bundle's vault folder, so `dest`
/// becomes the vault folder itself (ready to be swapped into place).
pub fn extract_vault(zip: &[u8], dest: &Path, limits: &ZipLimits) -> Result<ExtractReport> {
    extract_impl(zip, dest, limits, true)
}

fn extract_impl(zip: &[u8], dest: &Path, limits: &ZipLimits, strip: bool) -> Result<ExtractReport> {
    let mut archive = open(zip)?;
    let checked = validate(&mut archive, limits)?;
    let folder = common_folder(checked.iter().map(|c| (c.name.as_str(), c.is_dir)));
    let mut created: Vec<PathBuf> = Vec::new();
    let result = (|| -> Result<Vec<String>> {
        create_dir_private(dest, &mut created)?;
        let mut budget = limits.max_total_bytes;
        let mut files = Vec::new();
        for c in &checked {
            let rel = if strip {
                relative_to(folder.as_deref(), &c.name)
            } else {
                c.name.as_str()
            };
            if strip && folder.as_deref() == Some(c.name.as_str()) {
                continue; // the vault folder itself: that is `dest`
            }
            let target = dest.join(rel);
            if c.is_dir {
                create_dir_private(&target, &mut created)?;
                continue;
            }
            if let Some(parent) = target.parent() {
                create_dir_private(parent, &mut created)?;
            }
            let data = read_entry(&mut archive, c, &mut budget, limits.max_total_bytes)?;
            write_new_file(&target, &data, c.exec)?;
            created.push(target);
            files.push(rel.to_owned());
        }
        Ok(files)
    })();
    match result {
        Ok(files) => Ok(ExtractReport { folder, files }),
        Err(e) => {
            for p in created.iter().rev() {
                let _ = std::fs::remove_file(p).or_else(|_| std::fs::remove_dir(p));
            }
            Err(e)
        }
    }
}

/// Create `dir` and missing parents with mode 0700, recording what was created.
fn create_dir_private(dir: &Path, created: &mut Vec<PathBuf>) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent()
        && !parent.as_os_str().is_empty()
    {
        create_dir_private(parent, created)?;
    }
    let mut b = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    match b.create(dir) {
        Ok(()) => {
            created.push(dir.to_path_buf());
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && dir.is_dir() => Ok(()),
        Err(e) => Err(VaultError::io("create directory", dir, e)),
    }
}

fn write_new_file(path: &Path, data: &[u8], exec: bool) -> Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(if exec { 0o700 } else { 0o600 });
    }
    #[cfg(not(unix))]
    let _ = exec;
    let mut f = o
        .open(path)
        .map_err(|e| VaultError::io("create", path, e))?;
    f.write_all(data)
        .map_err(|e| VaultError::io("write", path, e))?;
    f.sync_all().map_err(|e| VaultError::io("sync", path, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "a/b", "a/", ".env.dev", "a/..b", "a/b..", "..a"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/",
            "/etc/passwd",
            "../x",
            "a/../../x",
            "a/..",
            "..",
            "a\\b",
            "C:/x",
            "c:x",
            "a//b",
            "./a",
            "a/./b",
            "a\0b",
            "a\nb",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn folder_normalisation() {
        assert_eq!(
            normalize_vault_folder("./infra/vault/dev/").unwrap(),
            "infra/vault/dev"
        );
        assert_eq!(
            normalize_vault_folder("infra//vault").unwrap(),
            "infra/vault"
        );
        for bad in ["", ".", "/abs", "../x", "a/../b", "a\\b", "C:/x"] {
            assert!(normalize_vault_folder(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn common_folder_cases() {
        let f = |v: &[(&str, bool)]| common_folder(v.iter().copied());
        assert_eq!(
            f(&[
                ("infra/vault/dev", true),
                ("infra/vault/dev/.env.dev", false),
                ("infra/vault/dev/tls", true)
            ]),
            Some("infra/vault/dev".to_owned())
        );
        assert_eq!(
            f(&[("infra/vault/dev/.env.dev", false)]),
            Some("infra/vault/dev".to_owned())
        );
        assert_eq!(f(&[("a/x", false), ("b/y", false)]), None);
        assert_eq!(f(&[]), None);
    }
}
