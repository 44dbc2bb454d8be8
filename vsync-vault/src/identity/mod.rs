//! Repo identity (docs/formats.md §13): `normalize`, `parseRemoteUrl`, the `.vsync` pin file, and the
//! resolution chain `--repo` → `.vsync` → `origin` remote → error.
//!
//! Git is read natively: the top level is found by walking up to a `.git` directory or file
//! (`gitdir:` for linked worktrees and submodules), and `remote.origin.url` is read from the
//! repository's config file (plus `[include] path` files and `config.worktree`). `includeIf`
//! sections, system/global config and `GIT_DIR` are not consulted.

mod error;
mod git_config;
mod git_repo;
mod normalize;
mod pin;
mod resolve;

pub use error::IdentityError;
pub use git_config::ConfigEntry;
pub use git_repo::{GitRepo, find_git_repo, origin_url};
pub use normalize::{
    MAX_IDENTITY_LEN, RESERVED, check_reserved, normalize, parse_remote_url, redact_url,
};
pub use pin::{
    PIN_DOCS_URL, PIN_FILE, PinFile, PinWrite, parse_pin, pin_text, read_pin, write_pin,
};
pub use resolve::{Identity, Source, resolve, resolve_for_import};
