//! Questions asked of the entries, without I/O: which release or time a query means, and which
//! value of a key each destination held then.

use std::collections::BTreeMap;

use serde::Serialize;

use super::entry::{Entry, KeyRecord};

/// The point in time a `why` asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Point {
    /// Now: the newest entries.
    Now,
    /// The newest entry recorded for this release (or tag).
    Release(String),
    /// This time, as ISO-8601 text at any precision (`2026-12-06`, `2026-12-06T11:00`, …).
    At(String),
}

/// Why a point or key cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// No entry names this release.
    #[error("no sync recorded release {release:?}")]
    UnknownRelease {
        /// What was asked.
        release: String,
        /// Releases that are recorded, newest first.
        known: Vec<String>,
    },
    /// No entry records the key at all.
    #[error("no sync recorded {key}")]
    UnknownKey {
        /// What was asked.
        key: String,
    },
    /// Entries record the key, but none at or before the point.
    #[error("no sync recorded {key} at or before {point}")]
    NothingBefore {
        /// What was asked.
        key: String,
        /// The point, as given.
        point: String,
    },
}

/// The latest entry time a query may use (`None`: every entry).
pub fn cutoff(entries: &[&Entry], point: &Point) -> Result<Option<String>, QueryError> {
    match point {
        Point::Now => Ok(None),
        Point::At(t) => Ok(Some(t.clone())),
        Point::Release(r) => entries
            .iter()
            .filter(|e| e.release.as_deref() == Some(r.as_str()))
            .map(|e| e.time.clone())
            .max()
            .map(Some)
            .ok_or_else(|| QueryError::UnknownRelease {
                release: r.clone(),
                known: releases(entries),
            }),
    }
}

/// Whether an entry made at `time` is at or before `cutoff`, at the cutoff's precision
/// (`2026-12-06` takes the whole day).
pub fn at_or_before(time: &str, cutoff: Option<&str>) -> bool {
    match cutoff {
        None => true,
        Some(c) => {
            let c = c.strip_suffix('Z').unwrap_or(c);
            let t = time.get(..c.len()).unwrap_or(time);
            t <= c
        }
    }
}

/// Recorded releases, newest first, each once.
pub fn releases(entries: &[&Entry]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in entries.iter().rev() {
        if let Some(r) = &e.release
            && !out.contains(r)
        {
            out.push(r.clone());
        }
    }
    out
}

/// How the current vault's value compares with the one a destination held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Current {
    /// The vault holds that value now.
    Same,
    /// The vault holds another value now.
    ChangedSince,
    /// The vault no longer holds the key.
    Removed,
    /// The vault could not be read (nothing pushed, or it did not open).
    Unknown,
}

impl Current {
    /// How it is printed.
    pub fn label(self) -> &'static str {
        match self {
            Current::Same => "same",
            Current::ChangedSince => "changed since",
            Current::Removed => "removed",
            Current::Unknown => "unknown",
        }
    }
}

/// The entry a record came from, as `why` prints it.
#[derive(Debug, Clone, Serialize)]
pub struct Source {
    /// When that sync finished.
    pub time: String,
    /// Who ran it.
    pub who: String,
    /// Its release, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// Its commit, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    /// The bundle it synced (absent with `--from-local`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_ts: Option<String>,
}

impl Source {
    fn of(e: &Entry) -> Self {
        Self {
            time: e.time.clone(),
            who: e.who.display(),
            release: e.release.clone(),
            commit: e.git.as_ref().map(|g| g.commit.clone()),
            bundle_ts: e.bundle.as_ref().map(|b| b.ts.clone()),
        }
    }
}

/// What one destination held for the key at the point.
#[derive(Debug, Clone, Serialize)]
pub struct Live {
    /// The target id.
    pub target: String,
    /// Its routing summary.
    pub routing: String,
    /// The name at the destination.
    pub remote: String,
    /// The keyed fingerprint of the value (absent when the last record deleted it).
    pub fp: Option<String>,
    /// The sync that wrote this value there.
    pub written: Source,
    /// The newest sync at or before the point that found it there (when not the writer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed: Option<Source>,
    /// The current vault compared with `fp`.
    pub current: Current,
}

/// For each destination, the value of `key` it held at `cutoff` (entries oldest first).
/// `current_fp` is the current vault's fingerprint of the key: `Some(None)` when the vault lacks
/// it, `None` when the vault could not be read.
pub fn why(
    entries: &[&Entry],
    key: &str,
    cutoff: Option<&str>,
    point_text: &str,
    current_fp: Option<Option<&str>>,
) -> Result<Vec<Live>, QueryError> {
    let records = |e: &'_ Entry| -> Vec<((String, String), String, KeyRecord)> {
        e.targets
            .iter()
            .flat_map(|t| {
                t.keys
                    .iter()
                    .filter(|k| k.key.as_deref() == Some(key))
                    .map(|k| (t.destination_id(), t.routing.clone(), k.clone()))
            })
            .collect()
    };
    if !entries.iter().any(|e| !records(e).is_empty()) {
        return Err(QueryError::UnknownKey {
            key: key.to_owned(),
        });
    }
    // destination → (its routing summary, newest record and its entry, the writer of that value)
    type Slot<'e> = (String, KeyRecord, &'e Entry, Option<&'e Entry>);
    let mut found: BTreeMap<(String, String), Slot<'_>> = BTreeMap::new();
    for &e in entries
        .iter()
        .rev()
        .filter(|e| at_or_before(&e.time, cutoff))
    {
        for (dest, routing, rec) in records(e) {
            let slot = found.entry(dest).or_insert((routing, rec.clone(), e, None));
            if slot.3.is_none() && rec.wrote() && rec.fp == slot.1.fp {
                slot.3 = Some(e);
            }
        }
    }
    if found.is_empty() {
        return Err(QueryError::NothingBefore {
            key: key.to_owned(),
            point: point_text.to_owned(),
        });
    }
    Ok(found
        .into_iter()
        .map(|((target, _), (routing, rec, newest, writer))| {
            let writer = writer.unwrap_or(newest);
            let current = match current_fp {
                None => Current::Unknown,
                Some(None) => Current::Removed,
                Some(Some(fp)) if rec.fp.as_deref() == Some(fp) => Current::Same,
                Some(Some(_)) => Current::ChangedSince,
            };
            Live {
                target,
                routing,
                remote: rec.remote,
                fp: rec.fp,
                written: Source::of(writer),
                confirmed: (!std::ptr::eq(writer, newest)).then(|| Source::of(newest)),
                current,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::super::entry::{FORMAT, TargetRecord};
    use super::*;

    /// An entry at `at` on 2026-12-06 that synced key K to `target` with `op`, fingerprint `fp`.
    fn entry(at: &str, release: &str, target: &str, (op, fp): (&str, &str)) -> Entry {
        Entry {
            format: FORMAT.into(),
            time: format!("2026-12-06T{at}.000Z"),
            release: (!release.is_empty()).then(|| release.to_owned()),
            targets: vec![TargetRecord {
                target: target.into(),
                status: "ok".into(),
                keys: vec![KeyRecord {
                    key: Some("K".into()),
                    remote: "K".into(),
                    op: op.into(),
                    fp: Some(fp.into()),
                }],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    fn history() -> Vec<Entry> {
        vec![
            entry("10:00:00", "v1", "github", ("create", "f1")),
            entry("10:00:05", "", "aws", ("create", "f1")),
            entry("11:00:00", "v2", "github", ("update", "f2")),
            entry("12:00:00", "v3", "github", ("unchanged", "f2")),
        ]
    }

    #[test]
    fn a_release_is_its_newest_entry_and_each_destination_its_last_write() {
        let h = history();
        let refs: Vec<&Entry> = h.iter().collect();
        let c = cutoff(&refs, &Point::Release("v1".into())).unwrap();
        let live = why(&refs, "K", c.as_deref(), "v1", Some(Some("f2"))).unwrap();
        assert_eq!(live.len(), 1, "aws was synced after v1");
        assert_eq!(live[0].fp.as_deref(), Some("f1"));
        assert_eq!(live[0].current, Current::ChangedSince);

        let c = cutoff(&refs, &Point::Release("v3".into())).unwrap();
        let live = why(&refs, "K", c.as_deref(), "v3", Some(Some("f2"))).unwrap();
        let gh = live.iter().find(|l| l.target == "github").unwrap();
        assert_eq!(
            gh.written.release.as_deref(),
            Some("v2"),
            "v3 found it unchanged"
        );
        assert_eq!(
            gh.confirmed.as_ref().unwrap().release.as_deref(),
            Some("v3")
        );
        assert_eq!(gh.current, Current::Same);
        let aws = live.iter().find(|l| l.target == "aws").unwrap();
        assert_eq!(aws.fp.as_deref(), Some("f1"));
    }

    #[test]
    fn a_destination_is_its_target_and_routing_options_not_its_summary() {
        let mut h = history();
        for (e, (summary, repo)) in h.iter_mut().zip([
            ("version 0", "a/r"),
            ("", ""),
            ("version 1", "a/r"),
            ("version 2", "b/r"),
        ]) {
            e.targets[0].routing = summary.into();
            if !repo.is_empty() {
                e.targets[0].options.insert("repo".into(), repo.into());
            }
        }
        let refs: Vec<&Entry> = h.iter().collect();
        let live = why(&refs, "K", None, "now", None).unwrap();
        let gh: Vec<&Live> = live.iter().filter(|l| l.target == "github").collect();
        assert_eq!(gh.len(), 2, "a/r and b/r: {live:?}");
        let a = gh
            .iter()
            .find(|l| l.written.time.starts_with("2026-12-06T11"))
            .unwrap();
        assert_eq!(a.routing, "version 1", "the newest summary of a/r");
    }

    #[test]
    fn times_compare_at_the_precision_given() {
        assert!(at_or_before("2026-12-06T10:00:00.000Z", Some("2026-12-06")));
        assert!(at_or_before(
            "2026-12-06T10:00:00.500Z",
            Some("2026-12-06T10:00:00")
        ));
        assert!(!at_or_before(
            "2026-12-06T10:00:01.000Z",
            Some("2026-12-06T10:00:00")
        ));
        assert!(at_or_before(
            "2026-12-06T10:00:00.000Z",
            Some("2026-12-06T10:00:00.000Z")
        ));
        let h = history();
        let refs: Vec<&Entry> = h.iter().collect();
        let live = why(&refs, "K", Some("2026-12-06T10:30"), "t", None).unwrap();
        assert!(live.iter().all(|l| l.fp.as_deref() == Some("f1")));
        assert!(live.iter().all(|l| l.current == Current::Unknown));
    }

    #[test]
    fn unknown_release_key_and_nothing_before_are_errors() {
        let h = history();
        let refs: Vec<&Entry> = h.iter().collect();
        let e = cutoff(&refs, &Point::Release("v9".into())).unwrap_err();
        assert_eq!(
            e,
            QueryError::UnknownRelease {
                release: "v9".into(),
                known: vec!["v3".into(), "v2".into(), "v1".into()]
            }
        );
        assert!(matches!(
            why(&refs, "NOPE", None, "now", None),
            Err(QueryError::UnknownKey { .. })
        ));
        assert!(matches!(
            why(&refs, "K", Some("2026-12-05"), "2026-12-05", None),
            Err(QueryError::NothingBefore { .. })
        ));
        let live = why(&refs, "K", None, "now", Some(None)).unwrap();
        assert!(live.iter().all(|l| l.current == Current::Removed));
    }
}
