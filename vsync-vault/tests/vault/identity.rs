//! Repo identity: the docs/formats.md §13 tables, the pin file, git discovery and the resolution chain.

use std::path::Path;
use std::process::Command;

use vsync_vault::identity::{
    self, IdentityError, PinWrite, Source, find_git_repo, normalize, parse_remote_url, resolve,
    resolve_for_import, write_pin,
};

/// Every row of the worked-results table of docs/formats.md §13.3.
#[test]
fn formats_13_3_table() {
    let rows: &[(&str, Option<&str>, Option<&str>)] = &[
        (
            "git@git.example.com:Acme/web.git",
            Some("Acme/web"),
            Some("acme_web"),
        ),
        (
            "https://git.example.com/owner/repo.git",
            Some("owner/repo"),
            Some("owner_repo"),
        ),
        (
            "https://git.example.com/owner/repo",
            Some("owner/repo"),
            Some("owner_repo"),
        ),
        (
            "ssh://git@git.example.com/group/sub/repo.git",
            Some("group/sub/repo"),
            Some("group_sub_repo"),
        ),
        (
            "https://user:token@git.example.com/o/r.git",
            Some("o/r"),
            Some("o_r"),
        ),
        (
            "file:///srv/git/upstream",
            Some("upstream"),
            Some("upstream"),
        ),
        ("https://git.example.com/o/r.git/", Some("o/r"), Some("o_r")),
        (
            "https://git.example.com/o/r.GIT",
            Some("o/r.GIT"),
            Some("o_r.git"),
        ),
        (
            "ssh://git@host:2222/o/r.git",
            Some("2222/o/r"),
            Some("2222_o_r"),
        ),
        (
            "https://host:8443/o/My-Repo.git",
            Some("o/My-Repo"),
            Some("o_my_repo"),
        ),
        ("/srv/git/repo.git", None, None),
    ];
    for (url, parsed, ident) in rows {
        let p = parse_remote_url(url);
        assert_eq!(p.as_deref(), *parsed, "parse {url}");
        let id = p.and_then(|p| normalize(&p).unwrap());
        assert_eq!(id.as_deref(), *ident, "identity {url}");
    }
}

/// The `normalize` examples of docs/formats.md §13.2.
#[test]
fn formats_13_2_examples() {
    for (input, out) in [
        ("Acme/web", "acme_web"),
        ("acme-web", "acme_web"),
        ("My App!", "myapp"),
        ("@scope/pkg", "scope_pkg"),
    ] {
        assert_eq!(normalize(input).unwrap().as_deref(), Some(out), "{input}");
    }
}

#[test]
fn more_remote_forms() {
    let p = |u: &str| parse_remote_url(u);
    assert_eq!(p("  git@h:o/r.git  ").as_deref(), Some("o/r"));
    assert_eq!(p("HTTPS://h/o/r").as_deref(), Some("o/r"));
    assert_eq!(p("https://h").as_deref(), None);
    assert_eq!(p("https://h/").as_deref(), None);
    assert_eq!(p("file:///").as_deref(), None);
    assert_eq!(p("file:///srv/x.git/").as_deref(), Some("x"));
    assert_eq!(p("C:\\repos\\x").as_deref(), None);
    assert_eq!(p("git+ssh://git@h/o/r.git").as_deref(), Some("o/r"));
    assert_eq!(p("").as_deref(), None);
}

fn git(dir: &Path, args: &[&str]) -> bool {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", dir)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn have_git() -> bool {
    Command::new("git").arg("--version").output().is_ok()
}

/// A fake `.git` directory, no git binary needed.
fn fake_repo(root: &Path, origin: Option<&str>) {
    let g = root.join(".git");
    std::fs::create_dir_all(g.join("objects")).unwrap();
    std::fs::write(g.join("HEAD"), "ref: refs/heads/main\n").unwrap();
    let mut cfg = "[core]\n\trepositoryformatversion = 0\n".to_owned();
    if let Some(o) = origin {
        cfg.push_str(&format!(
            "[remote \"origin\"]\n\turl = {o}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
        ));
    }
    std::fs::write(g.join("config"), cfg).unwrap();
}

#[test]
fn chain_flag_pin_origin_error() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("work");
    std::fs::create_dir_all(root.join("a/b")).unwrap();
    let deep = root.join("a/b");

    assert!(matches!(
        resolve(&deep, None),
        Err(IdentityError::NotInGitRepo { .. })
    ));

    fake_repo(&root, None);
    match resolve(&deep, None) {
        Err(e @ IdentityError::RepoIdentityUnresolved { .. }) => {
            assert_eq!(e.class(), "RepoIdentityUnresolvedError");
        }
        other => panic!("{other:?}"),
    }

    fake_repo(&root, Some("https://x:TOKEN@git.example.com/Acme/Web.git"));
    let id = resolve(&deep, None).unwrap();
    assert_eq!(id.name, "acme_web");
    assert_eq!(id.source, Source::Origin);
    assert_eq!(id.repo.root, std::fs::canonicalize(&root).unwrap());
    assert_eq!(id.repo.vroot, id.repo.root);
    assert!(!id.origin_url.as_deref().unwrap().contains("TOKEN"));

    let id = resolve(&deep, Some("Other/Name")).unwrap();
    assert_eq!((id.name.as_str(), id.source), ("other_name", Source::Flag));
    assert!(matches!(
        resolve(&deep, Some("!!!")),
        Err(IdentityError::EmptyFlag)
    ));

    assert_eq!(write_pin(&root, "pinned_one").unwrap(), PinWrite::Written);
    assert_eq!(write_pin(&root, "pinned_one").unwrap(), PinWrite::Unchanged);
    assert!(matches!(
        write_pin(&root, "another"),
        Err(IdentityError::VsyncFileClobber { .. })
    ));
    let text = std::fs::read_to_string(root.join(".vsync")).unwrap();
    assert!(text.starts_with("# .vsync — vsync identity pin (commit this file)\n# Docs: "));
    assert!(text.ends_with("\nrepo=pinned_one\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(root.join(".vsync"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode & 0o600, 0o600);
    }

    let id = resolve(&deep, None).unwrap();
    assert_eq!((id.name.as_str(), id.source), ("pinned_one", Source::Pin));
    let id = resolve(&deep, Some("Pinned_One")).unwrap();
    assert_eq!(id.source, Source::Flag);
    match resolve(&deep, Some("different")) {
        Err(e @ IdentityError::VsyncFileClobber { .. }) => {
            assert_eq!(e.class(), "VsyncFileClobberError")
        }
        other => panic!("{other:?}"),
    }

    std::fs::write(root.join(".vsync"), "repo\n").unwrap();
    assert!(matches!(
        resolve(&deep, None),
        Err(IdentityError::VsyncFileMalformed { line: Some(1), .. })
    ));

    std::fs::write(root.join(".vsync"), "repo=Backups\n").unwrap();
    assert!(matches!(
        resolve(&deep, None),
        Err(IdentityError::Reserved { .. })
    ));
    std::fs::remove_file(root.join(".vsync")).unwrap();
    assert!(matches!(
        resolve(&deep, Some("profiles")),
        Err(IdentityError::Reserved { .. })
    ));

    let long = "a".repeat(101);
    assert!(matches!(
        resolve(&deep, Some(&long)),
        Err(IdentityError::TooLong { len: 101 })
    ));
}

#[test]
fn import_chain() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("r");
    std::fs::create_dir_all(&root).unwrap();
    fake_repo(&root, Some("git@h:o/origin.git"));
    // No pin: the share's repo (origin is not consulted).
    let id = resolve_for_import(&root, None, "Acme/Web").unwrap();
    assert_eq!((id.name.as_str(), id.source), ("acme_web", Source::Share));
    // Flag beats the share silently.
    assert_eq!(
        resolve_for_import(&root, Some("flagged"), "acme_web")
            .unwrap()
            .name,
        "flagged"
    );
    write_pin(&root, "pinned").unwrap();
    assert!(matches!(
        resolve_for_import(&root, None, "acme_web"),
        Err(IdentityError::ShareRepoMismatch { .. })
    ));
    assert_eq!(
        resolve_for_import(&root, None, "Pinned").unwrap().source,
        Source::Pin
    );
    assert!(matches!(
        resolve_for_import(&root, Some("other"), "pinned"),
        Err(IdentityError::VsyncFileClobber { .. })
    ));
}

#[test]
fn real_git_repo_and_linked_worktree() {
    if !have_git() {
        println!("skipped: no git binary");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let main = d.path().join("main");
    std::fs::create_dir_all(&main).unwrap();
    assert!(git(&main, &["init", "-q", "-b", "main"]));
    assert!(git(
        &main,
        &["remote", "add", "origin", "git@github.com:Acme/Web.git"]
    ));
    assert!(git(&main, &["config", "include.path", "extra.cfg"]));
    assert!(git(
        &main,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            "x"
        ]
    ));
    let id = resolve(&main, None).unwrap();
    assert_eq!(id.name, "acme_web");

    // An included file that overrides the origin URL is honoured (like `git config --get`).
    std::fs::write(
        main.join(".git/extra.cfg"),
        "[remote \"origin\"]\n\turl = https://h/Inc/Luded.git\n",
    )
    .unwrap();
    assert_eq!(resolve(&main, None).unwrap().name, "inc_luded");
    std::fs::remove_file(main.join(".git/extra.cfg")).unwrap();

    let wt = d.path().join("wt");
    assert!(git(
        &main,
        &[
            "worktree",
            "add",
            "-q",
            wt.to_str().unwrap(),
            "-b",
            "feature"
        ]
    ));
    std::fs::create_dir_all(wt.join("sub")).unwrap();
    let repo = find_git_repo(&wt.join("sub")).unwrap();
    let main_c = std::fs::canonicalize(&main).unwrap();
    assert_eq!(repo.root, std::fs::canonicalize(&wt).unwrap());
    assert_eq!(repo.vroot, main_c);
    assert!(repo.is_linked_worktree());
    assert_eq!(repo.common_dir, main_c.join(".git"));
    let id = resolve(&wt, None).unwrap();
    assert_eq!(id.name, "acme_web");
    // Cross-check with git itself.
    let out = Command::new("git")
        .args(["rev-parse", "--show-toplevel"])
        .current_dir(wt.join("sub"))
        .output()
        .unwrap();
    assert_eq!(
        std::fs::canonicalize(String::from_utf8(out.stdout).unwrap().trim()).unwrap(),
        repo.root
    );
    // The pin lives in the worktree's top level.
    write_pin(&wt, "wt_pin").unwrap();
    assert_eq!(resolve(&wt, None).unwrap().name, "wt_pin");
    assert_eq!(resolve(&main, None).unwrap().name, "acme_web");
    let _ = identity::PIN_FILE;
}
