//! [`IdentityError`]: why the repo identity could not be resolved, with the fix in the message.

use std::path::PathBuf;

use crate::fsutil::FsError;

/// Errors of identity resolution (docs/formats.md §13.1).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// No `.git` above the current directory.
    #[error(
        "not inside a git repository (cwd: {cwd}); vsync needs one: `cd` into a checkout, or `git init` and add an origin"
    )]
    NotInGitRepo {
        /// Where the search started.
        cwd: PathBuf,
    },
    /// No flag, no pin, no usable origin.
    #[error(
        "cannot tell which repository this is (toplevel {root}, origin {}, .vsync absent, --repo absent); add an origin remote, pin it with `vsync init <env> --repo=<name>`, or pass --repo",
        origin.as_deref().unwrap_or("not set")
    )]
    RepoIdentityUnresolved {
        /// The git top level.
        root: PathBuf,
        /// The origin URL with user-info removed, if one is set.
        origin: Option<String>,
    },
    /// The `.vsync` file cannot be used.
    #[error(
        "{path} is malformed ({reason}{}); expected `key=value` lines with `repo=<name>`; starts with: \"{preview}\"; fix or delete it",
        line.map(|l| format!(" at line {l}")).unwrap_or_default()
    )]
    VsyncFileMalformed {
        /// The pin file.
        path: PathBuf,
        /// 1-based line, when one line is at fault.
        line: Option<usize>,
        /// What is wrong.
        reason: &'static str,
        /// The first ~80 characters of the file (it holds no secrets).
        preview: String,
    },
    /// `--repo` (or a write) disagrees with the committed pin.
    #[error(
        "--repo={requested} differs from the identity pinned in {path} ({pinned}); the pin is a team-wide contract: rename it in a commit to .vsync, or drop the flag"
    )]
    VsyncFileClobber {
        /// The pin file.
        path: PathBuf,
        /// What the pin says.
        pinned: String,
        /// What was requested.
        requested: String,
    },
    /// Import: the pin and the share file name different repos.
    #[error(
        "the share is for repo {share} but {path} pins {pinned}; check you have the right file, delete the pin deliberately, or pass --repo"
    )]
    ShareRepoMismatch {
        /// The pin file.
        path: PathBuf,
        /// What the pin says.
        pinned: String,
        /// What the share says.
        share: String,
    },
    /// The normalised identity is longer than 100 characters.
    #[error("repo identity is {len} characters long (max 100); pass --repo=<short name>")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// The identity is `profiles` or `backups`.
    #[error("`{name}` cannot be a repo identity (reserved); choose another via --repo or .vsync")]
    Reserved {
        /// The reserved name.
        name: String,
    },
    /// `--repo` normalises to nothing.
    #[error(
        "--repo value has no usable characters (allowed: a-z 0-9 . _ and separators / -); pass another name"
    )]
    EmptyFlag,
    /// Reading git metadata or the pin failed.
    #[error(transparent)]
    Io(#[from] FsError),
}

impl IdentityError {
    /// Stable class name (docs/formats.md §14.2).
    pub fn class(&self) -> &'static str {
        match self {
            Self::NotInGitRepo { .. } => "NotInGitRepoError",
            Self::RepoIdentityUnresolved { .. } | Self::EmptyFlag => "RepoIdentityUnresolvedError",
            Self::VsyncFileMalformed { .. } => "VsyncFileMalformedError",
            Self::VsyncFileClobber { .. } => "VsyncFileClobberError",
            Self::ShareRepoMismatch { .. } => "ShareRepoMismatchError",
            Self::TooLong { .. } => "IdentityTooLongError",
            Self::Reserved { .. } => "ReservedIdentityError",
            Self::Io(_) => "IoError",
        }
    }
}

pub(crate) type Result<T, E = IdentityError> = std::result::Result<T, E>;
