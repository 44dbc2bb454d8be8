//! The salted file frame shared by SLS1 and VKT1: `MAGIC (4) | L (1) | salt text (L) | RQE1`.

use serde::de::DeserializeOwned;
use serde_json::Value;

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

/// What to say when a frame's JSON payload is wrong (static texts: never the content).
pub(crate) struct PayloadTexts {
    pub(crate) not_json: &'static str,
    pub(crate) not_object: &'static str,
    /// Names the payload in the unsupported-version message (`keytree version 3`).
    pub(crate) version_label: &'static str,
    pub(crate) no_version: &'static str,
    pub(crate) bad_field: &'static str,
}

/// The [`PayloadTexts`] of a payload, from how its content, version and payload are named.
macro_rules! payload_texts {
    ($content:literal, $version_label:literal, $payload:literal) => {
        $crate::frame::PayloadTexts {
            not_json: concat!($content, " is not UTF-8 JSON"),
            not_object: concat!($content, " is not a JSON object"),
            version_label: $version_label,
            no_version: concat!($payload, " has no integer version"),
            bad_field: concat!($payload, " has a missing or mistyped field"),
        }
    };
}
pub(crate) use payload_texts;

/// Read a versioned JSON object: UTF-8 JSON, an object, an integer `version` equal to
/// `version` (another number is an unsupported version), then the typed fields.
pub(crate) fn versioned_json<T: DeserializeOwned>(
    json: &[u8],
    version: u64,
    texts: &PayloadTexts,
) -> Result<T, CryptoError> {
    let value: Value =
        serde_json::from_slice(json).map_err(|_| CryptoError::corrupt(texts.not_json))?;
    let Value::Object(map) = value else {
        return Err(CryptoError::corrupt(texts.not_object));
    };
    match map.get("version").and_then(Value::as_u64) {
        Some(v) if v == version => {}
        Some(v) => {
            return Err(CryptoError::UnsupportedSpecVersion {
                found: format!("{} {v}", texts.version_label),
            });
        }
        None => return Err(CryptoError::corrupt(texts.no_version)),
    }
    serde_json::from_value(Value::Object(map)).map_err(|_| CryptoError::corrupt(texts.bad_field))
}
