//! GitHub's secret encryption: each value is sealed (libsodium sealed box, via `crypto_box`)
//! with the scope's public key before it leaves vsync, so GitHub's API never sees plaintext.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use vsync_dest_api::DestError;

/// A scope's public key: GitHub's id for it and the raw X25519 key.
pub(crate) type PublicKey = (String, [u8; 32]);

/// The key GitHub sent as base64; `scope` names it in the error.
pub(crate) fn decode_public_key(
    key_id: String,
    key_b64: &str,
    scope: &str,
) -> Result<PublicKey, DestError> {
    let raw = B64
        .decode(key_b64.trim())
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| {
            DestError::internal(format!(
                "the public key of {scope} is not 32 bytes of base64"
            ))
        })?;
    Ok((key_id, raw))
}

/// `value` sealed to `key`, as the base64 text GitHub's `encrypted_value` takes.
pub(crate) fn seal(key: &[u8; 32], value: &[u8], name: &str) -> Result<String, DestError> {
    crypto_box::PublicKey::from(*key)
        .seal(&mut crypto_box::aead::OsRng, value)
        .map(|sealed| B64.encode(sealed))
        .map_err(|_| DestError::internal(format!("sealing {name} failed")).with_key(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_with_the_secret_key_only() {
        let sk = crypto_box::SecretKey::generate(&mut crypto_box::aead::OsRng);
        let pk = *sk.public_key().as_bytes();
        let sealed = B64.decode(seal(&pk, b"s3cret", "K").unwrap()).unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
        assert_eq!(sk.unseal(&sealed).unwrap(), b"s3cret");
    }

    #[test]
    fn a_key_that_is_not_32_bytes_is_refused() {
        let e = decode_public_key("id".into(), &B64.encode([1u8; 31]), "repo=o/r").unwrap_err();
        assert!(e.message.contains("repo=o/r"), "{e}");
        assert!(decode_public_key("id".into(), &B64.encode([1u8; 32]), "x").is_ok());
    }
}
