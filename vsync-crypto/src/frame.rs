//! The salted file frame shared by SLS1 and VKT1: `MAGIC (4) | L (1) | salt text (L) | RQE1`.

use serde::de::DeserializeOwned;
use serde_json::Value;
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::kdf::DerivedKey;
use crate::rqe1;

/// A payload carried in a passphrase-keyed frame (the SLS1 share, the VKT1 keytree): its magic,
/// and how its RQE1 plaintext is written and read. The frame steps around it (parse before the
/// KDF, derive, seal or open) are the same for every such format and live here once.
pub(crate) trait FramedPayload: Sized {
    /// The format's 4-byte magic.
    const MAGIC: &'static [u8; 4];
    /// The error text for any other magic (it names where the other format goes).
    const WRONG_MAGIC: &'static str;

    /// Validate and encode the payload as the RQE1 plaintext.
    fn encode(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError>;

    /// Decode and validate an RQE1 plaintext.
    fn decode(plaintext: &[u8]) -> Result<Self, CryptoError>;
}

/// Split a `P` file into its salt text and checked RQE1 envelope (run before the KDF).
pub(crate) fn parse_for<P: FramedPayload>(bytes: &[u8]) -> Result<(&str, &[u8]), CryptoError> {
    let f = parse(P::MAGIC, bytes, P::WRONG_MAGIC)?;
    Ok((f.salt, f.envelope))
}

/// Encrypt `payload` under `passphrase` and a fresh random salt (600 000 iterations).
pub(crate) fn pack<P: FramedPayload>(
    passphrase: &str,
    payload: &P,
) -> Result<Vec<u8>, CryptoError> {
    let salt = crate::random::share_salt();
    let key = DerivedKey::derive(passphrase, &salt);
    seal_payload(&key, &salt, crate::random::iv(), payload)
}

/// Decrypt a `P` file: parse the frame, derive (600 000 iterations), open. Returns the salt
/// text and the payload.
pub(crate) fn unpack<P: FramedPayload>(
    passphrase: &str,
    bytes: &[u8],
) -> Result<(String, P), CryptoError> {
    let (salt, _) = parse_for::<P>(bytes)?;
    let key = DerivedKey::derive(passphrase, salt);
    open_payload(&key, bytes)
}

/// Build a `P` file with an already derived key (`key` must come from `salt`).
pub(crate) fn seal_payload<P: FramedPayload>(
    key: &DerivedKey,
    salt: &str,
    iv: [u8; 12],
    payload: &P,
) -> Result<Vec<u8>, CryptoError> {
    let inner = payload.encode()?;
    seal(P::MAGIC, key, salt, iv, &inner)
}

/// Open a `P` file with an already derived key. Returns the salt text and the payload.
pub(crate) fn open_payload<P: FramedPayload>(
    key: &DerivedKey,
    bytes: &[u8],
) -> Result<(String, P), CryptoError> {
    let (salt, envelope) = parse_for::<P>(bytes)?;
    let plain = rqe1::decrypt(key, envelope)?;
    Ok((salt.to_owned(), P::decode(&plain)?))
}

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
