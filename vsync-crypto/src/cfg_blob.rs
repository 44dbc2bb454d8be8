//! The `vsync-cfg-v1:` runtime bootstrap blob (docs/formats.md §8).
//!
//! `"vsync-cfg-v1:" + B64URL-nopad( gzip( JSON ) )`. [`decode`] follows the reader order of
//! docs/formats.md §8.4 exactly; [`encode`] writes gzip level 6 with MTIME 0 and refuses a config that
//! [`decode`] would reject.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::b64;
use crate::buf::{SecretBuf, gunzip_capped, gzip};
use crate::error::marker;
use crate::secret::SecretText;
use crate::{CryptoError, UnknownFields};

/// The blob prefix.
pub const PREFIX: &str = "vsync-cfg-v1:";
/// The inner schema version.
pub const VERSION: u32 = 1;
/// Shortest salt accepted (docs/formats.md §8.4 rule 8).
pub const MIN_SALT_CHARS: usize = 16;
/// Largest inner JSON accepted after gunzip.
pub const MAX_JSON_LEN: usize = 1 << 20;

/// The inner JSON of the blob (docs/formats.md §8.2), fields in written order. Unknown fields are kept in
/// `extra`. `Debug` redacts the secret access key and shows only the names of unknown fields.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RuntimeConfig {
    /// Schema version, always [`VERSION`].
    pub v: u32,
    /// S3 endpoint URL.
    pub endpoint: String,
    /// S3/SigV4 region.
    pub region: String,
    /// Bucket name.
    pub bucket: String,
    /// IAM access key id.
    #[serde(rename = "accessKeyId")]
    pub access_key_id: String,
    /// IAM secret.
    #[serde(rename = "secretAccessKey", with = "crate::secret::serde_secret")]
    pub secret_access_key: SecretText,
    /// S3 key prefix (ends in `/`, or empty).
    pub prefix: String,
    /// Environment name.
    pub env: String,
    /// The per-env `encryption.salt`, verbatim (PBKDF2 salt text).
    pub salt: String,
    /// PBKDF2 iterations (upstream always writes 600 000).
    pub iterations: u32,
    /// Unknown fields, round-tripped.
    #[serde(flatten)]
    pub extra: UnknownFields,
}

/// Encode a config as a blob (no trailing newline).
///
/// # Errors
/// [`CryptoError::InvalidInput`] when `v` ≠ 1, `iterations` is 0, or the salt is shorter than
/// 16 characters.
pub fn encode(config: &RuntimeConfig) -> Result<String, CryptoError> {
    if config.v != VERSION {
        return Err(CryptoError::InvalidInput {
            reason: "runtime config version must be 1",
        });
    }
    if config.iterations == 0 {
        return Err(CryptoError::InvalidInput {
            reason: "runtime config iterations must be positive",
        });
    }
    if config.salt.chars().count() < MIN_SALT_CHARS {
        return Err(CryptoError::InvalidInput {
            reason: "runtime config salt must have at least 16 characters",
        });
    }
    let mut json = SecretBuf::with_capacity(512);
    serde_json::to_writer(&mut json, config).map_err(|_| CryptoError::InvalidInput {
        reason: "runtime config cannot be serialised",
    })?;
    let gz = gzip(json.as_slice());
    let mut out = String::with_capacity(PREFIX.len() + gz.len() / 3 * 4 + 4);
    out.push_str(PREFIX);
    b64::URL_NOPAD.encode_string(gz.as_slice(), &mut out);
    Ok(out)
}

/// Decode a blob (surrounding whitespace is trimmed), in the order of docs/formats.md §8.4.
///
/// # Errors
/// 1. empty or no prefix → [`CryptoError::ConfigMissing`];
/// 2. body uses `+`, `/` or `=` → [`CryptoError::ConfigUnsupportedVersion`];
/// 3. not base64url → [`CryptoError::BundleCorrupt`];
/// 4. not gzip, or more than [`MAX_JSON_LEN`] once inflated → [`CryptoError::BundleCorrupt`];
/// 5. not a JSON object → [`CryptoError::BundleCorrupt`];
/// 6. `v` ≠ 1 (checked before any other field) → [`CryptoError::ConfigUnsupportedVersion`];
/// 7. `iterations` missing, ≤ 0 or not a 32-bit integer → [`CryptoError::BundleCorrupt`];
/// 8. `salt` shorter than 16 characters → [`CryptoError::ConfigUnsupportedVersion`];
///
/// then any other missing or mistyped field → [`CryptoError::BundleCorrupt`].
pub fn decode(blob: &str) -> Result<RuntimeConfig, CryptoError> {
    let blob = blob.trim();
    if blob.is_empty() {
        return Err(CryptoError::ConfigMissing {
            reason: "the runtime config blob is empty",
        });
    }
    let Some(body) = blob.strip_prefix(PREFIX) else {
        return Err(CryptoError::ConfigMissing {
            reason: "the runtime config blob lacks the vsync-cfg-v1: prefix",
        });
    };
    if body.contains(['+', '/', '=']) {
        return Err(CryptoError::ConfigUnsupportedVersion {
            found: "a standard-base64 body (expected base64url without padding)".into(),
        });
    }
    let gz = b64::URL_NOPAD
        .decode(body)
        .map_err(|_| CryptoError::corrupt("runtime config body is not base64url"))?;
    let json = gunzip_capped(&gz, MAX_JSON_LEN)?;
    let value: Value = serde_json::from_slice(&json)
        .map_err(|_| CryptoError::corrupt("runtime config is not UTF-8 JSON"))?;
    let Value::Object(map) = value else {
        return Err(CryptoError::corrupt("runtime config is not a JSON object"));
    };
    match map.get("v") {
        Some(v) if v.as_u64() == Some(u64::from(VERSION)) => {}
        Some(v) => {
            return Err(CryptoError::ConfigUnsupportedVersion {
                found: format!("v = {}", marker(&v.to_string())),
            });
        }
        None => {
            return Err(CryptoError::ConfigUnsupportedVersion {
                found: "no v field".into(),
            });
        }
    }
    match map.get("iterations").and_then(Value::as_u64) {
        Some(n) if n > 0 && u32::try_from(n).is_ok() => {}
        _ => {
            return Err(CryptoError::corrupt(
                "runtime config iterations is missing, not positive, or too large",
            ));
        }
    }
    match map.get("salt") {
        Some(Value::String(s)) if s.chars().count() >= MIN_SALT_CHARS => {}
        Some(Value::String(_)) | None => {
            return Err(CryptoError::ConfigUnsupportedVersion {
                found: "a salt shorter than 16 characters".into(),
            });
        }
        Some(_) => return Err(CryptoError::corrupt("runtime config salt is not a string")),
    }
    serde_json::from_value(Value::Object(map))
        .map_err(|_| CryptoError::corrupt("runtime config has a missing or mistyped field"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const BLOB_16_4: &str = "vsync-cfg-v1:H4sIAAAAAAAAAzVOvQrCMBh8l5tTqwgO2YJ0qK2guLhJTD81aJOSL239wXeXoN52x_29MEDOBMg1nbcuQuISY8cyz3k-0a1-eqdHnhjfQiDQ2XoHiZ4z0hyzGQSOvblSCmrTUsZkAkWGgDaGmCt6lA0kVFWqYq_Wm7qAwNel_g7InwKBLtDJ3n91h5GOeRd8kyN9HCCRWGrQt7RZLgtbPra3lTW-2vlQL6d9_VR3CNhIQUfrHUMupgnvDyAKfInuAAAA";
    const JSON_16_4: &str = r#"{"v":1,"endpoint":"https://s3.amazonaws.com","region":"us-east-1","bucket":"acme-secrets","accessKeyId":"AKIAEXAMPLE","secretAccessKey":"secret","prefix":"acme_web/prod/","env":"prod","salt":"ICEiIyQlJicoKSorLC0uLzAx","iterations":600000}"#;

    fn blob_of(json: &str) -> String {
        format!(
            "{PREFIX}{}",
            b64::URL_NOPAD.encode(gzip(json.as_bytes()).as_slice())
        )
    }

    #[test]
    fn formats_16_4() {
        let c = decode(&format!("  {BLOB_16_4}\n")).unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), JSON_16_4);
        assert_eq!(c.secret_access_key.expose(), "secret");
        let again = decode(&encode(&c).unwrap()).unwrap();
        assert_eq!(serde_json::to_string(&again).unwrap(), JSON_16_4);
        let dbg = format!("{c:?}");
        assert!(!dbg.contains("\"secret\""), "{dbg}");
    }

    #[test]
    fn reader_order() {
        let class = |b: &str| decode(b).unwrap_err().class();
        assert_eq!(class(""), "ConfigMissingError");
        assert_eq!(class("  \n"), "ConfigMissingError");
        assert_eq!(class(JSON_16_4), "ConfigMissingError");
        assert_eq!(class("vsync-cfg-v2:abc"), "ConfigMissingError");
        assert_eq!(class("vsync-cfg-v1:ab+c"), "ConfigUnsupportedVersionError");
        assert_eq!(class("vsync-cfg-v1:abc="), "ConfigUnsupportedVersionError");
        assert_eq!(class("vsync-cfg-v1:a"), "BundleCorruptError");
        assert_eq!(class("vsync-cfg-v1:a*b"), "BundleCorruptError");
        assert_eq!(class("vsync-cfg-v1:"), "BundleCorruptError");
        assert_eq!(class("vsync-cfg-v1:AAECAwQFBgcICQ"), "BundleCorruptError");
        // The inner JSON, in the order the reader checks it.
        for (json, want) in [
            ("not json", "BundleCorruptError"),
            ("[1]", "BundleCorruptError"),
            (r#"{"v":99}"#, "ConfigUnsupportedVersionError"),
            (r#"{"v":"1"}"#, "ConfigUnsupportedVersionError"),
            (r#"{"salt":"x"}"#, "ConfigUnsupportedVersionError"),
            (r#"{"v":1,"iterations":0}"#, "BundleCorruptError"),
            (r#"{"v":1,"iterations":-5}"#, "BundleCorruptError"),
            (r#"{"v":1,"iterations":5000000000}"#, "BundleCorruptError"),
            (r#"{"v":1,"iterations":1}"#, "ConfigUnsupportedVersionError"),
            (
                r#"{"v":1,"iterations":1,"salt":"short"}"#,
                "ConfigUnsupportedVersionError",
            ),
            (
                r#"{"v":1,"iterations":1,"salt":"0123456789abcdef"}"#,
                "BundleCorruptError",
            ),
        ] {
            assert_eq!(class(&blob_of(json)), want, "{json}");
        }
        let no_region = JSON_16_4.replace(r#""region":"us-east-1","#, "");
        assert_eq!(class(&blob_of(&no_region)), "BundleCorruptError");
    }

    #[test]
    fn unknown_fields_round_trip() {
        let json = JSON_16_4.replace("}", r#","future":{"a":[1,2]}}"#);
        let c = decode(&blob_of(&json)).unwrap();
        assert_eq!(c.extra["future"]["a"][1], 2);
        assert_eq!(serde_json::to_string(&c).unwrap(), json);
    }

    #[test]
    fn zip_bomb_is_refused() {
        let mut json = String::from(r#"{"v":1,"pad":""#);
        json.push_str(&" ".repeat(MAX_JSON_LEN + 10));
        json.push_str("\"}");
        let e = decode(&blob_of(&json)).unwrap_err();
        assert_eq!(e.class(), "BundleCorruptError");
        assert!(e.to_string().contains("size limit"));
    }

    #[test]
    fn encode_refuses_what_decode_rejects() {
        let mut c = decode(BLOB_16_4).unwrap();
        c.salt = "short".into();
        assert_eq!(encode(&c).unwrap_err().class(), "InvalidInputError");
    }
}
