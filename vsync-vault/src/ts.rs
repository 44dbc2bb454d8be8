//! Timestamps of docs/formats.md §1.4: `BUNDLE_TS` (`YYYYMMDD-HHMMSS`, UTC) and `ISO_TS`
//! (`YYYY-MM-DDTHH:MM:SS.mmmZ`, UTC, always milliseconds).
//!
//! `BUNDLE_TS` sorts lexicographically in chronological order; the protocol relies on it.

use time::format_description::FormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime};

use crate::error::{Result, VaultError};

/// Length of a `BUNDLE_TS` in characters.
pub const BUNDLE_TS_LEN: usize = vsync_crypto::rqem0001::TS_LEN;
/// Length of an `ISO_TS` in characters.
pub const ISO_TS_LEN: usize = 24;

const BUNDLE_FMT: &[FormatItem<'static>] =
    format_description!("[year][month][day]-[hour][minute][second]");
const ISO_FMT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
const BACKUP_FMT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]-[minute]-[second]Z");

/// Now as `BUNDLE_TS`.
pub fn bundle_ts_now() -> String {
    format_bundle_ts(OffsetDateTime::now_utc())
}

/// Now as `ISO_TS`.
pub fn iso_now() -> String {
    format_iso_ts(OffsetDateTime::now_utc())
}

/// Format an instant as `BUNDLE_TS` (converted to UTC; years outside 0000–9999 are clamped).
pub fn format_bundle_ts(at: OffsetDateTime) -> String {
    let at = clamp(at);
    at.format(BUNDLE_FMT)
        .unwrap_or_else(|_| "00000101-000000".to_owned())
}

/// Format an instant as `ISO_TS` (milliseconds, truncated).
pub fn format_iso_ts(at: OffsetDateTime) -> String {
    let at = clamp(at);
    at.format(ISO_FMT)
        .unwrap_or_else(|_| "0000-01-01T00:00:00.000Z".to_owned())
}

/// Format an instant as `BACKUP_DIR_TS` (`YYYY-MM-DDTHH-MM-SSZ`).
pub fn format_backup_dir_ts(at: OffsetDateTime) -> String {
    let at = clamp(at);
    at.format(BACKUP_FMT)
        .unwrap_or_else(|_| "0000-01-01T00-00-00Z".to_owned())
}

fn clamp(at: OffsetDateTime) -> OffsetDateTime {
    let at = at.to_offset(time::UtcOffset::UTC);
    if at.year() < 0 {
        OffsetDateTime::UNIX_EPOCH
            .replace_year(0)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    } else if at.year() > 9999 {
        OffsetDateTime::UNIX_EPOCH
            .replace_year(9999)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    } else {
        at
    }
}

/// `true` when `s` has exactly the `BUNDLE_TS` shape and names a real calendar second from 1970
/// on. The one rule is the seal's ([`vsync_crypto::rqem0001::is_bundle_ts`]): a name the vault
/// accepts is one the seal check accepts too.
pub fn is_bundle_ts(s: &str) -> bool {
    vsync_crypto::rqem0001::is_bundle_ts(s)
}

/// Parse a `BUNDLE_TS` (strict: 15 ASCII characters, valid date and time).
pub fn parse_bundle_ts(s: &str) -> Result<OffsetDateTime> {
    let bad = || VaultError::BadTimestamp {
        text: printable(s),
        what: "BUNDLE_TS",
    };
    if !is_bundle_ts(s) {
        return Err(bad());
    }
    PrimitiveDateTime::parse(s, BUNDLE_FMT)
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| bad())
}

/// Parse an `ISO_TS` (strict: 24 characters, milliseconds, `Z`).
pub fn parse_iso_ts(s: &str) -> Result<OffsetDateTime> {
    let bad = || VaultError::BadTimestamp {
        text: printable(s),
        what: "ISO_TS",
    };
    if s.len() != ISO_TS_LEN || !s.is_ascii() {
        return Err(bad());
    }
    PrimitiveDateTime::parse(s, ISO_FMT)
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|_| bad())
}

/// `true` when `s` has exactly the `ISO_TS` shape.
pub fn is_iso_ts(s: &str) -> bool {
    parse_iso_ts(s).is_ok()
}

/// What to name a new version that must sort after `after` (the current `latest`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextName {
    /// Use this name: the current second, already later than `after`.
    Now(String),
    /// The clock has not passed `after` yet: wait this long, then ask again. A version is never
    /// named after the current second; a name from the future would be overwritten by a writer
    /// that names versions by its clock (upstream vsync) and move `latest` backwards.
    Wait(Duration),
}

/// The name of a new version at `now` that sorts strictly after `after` (if given and valid).
#[must_use]
pub fn next_bundle_ts(after: Option<&str>, now: OffsetDateTime) -> NextName {
    let now_ts = format_bundle_ts(now);
    match after.map(parse_bundle_ts) {
        Some(Ok(prev)) if now_ts.as_str() <= format_bundle_ts(prev).as_str() => {
            // At the end of the calendar there is no next second: the wait is "forever".
            let wait = prev
                .checked_add(Duration::seconds(1))
                .map_or(Duration::MAX, |next| next - now);
            NextName::Wait(wait.max(Duration::milliseconds(1)))
        }
        _ => NextName::Now(now_ts),
    }
}

/// A short, printable rendering of possibly hostile text for messages (max 40 chars).
pub(crate) fn printable(s: &str) -> String {
    let mut out: String = s.chars().take(40).flat_map(char::escape_debug).collect();
    if s.chars().count() > 40 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn vector_16_5() {
        let at = datetime!(2026-05-23 11:42:01.234 UTC);
        assert_eq!(format_bundle_ts(at), "20260523-114201");
        assert_eq!(format_iso_ts(at), "2026-05-23T11:42:01.234Z");
        assert_eq!(format_backup_dir_ts(at), "2026-05-23T11-42-01Z");
    }

    #[test]
    fn bundle_ts_is_derived_from_iso() {
        // docs/formats.md §1.4: first 19 chars of ISO, drop '-' and ':', 'T' -> '-'.
        let iso = iso_now();
        let derived: String = iso[..19]
            .chars()
            .filter(|c| *c != '-' && *c != ':')
            .map(|c| if c == 'T' { '-' } else { c })
            .collect();
        let parsed = parse_iso_ts(&iso).unwrap();
        assert_eq!(format_bundle_ts(parsed), derived);
    }

    #[test]
    fn parse_round_trip_and_rejects() {
        let t = parse_bundle_ts("20260523-114201").unwrap();
        assert_eq!(format_bundle_ts(t), "20260523-114201");
        let t = parse_iso_ts("2026-05-23T11:42:01.234Z").unwrap();
        assert_eq!(format_iso_ts(t), "2026-05-23T11:42:01.234Z");
        for bad in [
            "",
            "20260523-11420",
            "20260523-1142011",
            "20260523T114201",
            "20261323-114201",
            "20260230-114201",
            "2026052a-114201",
            "+0260523-114201",
            "20260523-246001",
            "２０２60523-114201",
        ] {
            assert!(!is_bundle_ts(bad), "{bad:?}");
        }
        for bad in [
            "2026-05-23T11:42:01Z",
            "2026-05-23T11:42:01.23Z",
            "2026-05-23T11:42:01.234",
            "2026-05-23 11:42:01.234Z",
            "2026-05-23T11:42:01.234+00:00",
        ] {
            assert!(!is_iso_ts(bad), "{bad:?}");
        }
        assert!(is_bundle_ts(&bundle_ts_now()));
        assert!(is_iso_ts(&iso_now()));
    }

    #[test]
    fn next_name_is_never_after_now() {
        let now = datetime!(2026-05-23 11:42:01.250 UTC);
        assert_eq!(
            next_bundle_ts(None, now),
            NextName::Now("20260523-114201".into())
        );
        assert_eq!(
            next_bundle_ts(Some("20260523-114200"), now),
            NextName::Now("20260523-114201".into())
        );
        // Same second: wait for the next one instead of naming the future.
        assert_eq!(
            next_bundle_ts(Some("20260523-114201"), now),
            NextName::Wait(Duration::milliseconds(750))
        );
        // A pointer already in the future: wait until the clock passes it.
        assert_eq!(
            next_bundle_ts(Some("20260523-114203"), now),
            NextName::Wait(Duration::milliseconds(2750))
        );
        assert!(matches!(
            next_bundle_ts(Some("99991231-235959"), now),
            NextName::Wait(_)
        ));
        assert_eq!(
            next_bundle_ts(Some("garbage"), now),
            NextName::Now("20260523-114201".into())
        );
    }
}
