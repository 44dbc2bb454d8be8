//! The high-water file `<base>/<repo>/highwater_<env>.json`: the newest `BUNDLE_TS` this
//! machine has opened for (repo, env), kept in a file of our own.
//!
//! The ledger also carries it (`max_seen_ts`), but upstream vsync rewrites the ledger whole and
//! drops the field, which silently lowered the floor on mixed teams. The ledger is still read
//! (for machines upgraded from a build that only had the ledger); the floor is the newer of the
//! two. The name does not start with `env_`, so upstream's discovery of `<base>/*/env_*` never
//! mistakes it for an env.
//!
//! Only timestamps of bundles that opened (the seal binds the name to the content under the
//! key) are recorded: a pointer read but not verified could be a forged far-future name, and
//! raising the floor to it would lock this machine out.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::{Result, VaultError};
use crate::freshness::Floor;
use crate::fsutil::write_private;
use crate::ledger::Ledger;
use crate::ts;

/// The high-water file of (repo, env).
#[must_use]
pub fn path(base: &Path, repo: &str, env: &str) -> PathBuf {
    base.join(repo).join(format!("highwater_{env}.json"))
}

/// What this machine has seen of one (repo, env).
#[derive(Debug, Clone)]
pub struct HighWater {
    path: PathBuf,
    /// From the file alone (what [`HighWater::record`] compares against before writing).
    stored: Floor,
    /// The file and the ledger together.
    floor: Floor,
}

impl HighWater {
    /// Read the high-water file at `path` (absent: no floor) and fold in `ledger`.
    ///
    /// # Errors
    /// [`VaultError::LedgerMalformed`] for a file that is not ours (fix or delete it); I/O
    /// errors other than "not found".
    pub fn load(path: &Path, ledger: Option<&Ledger>) -> Result<Self> {
        let stored = read(path)?;
        let mut floor = stored.clone();
        if let Some(l) = ledger {
            floor.raise(l.max_seen());
        }
        Ok(Self {
            path: path.to_path_buf(),
            stored,
            floor,
        })
    }

    /// The floor: the newer of the file and the ledger.
    #[must_use]
    pub fn floor(&self) -> &Floor {
        &self.floor
    }

    /// Record that `ts` opened: raise the floor and rewrite the file when `ts` is newer than
    /// what it holds. Returns whether the file was written.
    ///
    /// # Errors
    /// I/O errors of the atomic write.
    pub fn record(&mut self, ts: &str) -> Result<bool> {
        self.floor.raise(ts);
        let Some(top) = self.floor.ts().map(str::to_owned) else {
            return Ok(false);
        };
        if self.stored.ts() == Some(top.as_str()) {
            return Ok(false);
        }
        let mut m = Map::new();
        m.insert("v".into(), Value::from(1));
        m.insert("max_seen_ts".into(), Value::from(top.clone()));
        let text = serde_json::to_string_pretty(&Value::Object(m)).unwrap_or_default();
        write_private(&self.path, text.as_bytes())?;
        self.stored.raise(&top);
        Ok(true)
    }
}

fn read(path: &Path) -> Result<Floor> {
    let bad = |reason: &str| VaultError::LedgerMalformed {
        path: path.to_path_buf(),
        reason: reason.to_owned(),
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Floor::none()),
        Err(e) => return Err(VaultError::io("read", path, e)),
    };
    let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(&bytes) else {
        return Err(bad("not a JSON object"));
    };
    if o.get("v").and_then(Value::as_u64) != Some(1) {
        return Err(bad("`v` is not 1"));
    }
    let mut floor = Floor::none();
    match o.get("max_seen_ts") {
        None | Some(Value::Null) => {}
        Some(Value::String(t)) if ts::is_bundle_ts(t) => floor.raise(t),
        Some(_) => return Err(bad("`max_seen_ts` is not a YYYYMMDD-HHMMSS timestamp")),
    }
    Ok(floor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::SyncOp;

    #[test]
    fn survives_a_ledger_without_max_seen() {
        let d = tempfile::tempdir().unwrap();
        let p = path(d.path(), "acme", "dev");
        let mut hw = HighWater::load(&p, None).unwrap();
        assert_eq!(hw.floor().ts(), None);
        assert!(hw.record("20260523-114201").unwrap());
        assert!(!hw.record("20260101-000000").unwrap());
        // An upstream pull of an older version rewrote the ledger without `max_seen_ts`.
        let mut l = Ledger::record(None, SyncOp::Pull, "20260101-000000", "x", &[]);
        l.max_seen_ts = None;
        let hw = HighWater::load(&p, Some(&l)).unwrap();
        assert_eq!(hw.floor().ts(), Some("20260523-114201"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn ledger_floor_is_read_for_the_upgrade() {
        let d = tempfile::tempdir().unwrap();
        let p = path(d.path(), "acme", "dev");
        let mut l = Ledger::record(None, SyncOp::Pull, "20260101-000000", "x", &[]);
        l.observe("20260523-114201");
        let mut hw = HighWater::load(&p, Some(&l)).unwrap();
        assert_eq!(hw.floor().ts(), Some("20260523-114201"));
        // The first record writes the file, so the floor no longer depends on the ledger.
        assert!(hw.record("20260301-000000").unwrap());
        let hw = HighWater::load(&p, None).unwrap();
        assert_eq!(hw.floor().ts(), Some("20260523-114201"));
    }

    #[test]
    fn malformed_file_is_a_typed_error() {
        let d = tempfile::tempdir().unwrap();
        let p = path(d.path(), "acme", "dev");
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        for bad in [
            "",
            "[]",
            r#"{"v":2}"#,
            r#"{"v":1,"max_seen_ts":"tomorrow"}"#,
        ] {
            std::fs::write(&p, bad).unwrap();
            assert!(
                matches!(
                    HighWater::load(&p, None),
                    Err(VaultError::LedgerMalformed { .. })
                ),
                "{bad}"
            );
        }
    }
}
