//! SLS1: the `.share` file (docs/formats.md §6).
//!
//! `"SLS1" | L | salt text (L bytes) | RQE1( B64STD( gzip( ExportPayload JSON ) ) )`, keyed with
//! PBKDF2(passphrase text, salt text). Opening runs in two steps so the KDF only runs on a
//! well-formed frame: [`parse_frame`], derive, [`open_with_key`]; [`unpack`] does all three.

use core::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::CryptoError;
use crate::buf::{SecretBuf, gunzip_capped, gzip};
use crate::kdf::DerivedKey;
use crate::secret::SecretText;
use crate::{b64, frame};

/// The share-file magic.
pub const MAGIC: &[u8; 4] = b"SLS1";
/// The only ExportPayload version written and accepted.
pub const PAYLOAD_VERSION: u32 = 2;
/// Largest ExportPayload JSON accepted after gunzip (a share holds one config and one key).
pub const MAX_PAYLOAD_LEN: usize = 4 << 20;
/// Shortest `key` accepted (docs/formats.md §6.3).
pub const MIN_KEY_CHARS: usize = 20;

const WRONG_MAGIC: &str =
    "not a share file (wrong magic; a .keytree goes to `vsync keystore import`)";

/// ExportPayload v2 (docs/formats.md §6.3). Unknown fields are kept in `extra` and written back.
#[derive(Clone, Serialize, Deserialize)]
pub struct ExportPayload {
    /// Always [`PAYLOAD_VERSION`].
    pub version: u32,
    /// The exporter's resolved repo identity (non-empty).
    pub repo: String,
    /// The environment (non-empty).
    pub env: String,
    /// The complete per-env ConfigFile (docs/formats.md §9.3); it holds the S3 secret, never the key.
    /// Validated by the CLI's config type, not here.
    pub config: Map<String, Value>,
    /// The keychain value text (normally a 44-character vault key; at least 20 characters).
    #[serde(with = "crate::secret::serde_secret")]
    pub key: SecretText,
    /// Fields this version does not know, round-tripped.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl ExportPayload {
    /// A version-2 payload with no extra fields.
    #[must_use]
    pub fn new(repo: String, env: String, config: Map<String, Value>, key: SecretText) -> Self {
        Self {
            version: PAYLOAD_VERSION,
            repo,
            env,
            config,
            key,
            extra: Map::new(),
        }
    }

    /// The rules of docs/formats.md §6.3 that do not need the config schema.
    ///
    /// # Errors
    /// [`CryptoError::UnsupportedSpecVersion`] for a version other than 2,
    /// [`CryptoError::BundleCorrupt`] for an empty repo/env or a key under 20 characters.
    pub fn validate(&self) -> Result<(), CryptoError> {
        if self.version != PAYLOAD_VERSION {
            return Err(CryptoError::UnsupportedSpecVersion {
                found: format!("ExportPayload version {}", self.version),
            });
        }
        if self.repo.is_empty() {
            return Err(CryptoError::corrupt("share payload has an empty repo"));
        }
        if self.env.is_empty() {
            return Err(CryptoError::corrupt("share payload has an empty env"));
        }
        if self.key.expose().chars().count() < MIN_KEY_CHARS {
            return Err(CryptoError::corrupt(
                "share payload key is shorter than 20 characters",
            ));
        }
        Ok(())
    }
}

impl fmt::Debug for ExportPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let extra: Vec<&String> = self.extra.keys().collect();
        f.debug_struct("ExportPayload")
            .field("version", &self.version)
            .field("repo", &self.repo)
            .field("env", &self.env)
            .field(
                "config",
                &format_args!("<redacted: {} fields>", self.config.len()),
            )
            .field("key", &self.key)
            .field("extra_fields", &extra)
            .finish()
    }
}

/// Split a share file into its salt text and RQE1 envelope, checking the envelope
/// structurally. Run this before deriving the key.
///
/// # Errors
/// [`CryptoError::BundleCorrupt`] for a wrong magic (including `VKT1`), a frame shorter than
/// `5 + L`, a non-UTF-8 salt or a malformed envelope; [`CryptoError::UnsupportedSpecVersion`]
/// for a newer envelope.
pub fn parse_frame(bytes: &[u8]) -> Result<(&str, &[u8]), CryptoError> {
    frame::parse_for::<ExportPayload>(bytes)
}

/// Encrypt a payload under a passphrase and a fresh random salt (600 000 iterations).
///
/// # Errors
/// [`CryptoError::InvalidInput`] when the payload fails [`ExportPayload::validate`].
pub fn pack(passphrase: &str, payload: &ExportPayload) -> Result<Vec<u8>, CryptoError> {
    frame::pack(passphrase, payload)
}

/// Decrypt a share file: [`parse_frame`], derive (600 000 iterations), [`open_with_key`].
/// Returns the salt text and the validated payload.
///
/// # Errors
/// See [`parse_frame`] and [`open_with_key`].
pub fn unpack(passphrase: &str, bytes: &[u8]) -> Result<(String, ExportPayload), CryptoError> {
    frame::unpack(passphrase, bytes)
}

/// Build a share file with an already derived key (`key` must come from `salt`).
///
/// # Errors
/// [`CryptoError::InvalidInput`] when the payload is invalid or the salt exceeds 255 bytes.
pub fn seal_with_key(
    key: &DerivedKey,
    salt: &str,
    payload: &ExportPayload,
) -> Result<Vec<u8>, CryptoError> {
    seal_with_key_and_iv(key, salt, crate::random::iv(), payload)
}

/// [`seal_with_key`] with a caller-chosen IV. **Only for test vectors.**
///
/// # Errors
/// As [`seal_with_key`].
#[doc(hidden)]
pub fn seal_with_key_and_iv(
    key: &DerivedKey,
    salt: &str,
    iv: [u8; 12],
    payload: &ExportPayload,
) -> Result<Vec<u8>, CryptoError> {
    frame::seal_payload(key, salt, iv, payload)
}

/// Open a share file with an already derived key. Returns the salt text and the payload.
///
/// # Errors
/// Those of [`parse_frame`]; [`CryptoError::WrongPassphrase`] on a tag failure;
/// [`CryptoError::BundleCorrupt`] when the inner text is not base64, gzip or a valid payload.
pub fn open_with_key(
    key: &DerivedKey,
    bytes: &[u8],
) -> Result<(String, ExportPayload), CryptoError> {
    frame::open_payload(key, bytes)
}

impl frame::FramedPayload for ExportPayload {
    const MAGIC: &'static [u8; 4] = MAGIC;
    const WRONG_MAGIC: &'static str = WRONG_MAGIC;

    fn encode(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        encode_inner(self)
    }

    fn decode(plaintext: &[u8]) -> Result<Self, CryptoError> {
        decode_inner(plaintext)
    }
}

/// The RQE1 plaintext of a share: B64STD(gzip(JSON)) as bytes.
///
/// # Errors
/// [`CryptoError::InvalidInput`] when the payload fails validation.
#[doc(hidden)]
pub fn encode_inner(payload: &ExportPayload) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    payload.validate().map_err(|_| CryptoError::InvalidInput {
        reason: "share payload fails validation (version 2, repo, env, key of 20+ characters)",
    })?;
    let mut json = SecretBuf::with_capacity(512);
    serde_json::to_writer(&mut json, payload).map_err(|_| CryptoError::InvalidInput {
        reason: "share payload cannot be serialised",
    })?;
    let gz = gzip(json.as_slice());
    let Some(n) = base64::encoded_len(gz.len(), true) else {
        return Err(CryptoError::InvalidInput {
            reason: "share payload is too large",
        });
    };
    let mut text = Zeroizing::new(vec![0u8; n]);
    let written = STANDARD
        .encode_slice(gz.as_slice(), &mut text[..])
        .map_err(|_| CryptoError::InvalidInput {
            reason: "share payload is too large",
        })?;
    text.truncate(written);
    Ok(text)
}

/// Decode the RQE1 plaintext of a share (docs/formats.md §6.2): trim, lenient base64 (URL-safe
/// alphabet and missing padding accepted), non-empty, gunzip (capped), UTF-8, JSON, validate.
///
/// # Errors
/// [`CryptoError::BundleCorrupt`] at any failing layer; [`CryptoError::UnsupportedSpecVersion`]
/// for a payload version other than 2.
#[doc(hidden)]
pub fn decode_inner(plaintext: &[u8]) -> Result<ExportPayload, CryptoError> {
    let text = plaintext.trim_ascii();
    let mut norm = SecretBuf::with_capacity(text.len());
    for &c in text {
        norm.extend(&[match c {
            b'-' => b'+',
            b'_' => b'/',
            c => c,
        }]);
    }
    let mut gz = Zeroizing::new(vec![0u8; text.len() / 4 * 3 + 3]);
    let n = b64::LENIENT_STD
        .decode_slice(norm.as_slice(), &mut gz[..])
        .map_err(|_| CryptoError::corrupt("share content is not base64"))?;
    if n == 0 {
        return Err(CryptoError::corrupt("share content is empty"));
    }
    let json = gunzip_capped(&gz[..n], MAX_PAYLOAD_LEN)?;
    let payload: ExportPayload = frame::versioned_json(
        &json,
        u64::from(PAYLOAD_VERSION),
        &frame::payload_texts!("share content", "ExportPayload version", "share payload"),
    )?;
    payload.validate()?;
    Ok(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ExportPayload {
        let config: Map<String, Value> = serde_json::from_str(
            r#"{"version":1,"s3":{"endpoint":"https://s3.example.com","region":"eu-central-1","bucket":"acme-secrets","accessKeyId":"AKIAEXAMPLE","secretAccessKey":"secret","useSsl":true},"encryption":{"salt":"ICEiIyQlJicoKSorLC0uLzAx"},"audit":{"enabled":true}}"#,
        )
        .unwrap();
        ExportPayload::new(
            "acme_web".into(),
            "dev".into(),
            config,
            SecretText::new("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=".into()),
        )
    }

    const SHARE_16_3: &str = "534c5331186f4b47696f36536c7071656f71617172724b327572773d3d525145\
311111111111111111111111111824f484fd1f2231fc2519bc43dc5bfb73626b\
2aa87c7f808678cbd6b3fdb146ab0eb2fe965976406a878c13df3e9a8b927f02\
de30affc3abcb27e56841325e3295ab876e667b05e767a7f773ac8c22f18e3e6\
8d0fbaf8d83eeb34dd82419458c89493cb0567000c592847504fc382fb563148\
00edaa6bddd42cf727315a7e4c6652f760a8ea0093c45b2706a6b16b2f3ae58f\
28a32b86d4f7ea9e0d73411dbddab2a4c1cc5dc754c414efc1242577dd75ecd3\
68424af97d2ebe59dbe86fc8a5a7f9391ac1344f15532b85987921dc00c9dcd9\
a8560b14282eeef6bea45b63d39a36de022de20d48e8eef865f9cb5cf8d90abe\
811eee8e57ef3ae47b7d365845f017514bc0f82eebba3c58b4d5a71b6127f528\
8b9b8f780fe1bab65995aeb625000aec6e1d856cb7406f61e01b794d06bc3179\
d1ebfe384927f1f00b5c22b31659c33744b67cdcb4dbe9235b02f5a977b5b55e\
3c02b1884693fd3c3c23ebf76a510087d7e105469ccb1adf88881ceaa789e401\
13b555a0093cf23d33717cdacc";

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn formats_16_3_share() {
        let bytes = unhex(SHARE_16_3);
        assert_eq!(bytes.len(), 429);
        let (salt, p) = unpack("correct-horse-battery-staple", &bytes).unwrap();
        assert_eq!(salt, "oKGio6SlpqeoqaqrrK2urw==");
        let expected = sample();
        assert_eq!(
            serde_json::to_string(&p).unwrap(),
            serde_json::to_string(&expected).unwrap()
        );
    }

    #[test]
    fn round_trip_with_key() {
        let k = DerivedKey::from_bytes([5u8; 32]);
        let mut p = sample();
        p.extra.insert("future".into(), Value::from(7));
        let file = seal_with_key(&k, "oKGio6SlpqeoqaqrrK2urw==", &p).unwrap();
        assert_eq!(&file[..5], b"SLS1\x18");
        let (salt, q) = open_with_key(&k, &file).unwrap();
        assert_eq!(salt, "oKGio6SlpqeoqaqrrK2urw==");
        assert_eq!(
            serde_json::to_value(&q).unwrap(),
            serde_json::to_value(&p).unwrap()
        );
        assert_eq!(q.extra.get("future"), Some(&Value::from(7)));
    }

    #[test]
    fn frame_errors() {
        let k = DerivedKey::from_bytes([5u8; 32]);
        let file = seal_with_key(&k, "salt-salt-salt-salt", &sample()).unwrap();
        let mut v = file.clone();
        v[..4].copy_from_slice(b"VKT1");
        assert_eq!(parse_frame(&v).unwrap_err().class(), "BundleCorruptError");
        for n in 0..file.len().min(60) {
            assert!(open_with_key(&k, &file[..n]).is_err(), "truncated to {n}");
        }
        let other = DerivedKey::from_bytes([6u8; 32]);
        assert_eq!(
            open_with_key(&other, &file).unwrap_err().class(),
            "WrongPassphraseError"
        );
    }

    #[test]
    fn inner_layer_rules() {
        let good = encode_inner(&sample()).unwrap();
        assert!(decode_inner(&good).is_ok());
        // whitespace, URL-safe alphabet, missing padding
        let mut t = String::from_utf8(good.to_vec()).unwrap();
        t = format!(
            "  {}\n",
            t.trim_end_matches('=').replace('+', "-").replace('/', "_")
        );
        assert!(decode_inner(t.as_bytes()).is_ok());
        for bad in [&b""[..], b"   ", b"!!!!", b"aGVsbG8=", b"H4sI"] {
            assert_eq!(decode_inner(bad).unwrap_err().class(), "BundleCorruptError");
        }
        let mut p = sample();
        p.version = 1;
        let json = serde_json::to_vec(&p).unwrap();
        let text = STANDARD.encode(gzip(&json).as_slice());
        assert_eq!(
            decode_inner(text.as_bytes()).unwrap_err().class(),
            "UnsupportedSpecVersionError"
        );
        assert!(encode_inner(&p).is_err());
        p.version = 2;
        p.key = SecretText::new("short".into());
        let json = serde_json::to_vec(&p).unwrap();
        let text = STANDARD.encode(gzip(&json).as_slice());
        assert_eq!(
            decode_inner(text.as_bytes()).unwrap_err().class(),
            "BundleCorruptError"
        );
    }

    #[test]
    fn debug_redacts() {
        let s = format!("{:?}", sample());
        assert!(!s.contains("AAECAw"), "{s}");
        assert!(!s.contains("secret\""), "{s}");
        assert!(s.contains("acme_web"));
    }
}
