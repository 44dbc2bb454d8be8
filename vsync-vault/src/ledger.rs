//! The ledger (docs/formats.md §9.6): the per-machine snapshot of the vault at the last successful push
//! or pull, used for the dirty check and the push guard.
//!
//! Compatible with upstream: pretty JSON (2 spaces), no trailing newline, written atomically
//! ([`crate::fsutil::write_private`]: a temp file (0600) beside it, then rename) in a 0700
//! directory, integral numbers written without a fraction.
//! Unknown fields (top level and per file) round-trip in place. We add `max_seen_ts`, the highest
//! `BUNDLE_TS` this machine has seen (docs/decisions.md §2), which upstream readers ignore — and drop
//! when they rewrite the file, hence [`crate::highwater`].

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Result, VaultError};
use crate::walk::{self, FileEntry, cmp_utf16};

/// Which operation wrote the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncOp {
    /// `push`.
    Push,
    /// `pull`.
    Pull,
}

impl SyncOp {
    /// `"push"` or `"pull"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Pull => "pull",
        }
    }
}

/// One file's recorded state.
#[derive(Debug, Clone, PartialEq)]
pub struct FileStat {
    /// `mtime_ms` as recorded (float).
    pub mtime_ms: f64,
    /// `size` as recorded (a JSON number).
    pub size: f64,
    extra: Map<String, Value>,
}

impl FileStat {
    /// A stat with no extra fields.
    pub fn new(mtime_ms: f64, size: u64) -> Self {
        Self {
            mtime_ms,
            size: size as f64,
            extra: Map::new(),
        }
    }
}

/// The ledger.
#[derive(Debug, Clone, PartialEq)]
pub struct Ledger {
    /// `BUNDLE_TS` of the version pushed or pulled.
    pub last_sync_ts: String,
    /// `ISO_TS` of the operation.
    pub last_sync_at: String,
    /// The operation.
    pub last_sync_op: SyncOp,
    /// Vault-relative POSIX path → state, sorted by UTF-16 code units.
    pub files: Vec<(String, FileStat)>,
    /// The highest `BUNDLE_TS` seen on this machine (our addition), if recorded.
    pub max_seen_ts: Option<String>,
    /// The parsed object, for unknown fields and their positions.
    raw: Map<String, Value>,
}

/// The ledger path: `<base>/<repo>/env_<env>.ledger.json` (env **not** lower-cased).
pub fn path(base: &Path, repo: &str, env: &str) -> PathBuf {
    base.join(repo).join(format!("env_{env}.ledger.json"))
}

fn num(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

fn valid_rel_path(p: &str) -> bool {
    !p.is_empty() && !p.starts_with('/') && !p.contains("..") && !p.contains('\\')
}

impl Ledger {
    /// A ledger for `op` at `ts` from a vault walk, carrying over `max_seen_ts` and unknown fields
    /// from `previous`.
    pub fn record(
        previous: Option<&Ledger>,
        op: SyncOp,
        ts: &str,
        at: &str,
        files: &[FileEntry],
    ) -> Self {
        let mut files: Vec<(String, FileStat)> = files
            .iter()
            .map(|f| (f.path.clone(), FileStat::new(f.mtime_ms, f.size)))
            .collect();
        files.sort_by(|a, b| cmp_utf16(&a.0, &b.0));
        let mut max_seen = ts.to_owned();
        if let Some(prev) = previous {
            let m = prev.max_seen();
            if m > max_seen.as_str() {
                max_seen = m.to_owned();
            }
        }
        Self {
            last_sync_ts: ts.to_owned(),
            last_sync_at: at.to_owned(),
            last_sync_op: op,
            files,
            max_seen_ts: Some(max_seen),
            raw: previous.map(|p| p.raw.clone()).unwrap_or_default(),
        }
    }

    /// The highest timestamp seen: `max(max_seen_ts, last_sync_ts)`.
    pub fn max_seen(&self) -> &str {
        match &self.max_seen_ts {
            Some(m) if m.as_str() > self.last_sync_ts.as_str() => m,
            _ => &self.last_sync_ts,
        }
    }

    /// Raise `max_seen_ts` to `ts` if it is higher (call after seeing a pointer).
    pub fn observe(&mut self, ts: &str) {
        if ts > self.max_seen() {
            self.max_seen_ts = Some(ts.to_owned());
        }
    }

    /// Parse and validate ledger text. `path` is used in errors only.
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let bad = |reason: &str| VaultError::LedgerMalformed {
            path: path.to_path_buf(),
            reason: reason.to_owned(),
        };
        let value: Value = serde_json::from_str(text).map_err(|_| bad("not valid JSON"))?;
        let Value::Object(raw) = value else {
            return Err(bad("not a JSON object"));
        };
        if raw.get("v").and_then(Value::as_f64) != Some(1.0) {
            return Err(bad("`v` is not 1"));
        }
        let s = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_owned);
        let last_sync_ts = s("last_sync_ts").ok_or_else(|| bad("`last_sync_ts` missing"))?;
        let last_sync_at = s("last_sync_at").ok_or_else(|| bad("`last_sync_at` missing"))?;
        let last_sync_op = match raw.get("last_sync_op").and_then(Value::as_str) {
            Some("push") => SyncOp::Push,
            Some("pull") => SyncOp::Pull,
            _ => return Err(bad("`last_sync_op` is not push or pull")),
        };
        let Some(Value::Object(fmap)) = raw.get("files") else {
            return Err(bad("`files` is not an object"));
        };
        let mut files = Vec::with_capacity(fmap.len());
        for (p, v) in fmap {
            if !valid_rel_path(p) {
                return Err(bad("a file path is not relative"));
            }
            let Value::Object(o) = v else {
                return Err(bad("a file entry is not an object"));
            };
            let (Some(mtime_ms), Some(size)) = (
                o.get("mtime_ms").and_then(Value::as_f64),
                o.get("size").and_then(Value::as_f64),
            ) else {
                return Err(bad("a file entry lacks numeric mtime_ms/size"));
            };
            let mut extra = o.clone();
            extra.remove("mtime_ms");
            extra.remove("size");
            files.push((
                p.clone(),
                FileStat {
                    mtime_ms,
                    size,
                    extra,
                },
            ));
        }
        files.sort_by(|a, b| cmp_utf16(&a.0, &b.0));
        let max_seen_ts = s("max_seen_ts");
        Ok(Self {
            last_sync_ts,
            last_sync_at,
            last_sync_op,
            files,
            max_seen_ts,
            raw,
        })
    }

    /// Serialise: pretty (2 spaces), no trailing newline; known fields in upstream's order,
    /// unknown fields kept where they were.
    pub fn to_json(&self) -> String {
        let mut m = self.raw.clone();
        m.insert("v".into(), Value::from(1));
        m.insert(
            "last_sync_ts".into(),
            Value::from(self.last_sync_ts.clone()),
        );
        m.insert(
            "last_sync_at".into(),
            Value::from(self.last_sync_at.clone()),
        );
        m.insert(
            "last_sync_op".into(),
            Value::from(self.last_sync_op.as_str()),
        );
        let mut files = Map::new();
        for (p, st) in &self.files {
            let mut o = Map::new();
            o.insert("mtime_ms".into(), num(st.mtime_ms));
            o.insert("size".into(), num(st.size));
            for (k, v) in &st.extra {
                o.insert(k.clone(), v.clone());
            }
            files.insert(p.clone(), Value::Object(o));
        }
        m.insert("files".into(), Value::Object(files));
        match &self.max_seen_ts {
            Some(ts) => {
                m.insert("max_seen_ts".into(), Value::from(ts.clone()));
            }
            None => {
                m.remove("max_seen_ts");
            }
        }
        serde_json::to_string_pretty(&Value::Object(m)).unwrap_or_default()
    }

    /// Read a ledger; `Ok(None)` when the file does not exist.
    pub fn read(path: &Path) -> Result<Option<Self>> {
        match std::fs::read(path) {
            Ok(bytes) => {
                let text =
                    std::str::from_utf8(&bytes).map_err(|_| VaultError::LedgerMalformed {
                        path: path.to_path_buf(),
                        reason: "not UTF-8".to_owned(),
                    })?;
                Self::parse(text, path).map(Some)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(VaultError::io("read", path, e)),
        }
    }

    /// Write atomically: a temp file (0600) beside it, then rename; the parent is created 0700.
    pub fn write(&self, path: &Path) -> Result<()> {
        Ok(crate::fsutil::write_private(
            path,
            self.to_json().as_bytes(),
        )?)
    }
}

/// Result of the dirty check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirtyState {
    /// No ledger: the vault is not tracked on this machine.
    Untracked,
    /// The vault matches the ledger.
    Clean,
    /// Differences, each list sorted.
    Dirty(Changes),
}

/// Added / modified / deleted paths (vault-relative, sorted by UTF-16 code units).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    /// On disk, not in the ledger.
    pub added: Vec<String>,
    /// `mtime_ms` or `size` differ (exact comparison).
    pub modified: Vec<String>,
    /// In the ledger, not on disk.
    pub deleted: Vec<String>,
}

impl Changes {
    /// No differences?
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.deleted.is_empty()
    }
}

/// Compare a walk of the vault with a ledger.
pub fn changes(ledger: &Ledger, files: &[FileEntry]) -> Changes {
    use std::collections::HashMap;
    let recorded: HashMap<&str, &FileStat> =
        ledger.files.iter().map(|(p, s)| (p.as_str(), s)).collect();
    let mut c = Changes::default();
    let mut on_disk = std::collections::HashSet::new();
    for f in files {
        on_disk.insert(f.path.as_str());
        match recorded.get(f.path.as_str()) {
            None => c.added.push(f.path.clone()),
            Some(st) =>
            {
                #[allow(clippy::float_cmp)]
                if st.mtime_ms != f.mtime_ms || st.size != f.size as f64 {
                    c.modified.push(f.path.clone());
                }
            }
        }
    }
    for (p, _) in &ledger.files {
        if !on_disk.contains(p.as_str()) {
            c.deleted.push(p.clone());
        }
    }
    for v in [&mut c.added, &mut c.modified, &mut c.deleted] {
        v.sort_by(|a, b| cmp_utf16(a, b));
    }
    c
}

/// The dirty check of docs/formats.md §9.6: no ledger ⇒ untracked; a missing vault ⇒ every ledger entry
/// deleted; otherwise walk (symlinks refused) and compare.
pub fn dirty_check(ledger: Option<&Ledger>, vault: &Path) -> Result<DirtyState> {
    let Some(ledger) = ledger else {
        return Ok(DirtyState::Untracked);
    };
    let files = walk::walk(vault)?;
    let c = changes(ledger, &files);
    Ok(if c.is_empty() {
        DirtyState::Clean
    } else {
        DirtyState::Dirty(c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = r#"{
  "v": 1,
  "last_sync_ts": "20260523-114201",
  "last_sync_at": "2026-05-23T11:42:05.017Z",
  "last_sync_op": "push",
  "files": {
    ".env.dev": {
      "mtime_ms": 1779536521000,
      "size": 312
    },
    "tls/server.crt": {
      "mtime_ms": 1779536400123.4568,
      "size": 1204
    }
  }
}"#;

    #[test]
    fn upstream_sample_round_trips_byte_for_byte() {
        let l = Ledger::parse(SAMPLE, Path::new("x")).unwrap();
        assert_eq!(l.files.len(), 2);
        assert_eq!(l.max_seen(), "20260523-114201");
        let mut l2 = l.clone();
        l2.max_seen_ts = None;
        assert_eq!(l2.to_json(), SAMPLE);
    }

    #[test]
    fn unknown_fields_round_trip() {
        let text = r#"{"v":1,"zz":{"a":[1,2]},"last_sync_ts":"20260523-114201","last_sync_at":"x","last_sync_op":"pull","files":{"a":{"mtime_ms":1.5,"size":2,"hash":"h"}},"max_seen_ts":"20270101-000000"}"#;
        let l = Ledger::parse(text, Path::new("x")).unwrap();
        assert_eq!(l.max_seen(), "20270101-000000");
        let out = l.to_json();
        let again = Ledger::parse(&out, Path::new("x")).unwrap();
        assert_eq!(again, l);
        assert!(out.contains("\"zz\""));
        assert!(out.contains("\"hash\": \"h\""));
        assert!(!out.ends_with('\n'));
        // Position of the unknown field is kept.
        assert!(out.find("\"zz\"").unwrap() < out.find("last_sync_ts").unwrap());
    }

    #[test]
    fn validation() {
        let cases = [
            "nope",
            "[]",
            r#"{"v":2,"last_sync_ts":"a","last_sync_at":"b","last_sync_op":"push","files":{}}"#,
            r#"{"v":1,"last_sync_at":"b","last_sync_op":"push","files":{}}"#,
            r#"{"v":1,"last_sync_ts":"a","last_sync_at":"b","last_sync_op":"sync","files":{}}"#,
            r#"{"v":1,"last_sync_ts":"a","last_sync_at":"b","last_sync_op":"push","files":[]}"#,
            r#"{"v":1,"last_sync_ts":"a","last_sync_at":"b","last_sync_op":"push","files":{"/abs":{"mtime_ms":1,"size":1}}}"#,
            r#"{"v":1,"last_sync_ts":"a","last_sync_at":"b","last_sync_op":"push","files":{"a/../b":{"mtime_ms":1,"size":1}}}"#,
            r#"{"v":1,"last_sync_ts":"a","last_sync_at":"b","last_sync_op":"push","files":{"a\\b":{"mtime_ms":1,"size":1}}}"#,
            r#"{"v":1,"last_sync_ts":"a","last_sync_at":"b","last_sync_op":"push","files":{"a":{"mtime_ms":"1","size":1}}}"#,
        ];
        for c in cases {
            assert!(
                matches!(
                    Ledger::parse(c, Path::new("x")),
                    Err(VaultError::LedgerMalformed { .. })
                ),
                "{c}"
            );
        }
    }

    #[test]
    fn dirty_and_write() {
        let (d, vault) = crate::walk::scratch_vault(&[("a", "1"), ("sub/b", "2")]);
        assert_eq!(dirty_check(None, &vault).unwrap(), DirtyState::Untracked);
        let files = walk::walk(&vault).unwrap();
        let l = Ledger::record(
            None,
            SyncOp::Push,
            "20260523-114201",
            "2026-05-23T11:42:05.017Z",
            &files,
        );
        let lp = path(&d.path().join("base"), "acme", "dev");
        l.write(&lp).unwrap();
        let back = Ledger::read(&lp).unwrap().unwrap();
        assert_eq!(back, Ledger::parse(&l.to_json(), &lp).unwrap());
        assert_eq!(dirty_check(Some(&back), &vault).unwrap(), DirtyState::Clean);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&lp).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let dmode = std::fs::metadata(lp.parent().unwrap())
                .unwrap()
                .permissions()
                .mode()
                & 0o777;
            assert_eq!(dmode, 0o700);
        }
        std::fs::write(vault.join("a"), "11").unwrap();
        std::fs::remove_file(vault.join("sub/b")).unwrap();
        std::fs::write(vault.join("c"), "3").unwrap();
        std::fs::write(vault.join("B"), "3").unwrap();
        let DirtyState::Dirty(c) = dirty_check(Some(&back), &vault).unwrap() else {
            panic!()
        };
        assert_eq!(c.added, vec!["B".to_owned(), "c".to_owned()]);
        assert_eq!(c.modified, vec!["a".to_owned()]);
        assert_eq!(c.deleted, vec!["sub/b".to_owned()]);
        std::fs::remove_dir_all(&vault).unwrap();
        let DirtyState::Dirty(c) = dirty_check(Some(&back), &vault).unwrap() else {
            panic!()
        };
        assert_eq!(c.deleted, vec!["a".to_owned(), "sub/b".to_owned()]);
    }

    #[test]
    fn max_seen_carries_over() {
        let l = Ledger::record(None, SyncOp::Pull, "20260523-114201", "x", &[]);
        let newer = Ledger::record(Some(&l), SyncOp::Pull, "20260101-000000", "y", &[]);
        assert_eq!(newer.max_seen(), "20260523-114201");
        // The floor check itself lives in `freshness` (one read path for every reader).
    }
}
