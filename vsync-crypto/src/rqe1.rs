//! RQE1: the AES-256-GCM envelope (docs/formats.md §2).
//!
//! `"RQE1" | IV (12) | ciphertext | tag (16)`, no AAD, no length field. The smallest envelope
//! (empty plaintext) is [`MIN_LEN`] = 32 bytes.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::error::VersionedMagic;
use crate::kdf::DerivedKey;

/// The envelope magic.
pub const MAGIC: &[u8; 4] = b"RQE1";
/// Length of magic + IV + tag: the size of an envelope around an empty plaintext.
pub const MIN_LEN: usize = 32;
/// Length of the IV.
pub const IV_LEN: usize = 12;
/// Length of the GCM tag.
pub const TAG_LEN: usize = 16;
const HEADER_LEN: usize = 4 + IV_LEN;

/// Structural check, to run **before** the KDF: length and magic.
///
/// An `RQE` magic followed by another digit (`RQE2`, `RQE0`, …) is a recognised family with an
/// unsupported version; anything else that is not `RQE1` is not an envelope.
///
/// # Errors
/// [`CryptoError::UnsupportedSpecVersion`] for `RQE<digit ≠ 1>`, [`CryptoError::BundleCorrupt`]
/// for a wrong magic or fewer than 32 bytes.
pub fn check_envelope(bytes: &[u8]) -> Result<(), CryptoError> {
    VersionedMagic {
        ours: MAGIC,
        family: b"RQE",
        min_len: MIN_LEN,
        short: "RQE1 envelope is shorter than 32 bytes (truncated)",
        wrong: "not an RQE1 envelope (wrong magic)",
    }
    .check(bytes)
}

fn cipher(key: &DerivedKey) -> Aes256Gcm {
    Aes256Gcm::new(GenericArray::from_slice(key.expose()))
}

/// Encrypt under a fresh random IV.
#[must_use]
pub fn encrypt(key: &DerivedKey, plaintext: &[u8]) -> Vec<u8> {
    encrypt_with_iv(key, crate::random::iv(), plaintext)
}

/// Encrypt under a caller-chosen IV. **Only for test vectors**: reusing an IV under one key
/// breaks GCM.
#[doc(hidden)]
#[must_use]
pub fn encrypt_with_iv(key: &DerivedKey, iv: [u8; 12], plaintext: &[u8]) -> Vec<u8> {
    encrypt_parts(key, iv, &[plaintext])
}

/// Encrypt the concatenation of `parts` without assembling the plaintext elsewhere: the parts
/// are copied straight into the output buffer and encrypted in place.
pub(crate) fn encrypt_parts(key: &DerivedKey, iv: [u8; 12], parts: &[&[u8]]) -> Vec<u8> {
    let body: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(MIN_LEN + body);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&iv);
    for p in parts {
        out.extend_from_slice(p);
    }
    let tag =
        cipher(key).encrypt_in_place_detached(Nonce::from_slice(&iv), b"", &mut out[HEADER_LEN..]);
    match tag {
        Ok(tag) => out.extend_from_slice(&tag),
        // Only reachable for plaintexts beyond GCM's 64 GiB limit. Never return plaintext.
        Err(_) => {
            zeroize::Zeroize::zeroize(&mut out);
            out.clear();
        }
    }
    out
}

/// Turn `buf` = `header room (16 bytes) | plaintext` into the envelope in place: magic and IV
/// written into the room, the plaintext encrypted where it lies, the tag appended. Nothing is
/// copied; with [`TAG_LEN`] spare capacity nothing is reallocated either, so no plaintext copy
/// is left behind in freed memory.
pub(crate) fn encrypt_buffer_in_place(key: &DerivedKey, iv: [u8; 12], buf: &mut Vec<u8>) {
    debug_assert!(buf.len() >= HEADER_LEN);
    buf[..4].copy_from_slice(MAGIC);
    buf[4..HEADER_LEN].copy_from_slice(&iv);
    let tag =
        cipher(key).encrypt_in_place_detached(Nonce::from_slice(&iv), b"", &mut buf[HEADER_LEN..]);
    match tag {
        Ok(tag) => buf.extend_from_slice(&tag),
        // Only reachable beyond GCM's 64 GiB limit. Never leave plaintext behind.
        Err(_) => {
            zeroize::Zeroize::zeroize(buf);
            buf.clear();
        }
    }
}

/// Length of magic + IV in front of the ciphertext.
pub(crate) const PREFIX_LEN: usize = HEADER_LEN;

/// Decrypt an envelope. The structural check runs first, so a malformed envelope is reported
/// as such even under a wrong key.
///
/// # Errors
/// Those of [`check_envelope`], and [`CryptoError::WrongPassphrase`] when the tag is rejected.
pub fn decrypt(key: &DerivedKey, envelope: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    check_envelope(envelope)?;
    let iv = &envelope[4..HEADER_LEN];
    let (ct, tag) = envelope[HEADER_LEN..].split_at(envelope.len() - MIN_LEN);
    let mut buf = Zeroizing::new(ct.to_vec());
    cipher(key)
        .decrypt_in_place_detached(
            Nonce::from_slice(iv),
            b"",
            &mut buf[..],
            Tag::from_slice(tag),
        )
        .map_err(|_| CryptoError::WrongPassphrase)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> DerivedKey {
        DerivedKey::from_bytes([7u8; 32])
    }

    #[test]
    fn round_trip_and_layout() {
        let env = encrypt_with_iv(&key(), [1u8; 12], b"hello");
        assert_eq!(env.len(), 32 + 5);
        assert_eq!(&env[..4], b"RQE1");
        assert_eq!(&env[4..16], &[1u8; 12]);
        assert_eq!(&decrypt(&key(), &env).unwrap()[..], b"hello");
        let env = encrypt(&key(), b"");
        assert_eq!(env.len(), 32);
        assert!(decrypt(&key(), &env).unwrap().is_empty());
    }

    #[test]
    fn formats_16_2_envelope() {
        let k = DerivedKey::derive(
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "ICEiIyQlJicoKSorLC0uLzAx",
        );
        let plain = b"RQEM000120260523-114201PK-demo";
        let iv = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
        let env = encrypt_with_iv(&k, iv, plain);
        let hex: String = env.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "52514531000102030405060708090a0b148fc65a8e176b225a59d4b85348ee81\
             2ef776e96f22ecb60cda1ca5cead43e305345f8b599265aaac0c8997a80e"
        );
    }

    #[test]
    fn structural_errors() {
        let env = encrypt(&key(), b"abc");
        let mut v = env.clone();
        v[3] = b'2';
        assert_eq!(
            check_envelope(&v),
            Err(CryptoError::UnsupportedSpecVersion {
                found: "RQE2".into()
            })
        );
        v[3] = b'M';
        assert_eq!(
            check_envelope(&v).unwrap_err().class(),
            "BundleCorruptError"
        );
        v[0] = b'X';
        assert_eq!(
            decrypt(&key(), &v).unwrap_err().class(),
            "BundleCorruptError"
        );
        assert_eq!(
            check_envelope(&env[..31]).unwrap_err().class(),
            "BundleCorruptError"
        );
        assert_eq!(
            check_envelope(b"").unwrap_err().class(),
            "BundleCorruptError"
        );
        let wrong = DerivedKey::from_bytes([8u8; 32]);
        assert_eq!(
            decrypt(&wrong, &env).unwrap_err(),
            CryptoError::WrongPassphrase
        );
    }
}
