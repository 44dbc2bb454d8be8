//! Object keys under the prefix `<P>` (docs/formats.md §11.2, §11.3, §17 items 2 and 7; docs/decisions.md §4).
//!
//! ```text
//! <P> = <repo>/<env_lc>/
//! <P>versions/<ts>.enc   <P>latest   <P>latest.manifest   <P>audit.csv   <P>sync/<target>.enc
//! <P>sync/provenance/<name>.enc
//! ```

use crate::error::{Result, VaultError};

/// The key prefix of one (repo, env) pair. Always empty or ending in `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Prefix(String);

impl Prefix {
    /// `<repo>/<env_lc>/`. `repo` must be a normalised identity (`[a-z0-9._]{1,100}`, not `.`
    /// or `..`); `env` must be a plain name (`[A-Za-z0-9_-]+`, lower-cased here).
    pub fn new(repo: &str, env: &str) -> Result<Self> {
        let repo_ok = !repo.is_empty()
            && repo.len() <= crate::identity::MAX_IDENTITY_LEN
            && repo != "."
            && repo != ".."
            && repo
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'_');
        if !repo_ok {
            return Err(VaultError::BadRepoIdentity {
                text: crate::ts::printable(repo),
            });
        }
        let env_ok = !env.is_empty()
            && env.len() <= crate::names::MAX_ENV_NAME_LEN
            && env
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !env_ok {
            return Err(VaultError::BadEnvName {
                text: crate::ts::printable(env),
            });
        }
        Ok(Self(format!("{repo}/{}/", env.to_ascii_lowercase())))
    }

    /// A prefix given verbatim (e.g. a config's `prefix` field). A missing trailing `/` is added;
    /// a leading `/`, empty, `.` or `..` segments, backslashes and control characters are refused.
    /// The empty string is the bucket root.
    pub fn from_raw(raw: &str) -> Result<Self> {
        if raw.is_empty() {
            return Ok(Self(String::new()));
        }
        let body = raw.strip_suffix('/').unwrap_or(raw);
        let bad = body.is_empty()
            || body.starts_with('/')
            || body.contains('\\')
            || body.chars().any(char::is_control)
            || body
                .split('/')
                .any(|s| s.is_empty() || s == "." || s == "..");
        if bad {
            return Err(VaultError::BadPrefix {
                text: crate::ts::printable(raw),
            });
        }
        Ok(Self(format!("{body}/")))
    }

    /// The prefix text (`acme_web/prod/`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `<P>versions/`.
    pub fn versions_dir(&self) -> String {
        format!("{}versions/", self.0)
    }

    /// `<P>versions/<ts>.enc`.
    pub fn version_key(&self, ts: &str) -> String {
        format!("{}versions/{ts}.enc", self.0)
    }

    /// The `<ts>` of a key returned by listing [`Prefix::versions_dir`], if it is
    /// `<P>versions/<ts>.enc` with nothing nested.
    pub fn ts_of_version_key<'a>(&self, key: &'a str) -> Option<&'a str> {
        let rest = key.strip_prefix(&self.0)?.strip_prefix("versions/")?;
        let ts = rest.strip_suffix(".enc")?;
        (!ts.is_empty() && !ts.contains('/')).then_some(ts)
    }

    /// `<P>latest`.
    pub fn latest_key(&self) -> String {
        format!("{}latest", self.0)
    }

    /// `<P>latest.manifest` (the generation cell we write).
    pub fn manifest_key(&self) -> String {
        format!("{}latest.manifest", self.0)
    }

    /// `<P>latest.meta` (the runtime libraries' generation cell; read as a fallback).
    pub fn legacy_meta_key(&self) -> String {
        format!("{}latest.meta", self.0)
    }

    /// `<P>audit.csv`.
    pub fn audit_key(&self) -> String {
        format!("{}audit.csv", self.0)
    }

    /// `<P>sync/<target>.enc` (the encrypted sync receipt). `target` must be a plain id.
    pub fn receipt_key(&self, target: &str) -> String {
        format!("{}sync/{target}.enc", self.0)
    }

    /// `<P>sync/provenance/`: one sealed provenance entry per writing sync (docs/provenance.md).
    pub fn provenance_dir(&self) -> String {
        format!("{}sync/provenance/", self.0)
    }

    /// `<P>sync/provenance/<name>.enc`. `name` must be a plain object name (no `/`).
    pub fn provenance_key(&self, name: &str) -> String {
        format!("{}sync/provenance/{name}.enc", self.0)
    }

    /// The `<name>` of a key returned by listing [`Prefix::provenance_dir`], if it is
    /// `<P>sync/provenance/<name>.enc` with nothing nested.
    pub fn provenance_name_of_key<'a>(&self, key: &'a str) -> Option<&'a str> {
        let rest = key
            .strip_prefix(&self.0)?
            .strip_prefix("sync/provenance/")?;
        let name = rest.strip_suffix(".enc")?;
        (!name.is_empty() && !name.contains('/')).then_some(name)
    }
}

impl std::fmt::Display for Prefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        let p = Prefix::new("acme_web", "Prod").unwrap();
        assert_eq!(p.as_str(), "acme_web/prod/");
        assert_eq!(
            p.version_key("20260523-114201"),
            "acme_web/prod/versions/20260523-114201.enc"
        );
        assert_eq!(p.versions_dir(), "acme_web/prod/versions/");
        assert_eq!(p.latest_key(), "acme_web/prod/latest");
        assert_eq!(p.manifest_key(), "acme_web/prod/latest.manifest");
        assert_eq!(p.legacy_meta_key(), "acme_web/prod/latest.meta");
        assert_eq!(p.audit_key(), "acme_web/prod/audit.csv");
        assert_eq!(p.receipt_key("github"), "acme_web/prod/sync/github.enc");
        assert_eq!(
            p.provenance_key("20260523T114201123Z-0a1b"),
            "acme_web/prod/sync/provenance/20260523T114201123Z-0a1b.enc"
        );
        assert_eq!(
            p.provenance_name_of_key("acme_web/prod/sync/provenance/x-1.enc"),
            Some("x-1")
        );
        assert_eq!(
            p.provenance_name_of_key("acme_web/prod/sync/provenance/a/b.enc"),
            None
        );
        assert_eq!(
            p.provenance_name_of_key("acme_web/prod/sync/github.enc"),
            None
        );
        assert_eq!(
            p.ts_of_version_key("acme_web/prod/versions/20260523-114201.enc"),
            Some("20260523-114201")
        );
        assert_eq!(p.ts_of_version_key("acme_web/prod/versions/x/y.enc"), None);
        assert_eq!(p.ts_of_version_key("acme_web/prod/versions/y.txt"), None);
    }

    #[test]
    fn rejects() {
        for (r, e) in [
            ("", "dev"),
            ("..", "dev"),
            ("Acme", "dev"),
            ("a/b", "dev"),
            ("a", ""),
            ("a", "d/e"),
            ("a", ".."),
        ] {
            assert!(Prefix::new(r, e).is_err(), "{r} {e}");
        }
        assert_eq!(
            Prefix::from_raw("acme/prod").unwrap().as_str(),
            "acme/prod/"
        );
        assert_eq!(Prefix::from_raw("").unwrap().as_str(), "");
        for bad in ["/a/", "a//b/", "a/../b/", "a\\b", "/"] {
            assert!(Prefix::from_raw(bad).is_err(), "{bad}");
        }
    }
}
