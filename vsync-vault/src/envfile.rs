//! The `.env.<env>` parser of docs/formats.md §5.4 (grammar steps 1–7 and 9), plus the optional
//! placeholder expansion (step 8), file inlining (step 10) and exclusions (step 11) as separate
//! steps.
//!
//! Values are returned in [`Zeroizing`] strings. Errors and warnings carry line numbers only,
//! never a value.

use crate::js_whitespace::is_js_ws;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{Result, VaultError};

/// One parsed entry: the key and its value.
pub type Entry = (String, Zeroizing<String>);

/// Something suspicious about a line that upstream accepts silently (docs/formats.md §17 item 18).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// 1-based line number.
    pub line: usize,
    /// What is suspicious.
    pub kind: WarningKind,
}

/// The kinds of [`Warning`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WarningKind {
    /// The key starts with `export ` (kept literally, as upstream does).
    ExportPrefix,
    /// The key is empty (`=value`).
    EmptyKey,
    /// A non-comment line without `=` was skipped.
    NoEquals,
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.kind {
            WarningKind::ExportPrefix => {
                "`export ` prefix is not supported; the key keeps the prefix literally"
            }
            WarningKind::EmptyKey => "empty key",
            WarningKind::NoEquals => "no `=`; line ignored",
        };
        write!(f, "env file line {}: {what}", self.line)
    }
}

/// The result of [`parse_with_warnings`].
#[derive(Debug, Default)]
pub struct Parsed {
    /// Entries in file order; duplicates kept (the last one wins downstream).
    pub entries: Vec<Entry>,
    /// Line-numbered warnings.
    pub warnings: Vec<Warning>,
}

fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_ws)
}

/// Parse env-file text (docs/formats.md §5.4, steps 2–7 and 9).
pub fn parse(text: &str) -> Vec<Entry> {
    parse_with_warnings(text).entries
}

/// Parse env-file bytes: decodes UTF-8 (an invalid sequence is an error naming its line).
pub fn parse_bytes(bytes: &[u8]) -> Result<Vec<Entry>> {
    Ok(parse_with_warnings(decode(bytes)?).entries)
}

/// Decode env-file bytes as UTF-8. An invalid sequence is refused, never replaced by U+FFFD
/// (that would change the secret silently before `push`, `sync` and `run`): the error names
/// the line and the key whose value holds it, never the value.
pub fn decode(bytes: &[u8]) -> Result<&str> {
    std::str::from_utf8(bytes).map_err(|e| not_utf8(bytes, e.valid_up_to()))
}

fn not_utf8(bytes: &[u8], bad_at: usize) -> VaultError {
    let upto = bytes.get(..bad_at).unwrap_or_default();
    let line = upto.iter().filter(|b| **b == b'\n').count() + 1;
    let start = upto.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    let end = bytes[start..]
        .iter()
        .position(|b| *b == b'\n')
        .map_or(bytes.len(), |i| start + i);
    let text = &bytes[start..end];
    let Some(eq) = text.iter().position(|b| *b == b'=') else {
        return VaultError::EnvFile {
            line,
            reason: "not valid UTF-8 (a comment or a line without `=`)",
        };
    };
    if start + eq < bad_at
        && let Ok(key) = std::str::from_utf8(&text[..eq])
    {
        return VaultError::EnvValueNotUtf8 {
            line,
            key: crate::display::escape_short(js_trim(key)),
        };
    }
    VaultError::EnvFile {
        line,
        reason: "the key is not valid UTF-8",
    }
}

/// Parse env-file text and report suspicious lines.
pub fn parse_with_warnings(text: &str) -> Parsed {
    let mut out = Parsed::default();
    // Step 1: split on LF; a CR before the LF is removed by the trim below.
    for (idx, raw) in text.split('\n').enumerate() {
        let line_no = idx + 1;
        // Step 2: trim (Unicode whitespace as JavaScript defines it, BOM included).
        let line = js_trim(raw);
        // Step 3: empty lines and comments.
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Step 4: no '=' -> skipped silently (we record a warning).
        let Some((k, v)) = line.split_once('=') else {
            out.warnings.push(Warning {
                line: line_no,
                kind: WarningKind::NoEquals,
            });
            continue;
        };
        // Step 5.
        let key = js_trim(k);
        let value = js_trim(v);
        if key.is_empty() {
            out.warnings.push(Warning {
                line: line_no,
                kind: WarningKind::EmptyKey,
            });
        } else if key.starts_with("export ") || key.starts_with("export\t") {
            out.warnings.push(Warning {
                line: line_no,
                kind: WarningKind::ExportPrefix,
            });
        }
        // Step 6: strip one pair of matching outer quotes, no escapes.
        let value = strip_quotes(value);
        out.entries
            .push((key.to_owned(), Zeroizing::new(value.to_owned())));
    }
    out
}

fn strip_quotes(v: &str) -> &str {
    for q in ['"', '\''] {
        // Length >= 2 in characters (a quote is one UTF-16 unit, so this matches JS).
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// The key names of an env file, in file order, duplicates removed (first occurrence kept).
pub fn key_names(text: &str) -> Result<Vec<String>> {
    let mut seen = std::collections::HashSet::new();
    Ok(parse(text)
        .into_iter()
        .filter_map(|(k, _)| seen.insert(k.clone()).then_some(k))
        .collect())
}

/// Step 8: placeholder expansion. A value starting with `~/` gets `home` joined in; then every
/// `${VAULT_ROOT}` becomes `vault_root` (the directory containing the env file); then every
/// `${HOME}` becomes `home`.
pub fn expand_placeholders(entries: &mut [Entry], home: &str, vault_root: &str) {
    for (_, value) in entries.iter_mut() {
        let mut v: Zeroizing<String> = match value.strip_prefix("~/") {
            Some(rest) => Zeroizing::new(join_home(home, rest)),
            None => value.clone(),
        };
        if v.contains("${VAULT_ROOT}") {
            v = Zeroizing::new(v.replace("${VAULT_ROOT}", vault_root));
        }
        if v.contains("${HOME}") {
            v = Zeroizing::new(v.replace("${HOME}", home));
        }
        *value = v;
    }
}

fn join_home(home: &str, rest: &str) -> String {
    let sep = if home.ends_with('/') || home.ends_with('\\') {
        ""
    } else {
        "/"
    };
    format!("{home}{sep}{rest}")
}

/// Step 10: file inlining. A key ending with one of `suffixes` (and longer than it) is replaced
/// by the key minus the suffix, with the UTF-8 contents of the referenced file (relative paths
/// resolve against `base_dir`). Any unreadable file fails the whole parse; the error names the
/// key, not the value.
pub fn inline_files(
    entries: Vec<Entry>,
    suffixes: &[String],
    base_dir: &Path,
) -> Result<Vec<Entry>> {
    let mut out = Vec::with_capacity(entries.len());
    for (key, value) in entries {
        let hit = suffixes
            .iter()
            .find(|s| !s.is_empty() && key.len() > s.len() && key.ends_with(s.as_str()));
        match hit {
            None => out.push((key, value)),
            Some(suffix) => {
                let p = Path::new(value.as_str());
                let path = if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    base_dir.join(p)
                };
                let bytes = Zeroizing::new(std::fs::read(&path).map_err(|e| {
                    VaultError::EnvRefUnreadable {
                        key: key.clone(),
                        kind: e.kind(),
                    }
                })?);
                let text = std::str::from_utf8(&bytes)
                    .map_err(|_| VaultError::EnvRefNotUtf8 { key: key.clone() })?;
                let new_key = key[..key.len() - suffix.len()].to_owned();
                out.push((new_key, Zeroizing::new(text.to_owned())));
            }
        }
    }
    Ok(out)
}

/// Step 11: drop excluded keys; returns the kept entries and the excluded key names (in order,
/// one per dropped entry).
pub fn exclude(entries: Vec<Entry>, excluded: &[String]) -> (Vec<Entry>, Vec<String>) {
    let mut kept = Vec::with_capacity(entries.len());
    let mut dropped = Vec::new();
    for (k, v) in entries {
        if excluded.contains(&k) {
            dropped.push(k);
        } else {
            kept.push((k, v));
        }
    }
    (kept, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(text: &str) -> Vec<(String, String)> {
        parse(text)
            .into_iter()
            .map(|(k, v)| (k, v.as_str().to_owned()))
            .collect()
    }

    fn p(k: &str, v: &str) -> (String, String) {
        (k.to_owned(), v.to_owned())
    }

    #[test]
    fn grammar() {
        let text = "\u{FEFF}A=1\r\n# comment\n  B = two words  \n\nnoequals\nC=\"quoted\"\nD='single'\nE=\"mismatch'\nF=\"\nG=a=b=c\nH=b # c\nI=\"b\" # c\nJ=\\n\nexport K=v\n=empty\nA=dup\n\t#x=1\nL=\"\"\nM= \u{A0}sp\u{A0} \n";
        assert_eq!(
            kv(text),
            vec![
                p("A", "1"),
                p("B", "two words"),
                p("C", "quoted"),
                p("D", "single"),
                p("E", "\"mismatch'"),
                p("F", "\""),
                p("G", "a=b=c"),
                p("H", "b # c"),
                p("I", "\"b\" # c"),
                p("J", "\\n"),
                p("export K", "v"),
                p("", "empty"),
                p("A", "dup"),
                p("L", ""),
                p("M", "sp"),
            ]
        );
        let w = parse_with_warnings(text).warnings;
        assert_eq!(
            w,
            vec![
                Warning {
                    line: 5,
                    kind: WarningKind::NoEquals
                },
                Warning {
                    line: 14,
                    kind: WarningKind::ExportPrefix
                },
                Warning {
                    line: 15,
                    kind: WarningKind::EmptyKey
                },
            ]
        );
    }

    #[test]
    fn cr_only_and_nel_are_not_separators() {
        // Only LF splits; a lone CR stays inside the line (then trimmed at the ends).
        assert_eq!(kv("A=1\rB=2"), vec![p("A", "1\rB=2")]);
        // U+0085 is not JS whitespace, so it is kept.
        assert_eq!(kv("A=\u{85}x"), vec![p("A", "\u{85}x")]);
    }

    #[test]
    fn key_names_dedup() {
        assert_eq!(
            key_names("B=1\nA=2\nB=3\n#C=4\n").unwrap(),
            vec!["B".to_owned(), "A".to_owned()]
        );
    }

    #[test]
    fn invalid_utf8_names_line_and_key_not_value() {
        let err = parse_bytes(b"A=1\nB=2\n SECRET = ab\xff\xfecd\nC=3\n").unwrap_err();
        let msg = err.to_string();
        match &err {
            VaultError::EnvValueNotUtf8 { line: 3, key } => assert_eq!(key, "SECRET"),
            _ => panic!("{msg}"),
        }
        assert!(!msg.contains("ab") && !msg.contains("cd"), "{msg}");
        // A bad key, a bad comment, a bad first line.
        let err = parse_bytes(b"A=1\nK\xff=v\n").unwrap_err();
        assert!(matches!(err, VaultError::EnvFile { line: 2, .. }), "{err}");
        let err = parse_bytes(b"# caf\xe9\nA=1\n").unwrap_err();
        assert!(matches!(err, VaultError::EnvFile { line: 1, .. }), "{err}");
        let err = parse_bytes(b"K\x1b[2J=\xff").unwrap_err();
        assert!(!err.to_string().contains('\u{1b}'), "{err}");
    }

    #[test]
    fn placeholders() {
        let mut e = parse("A=~/x\nB=${VAULT_ROOT}/c.pem\nC=${HOME}/y ${HOME}\nD=a~/b\n");
        expand_placeholders(&mut e, "/home/u", "/v/infra/vault/dev");
        let got: Vec<_> = e.iter().map(|(_, v)| v.as_str().to_owned()).collect();
        assert_eq!(
            got,
            vec![
                "/home/u/x",
                "/v/infra/vault/dev/c.pem",
                "/home/u/y /home/u",
                "a~/b"
            ]
        );
    }

    #[test]
    fn inline_and_exclude() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("sa.json"), "{\"k\":1}").unwrap();
        let e = parse("SA_PATH=sa.json\nX=1\n_PATH=keep\nMISSING=1\n");
        let e = inline_files(e, &["_PATH".to_owned()], dir.path()).unwrap();
        let got: Vec<_> = e
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().to_owned()))
            .collect();
        assert_eq!(
            got,
            vec![
                p("SA", "{\"k\":1}"),
                p("X", "1"),
                p("_PATH", "keep"),
                p("MISSING", "1")
            ]
        );
        let (kept, dropped) = exclude(e, &["X".to_owned()]);
        assert_eq!(kept.len(), 3);
        assert_eq!(dropped, vec!["X".to_owned()]);
        let bad = parse("K_FILE=nope.txt\n");
        let err = inline_files(bad, &["_FILE".to_owned()], dir.path()).unwrap_err();
        assert!(!err.to_string().contains("nope.txt"));
    }
}
