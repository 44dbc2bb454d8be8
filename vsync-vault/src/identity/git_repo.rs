//! Finding the git repository natively: the top level (a `.git` directory, or a `gitdir:` file
//! for linked worktrees and submodules), the common directory, the vault root, and
//! `remote.origin.url` from the config files (following `[include] path`).

use std::path::{Path, PathBuf};

use super::error::{IdentityError, Result};
use super::git_config::parse_git_config;
use crate::fsutil::FsError;

/// Where the git repository is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitRepo {
    /// The current worktree's top level (`<root>`).
    pub root: PathBuf,
    /// This worktree's git directory (`.git`, or `.git/worktrees/<name>`).
    pub git_dir: PathBuf,
    /// The common git directory (holds `config`); equals `git_dir` outside linked worktrees.
    pub common_dir: PathBuf,
    /// The vault root (`<vroot>`, docs/formats.md §13.7): the main worktree's top level inside a linked
    /// worktree, else `root`.
    pub vroot: PathBuf,
}

impl GitRepo {
    /// Inside a linked worktree?
    pub fn is_linked_worktree(&self) -> bool {
        self.git_dir != self.common_dir
    }
}

fn io_err<'a>(
    op: &'static str,
    path: &'a Path,
) -> impl FnOnce(std::io::Error) -> IdentityError + 'a {
    move |source| FsError::new(op, path, source).into()
}

fn looks_like_git_dir(dir: &Path) -> bool {
    dir.join("HEAD").is_file() && (dir.join("objects").is_dir() || dir.join("commondir").is_file())
}

/// Read a `gitdir: <path>` file (relative paths resolve against the file's directory).
fn read_gitdir_file(file: &Path) -> Result<Option<PathBuf>> {
    let text = std::fs::read_to_string(file).map_err(io_err("read", file))?;
    let Some(rest) = text.trim_end_matches(['\n', '\r']).strip_prefix("gitdir:") else {
        return Ok(None);
    };
    let p = PathBuf::from(rest.trim());
    let base = file.parent().unwrap_or(Path::new("."));
    Ok(Some(if p.is_absolute() { p } else { base.join(p) }))
}

/// Find the git top level by walking up from `start` to a `.git` directory or file.
pub fn find_git_repo(start: &Path) -> Result<GitRepo> {
    let not_found = || IdentityError::NotInGitRepo {
        cwd: start.to_path_buf(),
    };
    let start_abs = std::fs::canonicalize(start).map_err(|_| not_found())?;
    for dir in start_abs.ancestors() {
        let dotgit = dir.join(".git");
        let Ok(meta) = std::fs::metadata(&dotgit) else {
            continue;
        };
        let git_dir = if meta.is_dir() {
            if !looks_like_git_dir(&dotgit) {
                continue;
            }
            dotgit
        } else {
            match read_gitdir_file(&dotgit)? {
                Some(p) if p.is_dir() => std::fs::canonicalize(&p).unwrap_or(p),
                _ => continue,
            }
        };
        let common_dir = match std::fs::read_to_string(git_dir.join("commondir")) {
            Ok(text) => {
                let p = PathBuf::from(text.trim_end_matches(['\n', '\r']));
                let p = if p.is_absolute() { p } else { git_dir.join(p) };
                std::fs::canonicalize(&p).unwrap_or(p)
            }
            Err(_) => git_dir.clone(),
        };
        let root = dir.to_path_buf();
        let vroot = if git_dir != common_dir && common_dir.file_name() == Some(".git".as_ref()) {
            common_dir
                .parent()
                .map_or_else(|| root.clone(), Path::to_path_buf)
        } else {
            root.clone()
        };
        return Ok(GitRepo {
            root,
            git_dir,
            common_dir,
            vroot,
        });
    }
    Err(not_found())
}

/// `remote.origin.url` from the repository config (last value wins, like `git config --get`).
pub fn origin_url(repo: &GitRepo) -> Result<Option<String>> {
    let mut found = None;
    let mut depth = 0;
    read_config_key(
        &repo.common_dir.join("config"),
        "remote",
        Some("origin"),
        "url",
        &mut found,
        &mut depth,
    )?;
    let wt = repo.git_dir.join("config.worktree");
    if wt.is_file() {
        read_config_key(&wt, "remote", Some("origin"), "url", &mut found, &mut depth)?;
    }
    Ok(found)
}

/// Minimal git-config reader for one key; follows `[include] path`.
fn read_config_key(
    file: &Path,
    section: &str,
    subsection: Option<&str>,
    key: &str,
    found: &mut Option<String>,
    depth: &mut u32,
) -> Result<()> {
    if *depth > 10 {
        return Ok(());
    }
    let text = match std::fs::read(file) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("read", file)(e)),
    };
    let entries = parse_git_config(&text);
    for entry in entries {
        if entry.section == "include" && entry.subsection.is_none() && entry.key == "path" {
            if let Some(v) = entry.value {
                let p = expand_include_path(&v, file);
                *depth += 1;
                read_config_key(&p, section, subsection, key, found, depth)?;
                *depth -= 1;
            }
            continue;
        }
        if entry.section == section && entry.subsection.as_deref() == subsection && entry.key == key
        {
            *found = entry.value;
        }
    }
    Ok(())
}

fn expand_include_path(v: &str, file: &Path) -> PathBuf {
    if let Some(rest) = v.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    let p = PathBuf::from(v);
    if p.is_absolute() {
        p
    } else {
        file.parent().unwrap_or(Path::new(".")).join(p)
    }
}
