//! Keyless mode reads its two inputs by the same rules as `vsync-runtime`: a token and key that
//! open an app also open the CLI, and the reverse (docs/formats.md §18 items 12 and 13).

use crate::harness::{Run, World, upstream_bundle_write, vault_tree};
use crate::require_keychain;

/// `sh -c <script>` run by `ci` in a folder of its own (no checkout, no config).
fn run_elsewhere(ci: &World, script: &str) -> Run {
    let work = tempfile::tempdir().unwrap();
    ci.vsync_in(work.path(), &["run", "dev", "--", "sh", "-c", script], None)
}

/// A bucket sealed with a non-reference PBKDF2 count, and a token that says so: the runtime
/// opens it, so the CLI's keyless verbs must too.
#[test]
fn keyless_verbs_derive_with_the_tokens_iteration_count() {
    require_keychain!(python);
    let mut w = World::with_env("dev");
    let (key, salt) = w.key_and_salt("dev");
    w.secret(&key);
    let src = vault_tree(
        "dev",
        &[(".env.dev", b"LOW_COUNT=sealed-with-1000-rounds\n")],
    );
    w.secret("sealed-with-1000-rounds");
    let st = upstream_bundle_write(&w, &key, &salt, "20260101-120000", src.path())
        .env("VSYNC_TEST_ITERATIONS", "1000")
        .status()
        .expect("python3 runs the independent writer");
    assert!(st.success());

    let token = w.runtime_token("dev", &["--no-validate"]);
    let mut cfg = vsync_crypto::cfg_blob::decode(&token).unwrap();
    cfg.iterations = 1000;
    let blob = vsync_crypto::cfg_blob::encode(&cfg).unwrap();
    w.secret(&blob);

    // The runtime library opens it with the token's count...
    let vault = vsync_runtime::Vault::open_with_blocking(&blob, &key).expect("runtime opens");
    assert_eq!(
        vault.vault_env("LOW_COUNT"),
        Some("sealed-with-1000-rounds")
    );

    // ...and so does the CLI in keyless mode.
    let mut ci = World::keyless(&w, &blob, &key);
    ci.without_keychain();
    run_elsewhere(&ci, "test \"$LOW_COUNT\" = sealed-with-1000-rounds").ok();
}

/// A key file ending in several line breaks (an editor adding one more) opens both.
#[test]
fn keyless_key_files_are_trimmed_like_the_runtime_does() {
    require_keychain!();
    let mut w = World::pushed("dev", &[("TRIMMED", "file-ends-in-newlines-7")]);
    let key = w.secret_key("dev");
    let blob = w.runtime_token("dev", &["--no-validate"]);
    w.secret(&blob);
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key.txt");
    std::fs::write(&key_file, format!("{key}\r\n\n")).unwrap();

    let runtime = vsync_runtime::Vault::open_with_blocking(&blob, &key);
    assert!(runtime.is_ok(), "the runtime opens with the bare key");

    let mut ci = World::new();
    ci.secrets = w.secrets.clone();
    ci.set_env("VSYNC_CONFIG", &blob);
    ci.set_env("VSYNC_PASSPHRASE_FILE", &key_file.display().to_string());
    ci.without_keychain();
    run_elsewhere(&ci, "test \"$TRIMMED\" = file-ends-in-newlines-7").ok();
}
