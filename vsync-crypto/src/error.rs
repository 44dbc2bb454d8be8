//! The one error type of this crate, with the canonical class names of docs/formats.md §14.1.
//!
//! Rules for contributors: a message is built from the variant's fields, and no field ever
//! holds secret bytes (keys, passphrases, plaintext). `reason` strings are static text.

/// Everything that can go wrong while parsing, sealing or opening a vsync format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// The bytes are not a well-formed object of the expected format (wrong magic, truncated,
    /// undecodable inner layer, seal timestamp mismatch, …).
    #[error("corrupt data: {reason}")]
    BundleCorrupt {
        /// What is wrong, in a few words.
        reason: &'static str,
    },
    /// The AES-GCM tag was rejected: a wrong passphrase or key, or corrupted ciphertext (the two
    /// cannot be told apart).
    #[error("decryption failed: wrong passphrase or key, or corrupted data")]
    WrongPassphrase,
    /// A recognised format family with a version this build does not read (e.g. `RQE2`).
    #[error("unsupported format version {found}")]
    UnsupportedSpecVersion {
        /// The version marker that was found (magic or version number).
        found: String,
    },
    /// The runtime config blob is missing, empty, or lacks the `vsync-cfg-v1:` prefix.
    #[error("runtime config missing: {reason}")]
    ConfigMissing {
        /// What is missing.
        reason: &'static str,
    },
    /// The runtime config blob has an unsupported version or shape.
    #[error("unsupported runtime config: {found}")]
    ConfigUnsupportedVersion {
        /// The version (or the rule) that was not met.
        found: String,
    },
    /// A caller passed a value that cannot be encoded (not from untrusted input).
    #[error("invalid input: {reason}")]
    InvalidInput {
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl CryptoError {
    /// The canonical class name (docs/formats.md §14.1), as matched by the conformance corpus.
    #[must_use]
    pub fn class(&self) -> &'static str {
        match self {
            Self::BundleCorrupt { .. } => "BundleCorruptError",
            Self::WrongPassphrase => "WrongPassphraseError",
            Self::UnsupportedSpecVersion { .. } => "UnsupportedSpecVersionError",
            Self::ConfigMissing { .. } => "ConfigMissingError",
            Self::ConfigUnsupportedVersion { .. } => "ConfigUnsupportedVersionError",
            Self::InvalidInput { .. } => "InvalidInputError",
        }
    }

    pub(crate) const fn corrupt(reason: &'static str) -> Self {
        Self::BundleCorrupt { reason }
    }
}

/// The header of a versioned binary format (`RQE1`, `RQEM0001`): its magic, the family a newer
/// version shares, the shortest valid input, and what to say when the input is too short or not
/// this format.
pub(crate) struct VersionedMagic {
    /// This version's magic.
    pub ours: &'static [u8],
    /// The prefix every version shares; digits follow it.
    pub family: &'static [u8],
    /// The shortest input that can be valid.
    pub min_len: usize,
    /// The message for a shorter input.
    pub short: &'static str,
    /// The message for another magic.
    pub wrong: &'static str,
}

impl VersionedMagic {
    /// The checks every reader starts with, in this order: a newer version of the magic
    /// (`RQE2…`, `RQEM0002…`) is `UnsupportedSpecVersion` ("upgrade", not "corrupt"); a short
    /// input is `BundleCorrupt(short)`; another magic is `BundleCorrupt(wrong)`.
    pub(crate) fn check(&self, bytes: &[u8]) -> Result<(), CryptoError> {
        if let Some(magic) = bytes.get(..self.ours.len())
            && magic != self.ours
            && magic.starts_with(self.family)
            && magic[self.family.len()..].iter().all(u8::is_ascii_digit)
        {
            return Err(CryptoError::UnsupportedSpecVersion {
                found: String::from_utf8_lossy(magic).into_owned(),
            });
        }
        if bytes.len() < self.min_len {
            return Err(CryptoError::corrupt(self.short));
        }
        if !bytes.starts_with(self.ours) {
            return Err(CryptoError::corrupt(self.wrong));
        }
        Ok(())
    }
}

/// Shorten an untrusted marker for an error message (never more than 32 characters).
pub(crate) fn marker(s: &str) -> String {
    let mut out: String = s
        .chars()
        .take(32)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if s.chars().count() > 32 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_are_canonical() {
        assert_eq!(CryptoError::corrupt("x").class(), "BundleCorruptError");
        assert_eq!(CryptoError::WrongPassphrase.class(), "WrongPassphraseError");
        let e = CryptoError::UnsupportedSpecVersion {
            found: "RQE2".into(),
        };
        assert_eq!(e.class(), "UnsupportedSpecVersionError");
        assert_eq!(
            CryptoError::ConfigMissing { reason: "x" }.class(),
            "ConfigMissingError"
        );
        let e = CryptoError::ConfigUnsupportedVersion { found: "99".into() };
        assert_eq!(e.class(), "ConfigUnsupportedVersionError");
    }

    #[test]
    fn marker_is_bounded() {
        let long = "a".repeat(100);
        assert_eq!(marker(&long).chars().count(), 33);
        assert_eq!(marker("RQE\n2"), "RQE?2");
    }
}
