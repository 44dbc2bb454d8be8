//! Key rotation: the new key opens, the old one does not, and a crash after any write leaves a
//! state that works.

use crate::harness::World;
use crate::require_keychain;

fn key_of(w: &World, env: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("k");
    w.vsync(&["key", "show", env, "--out", f.to_str().unwrap()])
        .ok();
    std::fs::read_to_string(&f).unwrap().trim().to_owned()
}

#[test]
fn rotation_invalidates_old_shares_and_keys_and_the_runtime_opens_with_the_new_one() {
    require_keychain!();
    let mut a = World::new();
    a.init("prod").ok();
    a.write_env("prod", &[("DB", "rotate-me-123")]);
    a.vsync(&["push", "prod"]).ok();
    let old_key = key_of(&a, "prod");
    a.secret(&old_key);
    let pass = "share-pass-for-rotation-1";
    a.secret(pass);
    let pf = a.home.join("p");
    std::fs::write(&pf, pass).unwrap();
    let old_share = a.home.join("old.share");
    a.vsync(&[
        "export",
        "prod",
        "--out",
        old_share.to_str().unwrap(),
        "--passphrase-file",
        pf.to_str().unwrap(),
    ])
    .ok();

    a.vsync(&["rotate-passphrase", "--env", "prod"]).code(2); // no terminal, no --yes
    let r = a
        .vsync(&["rotate-passphrase", "--env", "prod", "--yes"])
        .ok();
    assert!(r.stderr.contains("re-export share files"), "{}", r.stderr);
    let new_key = key_of(&a, "prod");
    a.secret(&new_key);
    assert_ne!(new_key, old_key);
    std::fs::remove_file(a.vault("prod").join(".env.prod")).unwrap();
    a.vsync(&["pull", "prod", "--force"]).ok();
    assert_eq!(
        std::fs::read_to_string(a.vault("prod").join(".env.prod")).unwrap(),
        "DB=rotate-me-123\n"
    );
    let manifest =
        std::fs::read_to_string(a.bucket.join(&a.repo).join("prod/latest.manifest")).unwrap();
    assert!(manifest.contains("\"gen\":1"), "{manifest}");

    // The old share imports (its passphrase is separate) but its key no longer opens the vault.
    let b = a.other_machine();
    b.vsync(&[
        "import",
        "prod",
        old_share.to_str().unwrap(),
        "--passphrase-file",
        pf.to_str().unwrap(),
    ])
    .ok();
    let r = b.vsync(&["pull", "prod"]).code(4);
    assert!(r.stderr.contains("wrong key"), "{}", r.stderr);
    // A re-exported share works.
    let new_share = a.home.join("new.share");
    a.vsync(&[
        "export",
        "prod",
        "--out",
        new_share.to_str().unwrap(),
        "--passphrase-file",
        pf.to_str().unwrap(),
    ])
    .ok();
    std::fs::remove_file(b.base().join(&b.repo).join("env_prod")).unwrap();
    let r = b.vsync(&[
        "import",
        "prod",
        new_share.to_str().unwrap(),
        "--passphrase-file",
        pf.to_str().unwrap(),
    ]);
    assert_eq!(
        r.code, 5,
        "a different key is already stored: import asks, and refuses without a terminal"
    );

    // The runtime library: the old key fails with WrongPassphraseError, the new one opens.
    let blob = a
        .vsync(&["runtime-token", "--env", "prod"])
        .ok()
        .stdout
        .trim()
        .to_owned();
    let err = vsync_runtime::Vault::open_with_blocking(&blob, &old_key).unwrap_err();
    assert_eq!(err.class(), "WrongPassphraseError");
    let v = vsync_runtime::Vault::open_with_blocking(&blob, &new_key).unwrap();
    assert_eq!(v.vault_env("DB"), Some("rotate-me-123"));
    assert_eq!(v.generation(), 1);
}

#[test]
fn a_crash_after_any_write_of_a_rotation_leaves_a_working_vault() {
    require_keychain!();
    for step in 1..=5 {
        let mut w = World::new();
        w.init("prod").ok();
        w.write_env("prod", &[("K", "survives-crash")]);
        w.vsync(&["push", "prod"]).ok();
        w.extra_env
            .push(("VSYNC_TEST_CRASH_AFTER_STEP".into(), step.to_string()));
        let r = w.vsync(&["rotate-passphrase", "--env", "prod", "--yes"]);
        assert_eq!(r.code, 99, "step {step}: {}", r.stderr);
        w.extra_env.clear();
        std::fs::remove_file(w.vault("prod").join(".env.prod")).unwrap();
        let r = w.vsync(&["pull", "prod", "--force"]);
        assert_eq!(r.code, 0, "pull after a crash at step {step}: {}", r.stderr);
        assert_eq!(
            std::fs::read_to_string(w.vault("prod").join(".env.prod")).unwrap(),
            "K=survives-crash\n",
            "step {step}"
        );
        // ...and the next rotation and push work.
        w.vsync(&["rotate-passphrase", "--env", "prod", "--yes"])
            .ok();
        w.vsync(&["pull", "prod", "--force"]).ok();
        w.vsync(&["push", "prod", "--force"]).ok();
    }
}
