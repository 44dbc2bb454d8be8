//! Errors at the CLI edge and the one place that turns them into exit codes.
//!
//! Rules: a message is one line saying what failed; `hint` is the next command to run.
//! Never format a secret value (key, passphrase, env value) into either.

use std::fmt;

/// The exit codes of docs/decisions.md §6. Every failure is classified into exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// 0: success.
    Ok,
    /// 1: the operation failed.
    Failed,
    /// 2: bad usage (unknown flag, bad env name, missing argument).
    Usage,
    /// 3: not found / nothing pushed.
    NotFound,
    /// 4: integrity (corrupt bundle, wrong key, seal mismatch, rollback).
    Integrity,
    /// 5: conflict (remote advanced, local edits).
    Conflict,
    /// 6: partial (sync: some keys failed).
    Partial,
}

impl ExitKind {
    /// The process exit code for this kind.
    pub fn code(self) -> u8 {
        match self {
            ExitKind::Ok => 0,
            ExitKind::Failed => 1,
            ExitKind::Usage => 2,
            ExitKind::NotFound => 3,
            ExitKind::Integrity => 4,
            ExitKind::Conflict => 5,
            ExitKind::Partial => 6,
        }
    }
}

/// A failure ready to show to the user.
#[derive(Debug)]
pub struct CliError {
    /// Which exit code this failure maps to.
    pub kind: ExitKind,
    /// One line: what failed.
    pub message: String,
    /// The next command to run, when there is one.
    pub hint: Option<String>,
}

impl CliError {
    /// A failure of `kind` with a message and no hint.
    pub fn new(kind: ExitKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    /// Attach the next step the user should take.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl From<vsync_vault::VaultError> for CliError {
    fn from(e: vsync_vault::VaultError) -> Self {
        use vsync_vault::VaultError as V;
        use vsync_vault::error::{Category, StoreError};
        let kind = match e.category() {
            Category::NotFound => ExitKind::NotFound,
            Category::Integrity => ExitKind::Integrity,
            Category::Conflict => ExitKind::Conflict,
            Category::Usage => ExitKind::Usage,
            _ => ExitKind::Failed,
        };
        let hint = match &e {
            V::Store(StoreError::Unreachable { .. }) => {
                Some("check the endpoint and your network; `vsync doctor` checks every part")
            }
            V::Store(StoreError::AccessDenied { .. }) => Some(
                "check the store credentials (S3: the config or profile; gs:// and az://: the environment); `vsync doctor` shows which are used",
            ),
            V::Integrity { .. } => {
                Some("the bucket content failed verification; your local vault was not touched")
            }
            _ => None,
        };
        let err = CliError::new(kind, e.to_string());
        match hint {
            Some(h) => err.with_hint(h),
            None => err,
        }
    }
}

/// A version or backup that failed to open, by the crypto layer's typed error: a key that does
/// not open it says so (and what to do); anything else is corrupt data. The error's class name
/// (docs/formats.md §14.1) is kept in the message as upstream prints it.
pub fn integrity(e: &vsync_crypto::CryptoError) -> CliError {
    if matches!(e, vsync_crypto::CryptoError::WrongPassphrase) {
        return CliError::new(
            ExitKind::Integrity,
            "wrong key or corrupt data: the bundle does not decrypt with this machine's key",
        )
        .with_hint(
            "the key in your keychain does not open this bundle: import a fresh share from a teammate (`vsync import`)",
        );
    }
    CliError::from(vsync_vault::VaultError::Integrity {
        class: e.class(),
        reason: e.to_string(),
    })
}

impl From<vsync_vault::error::StoreError> for CliError {
    fn from(e: vsync_vault::error::StoreError) -> Self {
        vsync_vault::VaultError::from(e).into()
    }
}

impl From<vsync_vault::identity::IdentityError> for CliError {
    fn from(e: vsync_vault::identity::IdentityError) -> Self {
        use vsync_vault::identity::IdentityError as I;
        let kind = match e {
            I::EmptyFlag | I::TooLong { .. } | I::Reserved { .. } => ExitKind::Usage,
            I::VsyncFileClobber { .. } | I::ShareRepoMismatch { .. } => ExitKind::Conflict,
            _ => ExitKind::Failed,
        };
        // The identity messages already carry the fix.
        CliError::new(kind, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::ExitKind;

    #[test]
    fn a_wrong_key_is_told_apart_by_its_type() {
        use vsync_crypto::CryptoError;
        let wrong = super::integrity(&CryptoError::WrongPassphrase);
        assert_eq!(wrong.kind, ExitKind::Integrity);
        assert!(wrong.message.starts_with("wrong key or corrupt data"));
        assert!(wrong.hint.unwrap().contains("vsync import"));
        let corrupt = super::integrity(&CryptoError::BundleCorrupt { reason: "short" });
        assert_eq!(corrupt.kind, ExitKind::Integrity);
        assert!(corrupt.message.contains("BundleCorruptError"));
        assert!(!corrupt.message.contains("wrong key"));
    }

    #[test]
    fn no_error_is_classified_by_its_class_name() {
        // The class names are for printing (upstream's names); branching uses the typed errors.
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let bad = vsync_testkit::source::occurrences(
            &src,
            &[
                concat!("class() ", "=="),
                concat!("class() ", "!="),
                concat!("== \"Wrong", "Passphrase"),
            ],
        );
        assert!(bad.is_empty(), "{bad:?}");
    }

    #[test]
    fn exit_codes_follow_decisions_section_6() {
        let table = [
            (ExitKind::Ok, 0),
            (ExitKind::Failed, 1),
            (ExitKind::Usage, 2),
            (ExitKind::NotFound, 3),
            (ExitKind::Integrity, 4),
            (ExitKind::Conflict, 5),
            (ExitKind::Partial, 6),
        ];
        for (kind, code) in table {
            assert_eq!(kind.code(), code, "{kind:?}");
        }
    }
}
