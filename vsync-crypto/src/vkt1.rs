//! VKT1: the `.keytree` machine backup (docs/formats.md §7).
//!
//! `"VKT1" | L | salt text (L bytes) | RQE1( Keytree JSON )`, keyed with PBKDF2(passphrase
//! text, salt text). The plaintext is plain UTF-8 JSON (no gzip, no base64).

use core::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use zeroize::Zeroizing;

use crate::buf::SecretBuf;
use crate::frame;
use crate::kdf::DerivedKey;
use crate::secret::SecretText;
use crate::{CryptoError, UnknownFields};

/// The keytree magic.
pub const MAGIC: &[u8; 4] = b"VKT1";
/// The only keytree payload version written and accepted.
pub const PAYLOAD_VERSION: u32 = 1;

const WRONG_MAGIC: &str = "not a keytree file (wrong magic; a .share goes to `vsync import`)";

/// The keytree payload. Unknown fields are kept in `extra` at every level.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Keytree {
    /// Always [`PAYLOAD_VERSION`].
    pub version: u32,
    /// ISO_TS of the export.
    #[serde(rename = "exportedAt")]
    pub exported_at: String,
    /// One entry per (repo, env).
    pub entries: Vec<KeytreeEntry>,
    /// Named S3 credential profiles.
    pub profiles: Vec<KeytreeProfile>,
    /// Unknown fields, round-tripped.
    #[serde(flatten)]
    pub extra: UnknownFields,
}

/// One (repo, env) pair with its config and key.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeytreeEntry {
    /// Repo identity (non-empty).
    pub repo: String,
    /// Environment (non-empty).
    pub env: String,
    /// The per-env ConfigFile (docs/formats.md §9.3); validated by the CLI's config type.
    pub config: Map<String, Value>,
    /// The keychain value text (non-empty).
    #[serde(with = "crate::secret::serde_secret")]
    pub key: SecretText,
    /// Unknown fields, round-tripped.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A profile (docs/formats.md §9.5) plus its `name`. Its fields include the S3 secret, so `Debug`
/// prints only the name.
#[derive(Clone, Serialize, Deserialize)]
pub struct KeytreeProfile {
    /// Profile name (non-empty).
    pub name: String,
    /// Every other profile field, in order.
    #[serde(flatten)]
    pub fields: Map<String, Value>,
}

impl Keytree {
    /// The structural rules of docs/formats.md §7 (the CLI validates configs and profiles).
    ///
    /// # Errors
    /// [`CryptoError::UnsupportedSpecVersion`] for a version other than 1;
    /// [`CryptoError::BundleCorrupt`] for an entry or profile missing a required value.
    pub fn validate(&self) -> Result<(), CryptoError> {
        if self.version != PAYLOAD_VERSION {
            return Err(CryptoError::UnsupportedSpecVersion {
                found: format!("keytree version {}", self.version),
            });
        }
        for e in &self.entries {
            if e.repo.is_empty() || e.env.is_empty() || e.key.expose().is_empty() {
                return Err(CryptoError::corrupt("keytree entry lacks repo, env or key"));
            }
        }
        if self.profiles.iter().any(|p| p.name.is_empty()) {
            return Err(CryptoError::corrupt("keytree profile has an empty name"));
        }
        Ok(())
    }
}

impl fmt::Debug for KeytreeEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeytreeEntry")
            .field("repo", &self.repo)
            .field("env", &self.env)
            .field(
                "config",
                &format_args!("<redacted: {} fields>", self.config.len()),
            )
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for KeytreeProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeytreeProfile")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Split a keytree file into its salt text and RQE1 envelope (run before the KDF).
///
/// # Errors
/// [`CryptoError::BundleCorrupt`] for a wrong magic (including `SLS1`), a truncated frame or a
/// malformed envelope; [`CryptoError::UnsupportedSpecVersion`] for a newer envelope.
pub fn parse_frame(bytes: &[u8]) -> Result<(&str, &[u8]), CryptoError> {
    frame::parse_for::<Keytree>(bytes)
}

/// Encrypt a keytree under a passphrase and a fresh random salt (600 000 iterations).
///
/// # Errors
/// [`CryptoError::InvalidInput`] when the keytree fails [`Keytree::validate`].
pub fn pack(passphrase: &str, tree: &Keytree) -> Result<Vec<u8>, CryptoError> {
    frame::pack(passphrase, tree)
}

/// Decrypt a keytree file. Returns the salt text and the validated keytree.
///
/// # Errors
/// See [`parse_frame`] and [`open_with_key`].
pub fn unpack(passphrase: &str, bytes: &[u8]) -> Result<(String, Keytree), CryptoError> {
    frame::unpack(passphrase, bytes)
}

/// Build a keytree file with an already derived key (`key` must come from `salt`).
///
/// # Errors
/// [`CryptoError::InvalidInput`] when the keytree is invalid or the salt exceeds 255 bytes.
pub fn seal_with_key(key: &DerivedKey, salt: &str, tree: &Keytree) -> Result<Vec<u8>, CryptoError> {
    frame::seal_payload(key, salt, crate::random::iv(), tree)
}

/// Open a keytree file with an already derived key.
///
/// # Errors
/// Those of [`parse_frame`]; [`CryptoError::WrongPassphrase`] on a tag failure;
/// [`CryptoError::BundleCorrupt`] when the plaintext is not a valid keytree.
pub fn open_with_key(key: &DerivedKey, bytes: &[u8]) -> Result<(String, Keytree), CryptoError> {
    frame::open_payload(key, bytes)
}

/// The keytree's RQE1 plaintext is its JSON as UTF-8 (no gzip, no base64).
impl frame::FramedPayload for Keytree {
    const MAGIC: &'static [u8; 4] = MAGIC;
    const WRONG_MAGIC: &'static str = WRONG_MAGIC;

    fn encode(&self) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.validate().map_err(|_| CryptoError::InvalidInput {
            reason: "keytree fails validation (version 1, entries with repo, env and key)",
        })?;
        let mut json = SecretBuf::with_capacity(1024);
        serde_json::to_writer(&mut json, self).map_err(|_| CryptoError::InvalidInput {
            reason: "keytree cannot be serialised",
        })?;
        Ok(json.into_inner())
    }

    fn decode(plaintext: &[u8]) -> Result<Self, CryptoError> {
        let tree: Keytree = frame::versioned_json(
            plaintext,
            u64::from(PAYLOAD_VERSION),
            &frame::payload_texts!("keytree content", "keytree version", "keytree"),
        )?;
        tree.validate()?;
        Ok(tree)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Keytree {
        serde_json::from_str(
            r#"{"version":1,"exportedAt":"2026-05-23T11:42:01.234Z",
                "entries":[{"repo":"acme_web","env":"dev","config":{"version":1},"key":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="}],
                "profiles":[{"name":"acme","version":1,"endpoint":"e","region":"r","bucket":"b","prefix":"acme/","accessKeyId":"AK","secretAccessKey":"SUPERSECRET"}],
                "future":true}"#,
        )
        .unwrap()
    }

    #[test]
    fn round_trip() {
        let k = DerivedKey::from_bytes([9u8; 32]);
        let t = sample();
        let file = seal_with_key(&k, "oKGio6SlpqeoqaqrrK2urw==", &t).unwrap();
        assert_eq!(&file[..4], b"VKT1");
        let (salt, u) = open_with_key(&k, &file).unwrap();
        assert_eq!(salt, "oKGio6SlpqeoqaqrrK2urw==");
        assert_eq!(
            serde_json::to_value(&u).unwrap(),
            serde_json::to_value(&t).unwrap()
        );
        assert_eq!(u.profiles[0].fields["secretAccessKey"], "SUPERSECRET");
        // A share reader refuses a keytree and the other way round.
        assert_eq!(
            crate::sls1::parse_frame(&file).unwrap_err().class(),
            "BundleCorruptError"
        );
    }

    #[test]
    fn debug_redacts() {
        let s = format!("{:?}", sample());
        assert!(!s.contains("SUPERSECRET") && !s.contains("AAECAw"), "{s}");
        assert!(s.contains("acme_web") && s.contains("acme"));
    }

    #[test]
    fn wrong_version_and_key() {
        let k = DerivedKey::from_bytes([9u8; 32]);
        let mut t = sample();
        t.version = 2;
        assert_eq!(
            seal_with_key(&k, "s", &t).unwrap_err().class(),
            "InvalidInputError"
        );
        let file = frame::seal(MAGIC, &k, "s", [0; 12], br#"{"version":2}"#).unwrap();
        assert_eq!(
            open_with_key(&k, &file).unwrap_err().class(),
            "UnsupportedSpecVersionError"
        );
        let file = frame::seal(MAGIC, &k, "s", [0; 12], br#"{"version":1}"#).unwrap();
        assert_eq!(
            open_with_key(&k, &file).unwrap_err().class(),
            "BundleCorruptError"
        );
    }
}
