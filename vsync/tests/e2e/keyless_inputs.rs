//! Keyless mode reads its two inputs by the same rules as `vsync-runtime`: a token and key that
//! open an app also open the CLI, and the reverse (docs/formats.md §18 items 12 and 13).

use std::path::PathBuf;
use std::process::Command;

use crate::harness::{World, python_ok};
use crate::require_keychain;

fn writer() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/upstream_bundle.py")
}

fn token(w: &World, env: &str) -> String {
    w.vsync(&["runtime-token", "--env", env, "--no-validate"])
        .ok()
        .stdout
        .trim()
        .to_owned()
}

/// A bucket sealed with a non-reference PBKDF2 count, and a token that says so: the runtime
/// opens it, so the CLI's keyless verbs must too.
#[test]
fn keyless_verbs_derive_with_the_tokens_iteration_count() {
    require_keychain!();
    if !python_ok() {
        return;
    }
    let mut w = World::new();
    w.init("dev").ok();
    let (key, salt) = w.key_and_salt("dev");
    w.secret(&key);
    let src = tempfile::tempdir().unwrap();
    let vf = src.path().join("infra/vault/dev");
    std::fs::create_dir_all(&vf).unwrap();
    std::fs::write(vf.join(".env.dev"), "LOW_COUNT=sealed-with-1000-rounds\n").unwrap();
    w.secret("sealed-with-1000-rounds");
    let st = Command::new("python3")
        .arg(writer())
        .args([
            "write",
            w.bucket.to_str().unwrap(),
            &format!("{}/dev", w.repo),
            &key,
            &salt,
            "20260101-120000",
            src.path().to_str().unwrap(),
            "infra/vault/dev",
        ])
        .env("VSYNC_TEST_ITERATIONS", "1000")
        .status()
        .expect("python3 runs the independent writer");
    assert!(st.success());

    let mut cfg = vsync_crypto::cfg_blob::decode(&token(&w, "dev")).unwrap();
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
    let mut ci = World::new();
    ci.secrets = w.secrets.clone();
    ci.extra_env.push(("VSYNC_CONFIG".into(), blob));
    ci.extra_env.push(("VSYNC_PASSPHRASE".into(), key));
    ci.extra_env
        .push(("VSYNC_KEYCHAIN".into(), "nonexistent-backend".into()));
    let work = tempfile::tempdir().unwrap();
    let r = ci.vsync_in(
        work.path(),
        &[
            "run",
            "dev",
            "--",
            "sh",
            "-c",
            "test \"$LOW_COUNT\" = sealed-with-1000-rounds",
        ],
        None,
    );
    r.ok();
}

/// A key file ending in several line breaks (an editor adding one more) opens both.
#[test]
fn keyless_key_files_are_trimmed_like_the_runtime_does() {
    require_keychain!();
    let mut w = World::new();
    w.init("dev").ok();
    w.write_env("dev", &[("TRIMMED", "file-ends-in-newlines-7")]);
    w.vsync(&["push", "dev"]).ok();
    let (key, _) = w.key_and_salt("dev");
    w.secret(&key);
    let blob = token(&w, "dev");
    w.secret(&blob);
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("key.txt");
    std::fs::write(&key_file, format!("{key}\r\n\n")).unwrap();

    let runtime = vsync_runtime::Vault::open_with_blocking(&blob, &key);
    assert!(runtime.is_ok(), "the runtime opens with the bare key");

    let mut ci = World::new();
    ci.secrets = w.secrets.clone();
    ci.extra_env.push(("VSYNC_CONFIG".into(), blob));
    ci.extra_env.push((
        "VSYNC_PASSPHRASE_FILE".into(),
        key_file.display().to_string(),
    ));
    ci.extra_env
        .push(("VSYNC_KEYCHAIN".into(), "nonexistent-backend".into()));
    let work = tempfile::tempdir().unwrap();
    ci.vsync_in(
        work.path(),
        &[
            "run",
            "dev",
            "--",
            "sh",
            "-c",
            "test \"$TRIMMED\" = file-ends-in-newlines-7",
        ],
        None,
    )
    .ok();
}
