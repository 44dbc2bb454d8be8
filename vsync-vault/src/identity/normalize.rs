//! The identity text rules (docs/formats.md §13.2, §13.3): `normalize`, the reserved names,
//! `parseRemoteUrl`, and removing user-info from a URL before it is shown.

use super::error::{IdentityError, Result};
use crate::js_whitespace::{is_js_ws, is_line_terminator};

/// Maximum length of a normalised identity (docs/formats.md §13.2).
pub const MAX_IDENTITY_LEN: usize = 100;

/// Names that must not be identities (their config directories would collide).
pub const RESERVED: [&str; 3] = ["profiles", "backups", "plugins"];

/// `normalize(s)` of docs/formats.md §13.2: trim, lower-case, runs of `/` or `-` → `_`, drop everything
/// outside `[a-z0-9._]`. `Ok(None)` when nothing is left; an error when longer than 100.
pub fn normalize(s: &str) -> Result<Option<String>> {
    let lowered = s.trim_matches(is_js_ws).to_lowercase();
    let mut out = String::with_capacity(lowered.len());
    let mut in_sep = false;
    for c in lowered.chars() {
        if c == '/' || c == '-' {
            if !in_sep {
                out.push('_');
            }
            in_sep = true;
            continue;
        }
        in_sep = false;
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_' {
            out.push(c);
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    if out.len() > MAX_IDENTITY_LEN {
        return Err(IdentityError::TooLong { len: out.len() });
    }
    Ok(Some(out))
}

/// Refuse reserved identities (`profiles`, `backups`, compared case-insensitively).
pub fn check_reserved(identity: &str) -> Result<()> {
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(identity)) {
        return Err(IdentityError::Reserved {
            name: identity.to_owned(),
        });
    }
    Ok(())
}

fn strip_git_suffix(s: &str) -> &str {
    s.strip_suffix(".git/")
        .or_else(|| s.strip_suffix(".git"))
        .unwrap_or(s)
}

/// `parseRemoteUrl(url)` of docs/formats.md §13.3, quirks included (ports leak into scp-like matches,
/// `.git` stripping is case-sensitive). Returns a path-like string or `None`.
pub fn parse_remote_url(url: &str) -> Option<String> {
    let url = url.trim_matches(is_js_ws);
    // 1. scp-like: ^[^@\s]+@[^:\s]+:(.+)$
    if let Some((user, after)) = url.split_once('@')
        && !user.is_empty()
        && !user.chars().any(is_js_ws)
        && let Some((host, rest)) = after.split_once(':')
        && !host.is_empty()
        && !host.chars().any(is_js_ws)
        && !rest.is_empty()
        && !rest.chars().any(is_line_terminator)
    {
        return Some(strip_git_suffix(rest).to_owned());
    }
    // 2. URL form: ^([a-z][a-z0-9+.-]*)://(.+)$ (case-insensitive)
    let (scheme, rest) = url.split_once("://")?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let scheme_ok =
        first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '.' || c == '-');
    if !scheme_ok || rest.is_empty() || rest.chars().any(is_line_terminator) {
        return None;
    }
    let mut rest = rest;
    if let Some(at) = rest.find('@') {
        match rest.find('/') {
            Some(slash) if at > slash => {}
            _ => rest = &rest[at + 1..],
        }
    }
    if scheme.eq_ignore_ascii_case("file") {
        let last = rest.split('/').rev().find(|seg| !seg.is_empty())?;
        let name = strip_git_suffix(last);
        return (!name.is_empty()).then(|| name.to_owned());
    }
    let (_, path) = rest.split_once('/')?;
    if path.is_empty() {
        return None;
    }
    Some(strip_git_suffix(path).to_owned())
}

/// Remove user-info from a URL for display (`https://user:tok@host/x` → `https://host/x`).
pub fn redact_url(url: &str) -> String {
    let url = url.trim();
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            return format!("{scheme}://{}", &rest[at + 1..]);
        }
    }
    url.to_owned()
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_examples() {
        let n = |s: &str| normalize(s).unwrap();
        assert_eq!(n("Acme/web").as_deref(), Some("acme_web"));
        assert_eq!(n("acme-web").as_deref(), Some("acme_web"));
        assert_eq!(n("My App!").as_deref(), Some("myapp"));
        assert_eq!(n("@scope/pkg").as_deref(), Some("scope_pkg"));
        assert_eq!(n("a//--/b").as_deref(), Some("a_b"));
        assert_eq!(n("  X.Y_z  ").as_deref(), Some("x.y_z"));
        assert_eq!(n(""), None);
        assert_eq!(n("!!!"), None);
        assert_eq!(n("日本"), None);
        assert_eq!(
            n(&"a".repeat(100)).as_deref(),
            Some("a".repeat(100).as_str())
        );
        assert!(matches!(
            normalize(&"a".repeat(101)),
            Err(IdentityError::TooLong { len: 101 })
        ));
        // Only the normalised length counts.
        assert!(
            normalize(&format!("{}!!!!", "a".repeat(100)))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn reserved() {
        assert!(check_reserved("profiles").is_err());
        assert!(check_reserved("BACKUPS").is_err());
        assert!(check_reserved("profiles2").is_ok());
    }

    #[test]
    fn redact() {
        assert_eq!(
            redact_url("https://u:tok@h.example/o/r.git"),
            "https://h.example/o/r.git"
        );
        assert_eq!(redact_url("git@h:o/r.git"), "git@h:o/r.git");
        assert_eq!(redact_url("https://h/o@x"), "https://h/o@x");
    }
}
