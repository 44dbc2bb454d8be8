//! The one error type of the runtime, with the canonical class names of docs/formats.md §14.1.
//!
//! Rules for contributors:
//!
//! - **Never format a value.** No passphrase, key, secret access key, env value or asset byte
//!   reaches a message. Messages are built from fields that hold object keys, bucket names,
//!   redacted endpoints, timestamps and static reasons.
//! - **Say what to do.** Each message names what failed and the next step.
//! - **The class is the contract.** Callers and the conformance corpus branch on
//!   [`Error::class`], never on message text.

use vsync_crypto::CryptoError;
use vsync_vault::VaultError;

/// Why the bucket could not be read (all of them are [`Error::S3Unreachable`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unreachable {
    /// Connection refused, DNS, TLS or timeout.
    Network,
    /// The store answered 401/403: the credentials in the config blob are wrong or lack
    /// `s3:GetObject` on the prefix.
    AccessDenied,
    /// Any other failure (5xx, an unexpected answer).
    Other,
}

/// Everything that can make [`crate::Vault`] fail to open or to poll.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No config blob or no passphrase (or an empty one, or an unreadable `_FILE`, or a blob
    /// without the `vsync-cfg-v1:` prefix).
    #[error(
        "vsync config missing: {what}; set VSYNC_CONFIG (from `vsync runtime-token --env <env>`) \
         and VSYNC_PASSPHRASE (from `vsync key show <env>`), or their _FILE forms"
    )]
    ConfigMissing {
        /// What is missing, in a few words (never a value).
        what: String,
    },

    /// The config blob is of a newer or unsupported shape.
    #[error(
        "unsupported vsync config ({found}); mint a new one with `vsync runtime-token --env <env>`"
    )]
    ConfigUnsupportedVersion {
        /// The version or the rule that was not met.
        found: String,
    },

    /// The bucket could not be read: network failure, access denied (403), or another
    /// non-404 answer.
    #[error("{}", unreachable_message(*.reason, location, key, detail))]
    S3Unreachable {
        /// What kind of failure.
        reason: Unreachable,
        /// `bucket `b` at <endpoint>` (no credentials).
        location: String,
        /// The object key that was being read (empty when no request was made).
        key: String,
        /// A short, credential-free cause from the fetcher.
        detail: String,
    },

    /// The bucket answered, but nothing was pushed for this (repo, env): the `latest` pointer
    /// is missing or empty.
    #[error(
        "nothing pushed yet: `{key}` does not exist in {location}; run `vsync push <env>` \
         (or check the prefix in VSYNC_CONFIG)"
    )]
    ManifestNotFound {
        /// `bucket `b` at <endpoint>` (no credentials).
        location: String,
        /// The pointer key.
        key: String,
    },

    /// The pushed data is damaged or inconsistent: wrong magic, truncated envelope, seal
    /// timestamp ≠ pointer (rollback or tampering), pointer naming a missing version (torn
    /// state), unreadable zip or env file, malformed generation cell, undecodable blob.
    #[error("vault bundle is corrupt: {reason}; {hint}")]
    BundleCorrupt {
        /// What is wrong (static text or object keys and timestamps; never content).
        reason: String,
        /// What to do about it.
        hint: &'static str,
    },

    /// The AES-GCM tag was rejected: the passphrase does not match the bundle (or the
    /// ciphertext is damaged; the two cannot be told apart).
    #[error(
        "cannot decrypt the vault: the passphrase does not match the bundle (or the bundle is \
         damaged); set VSYNC_PASSPHRASE to the value `vsync key show <env>` prints for this env"
    )]
    WrongPassphrase,

    /// A recognised envelope family with a version this build does not read (`RQE2`, …).
    #[error("the vault uses a newer format ({found}); upgrade vsync-runtime")]
    UnsupportedSpecVersion {
        /// The version marker found.
        found: String,
    },
}

const HINT_CORRUPT: &str =
    "run `vsync pull <env>` on a workstation to check it, then `vsync push <env>` a good copy";

fn unreachable_message(reason: Unreachable, location: &str, key: &str, detail: &str) -> String {
    match reason {
        Unreachable::Network => format!(
            "cannot reach {location} to read `{key}` ({detail}); check the endpoint in \
             VSYNC_CONFIG and the network, then retry"
        ),
        Unreachable::AccessDenied => format!(
            "{location} denied access to `{key}` ({detail}); check that the access key in \
             VSYNC_CONFIG is valid and may read this prefix (s3:GetObject)"
        ),
        Unreachable::Other if key.is_empty() => format!(
            "cannot use {location} ({detail}); check the endpoint, region and bucket in VSYNC_CONFIG"
        ),
        Unreachable::Other => format!(
            "reading `{key}` from {location} failed ({detail}); check the store, then retry"
        ),
    }
}

impl Error {
    /// The canonical class name (docs/formats.md §14.1), e.g. `"ConfigMissingError"`. Stable: the
    /// conformance corpus matches on it.
    #[must_use]
    pub fn class(&self) -> &'static str {
        self.names().0
    }

    /// The upstream TypeScript `code` of the class, e.g. `"VSYNC_CONFIG_MISSING"`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        self.names().1
    }

    /// (class, code): the one table of both names per variant.
    fn names(&self) -> (&'static str, &'static str) {
        match self {
            Self::ConfigMissing { .. } => ("ConfigMissingError", "VSYNC_CONFIG_MISSING"),
            Self::ConfigUnsupportedVersion { .. } => {
                ("ConfigUnsupportedVersionError", "VSYNC_CONFIG_UNSUPPORTED")
            }
            Self::S3Unreachable { .. } => ("S3UnreachableError", "VSYNC_S3_UNREACHABLE"),
            Self::ManifestNotFound { .. } => ("ManifestNotFoundError", "VSYNC_MANIFEST_NOT_FOUND"),
            Self::BundleCorrupt { .. } => ("BundleCorruptError", "VSYNC_BUNDLE_CORRUPT"),
            Self::WrongPassphrase => ("WrongPassphraseError", "VSYNC_WRONG_PASSPHRASE"),
            Self::UnsupportedSpecVersion { .. } => {
                ("UnsupportedSpecVersionError", "VSYNC_SPEC_UNSUPPORTED")
            }
        }
    }

    pub(crate) fn missing(what: impl Into<String>) -> Self {
        Self::ConfigMissing { what: what.into() }
    }

    pub(crate) fn corrupt(reason: impl Into<String>) -> Self {
        Self::BundleCorrupt {
            reason: reason.into(),
            hint: HINT_CORRUPT,
        }
    }

    pub(crate) fn torn(key: &str) -> Self {
        Self::BundleCorrupt {
            reason: format!("`latest` names `{key}`, which does not exist (torn state or pruned)"),
            hint: "push again with `vsync push <env>`, or roll back with `vsync rollback <env> <ts>`",
        }
    }
}

impl From<CryptoError> for Error {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::WrongPassphrase => Self::WrongPassphrase,
            CryptoError::UnsupportedSpecVersion { found } => Self::UnsupportedSpecVersion { found },
            CryptoError::ConfigMissing { reason } => Self::missing(reason),
            CryptoError::ConfigUnsupportedVersion { found } => {
                Self::ConfigUnsupportedVersion { found }
            }
            CryptoError::BundleCorrupt { reason } => Self::corrupt(reason),
            // `InvalidInput` comes from encoders only; anything new is corruption of the input.
            other => Self::corrupt(other.to_string()),
        }
    }
}

/// Map a vault error from reading the zip or the env file (the only vault calls made after
/// decryption) to a runtime error. Both readers work on plaintext the bundle's tag already
/// authenticated and never decrypt, so whatever they refuse is corrupt content: a wrong key or a
/// newer envelope is a typed [`CryptoError`] from `bundle::open`, mapped by the `From` above.
pub(crate) fn from_bundle(e: &VaultError) -> Error {
    Error::corrupt(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_error_is_classified_by_its_class_name() {
        // Class names are for printing; branching uses the typed errors (CryptoError, VaultError).
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        // a match on the class, a comparison with it, and a match arm on a class name
        let needles = [
            concat!(".class()", " {"),
            concat!("class() ", "=="),
            concat!("Error", "\" =>"),
        ];
        let bad = vsync_testkit::source::occurrences(&src, &needles);
        assert!(bad.is_empty(), "{bad:?}");
    }

    #[test]
    fn classes_and_codes() {
        let all = [
            Error::missing("x"),
            Error::ConfigUnsupportedVersion { found: "v".into() },
            Error::S3Unreachable {
                reason: Unreachable::Network,
                location: "l".into(),
                key: "k".into(),
                detail: "d".into(),
            },
            Error::ManifestNotFound {
                location: "l".into(),
                key: "k".into(),
            },
            Error::corrupt("x"),
            Error::WrongPassphrase,
            Error::UnsupportedSpecVersion {
                found: "RQE2".into(),
            },
        ];
        let classes: Vec<_> = all.iter().map(Error::class).collect();
        assert_eq!(
            classes,
            [
                "ConfigMissingError",
                "ConfigUnsupportedVersionError",
                "S3UnreachableError",
                "ManifestNotFoundError",
                "BundleCorruptError",
                "WrongPassphraseError",
                "UnsupportedSpecVersionError",
            ]
        );
        for e in &all {
            assert!(e.code().starts_with("VSYNC_"));
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn crypto_errors_keep_their_class() {
        for e in [
            CryptoError::WrongPassphrase,
            CryptoError::BundleCorrupt { reason: "r" },
            CryptoError::UnsupportedSpecVersion {
                found: "RQE2".into(),
            },
            CryptoError::ConfigMissing { reason: "r" },
            CryptoError::ConfigUnsupportedVersion { found: "v".into() },
        ] {
            let class = e.class();
            assert_eq!(Error::from(e).class(), class);
        }
    }
}
