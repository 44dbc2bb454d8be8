//! Repo identity (docs/formats.md §13): `normalize`, `parseRemoteUrl`, the `.vsync` pin file, and the
//! resolution chain `--repo` → `.vsync` → `origin` remote → error.
//!
//! Git is read natively: the top level is found by walking up to a `.git` directory or file
//! (`gitdir:` for linked worktrees and submodules), and `remote.origin.url` is read from the
//! repository's config file (plus `[include] path` files and `config.worktree`). `includeIf`
//! sections, system/global config and `GIT_DIR` are not consulted.

use std::path::{Path, PathBuf};

/// Maximum length of a normalised identity (docs/formats.md §13.2).
pub const MAX_IDENTITY_LEN: usize = 100;

/// Names that must not be identities (their config directories would collide).
pub const RESERVED: [&str; 3] = ["profiles", "backups", "plugins"];

/// Documentation link written into a new `.vsync` file.
pub const PIN_DOCS_URL: &str = "https://github.com/vsync-rs/vsync/blob/main/docs/repo-identity.md";

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
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
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
            Self::Io { .. } => "IoError",
        }
    }
}

type Result<T, E = IdentityError> = std::result::Result<T, E>;

fn is_js_ws(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{0B}' | '\u{0C}' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\n'
                | '\r'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{FEFF}'
    )
}

fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// `normalize(s)` of docs/formats.md §13.2: trim, lower-case, runs of `/` or `-` → `_`, drop everything
/// outside `[a-z0-9._]`. `Ok(None)` when nothing is left; an error when longer than 100.
pub fn normalize(s: &str) -> Result<Option<String>> {
    let lowered = s.trim_matches(is_js_ws).to_lowercase();
    let mut out = String::with_capacity(lowered.len());
    let mut in_sep = false;
    for c in lowered.chars() {
        if c == '/' || c == '-' {
            if !in_sep {
                out.push('_');
            }
            in_sep = true;
            continue;
        }
        in_sep = false;
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_' {
            out.push(c);
        }
    }
    if out.is_empty() {
        return Ok(None);
    }
    if out.len() > MAX_IDENTITY_LEN {
        return Err(IdentityError::TooLong { len: out.len() });
    }
    Ok(Some(out))
}

/// Refuse reserved identities (`profiles`, `backups`, compared case-insensitively).
pub fn check_reserved(identity: &str) -> Result<()> {
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(identity)) {
        return Err(IdentityError::Reserved {
            name: identity.to_owned(),
        });
    }
    Ok(())
}

fn strip_git_suffix(s: &str) -> &str {
    s.strip_suffix(".git/")
        .or_else(|| s.strip_suffix(".git"))
        .unwrap_or(s)
}

/// `parseRemoteUrl(url)` of docs/formats.md §13.3, quirks included (ports leak into scp-like matches,
/// `.git` stripping is case-sensitive). Returns a path-like string or `None`.
pub fn parse_remote_url(url: &str) -> Option<String> {
    let url = url.trim_matches(is_js_ws);
    // 1. scp-like: ^[^@\s]+@[^:\s]+:(.+)$
    if let Some((user, after)) = url.split_once('@')
        && !user.is_empty()
        && !user.chars().any(is_js_ws)
        && let Some((host, rest)) = after.split_once(':')
        && !host.is_empty()
        && !host.chars().any(is_js_ws)
        && !rest.is_empty()
        && !rest.chars().any(is_line_terminator)
    {
        return Some(strip_git_suffix(rest).to_owned());
    }
    // 2. URL form: ^([a-z][a-z0-9+.-]*)://(.+)$ (case-insensitive)
    let (scheme, rest) = url.split_once("://")?;
    let mut chars = scheme.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let scheme_ok =
        first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '.' || c == '-');
    if !scheme_ok || rest.is_empty() || rest.chars().any(is_line_terminator) {
        return None;
    }
    let mut rest = rest;
    if let Some(at) = rest.find('@') {
        match rest.find('/') {
            Some(slash) if at > slash => {}
            _ => rest = &rest[at + 1..],
        }
    }
    if scheme.eq_ignore_ascii_case("file") {
        let last = rest.split('/').rev().find(|seg| !seg.is_empty())?;
        let name = strip_git_suffix(last);
        return (!name.is_empty()).then(|| name.to_owned());
    }
    let (_, path) = rest.split_once('/')?;
    if path.is_empty() {
        return None;
    }
    Some(strip_git_suffix(path).to_owned())
}

/// Remove user-info from a URL for display (`https://user:tok@host/x` → `https://host/x`).
pub fn redact_url(url: &str) -> String {
    let url = url.trim();
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            return format!("{scheme}://{}", &rest[at + 1..]);
        }
    }
    url.to_owned()
}

// ---------------------------------------------------------------------------------------------
// The .vsync pin file (docs/formats.md §13.4)

/// File name of the pin, at the git top level.
pub const PIN_FILE: &str = ".vsync";

/// A parsed `.vsync` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinFile {
    /// Every `key=value` pair in file order (duplicates kept; the last one wins on lookup).
    pub entries: Vec<(String, String)>,
    /// The normalised `repo` value.
    pub repo: String,
}

impl PinFile {
    /// Look up a key (last occurrence wins).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

fn preview(text: &str) -> String {
    let mut p: String = text.chars().take(80).collect();
    if text.chars().count() > 80 {
        p.push('…');
    }
    p.escape_debug().to_string()
}

fn valid_pin_key(k: &str) -> bool {
    let mut cs = k.chars();
    cs.next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parse `.vsync` text (docs/formats.md §13.4). `path` is only used in errors.
pub fn parse_pin(text: &str, path: &Path) -> Result<PinFile> {
    let malformed = |line: Option<usize>, reason: &'static str| IdentityError::VsyncFileMalformed {
        path: path.to_path_buf(),
        line,
        reason,
        preview: preview(text),
    };
    let mut entries = Vec::new();
    for (idx, raw) in text.split('\n').enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        let lead_trimmed = line.trim_start_matches(is_js_ws);
        if lead_trimmed.is_empty() || lead_trimmed.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            return Err(malformed(Some(idx + 1), "a line without `=`"));
        };
        let key = k.trim_matches(is_js_ws);
        if !valid_pin_key(key) {
            return Err(malformed(Some(idx + 1), "invalid key"));
        }
        let value = v.trim_end_matches(is_js_ws);
        entries.push((key.to_owned(), value.to_owned()));
    }
    let raw_repo = entries
        .iter()
        .rev()
        .find(|(k, _)| k == "repo")
        .map(|(_, v)| v.as_str());
    let Some(raw_repo) = raw_repo.filter(|v| !v.is_empty()) else {
        return Err(malformed(None, "no `repo` value"));
    };
    let Some(repo) = normalize(raw_repo)? else {
        return Err(malformed(None, "`repo` has no usable characters"));
    };
    Ok(PinFile { entries, repo })
}

/// Read `<root>/.vsync`; `Ok(None)` when absent.
pub fn read_pin(root: &Path) -> Result<Option<PinFile>> {
    let path = root.join(PIN_FILE);
    match std::fs::read(&path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            parse_pin(&text, &path).map(Some)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(IdentityError::Io {
            op: "read",
            path,
            source: e,
        }),
    }
}

/// The text of a new pin file.
pub fn pin_text(identity: &str) -> String {
    format!(
        "# .vsync — vsync identity pin (commit this file)\n# Docs: {PIN_DOCS_URL}\nrepo={identity}\n"
    )
}

/// Outcome of [`write_pin`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinWrite {
    /// The file was created.
    Written,
    /// The file already pinned the same identity; nothing changed.
    Unchanged,
}

/// Write `<root>/.vsync` (mode 0644) when absent; a no-op when it pins the same identity;
/// [`IdentityError::VsyncFileClobber`] when it pins another one (the file is never rewritten).
pub fn write_pin(root: &Path, identity: &str) -> Result<PinWrite> {
    let path = root.join(PIN_FILE);
    let check_existing = |pin: Option<PinFile>| -> Result<Option<PinWrite>> {
        match pin {
            Some(p) if p.repo == identity => Ok(Some(PinWrite::Unchanged)),
            Some(p) => Err(IdentityError::VsyncFileClobber {
                path: path.clone(),
                pinned: p.repo,
                requested: identity.to_owned(),
            }),
            None => Ok(None),
        }
    };
    if let Some(done) = check_existing(read_pin(root)?)? {
        return Ok(done);
    }
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o644);
    }
    match o.open(&path) {
        Ok(mut f) => {
            use std::io::Write;
            f.write_all(pin_text(identity).as_bytes())
                .map_err(|e| IdentityError::Io {
                    op: "write",
                    path: path.clone(),
                    source: e,
                })?;
            Ok(PinWrite::Written)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            // Someone wrote it concurrently: judge what is there now.
            check_existing(read_pin(root)?)?.ok_or_else(|| IdentityError::Io {
                op: "create",
                path: path.clone(),
                source: e,
            })
        }
        Err(e) => Err(IdentityError::Io {
            op: "create",
            path,
            source: e,
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Git discovery

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
    move |source| IdentityError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
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
    for (sec, sub, k, v) in entries {
        if sec == "include" && sub.is_none() && k == "path" {
            if let Some(v) = v {
                let p = expand_include_path(&v, file);
                *depth += 1;
                read_config_key(&p, section, subsection, key, found, depth)?;
                *depth -= 1;
            }
            continue;
        }
        if sec == section && sub.as_deref() == subsection && k == key {
            *found = v;
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

/// Parse git-config text into (section lower-cased, subsection, key lower-cased, value).
/// A key without `=` is boolean true (`None` value).
pub(crate) fn parse_git_config(
    text: &str,
) -> Vec<(String, Option<String>, String, Option<String>)> {
    let mut out = Vec::new();
    let mut section = String::new();
    let mut subsection: Option<String> = None;
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let n = chars.len();
    while i < n {
        // skip whitespace
        while i < n && (chars[i] == ' ' || chars[i] == '\t' || chars[i] == '\n' || chars[i] == '\r')
        {
            i += 1;
        }
        if i >= n {
            break;
        }
        match chars[i] {
            '#' | ';' => {
                while i < n && chars[i] != '\n' {
                    i += 1;
                }
            }
            '[' => {
                i += 1;
                let mut name = String::new();
                while i < n
                    && chars[i] != ']'
                    && chars[i] != '"'
                    && chars[i] != ' '
                    && chars[i] != '\t'
                    && chars[i] != '\n'
                {
                    name.push(chars[i]);
                    i += 1;
                }
                while i < n && (chars[i] == ' ' || chars[i] == '\t') {
                    i += 1;
                }
                let mut sub = None;
                if i < n && chars[i] == '"' {
                    i += 1;
                    let mut s = String::new();
                    while i < n && chars[i] != '"' && chars[i] != '\n' {
                        if chars[i] == '\\' && i + 1 < n {
                            i += 1;
                        }
                        s.push(chars[i]);
                        i += 1;
                    }
                    i += 1; // closing quote
                    sub = Some(s);
                }
                while i < n && chars[i] != ']' && chars[i] != '\n' {
                    i += 1;
                }
                i += 1; // ']'
                // Legacy [section.subsection] form.
                if sub.is_none()
                    && let Some((a, b)) = name.split_once('.')
                {
                    sub = Some(b.to_lowercase());
                    name = a.to_owned();
                }
                section = name.to_lowercase();
                subsection = sub;
            }
            _ => {
                let mut k = String::new();
                while i < n && (chars[i].is_ascii_alphanumeric() || chars[i] == '-') {
                    k.push(chars[i]);
                    i += 1;
                }
                if k.is_empty() {
                    // garbage: skip the line
                    while i < n && chars[i] != '\n' {
                        i += 1;
                    }
                    continue;
                }
                while i < n && (chars[i] == ' ' || chars[i] == '\t') {
                    i += 1;
                }
                if i >= n || chars[i] != '=' {
                    // boolean key (or garbage until end of line)
                    while i < n && chars[i] != '\n' {
                        i += 1;
                    }
                    out.push((section.clone(), subsection.clone(), k.to_lowercase(), None));
                    continue;
                }
                i += 1; // '='
                let mut v = String::new();
                let mut in_quote = false;
                let mut pending_ws = String::new();
                while i < n {
                    let c = chars[i];
                    if c == '\n' {
                        break;
                    }
                    if c == '\\' && i + 1 < n {
                        let d = chars[i + 1];
                        i += 2;
                        let esc = match d {
                            '\n' => None,
                            '\r' if i < n && chars[i] == '\n' => {
                                i += 1;
                                None
                            }
                            'n' => Some('\n'),
                            't' => Some('\t'),
                            'b' => Some('\u{8}'),
                            other => Some(other),
                        };
                        if let Some(e) = esc {
                            if !v.is_empty() {
                                v.push_str(&pending_ws);
                            }
                            pending_ws.clear();
                            v.push(e);
                        }
                        continue;
                    }
                    if c == '"' {
                        in_quote = !in_quote;
                        i += 1;
                        continue;
                    }
                    if !in_quote && (c == '#' || c == ';') {
                        while i < n && chars[i] != '\n' {
                            i += 1;
                        }
                        break;
                    }
                    if !in_quote && (c == ' ' || c == '\t' || c == '\r') {
                        pending_ws.push(c);
                        i += 1;
                        continue;
                    }
                    if !v.is_empty() {
                        v.push_str(&pending_ws);
                    }
                    pending_ws.clear();
                    v.push(c);
                    i += 1;
                }
                out.push((
                    section.clone(),
                    subsection.clone(),
                    k.to_lowercase(),
                    Some(v),
                ));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Resolution

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

/// Resolve the identity from `cwd` (docs/formats.md §13.1): `--repo` → `.vsync` → origin → error.
/// A `--repo` that differs from an existing pin is [`IdentityError::VsyncFileClobber`].
pub fn resolve(cwd: &Path, flag: Option<&str>) -> Result<Identity> {
    let repo = find_git_repo(cwd)?;
    let pin = read_pin(&repo.root)?;
    let pinned = pin.as_ref().map(|p| p.repo.clone());
    let origin = origin_url(&repo)?;
    if let Some(flag) = flag {
        let name = normalize(flag)?.ok_or(IdentityError::EmptyFlag)?;
        if let Some(p) = &pinned
            && *p != name
        {
            return Err(IdentityError::VsyncFileClobber {
                path: repo.root.join(PIN_FILE),
                pinned: p.clone(),
                requested: name,
            });
        }
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
        let name = normalize(flag)?.ok_or(IdentityError::EmptyFlag)?;
        if let Some(p) = &pinned
            && *p != name
        {
            return Err(IdentityError::VsyncFileClobber {
                path: repo.root.join(PIN_FILE),
                pinned: p.clone(),
                requested: name,
            });
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_examples() {
        let n = |s: &str| normalize(s).unwrap();
        assert_eq!(n("Acme/web").as_deref(), Some("acme_web"));
        assert_eq!(n("acme-web").as_deref(), Some("acme_web"));
        assert_eq!(n("My App!").as_deref(), Some("myapp"));
        assert_eq!(n("@scope/pkg").as_deref(), Some("scope_pkg"));
        assert_eq!(n("a//--/b").as_deref(), Some("a_b"));
        assert_eq!(n("  X.Y_z  ").as_deref(), Some("x.y_z"));
        assert_eq!(n(""), None);
        assert_eq!(n("!!!"), None);
        assert_eq!(n("日本"), None);
        assert_eq!(
            n(&"a".repeat(100)).as_deref(),
            Some("a".repeat(100).as_str())
        );
        assert!(matches!(
            normalize(&"a".repeat(101)),
            Err(IdentityError::TooLong { len: 101 })
        ));
        // Only the normalised length counts.
        assert!(
            normalize(&format!("{}!!!!", "a".repeat(100)))
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn reserved() {
        assert!(check_reserved("profiles").is_err());
        assert!(check_reserved("BACKUPS").is_err());
        assert!(check_reserved("profiles2").is_ok());
    }

    #[test]
    fn pin_grammar() {
        let p = Path::new(".vsync");
        let f = parse_pin(
            "# c\n\n   \n  # indented comment\r\nrepo = Acme/Web  \r\nother=1\n",
            p,
        )
        .unwrap();
        assert_eq!(f.repo, "acme_web");
        assert_eq!(f.get("other"), Some("1"));
        assert_eq!(parse_pin("repo=a # b\n", p).unwrap().repo, "ab");
        assert_eq!(
            parse_pin("repo=first\nrepo=second\n", p).unwrap().repo,
            "second"
        );
        for bad in [
            "repo\n",
            "9x=1\nrepo=a\n",
            "repo=\n",
            "other=1\n",
            "repo=!!!\n",
            "bad-key=1\nrepo=a",
        ] {
            assert!(
                matches!(
                    parse_pin(bad, p),
                    Err(IdentityError::VsyncFileMalformed { .. })
                ),
                "{bad:?}"
            );
        }
        assert!(matches!(
            parse_pin(&format!("repo={}\n", "a".repeat(101)), p),
            Err(IdentityError::TooLong { .. })
        ));
    }

    #[test]
    fn git_config_parsing() {
        let cfg = "[core]\n\tbare = false\n[remote \"upstream\"]\n\turl = nope\n[Remote \"origin\"]\n\tURL = \"git@h:a/b.git\" ; comment\n\tfetch = +refs/*\n[remote.Other]\n url = x\n";
        let entries = parse_git_config(cfg);
        let url = entries
            .iter()
            .rev()
            .find(|(s, sub, k, _)| s == "remote" && sub.as_deref() == Some("origin") && k == "url")
            .and_then(|e| e.3.clone());
        assert_eq!(url.as_deref(), Some("git@h:a/b.git"));
        assert!(entries.iter().any(|(s, sub, _, v)| s == "remote"
            && sub.as_deref() == Some("other")
            && v.as_deref() == Some("x")));
        let e = parse_git_config("[a]\nk = one \\\n two # c\nb\n");
        assert_eq!(e[0].3.as_deref(), Some("one  two"));
        assert_eq!(e[1], ("a".into(), None, "b".into(), None));
    }

    #[test]
    fn redact() {
        assert_eq!(
            redact_url("https://u:tok@h.example/o/r.git"),
            "https://h.example/o/r.git"
        );
        assert_eq!(redact_url("git@h:o/r.git"), "git@h:o/r.git");
        assert_eq!(redact_url("https://h/o@x"), "https://h/o@x");
    }
}
