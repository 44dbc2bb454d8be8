//! The resolution chain (docs/formats.md §13.1, §13.5): `--repo` → `.vsync` → the `origin` remote
//! (or, for `import`, the share's repo) → error.

use std::path::Path;

use super::error::{IdentityError, Result};
use super::git_repo::{GitRepo, find_git_repo, origin_url};
use super::normalize::{check_reserved, normalize, parse_remote_url, redact_url};
use super::pin::{PIN_FILE, read_pin};

/// Where the identity came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `--repo`.
    Flag,
    /// `.vsync`.
    Pin,
    /// The `origin` remote.
    Origin,
    /// The share file (import only).
    Share,
}

/// A resolved identity plus the context `status` and `doctor` show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The identity, `[a-z0-9._]{1,100}`.
    pub name: String,
    /// Which source won.
    pub source: Source,
    /// The git layout.
    pub repo: GitRepo,
    /// The origin URL (user-info removed), if set.
    pub origin_url: Option<String>,
    /// The identity pinned in `.vsync`, if any.
    pub pinned: Option<String>,
}

fn finish(
    name: String,
    source: Source,
    repo: GitRepo,
    origin: Option<String>,
    pinned: Option<String>,
) -> Result<Identity> {
    check_reserved(&name)?;
    Ok(Identity {
        name,
        source,
        repo,
        origin_url: origin.as_deref().map(redact_url),
        pinned,
    })
}

/// The identity `--repo` names; refused when it differs from the committed pin.
fn flag_identity(flag: &str, pinned: Option<&str>, repo: &GitRepo) -> Result<String> {
    let name = normalize(flag)?.ok_or(IdentityError::EmptyFlag)?;
    match pinned {
        Some(p) if p != name => Err(IdentityError::VsyncFileClobber {
            path: repo.root.join(PIN_FILE),
            pinned: p.to_owned(),
            requested: name,
        }),
        _ => Ok(name),
    }
}

/// Resolve the identity from `cwd` (docs/formats.md §13.1): `--repo` → `.vsync` → origin → error.
/// A `--repo` that differs from an existing pin is [`IdentityError::VsyncFileClobber`].
pub fn resolve(cwd: &Path, flag: Option<&str>) -> Result<Identity> {
    let repo = find_git_repo(cwd)?;
    let pin = read_pin(&repo.root)?;
    let pinned = pin.as_ref().map(|p| p.repo.clone());
    let origin = origin_url(&repo)?;
    if let Some(flag) = flag {
        let name = flag_identity(flag, pinned.as_deref(), &repo)?;
        return finish(name, Source::Flag, repo, origin, pinned);
    }
    if let Some(p) = pinned.clone() {
        return finish(p, Source::Pin, repo, origin, pinned);
    }
    if let Some(url) = &origin
        && let Some(name) = parse_remote_url(url)
            .map(|p| normalize(&p))
            .transpose()?
            .flatten()
    {
        return finish(name, Source::Origin, repo, origin, pinned);
    }
    Err(IdentityError::RepoIdentityUnresolved {
        root: repo.root,
        origin: origin.as_deref().map(redact_url),
    })
}

/// Resolve the identity for `import` (docs/formats.md §13.5): `--repo` → `.vsync` → the share's repo.
/// Pin vs share mismatch without a flag is [`IdentityError::ShareRepoMismatch`]; flag vs pin
/// mismatch is [`IdentityError::VsyncFileClobber`]; flag vs share: the flag wins.
pub fn resolve_for_import(cwd: &Path, flag: Option<&str>, share_repo: &str) -> Result<Identity> {
    let repo = find_git_repo(cwd)?;
    let pin = read_pin(&repo.root)?;
    let pinned = pin.as_ref().map(|p| p.repo.clone());
    let origin = origin_url(&repo)?;
    let share = normalize(share_repo)?;
    if let Some(flag) = flag {
        let name = flag_identity(flag, pinned.as_deref(), &repo)?;
        return finish(name, Source::Flag, repo, origin, pinned);
    }
    if let Some(p) = pinned.clone() {
        if let Some(s) = &share
            && *s != p
        {
            return Err(IdentityError::ShareRepoMismatch {
                path: repo.root.join(PIN_FILE),
                pinned: p,
                share: s.clone(),
            });
        }
        return finish(p, Source::Pin, repo, origin, pinned);
    }
    match share {
        Some(s) => finish(s, Source::Share, repo, origin, pinned),
        None => Err(IdentityError::RepoIdentityUnresolved {
            root: repo.root,
            origin: origin.as_deref().map(redact_url),
        }),
    }
}
