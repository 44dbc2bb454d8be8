//! Upstream's spellings that teams' scripts use: `--passphrase=<pp>` (export, import, keystore
//! export/import), `--new-passphrase`/`--old-passphrase` (rotate-passphrase) and `pull --at`.
//! Each works through the binary; the passphrase ones warn on stderr, and no passphrase or key
//! shows up in any output (the harness checks every output for registered secrets).

use crate::harness::World;
use crate::require_keychain;

const WARNING: &str = "puts the passphrase on the command line";

fn key_of(w: &World, env: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("k");
    w.vsync(&["key", "show", env, "--out", f.to_str().unwrap()])
        .ok();
    std::fs::read_to_string(&f).unwrap().trim().to_owned()
}

#[test]
fn share_passphrase_flags_export_and_import() {
    require_keychain!();
    let mut a = World::new();
    a.init("dev").ok();
    a.write_env("dev", &[("TOKEN", "flag-share-value-1")]);
    a.vsync(&["push", "dev"]).ok();
    let pass = "argv-share-passphrase-2024";
    a.secret(pass);
    let share = a.home.join("dev.share");
    let r = a
        .vsync(&[
            "export",
            "dev",
            "--out",
            share.to_str().unwrap(),
            &format!("--passphrase={pass}"),
        ])
        .ok();
    assert!(r.stderr.contains(WARNING), "{}", r.stderr);
    assert!(
        r.stderr.contains("--passphrase-file"),
        "suggests the file form"
    );
    // Too short, like a file's.
    let short = "short-pp";
    a.secret(short);
    a.vsync(&[
        "export",
        "dev",
        "--out",
        a.home.join("x.share").to_str().unwrap(),
        "--passphrase",
        short,
    ])
    .code(2);
    // Not both.
    a.vsync(&[
        "export",
        "dev",
        "--passphrase",
        pass,
        "--passphrase-file",
        "/nonexistent",
    ])
    .code(2);

    let b = a.other_machine();
    let wrong = "the-wrong-share-passphrase";
    let mut b = b;
    b.secret(wrong);
    let r = b
        .vsync(&[
            "import",
            "dev",
            share.to_str().unwrap(),
            &format!("--passphrase={wrong}"),
        ])
        .code(4);
    assert!(
        r.stderr
            .contains("share passphrase given with --passphrase"),
        "the wrong input is named: {}",
        r.stderr
    );
    let r = b
        .vsync(&[
            "import",
            "dev",
            share.to_str().unwrap(),
            "--passphrase",
            pass,
        ])
        .ok();
    assert!(r.stderr.contains(WARNING), "{}", r.stderr);
    b.vsync(&["pull", "dev"]).ok();
    assert_eq!(
        std::fs::read_to_string(b.vault("dev").join(".env.dev")).unwrap(),
        "TOKEN=flag-share-value-1\n"
    );
    // The file form names the file when it is wrong.
    let pf = b.home.join("wrong-pass.txt");
    std::fs::write(&pf, wrong).unwrap();
    let r = b
        .vsync(&[
            "import",
            "dev",
            share.to_str().unwrap(),
            "--passphrase-file",
            pf.to_str().unwrap(),
        ])
        .code(4);
    assert!(r.stderr.contains(pf.to_str().unwrap()), "{}", r.stderr);
}

#[test]
fn keystore_passphrase_flag_exports_and_imports() {
    require_keychain!();
    let mut a = World::new();
    a.init("prod").ok();
    a.write_env("prod", &[("P", "flag-keytree-value")]);
    a.vsync(&["push", "prod"]).ok();
    let pass = "argv-keytree-passphrase-77";
    a.secret(pass);
    let tree = a.home.join("t.keytree");
    let r = a
        .vsync(&[
            "keystore",
            "export",
            "--all",
            "--out",
            tree.to_str().unwrap(),
            &format!("--passphrase={pass}"),
        ])
        .ok();
    assert!(r.stderr.contains(WARNING), "{}", r.stderr);
    let mut b = a.other_machine();
    let wrong = "wrong-keytree-passphrase";
    b.secret(wrong);
    let r = b
        .vsync(&[
            "keystore",
            "import",
            tree.to_str().unwrap(),
            "--passphrase",
            wrong,
        ])
        .code(4);
    assert!(
        r.stderr
            .contains("keytree passphrase given with --passphrase"),
        "{}",
        r.stderr
    );
    let r = b
        .vsync(&[
            "keystore",
            "import",
            tree.to_str().unwrap(),
            &format!("--passphrase={pass}"),
        ])
        .ok();
    assert!(r.stderr.contains(WARNING), "{}", r.stderr);
    b.vsync(&["pull", "prod"]).ok();
    assert_eq!(
        std::fs::read_to_string(b.vault("prod").join(".env.prod")).unwrap(),
        "P=flag-keytree-value\n"
    );
}

#[test]
fn rotate_accepts_old_and_new_passphrase_flags() {
    require_keychain!();
    let mut a = World::new();
    a.init("prod").ok();
    a.write_env("prod", &[("DB", "flag-rotate-value")]);
    a.vsync(&["push", "prod"]).ok();
    let old = key_of(&a, "prod");
    a.secret(&old);
    let new = "TmV3S2V5TmV3S2V5TmV3S2V5TmV3S2V5TmV3S2V5ISE=";
    a.secret(new);
    let not_a_key = "just a long human passphrase";
    a.secret(not_a_key);
    let r = a
        .vsync(&[
            "rotate-passphrase",
            "--env",
            "prod",
            "--yes",
            &format!("--new-passphrase={not_a_key}"),
        ])
        .code(2);
    assert!(r.stderr.contains("not a vsync key"), "{}", r.stderr);
    let wrong_old = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=";
    a.secret(wrong_old);
    let r = a
        .vsync(&[
            "rotate-passphrase",
            "--env",
            "prod",
            "--yes",
            &format!("--old-passphrase={wrong_old}"),
        ])
        .code(4);
    assert!(
        r.stderr.contains("given with --old-passphrase"),
        "{}",
        r.stderr
    );
    assert_eq!(key_of(&a, "prod"), old, "nothing rotated");

    let r = a
        .vsync(&[
            "rotate-passphrase",
            "--env",
            "prod",
            "--yes",
            &format!("--old-passphrase={old}"),
            "--new-passphrase",
            new,
        ])
        .ok();
    assert!(
        r.stderr.contains("--old-passphrase puts the passphrase"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("--new-passphrase puts the passphrase"),
        "{}",
        r.stderr
    );
    assert_eq!(key_of(&a, "prod"), new, "the given key is the new key");
    std::fs::remove_dir_all(a.vault("prod")).unwrap();
    a.vsync(&["pull", "prod", "--force"]).ok();
    assert_eq!(
        std::fs::read_to_string(a.vault("prod").join(".env.prod")).unwrap(),
        "DB=flag-rotate-value\n"
    );
}

#[test]
fn pull_at_is_pull_version() {
    require_keychain!();
    let mut a = World::new();
    a.init("dev").ok();
    a.write_env("dev", &[("V", "at-version-one")]);
    a.vsync(&["push", "dev"]).ok();
    let first = std::fs::read_to_string(a.bucket.join(&a.repo).join("dev/latest")).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    a.write_env("dev", &[("V", "at-version-two")]);
    a.vsync(&["push", "dev"]).ok();
    a.vsync(&["pull", "dev", &format!("--at={first}"), "--force"])
        .ok();
    assert_eq!(
        std::fs::read_to_string(a.vault("dev").join(".env.dev")).unwrap(),
        "V=at-version-one\n"
    );
    a.vsync(&["pull", "dev", "--at", "not-a-ts"]).code(2);
}
