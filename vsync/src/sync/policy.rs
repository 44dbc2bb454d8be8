//! Upstream's parser policy for sync (docs/sync-contract.md §2.2, §3.2–3.3): exclusions, placeholder expansion
//! and file references. Pure: the caller supplies how a referenced path is read, so the pushed
//! bundle (whose assets are the vault folder's files) and the working copy share one code path.

use std::path::{Path, PathBuf};

use vsync_dest_api::{SecretBytes, SecretItem};
use zeroize::Zeroizing;

/// `--exclude-property` and `--inline-file-suffix`, in the order given.
#[derive(Debug, Default, Clone)]
pub struct Policy {
    /// Exact, case-sensitive keys never pushed (matched on the raw key).
    pub exclude: Vec<String>,
    /// Suffixes marking a file reference; the first one that matches wins.
    pub inline_suffixes: Vec<String>,
}

/// Where placeholders point.
#[derive(Debug, Clone)]
pub struct Roots {
    /// The directory holding `.env.<env>` (`${VAULT_ROOT}`, and the base of relative paths).
    pub vault_root: PathBuf,
    /// The home directory (`~/`, `${HOME}`).
    pub home: Option<PathBuf>,
}

/// The parse result: tasks in file order, and the keys skipped by exclusion.
#[derive(Debug, Default)]
pub struct Parsed {
    /// What to push.
    pub items: Vec<SecretItem>,
    /// Excluded keys, in file order.
    pub skipped: Vec<String>,
}

/// A file reference that could not be read. `why` never holds file content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRef {
    /// The key as written (with its suffix).
    pub key: String,
    /// e.g. `file not found at /x/y`.
    pub why: String,
}

/// How a referenced file is read: `Ok(None)` when it does not exist.
pub trait FileSource {
    /// Read `path` (absolute after expansion).
    fn read(&self, path: &Path) -> std::io::Result<Option<Zeroizing<Vec<u8>>>>;
}

/// Reads from the local disk.
#[derive(Debug)]
pub struct Disk;

impl FileSource for Disk {
    fn read(&self, path: &Path) -> std::io::Result<Option<Zeroizing<Vec<u8>>>> {
        match std::fs::read(path) {
            Ok(b) => Ok(Some(Zeroizing::new(b))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// `~/`, `${VAULT_ROOT}` and `${HOME}`; any other `${…}` is left as written (upstream).
pub fn expand(value: &str, roots: &Roots) -> String {
    let home = roots.home.as_ref().map(|h| h.display().to_string());
    let mut v = match (value.strip_prefix("~/"), &home) {
        (Some(rest), Some(h)) => format!("{h}/{rest}"),
        _ => value.to_owned(),
    };
    v = v.replace("${VAULT_ROOT}", &roots.vault_root.display().to_string());
    if let Some(h) = &home {
        v = v.replace("${HOME}", h);
    }
    v
}

/// Apply the policy to parsed `(key, value)` pairs. Any unreadable reference fails the whole
/// parse (all-or-none): every failure is returned, and nothing is pushed anywhere.
pub fn apply(
    pairs: &[(String, Zeroizing<String>)],
    policy: &Policy,
    roots: &Roots,
    files: &dyn FileSource,
) -> Result<Parsed, Vec<BadRef>> {
    let mut out = Parsed::default();
    let mut bad = Vec::new();
    for (key, value) in pairs {
        if policy.exclude.iter().any(|x| x == key) {
            out.skipped.push(key.clone());
            continue;
        }
        let value = Zeroizing::new(expand(value, roots));
        let stripped = policy
            .inline_suffixes
            .iter()
            .filter(|s| !s.is_empty())
            .find(|s| key.len() > s.len() && key.ends_with(s.as_str()))
            .map(|s| &key[..key.len() - s.len()]);
        let Some(stripped) = stripped else {
            out.items.push(SecretItem::plain(
                key.clone(),
                SecretBytes::from_str_value(value.as_str()),
            ));
            continue;
        };
        let path = Path::new(value.as_str());
        let path = if path.is_absolute() {
            path.to_path_buf()
        } else {
            roots.vault_root.join(path)
        };
        match files.read(&path) {
            Ok(Some(mut bytes)) => {
                // The file's bytes as they are, untrimmed (upstream replaced invalid UTF-8 with
                // U+FFFD): a destination that takes only text refuses a binary value by key
                // (the engine checks `binary_values`), one that takes bytes gets them intact.
                out.items.push(SecretItem::plain(
                    stripped.to_owned(),
                    SecretBytes::new(std::mem::take(&mut *bytes)),
                ));
            }
            Ok(None) => bad.push(BadRef {
                key: key.clone(),
                why: format!("file not found at {}", path.display()),
            }),
            Err(e) => bad.push(BadRef {
                key: key.clone(),
                why: format!("error reading {}: {}", path.display(), e.kind()),
            }),
        }
    }
    if bad.is_empty() { Ok(out) } else { Err(bad) }
}

/// The aggregated message for [`BadRef`]s (upstream wording).
pub fn bad_refs_message(bad: &[BadRef]) -> String {
    let mut s = format!(
        "parseEnvFile: aborting sync — {} file reference(s) could not be resolved:",
        bad.len()
    );
    for b in bad {
        s.push_str(&format!("\n  - {}: {}", b.key, b.why));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    struct Map(BTreeMap<PathBuf, &'static str>);
    impl FileSource for Map {
        fn read(&self, p: &Path) -> std::io::Result<Option<Zeroizing<Vec<u8>>>> {
            Ok(self.0.get(p).map(|s| Zeroizing::new(s.as_bytes().to_vec())))
        }
    }

    fn roots() -> Roots {
        Roots {
            vault_root: PathBuf::from("/r/infra/vault/dev"),
            home: Some(PathBuf::from("/home/u")),
        }
    }

    fn pairs(kv: &[(&str, &str)]) -> Vec<(String, Zeroizing<String>)> {
        kv.iter()
            .map(|(k, v)| ((*k).to_owned(), Zeroizing::new((*v).to_owned())))
            .collect()
    }

    fn got(p: &Parsed) -> Vec<(String, String)> {
        p.items
            .iter()
            .map(|i| (i.key.clone(), i.value.expose_str().unwrap().to_owned()))
            .collect()
    }

    #[test]
    fn no_policy_means_nothing_inlined_or_skipped() {
        let p = apply(
            &pairs(&[("KEY_PATH", "keys/id"), ("A", "b")]),
            &Policy::default(),
            &roots(),
            &Map(BTreeMap::new()),
        )
        .unwrap();
        assert_eq!(
            got(&p),
            vec![
                ("KEY_PATH".into(), "keys/id".into()),
                ("A".into(), "b".into())
            ]
        );
        assert!(p.skipped.is_empty());
    }

    #[test]
    fn suffix_inlines_file_text_under_the_stripped_key() {
        let files = Map(BTreeMap::from([
            (
                PathBuf::from("/r/infra/vault/dev/keys/id"),
                "-----KEY-----\n",
            ),
            (PathBuf::from("/abs/cert"), "CERT"),
            (PathBuf::from("/home/u/x"), "HOMEFILE"),
        ]));
        let policy = Policy {
            exclude: vec![],
            inline_suffixes: vec!["".into(), "_PATH".into(), "_FILE".into()],
        };
        let p = apply(
            &pairs(&[
                ("SSH_KEY_PATH", "./keys/id"),
                ("CERT_FILE", "/abs/cert"),
                ("H_PATH", "~/x"),
                ("_PATH", "kept-as-is"), // not longer than the suffix
                ("PLAIN", "${VAULT_ROOT}/y ${OTHER}"),
            ]),
            &policy,
            &roots(),
            &files,
        )
        .unwrap();
        assert_eq!(
            got(&p),
            vec![
                ("SSH_KEY".into(), "-----KEY-----\n".into()),
                ("CERT".into(), "CERT".into()),
                ("H".into(), "HOMEFILE".into()),
                ("_PATH".into(), "kept-as-is".into()),
                ("PLAIN".into(), "/r/infra/vault/dev/y ${OTHER}".into()),
            ]
        );
    }

    #[test]
    fn exclusion_matches_the_raw_key_before_stripping() {
        let policy = Policy {
            exclude: vec!["TOKEN_PATH".into(), "token".into()],
            inline_suffixes: vec!["_PATH".into()],
        };
        let p = apply(
            &pairs(&[("TOKEN_PATH", "missing"), ("TOKEN", "t")]),
            &policy,
            &roots(),
            &Map(BTreeMap::new()),
        )
        .unwrap();
        assert_eq!(p.skipped, vec!["TOKEN_PATH".to_string()]);
        assert_eq!(
            got(&p),
            vec![("TOKEN".into(), "t".into())],
            "case-sensitive"
        );
    }

    #[test]
    fn missing_references_fail_all_or_none() {
        let policy = Policy {
            exclude: vec![],
            inline_suffixes: vec!["_PATH".into()],
        };
        let bad = apply(
            &pairs(&[("A_PATH", "a"), ("OK", "v"), ("B_PATH", "/b")]),
            &policy,
            &roots(),
            &Map(BTreeMap::new()),
        )
        .unwrap_err();
        let msg = bad_refs_message(&bad);
        assert!(
            msg.starts_with("parseEnvFile: aborting sync — 2 file reference(s)"),
            "{msg}"
        );
        assert!(
            msg.contains("  - A_PATH: file not found at /r/infra/vault/dev/a"),
            "{msg}"
        );
        assert!(msg.contains("  - B_PATH: file not found at /b"), "{msg}");
    }
}
