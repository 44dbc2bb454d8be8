//! The one rule for `files.vaultFolder`: where in the checkout the plain-text vault lives.
//!
//! A vault folder arrives from `init --vault-folder`, from the per-env config on disk, from a
//! teammate's `.share` file and from a keytree. `pull --force` swaps the folder out and deletes
//! what it held, so a hostile value (an absolute path, `../..`, `.git`) would let whoever wrote
//! the share file choose what gets overwritten. Every entry point calls [`normalize`]; code that
//! writes into the folder calls [`resolve`], which also refuses a symlink on the way.
//!
//! Accepted: a relative path of plain names separated by `/` (`./` and repeated or trailing `/`
//! are tidied away). Refused: empty (the checkout root), absolute paths, drive letters and any
//! `:`, backslashes, NUL and other control characters, `..`, `.git` in any letter case (and the
//! forms Windows treats as `.git`: trailing dots or spaces, the 8.3 name `GIT~1`), Windows device
//! names (`CON`, `NUL`, `COM1`, …, with or without an extension), components over 255 bytes.

use std::path::{Path, PathBuf};

use crate::error::{Result, VaultError};

/// Longest accepted vault folder text, in bytes (well under every platform's path limit).
pub const MAX_LEN: usize = 1024;

/// Why a vault folder was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reason {
    /// Empty after tidying: it would be the checkout root itself.
    CheckoutRoot,
    /// Starts with `/`.
    Absolute,
    /// A drive letter or another `:` (Windows drive-relative paths, alternate data streams).
    Colon,
    /// Contains `\`.
    Backslash,
    /// NUL or another control character.
    Control,
    /// A `..` component.
    ParentDir,
    /// `.git` or something a file system treats as `.git`.
    GitDir,
    /// A Windows device name such as `CON` or `COM1.txt`.
    DeviceName,
    /// A component ending in `.` or ` ` (Windows strips them, so `a.` and `a` collide).
    TrailingDotOrSpace,
    /// Too long overall or in one component.
    TooLong,
}

impl Reason {
    /// A short description for messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::CheckoutRoot => "it would be the checkout root",
            Reason::Absolute => "absolute path",
            Reason::Colon => "drive letter or `:`",
            Reason::Backslash => "backslash",
            Reason::Control => "control character",
            Reason::ParentDir => "`..` component",
            Reason::GitDir => "`.git` is git's own folder",
            Reason::DeviceName => "Windows device name",
            Reason::TrailingDotOrSpace => "a name ending in `.` or space",
            Reason::TooLong => "too long",
        }
    }
}

/// The error for a refused vault folder (escaped for display; never contains a secret).
fn refused(folder: &str, reason: Reason) -> VaultError {
    VaultError::BadVaultFolder {
        folder: crate::display::escape_short(folder),
        reason: reason.as_str(),
    }
}

/// Validate a vault folder and return its tidy form (`./infra/vault/dev/` → `infra/vault/dev`).
///
/// # Errors
/// [`VaultError::BadVaultFolder`] naming the [`Reason`].
pub fn normalize(folder: &str) -> Result<String> {
    check(folder).map_err(|r| refused(folder, r))
}

/// [`normalize`] with the bare [`Reason`], for callers that build their own error.
///
/// # Errors
/// The first rule `folder` breaks.
pub fn check(folder: &str) -> std::result::Result<String, Reason> {
    if folder.len() > MAX_LEN {
        return Err(Reason::TooLong);
    }
    if folder.chars().any(char::is_control) {
        return Err(Reason::Control);
    }
    if folder.contains('\\') {
        return Err(Reason::Backslash);
    }
    if folder.starts_with('/') {
        return Err(Reason::Absolute);
    }
    if folder.contains(':') {
        return Err(Reason::Colon);
    }
    let parts: Vec<&str> = folder
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.is_empty() {
        return Err(Reason::CheckoutRoot);
    }
    for part in &parts {
        check_component(part)?;
    }
    Ok(parts.join("/"))
}

fn check_component(part: &str) -> std::result::Result<(), Reason> {
    if part == ".." {
        return Err(Reason::ParentDir);
    }
    if part.len() > 255 {
        return Err(Reason::TooLong);
    }
    // Windows and macOS compare names case-insensitively and Windows drops trailing dots and
    // spaces, so `.GIT`, `.git.` and `.git ` all open git's own folder there.
    let lower = part.to_ascii_lowercase();
    let windows_name = lower.trim_end_matches(['.', ' ']);
    if windows_name == ".git" || lower == "git~1" {
        return Err(Reason::GitDir);
    }
    if part.ends_with(['.', ' ']) {
        return Err(Reason::TrailingDotOrSpace);
    }
    let stem = windows_name.split('.').next().unwrap_or("");
    let device = matches!(stem, "con" | "prn" | "aux" | "nul" | "conin$" | "conout$")
        || ((stem.starts_with("com") || stem.starts_with("lpt"))
            && stem.len() == 4
            && stem.as_bytes()[3].is_ascii_digit());
    if device {
        return Err(Reason::DeviceName);
    }
    Ok(())
}

/// The vault folder's path under `vroot`, checked for writing: the text passes [`normalize`],
/// and no component that exists on disk is a symlink (a link inside the checkout could point
/// anywhere, and `pull --force` replaces what it points at) or something other than a folder.
///
/// # Errors
/// [`VaultError::BadVaultFolder`] or [`VaultError::Io`].
pub fn resolve(vroot: &Path, folder: &str) -> Result<PathBuf> {
    let tidy = normalize(folder)?;
    let mut path = vroot.to_path_buf();
    let parts: Vec<&str> = tidy.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        path.push(part);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(VaultError::BadVaultFolder {
                    folder: crate::display::escape_short(&tidy),
                    reason: "a folder on its path is a symlink, which could point outside the checkout",
                });
            }
            Ok(m) if !m.is_dir() => {
                let what = if i + 1 == parts.len() {
                    "it is a file, not a folder"
                } else {
                    "a file is in the way on its path"
                };
                return Err(VaultError::BadVaultFolder {
                    folder: crate::display::escape_short(&tidy),
                    reason: what,
                });
            }
            Ok(_) => {}
            // The rest does not exist yet: nothing below can be a link.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(VaultError::io("stat", &path, e)),
        }
    }
    Ok(vroot.join(tidy))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_forms() {
        for (raw, want) in [
            ("./infra/vault/dev/", "infra/vault/dev"),
            ("infra//vault", "infra/vault"),
            ("apps/web/vault/", "apps/web/vault"),
            ("a/..b/c..d", "a/..b/c..d"),
            (".github-secrets/x", ".github-secrets/x"),
            ("con-fig/vault", "con-fig/vault"),
            ("com10", "com10"),
        ] {
            assert_eq!(normalize(raw).unwrap(), want, "{raw}");
        }
    }

    #[test]
    fn every_class_is_refused() {
        let cases: &[(&str, Reason)] = &[
            ("", Reason::CheckoutRoot),
            (".", Reason::CheckoutRoot),
            ("./", Reason::CheckoutRoot),
            ("/", Reason::Absolute),
            ("/etc/vault", Reason::Absolute),
            ("//server/share", Reason::Absolute),
            ("C:/vault", Reason::Colon),
            ("c:vault", Reason::Colon),
            ("a/b:stream", Reason::Colon),
            ("a\\b", Reason::Backslash),
            ("..\\x", Reason::Backslash),
            ("a\0b", Reason::Control),
            ("a\nb", Reason::Control),
            ("a\u{1b}[31m", Reason::Control),
            ("../x", Reason::ParentDir),
            ("../../x", Reason::ParentDir),
            ("a/../../x", Reason::ParentDir),
            ("a/..", Reason::ParentDir),
            (".git", Reason::GitDir),
            (".git/hooks", Reason::GitDir),
            (".GIT", Reason::GitDir),
            (".Git/x", Reason::GitDir),
            (".git.", Reason::GitDir),
            (".git ", Reason::GitDir),
            ("GIT~1", Reason::GitDir),
            ("sub/.git", Reason::GitDir),
            ("con", Reason::DeviceName),
            ("infra/NUL.txt", Reason::DeviceName),
            ("lpt1", Reason::DeviceName),
            ("COM9.env", Reason::DeviceName),
            ("vault.", Reason::TrailingDotOrSpace),
            ("vault /x", Reason::TrailingDotOrSpace),
        ];
        for (raw, want) in cases {
            assert_eq!(check(raw), Err(*want), "{raw:?}");
        }
        assert_eq!(check(&"a/".repeat(600)), Err(Reason::TooLong));
        assert_eq!(check(&"a".repeat(256)), Err(Reason::TooLong));
    }

    #[test]
    fn message_escapes_the_text() {
        let e = normalize("\u{1b}]0;pwned\u{7}/../x")
            .unwrap_err()
            .to_string();
        assert!(!e.contains('\u{1b}') && !e.contains('\u{7}'), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn resolve_refuses_a_symlink_on_the_path() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("infra")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("infra/vault")).unwrap();
        let e = resolve(root, "infra/vault/dev").unwrap_err();
        assert!(matches!(e, VaultError::BadVaultFolder { .. }), "{e}");
        assert!(e.to_string().contains("symlink"), "{e}");
        // The vault folder itself as a link.
        std::fs::create_dir_all(root.join("apps")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("apps/vault")).unwrap();
        assert!(resolve(root, "apps/vault").is_err());
        // A file in the way.
        std::fs::write(root.join("file"), "x").unwrap();
        assert!(resolve(root, "file/vault").is_err());
        // Plain folders, existing or not, are fine.
        std::fs::create_dir_all(root.join("ok/vault")).unwrap();
        assert_eq!(resolve(root, "ok/vault/").unwrap(), root.join("ok/vault"));
        assert_eq!(resolve(root, "new/vault").unwrap(), root.join("new/vault"));
    }
}
