//! Vault walk rules (docs/formats.md §5.2): recurse, regular files only (dotfiles included), any
//! symlink under the vault is an error, relative POSIX paths sorted by UTF-16 code-unit order,
//! a missing vault gives an empty list.

use std::cmp::Ordering;
use std::fs::Metadata;
use std::path::Path;

use crate::error::{Result, VaultError};

/// One regular file of the vault.
#[derive(Debug, Clone, PartialEq)]
pub struct FileEntry {
    /// Vault-relative POSIX path, e.g. `tls/server.crt`.
    pub path: String,
    /// Modification time in milliseconds since the epoch, as a float (docs/formats.md §9.6:
    /// `seconds × 1000 + nanoseconds / 10⁶`).
    pub mtime_ms: f64,
    /// Size in bytes.
    pub size: u64,
}

/// A directory or file found by [`walk_tree`].
#[derive(Debug, Clone)]
pub(crate) struct TreeEntry {
    /// Vault-relative POSIX path without a trailing slash.
    pub(crate) path: String,
    pub(crate) is_dir: bool,
    pub(crate) meta: Metadata,
}

/// Compare two strings by UTF-16 code units (JavaScript's default sort order).
pub fn cmp_utf16(a: &str, b: &str) -> Ordering {
    a.encode_utf16().cmp(b.encode_utf16())
}

/// `mtime_ms` exactly as upstream's runtime reports it.
pub fn mtime_ms(meta: &Metadata) -> f64 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        meta.mtime() as f64 * 1000.0 + meta.mtime_nsec() as f64 / 1_000_000.0
    }
    #[cfg(not(unix))]
    {
        use std::time::UNIX_EPOCH;
        match meta.modified() {
            Ok(t) => match t.duration_since(UNIX_EPOCH) {
                Ok(d) => d.as_secs() as f64 * 1000.0 + f64::from(d.subsec_nanos()) / 1_000_000.0,
                Err(e) => {
                    let d = e.duration();
                    -(d.as_secs() as f64 * 1000.0 + f64::from(d.subsec_nanos()) / 1_000_000.0)
                }
            },
            Err(_) => 0.0,
        }
    }
}

/// Walk the vault folder: regular files only, sorted, symlinks refused.
pub fn walk(vault: &Path) -> Result<Vec<FileEntry>> {
    let mut files: Vec<FileEntry> = walk_tree(vault)?
        .into_iter()
        .filter(|e| !e.is_dir)
        .map(|e| FileEntry {
            mtime_ms: mtime_ms(&e.meta),
            size: e.meta.len(),
            path: e.path,
        })
        .collect();
    files.sort_by(|a, b| cmp_utf16(&a.path, &b.path));
    Ok(files)
}

/// Depth-first walk returning directories (before their children) and regular files; siblings
/// sorted byte-wise. A missing root gives an empty list. The root itself may be reached through a
/// symlink; anything below it may not.
pub(crate) fn walk_tree(root: &Path) -> Result<Vec<TreeEntry>> {
    match std::fs::metadata(root) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(VaultError::VaultFolderNotDirectory {
                path: root.to_path_buf(),
                advice: "; move the file away",
            });
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(VaultError::io("read", root, e)),
    }
    let mut out = Vec::new();
    walk_dir(root, "", &mut out)?;
    Ok(out)
}

fn walk_dir(dir: &Path, rel: &str, out: &mut Vec<TreeEntry>) -> Result<()> {
    let rd = std::fs::read_dir(dir).map_err(|e| VaultError::io("read directory", dir, e))?;
    let mut children = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| VaultError::io("read directory", dir, e))?;
        let name_os = ent.file_name();
        let path = ent.path();
        let Some(name) = name_os.to_str() else {
            return Err(VaultError::BadVaultName {
                path: join(rel, &name_os.to_string_lossy()),
                reason: "not valid UTF-8",
            });
        };
        if name.contains('\\') {
            return Err(VaultError::BadVaultName {
                path: join(rel, name),
                reason: "contains a backslash",
            });
        }
        let meta =
            std::fs::symlink_metadata(&path).map_err(|e| VaultError::io("stat", &path, e))?;
        children.push((name.to_owned(), path, meta));
    }
    children.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    for (name, path, meta) in children {
        let rel_path = join(rel, &name);
        let ft = meta.file_type();
        if ft.is_symlink() {
            return Err(VaultError::Symlink { path: rel_path });
        } else if ft.is_dir() {
            out.push(TreeEntry {
                path: rel_path.clone(),
                is_dir: true,
                meta,
            });
            walk_dir(&path, &rel_path, out)?;
        } else if ft.is_file() {
            out.push(TreeEntry {
                path: rel_path,
                is_dir: false,
                meta,
            });
        }
        // Sockets, FIFOs and devices are skipped.
    }
    Ok(())
}

fn join(rel: &str, name: &str) -> String {
    if rel.is_empty() {
        name.to_owned()
    } else {
        format!("{rel}/{name}")
    }
}

/// A vault folder in a fresh temporary folder holding `files` (path, text), parents created.
/// Keep the `TempDir`: the folder goes when it drops.
#[cfg(test)]
pub(crate) fn scratch_vault(files: &[(&str, &str)]) -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let v = d.path().join("vault");
    std::fs::create_dir_all(&v).unwrap();
    for (path, text) in files {
        let p = v.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    (d, v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_sorted_dotfiles_missing() {
        let (_d, v) = scratch_vault(&[]);
        assert!(walk(&v.join("missing")).unwrap().is_empty());
        std::fs::create_dir_all(v.join("empty")).unwrap();
        for (path, text) in [
            (".env.dev", "A=1\n"),
            ("b.txt", "bb"),
            ("B.txt", "BBB"),
            ("tls/server.crt", "x"),
            ("tls/deep/k", ""),
            ("\u{FF5E}", ""),
            ("\u{1F600}", ""),
        ] {
            std::fs::create_dir_all(v.join(path).parent().unwrap()).unwrap();
            std::fs::write(v.join(path), text).unwrap();
        }
        let got: Vec<_> = walk(&v)
            .unwrap()
            .into_iter()
            .map(|e| (e.path, e.size))
            .collect();
        assert_eq!(
            got,
            vec![
                (".env.dev".to_owned(), 4),
                ("B.txt".to_owned(), 3),
                ("b.txt".to_owned(), 2),
                ("tls/deep/k".to_owned(), 0),
                ("tls/server.crt".to_owned(), 1),
                // UTF-16 order: the surrogate pair (D83D) sorts before U+FF5E.
                ("\u{1F600}".to_owned(), 0),
                ("\u{FF5E}".to_owned(), 0),
            ]
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlink_anywhere_is_refused() {
        let (_d, v) = scratch_vault(&[("a", "1")]);
        std::fs::create_dir_all(v.join("sub")).unwrap();
        std::os::unix::fs::symlink("../a", v.join("sub/link")).unwrap();
        match walk(&v) {
            Err(VaultError::Symlink { path }) => assert_eq!(path, "sub/link"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mtime_has_fraction_like_node() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("x");
        std::fs::write(&f, "1").unwrap();
        let m = std::fs::metadata(&f).unwrap();
        let ms = mtime_ms(&m);
        let st = m
            .modified()
            .unwrap()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap();
        assert!((ms - st.as_secs_f64() * 1000.0).abs() < 1.0);
    }
}
