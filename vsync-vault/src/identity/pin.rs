//! The `.vsync` pin file (docs/formats.md §13.4): parse, read, and write-once.

use std::path::Path;

use super::error::{IdentityError, Result};
use super::normalize::normalize;
use crate::fsutil::FsError;
use crate::js_whitespace::is_js_ws;

/// Documentation link written into a new `.vsync` file.
pub const PIN_DOCS_URL: &str = "https://github.com/vsync-rs/vsync/blob/main/docs/repo-identity.md";

/// File name of the pin, at the git top level.
pub const PIN_FILE: &str = ".vsync";

/// A parsed `.vsync` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinFile {
    /// Every `key=value` pair in file order (duplicates kept; the last one wins on lookup).
    pub entries: Vec<(String, String)>,
    /// The normalised `repo` value.
    pub repo: String,
}

impl PinFile {
    /// Look up a key (last occurrence wins).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn preview(text: &str) -> String {
    let mut p: String = text.chars().take(80).collect();
    if text.chars().count() > 80 {
        p.push('…');
    }
    p.escape_debug().to_string()
}

fn valid_pin_key(k: &str) -> bool {
    let mut cs = k.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parse `.vsync` text (docs/formats.md §13.4). `path` is only used in errors.
pub fn parse_pin(text: &str, path: &Path) -> Result<PinFile> {
    let malformed = |line: Option<usize>, reason: &'static str| IdentityError::VsyncFileMalformed {
        path: path.to_path_buf(),
        line,
        reason,
        preview: preview(text),
    };
    let mut entries = Vec::new();
    for (idx, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let lead_trimmed = line.trim_start_matches(is_js_ws);
        if lead_trimmed.is_empty() || lead_trimmed.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(malformed(Some(idx + 1), "a line without `=`"));
        };
        let key = k.trim_matches(is_js_ws);
        if !valid_pin_key(key) {
            return Err(malformed(Some(idx + 1), "invalid key"));
        }
        let value = v.trim_end_matches(is_js_ws);
        entries.push((key.to_owned(), value.to_owned()));
    }
    let raw_repo = entries
        .iter()
        .rev()
        .find(|(k, _)| k == "repo")
        .map(|(_, v)| v.as_str());
    let Some(raw_repo) = raw_repo.filter(|v| !v.is_empty()) else {
        return Err(malformed(None, "no `repo` value"));
    };
    let Some(repo) = normalize(raw_repo)? else {
        return Err(malformed(None, "`repo` has no usable characters"));
    };
    Ok(PinFile { entries, repo })
}

/// Read `<root>/.vsync`; `Ok(None)` when absent.
pub fn read_pin(root: &Path) -> Result<Option<PinFile>> {
    let path = root.join(PIN_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            parse_pin(&text, &path).map(Some)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(IdentityError::from(FsError::new("read", &path, e))),
    }
}

/// The text of a new pin file.
pub fn pin_text(identity: &str) -> String {
    format!(
        "# .vsync — vsync identity pin (commit this file)\n# Docs: {PIN_DOCS_URL}\nrepo={identity}\n"
    )
}

/// Outcome of [`write_pin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinWrite {
    /// The file was created.
    Written,
    /// The file already pinned the same identity; nothing changed.
    Unchanged,
}

/// Write `<root>/.vsync` (mode 0644) when absent; a no-op when it pins the same identity;
/// [`IdentityError::VsyncFileClobber`] when it pins another one (the file is never rewritten).
pub fn write_pin(root: &Path, identity: &str) -> Result<PinWrite> {
    let path = root.join(PIN_FILE);
    let check_existing = |pin: Option<PinFile>| -> Result<Option<PinWrite>> {
        match pin {
            Some(p) if p.repo == identity => Ok(Some(PinWrite::Unchanged)),
            Some(p) => Err(IdentityError::VsyncFileClobber {
                path: path.clone(),
                pinned: p.repo,
                requested: identity.to_owned(),
            }),
            None => Ok(None),
        }
    };
    if let Some(done) = check_existing(read_pin(root)?)? {
        return Ok(done);
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o644);
    }
    match o.open(&path) {
        Ok(mut f) => {
            use std::io::Write;
            f.write_all(pin_text(identity).as_bytes())
                .map_err(|e| IdentityError::from(FsError::new("write", &path, e)))?;
            Ok(PinWrite::Written)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // Someone wrote it concurrently: judge what is there now.
            check_existing(read_pin(root)?)?
                .ok_or_else(|| IdentityError::from(FsError::new("create", &path, e)))
        }
        Err(e) => Err(IdentityError::from(FsError::new("create", &path, e))),
    }
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_grammar() {
        let p = Path::new(".vsync");
        let f = parse_pin(
            "# c\n\n   \n  # indented comment\r\nrepo = Acme/Web  \r\nother=1\n",
            p,
        )
        .unwrap();
        assert_eq!(f.repo, "acme_web");
        assert_eq!(f.get("other"), Some("1"));
        assert_eq!(parse_pin("repo=a # b\n", p).unwrap().repo, "ab");
        assert_eq!(
            parse_pin("repo=first\nrepo=second\n", p).unwrap().repo,
            "second"
        );
        for bad in [
            "repo\n",
            "9x=1\nrepo=a\n",
            "repo=\n",
            "other=1\n",
            "repo=!!!\n",
            "bad-key=1\nrepo=a",
        ] {
            assert!(
                matches!(
                    parse_pin(bad, p),
                    Err(IdentityError::VsyncFileMalformed { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse_pin(&format!("repo={}\n", "a".repeat(101)), p),
            Err(IdentityError::TooLong { .. })
        ));
    }
}
