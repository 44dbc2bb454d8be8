//! The bucket protocol shared by the CLI and the runtime (docs/formats.md §11.3–§11.7, docs/decisions.md §2).
//!
//! Publishing a version is two conditional writes:
//!
//! 1. `versions/<ts>.enc` **create-only** — an existing object means another push in the same
//!    second ([`VaultError::VersionExists`]);
//! 2. `latest` **compare-and-swap** on the ETag read before (create-only when there was no
//!    pointer) — losing means someone else published first ([`VaultError::RemoteAdvanced`]).
//!
//! A crash between the two leaves `latest` on the previous complete version; the orphan version
//! object is harmless. Reading follows `latest` → `versions/<ts>.enc` → RQE1 → RQEM0001 → zip.

use bytes::Bytes;
use serde_json::{Map, Value};
use vsync_crypto::kdf::DerivedKey;
use zeroize::Zeroizing;

use crate::error::{Result, StoreError, VaultError};
use crate::layout::Prefix;
use crate::store::{Bucket, Expected};
use crate::ts;

/// What `latest` names, with the ETag it was read under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    /// The `BUNDLE_TS` (trimmed); empty when the object is blank (upstream: "push first").
    pub ts: String,
    /// The ETag without quotes (the compare-and-swap token).
    pub etag: Option<String>,
}

impl Pointer {
    /// A blank pointer object (treat as "nothing pushed").
    pub fn is_empty(&self) -> bool {
        self.ts.is_empty()
    }
}

/// The generation cell (docs/formats.md §11.7): `{"gen":4,"prev_gen":3,"rotated_at":"…"}`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Rotation counter (absent ⇒ 0).
    pub generation: Option<u64>,
    /// Previous counter.
    pub prev_gen: Option<u64>,
    /// `ISO_TS` of the rotation.
    pub rotated_at: Option<String>,
}

impl Manifest {
    /// The generation (0 when absent).
    pub fn current_gen(&self) -> u64 {
        self.generation.unwrap_or(0)
    }

    /// The cell after one more rotation at `at`.
    pub fn bumped(&self, at: &str) -> Self {
        let g = self.current_gen();
        Self {
            generation: Some(g + 1),
            prev_gen: Some(g),
            rotated_at: Some(at.to_owned()),
        }
    }

    /// Parse cell text: blank ⇒ empty cell; must be a JSON object; counters must be
    /// non-negative integers; `rotated_at` a string; unknown fields dropped.
    pub fn parse(text: &str, key: &str) -> Result<Self> {
        let bad = |reason: &str| VaultError::ManifestMalformed {
            key: key.to_owned(),
            reason: reason.to_owned(),
        };
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        let Ok(Value::Object(o)) = serde_json::from_str::<Value>(text) else {
            return Err(bad("not a JSON object"));
        };
        let counter = |k: &str| -> Result<Option<u64>> {
            match o.get(k) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => {
                    if let Some(u) = v.as_u64() {
                        return Ok(Some(u));
                    }
                    match v.as_f64() {
                        Some(f) if f >= 0.0 && f.fract() == 0.0 && f < 9.007_199_254_740_992e15 => {
                            Ok(Some(f as u64))
                        }
                        _ => Err(bad("a counter is not a non-negative integer")),
                    }
                }
            }
        };
        let rotated_at = match o.get("rotated_at") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(bad("`rotated_at` is not a string")),
        };
        Ok(Self {
            generation: counter("gen")?,
            prev_gen: counter("prev_gen")?,
            rotated_at,
        })
    }

    /// Compact JSON, fields in upstream's order, absent ones omitted.
    pub fn to_json(&self) -> String {
        let mut m = Map::new();
        if let Some(g) = self.generation {
            m.insert("gen".into(), Value::from(g));
        }
        if let Some(p) = self.prev_gen {
            m.insert("prev_gen".into(), Value::from(p));
        }
        if let Some(r) = &self.rotated_at {
            m.insert("rotated_at".into(), Value::from(r.clone()));
        }
        serde_json::to_string(&Value::Object(m)).unwrap_or_default()
    }
}

/// A generation cell as read, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestCell {
    /// The content.
    pub manifest: Manifest,
    /// The key it was read from (`latest.manifest`, or the legacy `latest.meta`).
    pub key: String,
    /// Its ETag (for a conditional rewrite of `latest.manifest`).
    pub etag: Option<String>,
}

/// The most a `latest` pointer or a generation cell may be: a timestamp or a small JSON object.
const POINTER_MAX: u64 = 64 * 1024;
/// The most a sync receipt or a provenance entry may be: a fingerprint or a record per key of
/// the largest vault (10 000 keys) is well under a MiB.
const RECORD_MAX: u64 = 16 * 1024 * 1024;

/// One (repo, env) in a bucket.
#[derive(Debug, Clone)]
pub struct Remote {
    /// The bucket.
    pub bucket: Bucket,
    /// The key prefix.
    pub prefix: Prefix,
}

fn corrupt(reason: &str) -> VaultError {
    VaultError::Integrity {
        class: "BundleCorruptError",
        reason: reason.to_owned(),
    }
}

fn map_crypto(e: &vsync_crypto::CryptoError) -> VaultError {
    VaultError::Integrity {
        class: e.class(),
        reason: e.to_string(),
    }
}

impl Remote {
    /// A remote for `prefix` in `bucket`.
    pub fn new(bucket: Bucket, prefix: Prefix) -> Self {
        Self { bucket, prefix }
    }

    /// Read `latest`: `Ok(None)` when absent; the body trimmed of ASCII whitespace must be a
    /// `BUNDLE_TS` or blank, anything else is an integrity error.
    pub async fn latest(&self) -> Result<Option<Pointer>> {
        let key = self.prefix.latest_key();
        let Some(f) = self.bucket.get_at_most(&key, POINTER_MAX).await? else {
            return Ok(None);
        };
        let text = std::str::from_utf8(&f.bytes).map_err(|_| corrupt("`latest` is not text"))?;
        let ts = text.trim_matches(|c: char| c.is_ascii_whitespace());
        if !ts.is_empty() && !ts::is_bundle_ts(ts) {
            return Err(corrupt(
                "`latest` does not hold a YYYYMMDD-HHMMSS timestamp",
            ));
        }
        Ok(Some(Pointer {
            ts: ts.to_owned(),
            etag: f.etag,
        }))
    }

    /// Download `versions/<ts>.enc`; a 404 is [`VaultError::VersionMissing`].
    pub async fn fetch_version(&self, ts: &str) -> Result<Bytes> {
        if !ts::is_bundle_ts(ts) {
            return Err(VaultError::BadTimestamp {
                text: ts::printable(ts),
                what: "BUNDLE_TS",
            });
        }
        match self.bucket.get(&self.prefix.version_key(ts)).await? {
            Some(f) => Ok(f.bytes),
            None => Err(VaultError::VersionMissing { ts: ts.to_owned() }),
        }
    }

    /// Publish a sealed bundle under `ts`: create `versions/<ts>.enc` create-only, then move
    /// `latest` from `expected` to `ts` with compare-and-swap (`expected = None`: there must be
    /// no pointer yet). `ts` must sort after `expected.ts` (see [`ts::next_bundle_ts`]).
    pub async fn publish(
        &self,
        ts: &str,
        sealed: Vec<u8>,
        expected: Option<&Pointer>,
    ) -> Result<Pointer> {
        if !ts::is_bundle_ts(ts) {
            return Err(VaultError::BadTimestamp {
                text: ts::printable(ts),
                what: "BUNDLE_TS",
            });
        }
        if let Some(p) = expected
            && !p.ts.is_empty()
            && ts <= p.ts.as_str()
        {
            return Err(VaultError::NotNewer {
                ts: ts.to_owned(),
                current: p.ts.clone(),
            });
        }
        let swap = match expected {
            None => Expected::Absent,
            Some(Pointer { etag: Some(e), .. }) => Expected::Etag(e.clone()),
            Some(Pointer { etag: None, .. }) => {
                return Err(VaultError::Store(StoreError::Unsupported {
                    store: self.bucket.label().to_owned(),
                    what: "ETags on `latest` (needed for a safe publish)",
                }));
            }
        };
        let version_key = self.prefix.version_key(ts);
        match self.bucket.put_create(&version_key, sealed).await {
            Ok(()) => {}
            Err(StoreError::AlreadyExists { .. }) => {
                return Err(VaultError::VersionExists { ts: ts.to_owned() });
            }
            Err(e) => return Err(e.into()),
        }
        let latest_key = self.prefix.latest_key();
        match self
            .bucket
            .put_swap(&latest_key, Bytes::copy_from_slice(ts.as_bytes()), swap)
            .await
        {
            Ok(etag) => Ok(Pointer {
                ts: ts.to_owned(),
                etag: Some(etag),
            }),
            Err(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => {
                // Never published: remove our version object (best effort), report who won.
                let _ = self.bucket.delete(&version_key).await;
                let remote_ts = match self.latest().await {
                    Ok(Some(p)) if !p.ts.is_empty() => p.ts,
                    _ => "-".to_owned(),
                };
                let local_ts = expected
                    .map(|p| p.ts.clone())
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| "-".to_owned());
                Err(VaultError::RemoteAdvanced {
                    remote_ts,
                    local_ts,
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Timestamps of `versions/<ts>.enc` objects, newest first (docs/formats.md §11.6).
    pub async fn list_versions(&self) -> Result<Vec<String>> {
        let keys = self.bucket.list(&self.prefix.versions_dir()).await?;
        let mut out: Vec<String> = keys
            .iter()
            .filter_map(|k| self.prefix.ts_of_version_key(k))
            .filter(|t| ts::is_bundle_ts(t))
            .map(str::to_owned)
            .collect();
        out.sort_by(|a, b| b.cmp(a));
        out.dedup();
        Ok(out)
    }

    /// Read the generation cell: `latest.manifest`, else the runtime libraries' `latest.meta`;
    /// `Ok(None)` when neither exists (generation 0).
    pub async fn read_manifest(&self) -> Result<Option<ManifestCell>> {
        for key in [self.prefix.manifest_key(), self.prefix.legacy_meta_key()] {
            if let Some(f) = self.bucket.get_at_most(&key, POINTER_MAX).await? {
                let text =
                    std::str::from_utf8(&f.bytes).map_err(|_| VaultError::ManifestMalformed {
                        key: key.clone(),
                        reason: "not UTF-8".to_owned(),
                    })?;
                let manifest = Manifest::parse(text, &key)?;
                return Ok(Some(ManifestCell {
                    manifest,
                    key,
                    etag: f.etag,
                }));
            }
        }
        Ok(None)
    }

    /// Write `latest.manifest` conditionally (`Expected::Absent` when it did not exist, else its
    /// ETag). Returns the new ETag.
    pub async fn write_manifest(&self, manifest: &Manifest, expected: Expected) -> Result<String> {
        Ok(self
            .bucket
            .put_swap(
                &self.prefix.manifest_key(),
                manifest.to_json().into_bytes(),
                expected,
            )
            .await?)
    }

    /// Read the encrypted sync receipt for `target`, if any.
    pub async fn read_receipt(&self, target: &str) -> Result<Option<Bytes>> {
        self.read_optional(&self.prefix.receipt_key(target)).await
    }

    /// Write the encrypted sync receipt for `target` (unconditional; last sync wins).
    pub async fn write_receipt(&self, target: &str, sealed: Vec<u8>) -> Result<()> {
        Ok(self
            .bucket
            .put(&self.prefix.receipt_key(target), sealed)
            .await?)
    }

    /// Create the sealed provenance entry `name` (create-only: entries are never rewritten, so
    /// concurrent syncs cannot lose each other's; a name taken is
    /// [`StoreError::AlreadyExists`]).
    pub async fn write_provenance(&self, name: &str, sealed: Vec<u8>) -> Result<()> {
        Ok(self
            .bucket
            .put_create(&self.prefix.provenance_key(name), sealed)
            .await?)
    }

    /// The names of the provenance entries, sorted (names start with their UTC time, so this is
    /// oldest first); keys nested deeper or not ending in `.enc` are left out.
    pub async fn list_provenance(&self) -> Result<Vec<String>> {
        let keys = self.bucket.list(&self.prefix.provenance_dir()).await?;
        let mut out: Vec<String> = keys
            .iter()
            .filter_map(|k| self.prefix.provenance_name_of_key(k))
            .map(str::to_owned)
            .collect();
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Read the sealed provenance entry `name`; `Ok(None)` when it is gone.
    pub async fn read_provenance(&self, name: &str) -> Result<Option<Bytes>> {
        self.read_optional(&self.prefix.provenance_key(name)).await
    }

    /// The bytes of the object at `key`; `Ok(None)` when there is none.
    async fn read_optional(&self, key: &str) -> Result<Option<Bytes>> {
        let f = self.bucket.get_at_most(key, RECORD_MAX).await?;
        Ok(f.map(|f| f.bytes))
    }
}

/// Follow `latest`, held to `floor` (see [`crate::freshness`]), and open the bundle: returns the
/// pointer's ts and the verified zip bytes. No pointer (or a blank one) is
/// [`VaultError::NothingPushed`]; an older pointer is [`VaultError::Rollback`]; crypto failures
/// are [`VaultError::Integrity`] with the class of docs/formats.md §14.1.
pub async fn pull_bundle(
    remote: &Remote,
    key: &DerivedKey,
    floor: &crate::freshness::Floor,
) -> Result<(String, Zeroizing<Vec<u8>>)> {
    let ts = match crate::freshness::read_latest(remote, floor, false).await? {
        Some(p) => p.ts,
        None => return Err(VaultError::NothingPushed),
    };
    let zip = pull_version(remote, key, &ts).await?;
    Ok((ts, zip))
}

/// Open a given version (for `pull --version` and `diff`), verifying its seal against `ts`.
pub async fn pull_version(
    remote: &Remote,
    key: &DerivedKey,
    ts: &str,
) -> Result<Zeroizing<Vec<u8>>> {
    let object = remote.fetch_version(ts).await?;
    vsync_crypto::bundle::open(key, &object, ts).map_err(|e| map_crypto(&e))
}

/// Seal a zip under `ts` (RQEM0001 inside RQE1) for [`Remote::publish`].
pub fn seal_bundle(key: &DerivedKey, ts: &str, zip: &[u8]) -> Result<Vec<u8>> {
    vsync_crypto::bundle::seal(key, ts, zip).map_err(|e| map_crypto(&e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_cell() {
        let m = Manifest::parse(
            r#"{"gen":4,"prev_gen":3,"rotated_at":"2026-05-23T11:42:01.234Z","x":1}"#,
            "k",
        )
        .unwrap();
        assert_eq!(m.current_gen(), 4);
        assert_eq!(
            m.to_json(),
            r#"{"gen":4,"prev_gen":3,"rotated_at":"2026-05-23T11:42:01.234Z"}"#
        );
        assert_eq!(Manifest::parse("  \n", "k").unwrap(), Manifest::default());
        assert_eq!(Manifest::parse("{}", "k").unwrap().current_gen(), 0);
        assert_eq!(
            Manifest::parse(r#"{"gen":2.0}"#, "k")
                .unwrap()
                .current_gen(),
            2
        );
        for bad in [
            "[]",
            "1",
            r#"{"gen":-1}"#,
            r#"{"gen":1.5}"#,
            r#"{"gen":"1"}"#,
            r#"{"rotated_at":5}"#,
            "{",
        ] {
            assert!(Manifest::parse(bad, "k").is_err(), "{bad}");
        }
        let b = Manifest::default().bumped("T");
        assert_eq!(b.to_json(), r#"{"gen":1,"prev_gen":0,"rotated_at":"T"}"#);
        assert_eq!(Manifest::default().to_json(), "{}");
    }
}
