//! The salted file frame shared by SLS1 and VKT1: `MAGIC (4) | L (1) | salt text (L) | RQE1`.

use crate::CryptoError;
use crate::kdf::DerivedKey;
use crate::rqe1;

pub(crate) struct Frame<'a> {
    pub(crate) salt: &'a str,
    pub(crate) envelope: &'a [u8],
}

/// Parse the frame and check the inner envelope structurally (before any KDF).
pub(crate) fn parse<'a>(
    magic: &[u8; 4],
    bytes: &'a [u8],
    wrong_magic: &'static str,
) -> Result<Frame<'a>, CryptoError> {
    let Some(head) = bytes.get(..4) else {
        return Err(CryptoError::corrupt("file is too short (truncated)"));
    };
    if head != magic {
        return Err(CryptoError::corrupt(wrong_magic));
    }
    let Some(&len) = bytes.get(4) else {
        return Err(CryptoError::corrupt("file is too short (truncated)"));
    };
    let end = 5 + usize::from(len);
    let Some(salt) = bytes.get(5..end) else {
        return Err(CryptoError::corrupt(
            "file is shorter than its salt (truncated)",
        ));
    };
    let salt = core::str::from_utf8(salt).map_err(|_| CryptoError::corrupt("salt is not text"))?;
    let envelope = &bytes[end..];
    rqe1::check_envelope(envelope)?;
    Ok(Frame { salt, envelope })
}

/// Assemble a frame around an RQE1 encryption of `plaintext`.
pub(crate) fn seal(
    magic: &[u8; 4],
    key: &DerivedKey,
    salt: &str,
    iv: [u8; 12],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let len = u8::try_from(salt.len()).map_err(|_| CryptoError::InvalidInput {
        reason: "salt text is longer than 255 bytes",
    })?;
    let env = rqe1::encrypt_with_iv(key, iv, plaintext);
    let mut out = Vec::with_capacity(5 + salt.len() + env.len());
    out.extend_from_slice(magic);
    out.push(len);
    out.extend_from_slice(salt.as_bytes());
    out.extend_from_slice(&env);
    Ok(out)
}
