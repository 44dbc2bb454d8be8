//! The one read path for `latest` (docs/decisions.md §2): every reader — each CLI verb and the runtime —
//! compares the pointer with a [`Floor`], the newest `BUNDLE_TS` it has reason to trust, and
//! refuses an older one with [`VaultError::Rollback`] (exit 4 in the CLI).
//!
//! A bucket writer who cannot decrypt can still point `latest` back at an old, authentic
//! version (a revoked credential, say): the seal only proves that the object belongs to the
//! name, not that the name is the newest. Only the reader's memory can tell.
//!
//! Where a floor comes from:
//! - on a workstation: the high-water file ([`crate::highwater`]) and the ledger's
//!   `max_seen_ts`/`last_sync_ts`;
//! - anywhere, including a first boot with no memory: `VSYNC_MIN_TS` ([`MIN_TS_VAR`]) and the
//!   runtime token's optional `minTs` field ([`BLOB_FIELD`]), which upstream readers ignore
//!   (docs/formats.md §8.4 rule 9).

use vsync_crypto::cfg_blob::RuntimeConfig;

use crate::error::{Result, VaultError};
use crate::remote::{Pointer, Remote};
use crate::ts;

/// The environment variable that sets a floor for any reader.
pub const MIN_TS_VAR: &str = "VSYNC_MIN_TS";
/// The optional field of the runtime token that carries a floor.
pub const BLOB_FIELD: &str = "minTs";

/// The oldest `BUNDLE_TS` a reader accepts in `latest` (none: accept anything).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Floor {
    ts: Option<String>,
}

impl Floor {
    /// No floor.
    #[must_use]
    pub fn none() -> Self {
        Self::default()
    }

    /// The floor's timestamp, if any.
    #[must_use]
    pub fn ts(&self) -> Option<&str> {
        self.ts.as_deref()
    }

    /// Raise the floor to `ts` when it is a valid `BUNDLE_TS` newer than the current one.
    pub fn raise(&mut self, ts: &str) {
        if ts::is_bundle_ts(ts) && self.ts.as_deref().is_none_or(|cur| ts > cur) {
            self.ts = Some(ts.to_owned());
        }
    }

    /// This floor raised to `other`'s.
    #[must_use]
    pub fn max(mut self, other: &Floor) -> Self {
        if let Some(t) = other.ts() {
            self.raise(t);
        }
        self
    }

    /// Refuse a pointer older than the floor.
    ///
    /// # Errors
    /// [`VaultError::Rollback`].
    pub fn check(&self, pointer_ts: &str) -> Result<()> {
        match self.ts.as_deref() {
            Some(floor) if pointer_ts < floor => Err(VaultError::Rollback {
                remote_ts: ts::printable(pointer_ts),
                seen_ts: floor.to_owned(),
            }),
            _ => Ok(()),
        }
    }
}

/// Validate a floor given as text (`VSYNC_MIN_TS`, `minTs`, an option): surrounding whitespace
/// is ignored, an empty value means no floor.
///
/// # Errors
/// [`VaultError::BadTimestamp`] when the text is not a `BUNDLE_TS`.
pub fn parse_floor(text: &str) -> Result<Floor> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(Floor::none());
    }
    ts::parse_bundle_ts(t)?;
    Ok(Floor {
        ts: Some(t.to_owned()),
    })
}

/// The floor a runtime token carries in its optional `minTs` field.
///
/// # Errors
/// [`VaultError::BadTimestamp`] when the field is present but not a `BUNDLE_TS` string.
pub fn blob_floor(cfg: &RuntimeConfig) -> Result<Floor> {
    match cfg.extra.get(BLOB_FIELD) {
        None | Some(serde_json::Value::Null) => Ok(Floor::none()),
        Some(serde_json::Value::String(s)) => parse_floor(s),
        Some(_) => Err(VaultError::BadTimestamp {
            text: format!("{BLOB_FIELD} (not a string)"),
            what: "BUNDLE_TS",
        }),
    }
}

/// Write `floor` into a runtime token's `minTs` field (removed when there is no floor).
pub fn set_blob_floor(cfg: &mut RuntimeConfig, floor: &Floor) {
    match floor.ts() {
        Some(t) => {
            cfg.extra
                .insert(BLOB_FIELD.to_owned(), serde_json::Value::from(t));
        }
        None => {
            cfg.extra.remove(BLOB_FIELD);
        }
    }
}

/// Read `latest` and hold it to `floor` (skipped when `allow_rollback`). `Ok(None)` when nothing
/// was pushed (no pointer, or a blank one).
///
/// # Errors
/// [`VaultError::Rollback`] for a pointer older than the floor; store and format errors of
/// [`Remote::latest`].
pub async fn read_latest(
    remote: &Remote,
    floor: &Floor,
    allow_rollback: bool,
) -> Result<Option<Pointer>> {
    let Some(pointer) = remote.latest().await?.filter(|p| !p.is_empty()) else {
        return Ok(None);
    };
    if !allow_rollback {
        floor.check(&pointer.ts)?;
    }
    Ok(Some(pointer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floor_refuses_only_older() {
        let mut f = Floor::none();
        assert!(f.check("20260101-000000").is_ok());
        f.raise("20260523-114201");
        f.raise("20250101-000000");
        f.raise("garbage");
        assert_eq!(f.ts(), Some("20260523-114201"));
        assert!(matches!(
            f.check("20260523-114200"),
            Err(VaultError::Rollback { .. })
        ));
        assert!(f.check("20260523-114201").is_ok());
        assert!(f.check("20260523-114202").is_ok());
    }

    #[test]
    fn parse_and_blob_field() {
        assert_eq!(parse_floor("  ").unwrap(), Floor::none());
        assert_eq!(
            parse_floor(" 20260523-114201\n").unwrap().ts(),
            Some("20260523-114201")
        );
        assert!(parse_floor("2026-05-23").is_err());
        let mut cfg: RuntimeConfig = serde_json::from_value(serde_json::json!({
            "v": 1, "endpoint": "file:///b", "region": "", "bucket": "", "accessKeyId": "",
            "secretAccessKey": "", "prefix": "r/dev/", "env": "dev",
            "salt": "0123456789abcdef0123", "iterations": 600000
        }))
        .unwrap();
        assert_eq!(blob_floor(&cfg).unwrap(), Floor::none());
        set_blob_floor(&mut cfg, &parse_floor("20260523-114201").unwrap());
        assert_eq!(blob_floor(&cfg).unwrap().ts(), Some("20260523-114201"));
        cfg.extra
            .insert(BLOB_FIELD.into(), serde_json::Value::from(5));
        assert!(blob_floor(&cfg).is_err());
        set_blob_floor(&mut cfg, &Floor::none());
        assert!(!cfg.extra.contains_key(BLOB_FIELD));
    }
}
