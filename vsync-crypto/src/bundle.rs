//! The whole `versions/<ts>.enc` object: `RQE1( RQEM0001(ts) || zip )` (docs/formats.md §3.3, §11.3).
//!
//! Password = the keychain value text ([`crate::secret::VaultKey::expose`]), salt = the per-env
//! config salt text; derive once with [`crate::kdf::DerivedKey::derive`] and pass the key here.
//! Run [`crate::rqe1::check_envelope`] on a downloaded object before deriving.

use zeroize::Zeroizing;

use crate::CryptoError;
use crate::kdf::DerivedKey;
use crate::{rqe1, rqem0001};

/// Seal a zip under `ts` and encrypt it with a fresh IV.
///
/// # Errors
/// [`CryptoError::InvalidInput`] when `ts` is not a BUNDLE_TS.
pub fn seal(key: &DerivedKey, ts: &str, zip: &[u8]) -> Result<Vec<u8>, CryptoError> {
    seal_with_iv(key, crate::random::iv(), ts, zip)
}

/// [`seal`] with a caller-chosen IV. **Only for test vectors.**
///
/// # Errors
/// As [`seal`].
#[doc(hidden)]
pub fn seal_with_iv(
    key: &DerivedKey,
    iv: [u8; 12],
    ts: &str,
    zip: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    if !rqem0001::is_bundle_ts(ts) {
        return Err(CryptoError::InvalidInput {
            reason: "bundle timestamp is not YYYYMMDD-HHMMSS",
        });
    }
    Ok(rqe1::encrypt_parts(
        key,
        iv,
        &[rqem0001::MAGIC, ts.as_bytes(), zip],
    ))
}

/// Spare capacity (beyond its length) a zip buffer needs for [`seal_owned`] to seal it without
/// reallocating: the RQE1 magic and IV, the RQEM0001 header, the GCM tag.
pub const SEAL_OVERHEAD: usize = rqe1::PREFIX_LEN + rqem0001::HEADER_LEN + rqe1::TAG_LEN;

/// [`seal`] without a second copy of the bundle: the zip buffer itself becomes the object (the
/// headers are moved in front, the bytes encrypted where they lie, the tag appended), so a push
/// holds the bundle once, not twice. With [`SEAL_OVERHEAD`] spare capacity the buffer is never
/// reallocated; with less, this falls back to [`seal`] (and the zip is zeroized on drop).
///
/// # Errors
/// As [`seal`].
pub fn seal_owned(
    key: &DerivedKey,
    ts: &str,
    mut zip: Zeroizing<Vec<u8>>,
) -> Result<Vec<u8>, CryptoError> {
    if !rqem0001::is_bundle_ts(ts) {
        return Err(CryptoError::InvalidInput {
            reason: "bundle timestamp is not YYYYMMDD-HHMMSS",
        });
    }
    if zip.capacity() - zip.len() < SEAL_OVERHEAD {
        return seal(key, ts, &zip);
    }
    let room = rqe1::PREFIX_LEN + rqem0001::HEADER_LEN;
    let n = zip.len();
    zip.resize(n + room, 0);
    zip.copy_within(..n, room);
    zip[rqe1::PREFIX_LEN..rqe1::PREFIX_LEN + 8].copy_from_slice(rqem0001::MAGIC);
    zip[rqe1::PREFIX_LEN + 8..room].copy_from_slice(ts.as_bytes());
    rqe1::encrypt_buffer_in_place(key, crate::random::iv(), &mut zip);
    // Ciphertext now: it leaves the zeroizing wrapper, which keeps an empty vector.
    Ok(std::mem::take(&mut *zip))
}

/// Decrypt an object, verify its seal against the timestamp the pointer names, and return the
/// zip payload.
///
/// # Errors
/// Those of [`rqe1::decrypt`] and [`rqem0001::open`]: a plaintext with no seal or a seal that
/// does not match `remote_ts` is [`CryptoError::BundleCorrupt`].
pub fn open(
    key: &DerivedKey,
    object: &[u8],
    remote_ts: &str,
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let mut plain = rqe1::decrypt(key, object)?;
    rqem0001::open(&plain, remote_ts)?;
    // Strip the header in place; the freed tail is zeroized with the buffer.
    plain.copy_within(rqem0001::HEADER_LEN.., 0);
    let len = plain.len() - rqem0001::HEADER_LEN;
    plain[len..].fill(0);
    plain.truncate(len);
    Ok(plain)
}

/// Decrypt an object and unwrap its seal without checking the timestamp: returns the embedded
/// timestamp and the payload (for `vsync versions`-style inspection and diagnostics).
///
/// # Errors
/// Those of [`rqe1::decrypt`] and [`rqem0001::unwrap`].
pub fn open_unverified(
    key: &DerivedKey,
    object: &[u8],
) -> Result<(String, Zeroizing<Vec<u8>>), CryptoError> {
    let plain = rqe1::decrypt(key, object)?;
    let (ts, _) = rqem0001::unwrap(&plain)?;
    let ts = ts.to_owned();
    let mut plain = plain;
    plain.copy_within(rqem0001::HEADER_LEN.., 0);
    let len = plain.len() - rqem0001::HEADER_LEN;
    plain[len..].fill(0);
    plain.truncate(len);
    Ok((ts, plain))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let k = DerivedKey::from_bytes([3u8; 32]);
        let obj = seal(&k, "20260523-114201", b"PK\x03\x04zip").unwrap();
        assert_eq!(obj.len(), 32 + 23 + 7);
        assert_eq!(
            &open(&k, &obj, "20260523-114201").unwrap()[..],
            b"PK\x03\x04zip"
        );
        let e = open(&k, &obj, "20260523-114200").unwrap_err();
        assert_eq!(e.class(), "BundleCorruptError");
        let (ts, zip) = open_unverified(&k, &obj).unwrap();
        assert_eq!(
            (ts.as_str(), &zip[..]),
            ("20260523-114201", &b"PK\x03\x04zip"[..])
        );
    }

    #[test]
    fn plaintext_without_seal_is_corrupt() {
        let k = DerivedKey::from_bytes([3u8; 32]);
        let obj = rqe1::encrypt(&k, b"PK\x03\x04 just a zip, no seal");
        assert_eq!(
            open(&k, &obj, "20260523-114201").unwrap_err().class(),
            "BundleCorruptError"
        );
        let obj = rqe1::encrypt(&k, b"RQEM000220260523-114201PK");
        assert_eq!(
            open(&k, &obj, "20260523-114201").unwrap_err().class(),
            "UnsupportedSpecVersionError"
        );
    }

    #[test]
    fn formats_16_2_toy_bundle() {
        let k = DerivedKey::derive(
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "ICEiIyQlJicoKSorLC0uLzAx",
        );
        let iv = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        let obj = seal_with_iv(&k, iv, "20260523-114201", b"PK-demo").unwrap();
        assert_eq!(obj.len(), 62);
        assert_eq!(&open(&k, &obj, "20260523-114201").unwrap()[..], b"PK-demo");
        assert_eq!(
            obj,
            rqe1::encrypt_with_iv(&k, iv, b"RQEM000120260523-114201PK-demo")
        );
    }
}

#[cfg(test)]
mod seal_owned_tests {
    use super::*;

    #[test]
    fn seals_in_place_and_opens() {
        let key = DerivedKey::derive("correct horse battery staple text", "c2FsdHNhbHQ=");
        let zip = b"PK\x05\x06 pretend zip payload".to_vec();
        let mut buf = Zeroizing::new(Vec::with_capacity(zip.len() + SEAL_OVERHEAD));
        buf.extend_from_slice(&zip);
        let at = buf.as_ptr();
        let sealed = seal_owned(&key, "20260101-000000", buf).unwrap();
        assert_eq!(sealed.as_ptr(), at, "the buffer was reallocated");
        assert_eq!(sealed.len(), zip.len() + SEAL_OVERHEAD);
        assert_eq!(
            &open(&key, &sealed, "20260101-000000").unwrap()[..],
            &zip[..]
        );
        // Without the headroom it still works (through a copy).
        let tight = Zeroizing::new(zip.clone());
        let sealed = seal_owned(&key, "20260101-000000", tight).unwrap();
        assert_eq!(
            &open(&key, &sealed, "20260101-000000").unwrap()[..],
            &zip[..]
        );
        assert!(seal_owned(&key, "nope", Zeroizing::new(zip)).is_err());
    }
}
