//! Upstream's spellings that teams' scripts use: `--passphrase=<pp>` (export, import, keystore
//! export/import), `--new-passphrase`/`--old-passphrase` (rotate-passphrase) and `pull --at`.
//! Each works through the binary; the passphrase ones warn on stderr, and no passphrase or key
//! shows up in any output (the harness checks every output for registered secrets).

use crate::harness::{World, arg};
use crate::require_keychain;

const WARNING: &str = "puts the passphrase on the command line";

#[test]
fn share_passphrase_flags_export_and_import() {
    require_keychain!();
    let mut a = World::pushed("dev", &[("TOKEN", "flag-share-value-1")]);
    let pass = a.secret("argv-share-passphrase-2024");
    let share = a.home.join("dev.share");
    let pass_eq = format!("--passphrase={pass}");
    a.vsync(&["export", "dev", "--out", arg(&share), &pass_eq])
        .ok()
        .stderr_has(WARNING)
        // suggests the file form
        .stderr_has("--passphrase-file");
    // Too short, like a file's.
    let short = a.secret("short-pp");
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

    let mut b = a.other_machine();
    let wrong = b.secret("the-wrong-share-passphrase");
    let wrong_eq = format!("--passphrase={wrong}");
    // the wrong input is named
    b.vsync(&["import", "dev", arg(&share), &wrong_eq])
        .code(4)
        .stderr_has("share passphrase given with --passphrase");
    b.vsync(&["import", "dev", arg(&share), "--passphrase", pass])
        .ok()
        .stderr_has(WARNING);
    b.vsync(&["pull", "dev"]).ok();
    assert_eq!(b.env_text("dev"), "TOKEN=flag-share-value-1\n");
    // The file form names the file when it is wrong.
    let pf = b.home.join("wrong-pass.txt");
    std::fs::write(&pf, wrong).unwrap();
    b.import_share("dev", &share, &pf)
        .code(4)
        .stderr_has(arg(&pf));
}

#[test]
fn keystore_passphrase_flag_exports_and_imports() {
    require_keychain!();
    let mut a = World::pushed("prod", &[("P", "flag-keytree-value")]);
    let pass = a.secret("argv-keytree-passphrase-77");
    let tree = a.home.join("t.keytree");
    let pass_eq = format!("--passphrase={pass}");
    let export = ["keystore", "export", "--all", "--out", arg(&tree)];
    a.vsync(&[&export[..], &[&pass_eq]].concat())
        .ok()
        .stderr_has(WARNING);
    let mut b = a.other_machine();
    let wrong = b.secret("wrong-keytree-passphrase");
    let import = ["keystore", "import", arg(&tree)];
    b.vsync(&[&import[..], &["--passphrase", wrong]].concat())
        .code(4)
        .stderr_has("keytree passphrase given with --passphrase");
    b.vsync(&[&import[..], &[&pass_eq]].concat())
        .ok()
        .stderr_has(WARNING);
    b.vsync(&["pull", "prod"]).ok();
    assert_eq!(b.env_text("prod"), "P=flag-keytree-value\n");
}

#[test]
fn rotate_accepts_old_and_new_passphrase_flags() {
    require_keychain!();
    let mut a = World::pushed("prod", &[("DB", "flag-rotate-value")]);
    let old = a.secret_key("prod");
    let [new, not_a_key, wrong_old] = a.secrets([
        "TmV3S2V5TmV3S2V5TmV3S2V5TmV3S2V5TmV3S2V5ISE=",
        "just a long human passphrase",
        "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=",
    ]);
    let rotate = |flags: &[&str]| {
        a.vsync(&[&["rotate-passphrase", "--env", "prod", "--yes"], flags].concat())
    };
    rotate(&[&format!("--new-passphrase={not_a_key}")])
        .code(2)
        .stderr_has("not a vsync key");
    rotate(&[&format!("--old-passphrase={wrong_old}")])
        .code(4)
        .stderr_has("given with --old-passphrase");
    assert_eq!(a.key_text("prod"), old, "nothing rotated");

    rotate(&[&format!("--old-passphrase={old}"), "--new-passphrase", new])
        .ok()
        .stderr_has("--old-passphrase puts the passphrase")
        .stderr_has("--new-passphrase puts the passphrase");
    assert_eq!(a.key_text("prod"), new, "the given key is the new key");
    assert_eq!(a.env_from_bucket("prod"), "DB=flag-rotate-value\n");
}

#[test]
fn pull_at_is_pull_version() {
    require_keychain!();
    let mut a = World::pushed("dev", &[("V", "at-version-one")]);
    let first = a.latest("dev");
    std::thread::sleep(std::time::Duration::from_millis(1100));
    a.push_env("dev", &[("V", "at-version-two")]);
    a.vsync(&["pull", "dev", &format!("--at={first}"), "--force"])
        .ok();
    assert_eq!(a.env_text("dev"), "V=at-version-one\n");
    a.vsync(&["pull", "dev", "--at", "not-a-ts"]).code(2);
}
