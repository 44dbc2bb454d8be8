//! Key rotation: the new key opens, the old one does not, and a crash after any write leaves a
//! state that works.

use crate::harness::World;
use crate::require_keychain;

#[test]
fn rotation_invalidates_old_shares_and_keys_and_the_runtime_opens_with_the_new_one() {
    require_keychain!();
    let mut a = World::pushed("prod", &[("DB", "rotate-me-123")]);
    let old_key = a.secret_key("prod");
    let pass = a.secret("share-pass-for-rotation-1");
    let pf = a.pass_file(pass);
    let old_share = a.home.join("old.share");
    a.export_share("prod", &old_share, &pf).ok();

    a.vsync(&["rotate-passphrase", "--env", "prod"]).code(2); // no terminal, no --yes
    a.vsync(&["rotate-passphrase", "--env", "prod", "--yes"])
        .ok()
        .stderr_has("re-export share files");
    let new_key = a.secret_key("prod");
    assert_ne!(new_key, old_key);
    assert_eq!(a.env_from_bucket("prod"), "DB=rotate-me-123\n");
    let manifest = std::fs::read_to_string(a.prefix("prod").join("latest.manifest")).unwrap();
    assert!(manifest.contains("\"gen\":1"), "{manifest}");

    // The old share imports (its passphrase is separate) but its key no longer opens the vault.
    let b = a.other_machine();
    b.import_share("prod", &old_share, &pf).ok();
    b.vsync(&["pull", "prod"]).code(4).stderr_has("wrong key");
    // A re-exported share works.
    let new_share = a.home.join("new.share");
    a.export_share("prod", &new_share, &pf).ok();
    std::fs::remove_file(b.config_path("prod")).unwrap();
    let r = b.import_share("prod", &new_share, &pf);
    assert_eq!(
        r.code, 5,
        "a different key is already stored: import asks, and refuses without a terminal"
    );

    // The runtime library: the old key fails with WrongPassphraseError, the new one opens.
    let blob = a.runtime_token("prod", &[]);
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
        let mut w = World::pushed("prod", &[("K", "survives-crash")]);
        w.set_env("VSYNC_TEST_CRASH_AFTER_STEP", &step.to_string());
        let r = w.vsync(&["rotate-passphrase", "--env", "prod", "--yes"]);
        assert_eq!(r.code, 99, "step {step}: {}", r.stderr);
        w.extra_env.clear();
        std::fs::remove_file(w.vault("prod").join(".env.prod")).unwrap();
        let r = w.vsync(&["pull", "prod", "--force"]);
        assert_eq!(r.code, 0, "pull after a crash at step {step}: {}", r.stderr);
        assert_eq!(w.env_text("prod"), "K=survives-crash\n", "step {step}");
        // ...and the next rotation and push work.
        w.vsync(&["rotate-passphrase", "--env", "prod", "--yes"])
            .ok();
        w.vsync(&["pull", "prod", "--force"]).ok();
        w.vsync(&["push", "prod", "--force"]).ok();
    }
}
