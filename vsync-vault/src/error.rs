//! Error types of the vault crate.
//!
//! Rules for contributors (they hold for every variant in this file):
//!
//! - **Never format a value.** Secrets, env-file values, object bodies and credentials never
//!   reach a message or a `Debug` output. Messages are built from fields: keys, paths, line
//!   numbers, timestamps, endpoints, bucket names.
//! - **One line that says what to do.** Each message names what failed and the next step.
//! - **Data in fields.** Callers branch on variants and fields, never on message text. The CLI
//!   maps [`VaultError::category`] to an exit code; runtimes use [`VaultError::class`].

use std::path::PathBuf;

use crate::fsutil::FsError;
use crate::identity::IdentityError;

/// Errors of the bucket I/O layer ([`crate::store`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The object does not exist.
    #[error("`{key}` does not exist in {store}")]
    NotFound {
        /// Redacted store description, e.g. `s3://bucket at http://host:port`.
        store: String,
        /// Object key.
        key: String,
    },
    /// A create-only write found the object already there.
    #[error("`{key}` already exists in {store}; create-only write refused")]
    AlreadyExists {
        /// Redacted store description.
        store: String,
        /// Object key.
        key: String,
    },
    /// A compare-and-swap write found a different ETag (or a missing object).
    #[error("`{key}` in {store} changed since it was read; read it again and retry")]
    Conflict {
        /// Redacted store description.
        store: String,
        /// Object key.
        key: String,
    },
    /// Connection refused, DNS failure, TLS failure or timeout.
    #[error(
        "cannot reach {endpoint} ({reason}); check the endpoint URL and the network, then retry"
    )]
    Unreachable {
        /// The endpoint (no credentials), e.g. `http://127.0.0.1:8333`.
        endpoint: String,
        /// Short cause: `connection refused`, `timed out`, ….
        reason: String,
    },
    /// The store rejected the credentials or the request (HTTP 401/403).
    #[error("{store} denied access ({code}); {fix}")]
    AccessDenied {
        /// Redacted store description.
        store: String,
        /// The service's error code or HTTP status, e.g. `SignatureDoesNotMatch`.
        code: String,
        /// What to check, for this kind of store (names variables and settings, never values).
        fix: &'static str,
    },
    /// The bucket itself does not exist (S3 and GCS `NoSuchBucket`, Azure `ContainerNotFound`).
    #[error("{store}: the bucket does not exist; create it or fix the bucket name in the config")]
    BucketMissing {
        /// Redacted store description.
        store: String,
    },
    /// The store cannot do what was asked (e.g. conditional writes).
    #[error("{store} does not support {what}")]
    Unsupported {
        /// Redacted store description.
        store: String,
        /// What is missing, e.g. `conditional writes (If-Match)`.
        what: &'static str,
    },
    /// The store URL or configuration is invalid.
    #[error("invalid store location `{url}`: {reason}")]
    InvalidUrl {
        /// The URL with any user-info removed.
        url: String,
        /// Why it was rejected.
        reason: String,
    },
    /// An object bigger than anything vsync writes under its name.
    #[error(
        "`{key}` in {store} is {size} bytes or more, more than the {max} vsync ever writes there: it was not written by vsync; restore it from the bucket's versioning or remove it"
    )]
    TooLarge {
        /// Redacted store description.
        store: String,
        /// Object key.
        key: String,
        /// Its size as stated, or the bytes read before the read stopped.
        size: u64,
        /// The most this kind of object may be.
        max: u64,
    },
    /// Anything else.
    #[error("{op} `{key}` on {store} failed: {detail}")]
    Other {
        /// Redacted store description.
        store: String,
        /// Operation: `get`, `put`, `list`, `delete`.
        op: &'static str,
        /// Object key or prefix.
        key: String,
        /// A short, credential-free detail (status code, S3 error code, I/O error kind).
        detail: String,
    },
}

/// Coarse classification of a [`VaultError`], for exit codes (docs/decisions.md §6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Category {
    /// Any other failure (exit 1).
    Failed,
    /// Nothing there: no pointer, missing version (exit 3).
    NotFound,
    /// Corrupt data, wrong key, seal mismatch, rollback (exit 4).
    Integrity,
    /// Remote advanced, same-second push, lost CAS (exit 5).
    Conflict,
    /// The user's own input cannot be used as it is: a vault over the bundle limits, a vault
    /// folder outside the checkout (exit 2).
    Usage,
}

/// The aggregate error of the vault crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// Bucket I/O failed.
    #[error(transparent)]
    Store(#[from] StoreError),

    /// Corrupt data or wrong key. `class` is a stable name from docs/formats.md §14.1
    /// (`WrongPassphraseError`, `BundleCorruptError`, …).
    #[error("integrity check failed ({class}): {reason}")]
    Integrity {
        /// Stable class name.
        class: &'static str,
        /// What was wrong (no secret material).
        reason: String,
    },

    /// The `latest` pointer moved since it was read: someone else pushed.
    #[error(
        "remote advanced: `latest` is now {remote_ts}, your push was based on {local_ts}; pull first, then push again"
    )]
    RemoteAdvanced {
        /// What the pointer names now (`-` when unknown or absent).
        remote_ts: String,
        /// What this publish expected (`-` for "no pointer").
        local_ts: String,
    },

    /// `versions/<ts>.enc` already exists: another push in the same second.
    #[error("version {ts} already exists (another push in the same second); retry the push")]
    VersionExists {
        /// The timestamp that collided.
        ts: String,
    },

    /// The pointer would move backwards (docs/decisions.md §2).
    #[error(
        "`latest` points to {remote_ts}, older than {seen_ts} already seen on this machine (or required by VSYNC_MIN_TS or the runtime token); possible rollback of the bucket — check with your team, or pass --allow-rollback"
    )]
    Rollback {
        /// What the pointer names.
        remote_ts: String,
        /// The floor: the highest timestamp this machine has seen, or a given minimum.
        seen_ts: String,
    },

    /// No `latest` pointer (or an empty one): nothing was pushed yet.
    #[error("nothing pushed yet for this repo and env; run `vsync push` first")]
    NothingPushed,

    /// The pointer names a version object that does not exist.
    #[error(
        "version {ts} is missing from the bucket (torn state or pruned); run `vsync versions` and pull another version"
    )]
    VersionMissing {
        /// The missing timestamp.
        ts: String,
    },

    /// The env file cannot be parsed.
    #[error("env file line {line}: {reason}; fix that line")]
    EnvFile {
        /// 1-based line number.
        line: usize,
        /// What is wrong (never the value).
        reason: &'static str,
    },

    /// An env-file line whose value is not UTF-8: it cannot be synced or exported without
    /// changing it, so it is refused instead of being turned into U+FFFD.
    #[error(
        "env file line {line}: the value of {key} is not valid UTF-8; save the file as UTF-8 (or move binary content into an asset file)"
    )]
    EnvValueNotUtf8 {
        /// 1-based line number.
        line: usize,
        /// The key (escaped for display), or `(unreadable key)` when the key itself is not UTF-8.
        key: String,
    },

    /// A vault folder that is not a plain relative folder inside the checkout
    /// ([`crate::vault_folder`]).
    #[error(
        "vault folder `{folder}` is refused ({reason}); files.vaultFolder must be a relative folder inside the checkout, like infra/vault/dev"
    )]
    BadVaultFolder {
        /// The folder text (escaped, shortened).
        folder: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// The vault is bigger than a bundle may be ([`crate::limits`]); refused before anything
    /// is uploaded, because every reader would refuse the bundle.
    #[error(
        "the vault is too big to push: at `{path}` it passes the limit of {limit} {what} per bundle; move large or numerous files out of the vault folder"
    )]
    VaultTooBig {
        /// The file or folder (vault-relative, escaped) at which the limit is passed.
        path: String,
        /// `entries` or `bytes`.
        what: &'static str,
        /// The limit.
        limit: u64,
    },

    /// A symlink under the vault (docs/formats.md §5.2).
    #[error(
        "symlink in the vault at `{path}`: symlinks are not supported; copy the content or move the link out"
    )]
    Symlink {
        /// The offending path.
        path: String,
    },

    /// A name in the vault that cannot be stored (not UTF-8, or unsafe).
    #[error("unsupported file name in the vault: `{path}` ({reason}); rename it")]
    BadVaultName {
        /// The name, lossily decoded.
        path: String,
        /// Why.
        reason: &'static str,
    },

    /// A zip entry with an unsafe name or type.
    #[error("bundle contains an unsafe entry `{path}` ({reason}); refusing to extract anything")]
    UnsafeZipPath {
        /// The entry name (escaped for display).
        path: String,
        /// Why it is unsafe.
        reason: &'static str,
    },

    /// The zip exceeds the configured limits (zip bomb guard).
    #[error("bundle exceeds the {what} limit of {limit}; refusing to extract it")]
    ZipLimit {
        /// `entries` or `uncompressed bytes`.
        what: &'static str,
        /// The limit.
        limit: u64,
    },

    /// The zip is malformed or uses an unsupported feature.
    #[error("bundle zip is unreadable ({reason}); the bundle may be corrupt")]
    Zip {
        /// A short cause.
        reason: String,
    },

    /// Repo identity could not be resolved or the pin file is wrong.
    #[error(transparent)]
    Identity(#[from] IdentityError),

    /// The ledger file is not valid (docs/formats.md §9.6).
    #[error("ledger {path} is malformed ({reason}); fix or delete it, then pull")]
    LedgerMalformed {
        /// Ledger path.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// The generation cell `latest.manifest` is not valid (docs/formats.md §11.7).
    #[error("`{key}` is malformed ({reason}); fix or delete it")]
    ManifestMalformed {
        /// Object key.
        key: String,
        /// What is wrong.
        reason: String,
    },

    /// A timestamp does not have the expected shape.
    #[error("`{text}` is not a valid {what} timestamp")]
    BadTimestamp {
        /// The offending text (timestamps are not secret).
        text: String,
        /// `BUNDLE_TS` or `ISO_TS`.
        what: &'static str,
    },

    /// An env-file key ending in the file-reference suffix names a file that cannot be read.
    #[error("env key {key}: cannot read the referenced file ({kind}); fix the path")]
    EnvRefUnreadable {
        /// The env key (before the suffix is removed).
        key: String,
        /// Why it cannot be read.
        kind: std::io::ErrorKind,
    },

    /// An env-file key ending in the file-reference suffix names a file that is not UTF-8.
    #[error("env key {key}: the referenced file is not UTF-8 text")]
    EnvRefNotUtf8 {
        /// The env key (before the suffix is removed).
        key: String,
    },

    /// The vault folder to push does not exist.
    #[error(
        "vault folder {} does not exist; create it and add the .env file",
        path.display()
    )]
    VaultFolderMissing {
        /// The folder.
        path: PathBuf,
    },

    /// The vault folder is a file (or something else that is not a directory).
    #[error("vault folder {} is not a directory{advice}", path.display())]
    VaultFolderNotDirectory {
        /// The folder.
        path: PathBuf,
        /// What to do, with its leading `; ` (empty when the caller says nothing more).
        advice: &'static str,
    },

    /// A file in the vault changed size while it was being read into the bundle.
    #[error("{} changed while it was being pushed; push again", path.display())]
    ChangedDuringPush {
        /// The file.
        path: PathBuf,
    },

    /// A publish whose timestamp is not newer than the pointer it replaces.
    #[error("new version {ts} must be newer than the current {current}; check the clock")]
    NotNewer {
        /// The new version.
        ts: String,
        /// What `latest` names now.
        current: String,
    },

    /// A repo identity that cannot be used in an object key.
    #[error("`{text}` is not a valid repo identity ([a-z0-9._], at most 100 characters)")]
    BadRepoIdentity {
        /// The identity, escaped for display.
        text: String,
    },

    /// An env name that cannot be used in an object key.
    #[error("`{text}` is not a valid env name (expected ^[a-z][a-z0-9_-]*$)")]
    BadEnvName {
        /// The env name, escaped for display.
        text: String,
    },

    /// A key prefix (a config's `prefix`) that cannot be used.
    #[error("`{text}` is not a usable key prefix")]
    BadPrefix {
        /// The prefix, escaped for display.
        text: String,
    },

    /// A local file-system operation failed (what was being done, the path, the OS error).
    #[error(transparent)]
    Io(#[from] FsError),
}

impl VaultError {
    /// Shorthand for [`VaultError::Io`].
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io(FsError {
            action: op,
            path: path.into(),
            source,
        })
    }

    /// The exit-code category (docs/decisions.md §6).
    pub fn category(&self) -> Category {
        match self {
            Self::Store(StoreError::NotFound { .. })
            | Self::NothingPushed
            | Self::VersionMissing { .. } => Category::NotFound,
            Self::Integrity { .. }
            | Self::Rollback { .. }
            | Self::UnsafeZipPath { .. }
            | Self::ZipLimit { .. }
            | Self::Zip { .. }
            | Self::Store(StoreError::TooLarge { .. }) => Category::Integrity,
            Self::RemoteAdvanced { .. }
            | Self::VersionExists { .. }
            | Self::Store(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => {
                Category::Conflict
            }
            Self::BadVaultFolder { .. } | Self::VaultTooBig { .. } => Category::Usage,
            _ => Category::Failed,
        }
    }

    /// A stable class name in the spirit of docs/formats.md §14 (CLI and runtime classes).
    pub fn class(&self) -> &'static str {
        match self {
            Self::Store(StoreError::NotFound { .. }) => "NotFoundError",
            Self::Store(StoreError::Unreachable { .. }) => "S3UnreachableError",
            Self::Store(StoreError::AccessDenied { .. }) => "AccessDeniedError",
            Self::Store(StoreError::Conflict { .. } | StoreError::AlreadyExists { .. }) => {
                "ConflictError"
            }
            Self::Store(_) => "StoreError",
            Self::Integrity { class, .. } => class,
            Self::RemoteAdvanced { .. } => "RemoteAheadError",
            Self::VersionExists { .. } => "RemoteAheadError",
            Self::Rollback { .. } => "RollbackError",
            Self::NothingPushed => "ManifestNotFoundError",
            Self::VersionMissing { .. } => "BundleCorruptError",
            Self::EnvFile { .. } | Self::EnvValueNotUtf8 { .. } => "EnvFileError",
            Self::BadVaultFolder { .. } => "VaultFolderError",
            Self::VaultTooBig { .. } => "VaultTooBigError",
            Self::Symlink { .. } => "SymlinkInVaultError",
            Self::BadVaultName { .. } => "VaultNameError",
            Self::UnsafeZipPath { .. } | Self::ZipLimit { .. } | Self::Zip { .. } => {
                "BundleCorruptError"
            }
            Self::Identity(e) => e.class(),
            Self::LedgerMalformed { .. } => "LedgerMalformedError",
            Self::ManifestMalformed { .. } => "ManifestMalformedError",
            Self::BadTimestamp { .. } => "TimestampError",
            Self::EnvRefUnreadable { .. }
            | Self::EnvRefNotUtf8 { .. }
            | Self::VaultFolderMissing { .. }
            | Self::VaultFolderNotDirectory { .. }
            | Self::ChangedDuringPush { .. }
            | Self::NotNewer { .. }
            | Self::BadRepoIdentity { .. }
            | Self::BadEnvName { .. }
            | Self::BadPrefix { .. } => "InvalidArgumentError",
            Self::Io(_) => "IoError",
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = VaultError> = std::result::Result<T, E>;
