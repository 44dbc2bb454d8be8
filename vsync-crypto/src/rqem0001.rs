//! RQEM0001: the pointer seal (docs/formats.md §3).
//!
//! `"RQEM0001" | BUNDLE_TS (15 ASCII bytes) | payload`. The header is [`HEADER_LEN`] = 23 bytes
//! and has **no version byte**. The embedded timestamp must equal the one the `latest` pointer
//! names; a mismatch means rollback, rename or torn state and aborts the pull.

use crate::CryptoError;
use crate::error::VersionedMagic;

/// The seal magic.
pub const MAGIC: &[u8; 8] = b"RQEM0001";
/// Magic (8) + timestamp (15).
pub const HEADER_LEN: usize = 23;
/// Length of a BUNDLE_TS.
pub const TS_LEN: usize = 15;

fn num(b: &[u8]) -> Option<u32> {
    b.iter().try_fold(0u32, |acc, &c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

/// True when `s` is a BUNDLE_TS `YYYYMMDD-HHMMSS` (docs/formats.md §1.4) naming a real UTC second
/// between the years 1970 and 9999.
#[must_use]
pub fn is_bundle_ts(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != TS_LEN || b[8] != b'-' {
        return false;
    }
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(se)) = (
        num(&b[0..4]),
        num(&b[4..6]),
        num(&b[6..8]),
        num(&b[9..11]),
        num(&b[11..13]),
        num(&b[13..15]),
    ) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match mo {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    y >= 1970 && (1..=days).contains(&d) && h < 24 && mi < 60 && se < 60
}

/// Seal `payload` under `ts`.
///
/// # Errors
/// [`CryptoError::InvalidInput`] when `ts` is not a BUNDLE_TS.
pub fn wrap(ts: &str, payload: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if !is_bundle_ts(ts) {
        return Err(CryptoError::InvalidInput {
            reason: "seal timestamp is not YYYYMMDD-HHMMSS",
        });
    }
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(ts.as_bytes());
    out.extend_from_slice(payload);
    Ok(out)
}

/// Split a seal into its timestamp and payload without checking the timestamp against a
/// pointer. The timestamp must be printable ASCII.
///
/// # Errors
/// [`CryptoError::UnsupportedSpecVersion`] for a newer `RQEMnnnn` magic;
/// [`CryptoError::BundleCorrupt`] for anything else that is not a seal.
pub fn unwrap(sealed: &[u8]) -> Result<(&str, &[u8]), CryptoError> {
    VersionedMagic {
        ours: MAGIC,
        family: b"RQEM",
        min_len: HEADER_LEN,
        short: "RQEM0001 seal is shorter than its 23-byte header",
        wrong: "not an RQEM0001 seal (wrong magic)",
    }
    .check(sealed)?;
    let (head, payload) = sealed.split_at(HEADER_LEN);
    let ts_bytes = &head[MAGIC.len()..];
    if !ts_bytes.iter().all(u8::is_ascii_graphic) {
        return Err(CryptoError::corrupt(
            "seal timestamp is not printable ASCII",
        ));
    }
    let ts = core::str::from_utf8(ts_bytes)
        .map_err(|_| CryptoError::corrupt("seal timestamp is not printable ASCII"))?;
    Ok((ts, payload))
}

/// Unwrap and verify: the embedded timestamp must equal `expected_ts` byte for byte.
///
/// # Errors
/// Those of [`unwrap`], and [`CryptoError::BundleCorrupt`] on a timestamp mismatch.
pub fn open<'a>(sealed: &'a [u8], expected_ts: &str) -> Result<&'a [u8], CryptoError> {
    let (ts, payload) = unwrap(sealed)?;
    if ts != expected_ts {
        return Err(CryptoError::corrupt(
            "seal timestamp does not match the pointer (rollback, rename or tampering)",
        ));
    }
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        for ok in [
            "20260523-114201",
            "19700101-000000",
            "20240229-235959",
            "99991231-235959",
        ] {
            assert!(is_bundle_ts(ok), "{ok}");
        }
        for bad in [
            "",
            "20260523114201",
            "20260523-1142011",
            "20260523T114201",
            "20230229-000000",
            "20261301-000000",
            "20260100-000000",
            "20260431-000000",
            "20260523-240000",
            "20260523-116000",
            "20260523-114260",
            "19691231-235959",
            "2026052a-114201",
            "+0260523-114201",
            "２0260523-11420",
        ] {
            assert!(!is_bundle_ts(bad), "{bad}");
        }
    }

    #[test]
    fn wrap_unwrap_open() {
        let s = wrap("20260523-114201", b"PK-demo").unwrap();
        assert_eq!(s, b"RQEM000120260523-114201PK-demo");
        assert_eq!(unwrap(&s).unwrap(), ("20260523-114201", &b"PK-demo"[..]));
        assert_eq!(open(&s, "20260523-114201").unwrap(), b"PK-demo");
        assert_eq!(
            open(&s, "20260523-114202").unwrap_err().class(),
            "BundleCorruptError"
        );
        assert_eq!(wrap("now", b"").unwrap_err().class(), "InvalidInputError");
        let empty = wrap("20260523-114201", b"").unwrap();
        assert_eq!(open(&empty, "20260523-114201").unwrap(), b"");
    }

    #[test]
    fn errors() {
        let mut s = wrap("20260523-114201", b"x").unwrap();
        assert_eq!(unwrap(&s[..22]).unwrap_err().class(), "BundleCorruptError");
        s[7] = b'2';
        assert_eq!(
            unwrap(&s).unwrap_err(),
            CryptoError::UnsupportedSpecVersion {
                found: "RQEM0002".into()
            }
        );
        s[7] = b'1';
        s[0] = b'X';
        assert_eq!(unwrap(&s).unwrap_err().class(), "BundleCorruptError");
        s[0] = b'R';
        s[10] = 0xff;
        assert_eq!(unwrap(&s).unwrap_err().class(), "BundleCorruptError");
        assert_eq!(
            unwrap(b"RQEM0002").unwrap_err().class(),
            "UnsupportedSpecVersionError"
        );
    }
}
