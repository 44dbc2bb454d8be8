//! The checkout a sync runs from: `HEAD`'s commit and the tag pointing exactly at it, read with
//! the `git` command (as the audit row's e-mail is). Not a git work tree, or no commit yet: none.

use std::path::Path;
use std::process::{Command, Stdio};

use super::entry::GitState;

fn git(root: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let text = String::from_utf8(out.stdout).ok()?;
    let t = text.trim();
    (!t.is_empty() && !t.contains('\n')).then(|| t.to_owned())
}

/// `HEAD` and its exact tag, if `root` is a git checkout with a commit.
pub fn git_state(root: &Path) -> Option<GitState> {
    let commit = git(root, &["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])?;
    let tag = git(root, &["describe", "--tags", "--exact-match", "HEAD"]);
    Some(GitState { commit, tag })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, args: &[&str]) {
        let ok = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success();
        assert!(ok, "git {args:?}");
    }

    #[test]
    fn commit_and_exact_tag_or_nothing() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(git_state(d.path()), None, "not a checkout");
        run(d.path(), &["init", "-q"]);
        assert_eq!(git_state(d.path()), None, "no commit yet");
        run(d.path(), &["commit", "-q", "--allow-empty", "-m", "one"]);
        let s = git_state(d.path()).unwrap();
        assert_eq!(s.commit.len(), 40);
        assert_eq!(s.tag, None);
        run(d.path(), &["tag", "v1"]);
        assert_eq!(git_state(d.path()).unwrap().tag.as_deref(), Some("v1"));
        run(d.path(), &["commit", "-q", "--allow-empty", "-m", "two"]);
        assert_eq!(
            git_state(d.path()).unwrap().tag,
            None,
            "v1 is not at HEAD any more"
        );
    }
}
