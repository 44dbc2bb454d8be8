//! Byte compatibility with upstream, checked by an independent implementation written from the
//! spec in Python (`tests/interop/upstream_bundle.py`, using the `cryptography` package).

use std::path::PathBuf;
use std::process::Command;

use crate::harness::{World, python_ok};
use crate::require_keychain;

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/interop/upstream_bundle.py")
}

#[test]
fn independent_reader_opens_what_vsync_pushes() {
    require_keychain!();
    if !python_ok() {
        return;
    }
    let mut w = World::new();
    w.init("dev").ok();
    w.write_env("dev", &[("TOKEN", "interop-token-123")]);
    std::fs::create_dir_all(w.vault("dev").join("tls")).unwrap();
    std::fs::write(w.vault("dev").join("tls/ca.pem"), b"pem").unwrap();
    w.vsync(&["push", "dev"]).ok();
    let prefix = w.bucket.join(&w.repo).join("dev");
    let ts = std::fs::read_to_string(prefix.join("latest")).unwrap();
    assert_eq!(ts.len(), 15, "the pointer is the bare 15-byte timestamp");
    let (key, salt) = w.key_and_salt("dev");
    let out = Command::new("python3")
        .arg(script())
        .args([
            "open",
            prefix.join(format!("versions/{ts}.enc")).to_str().unwrap(),
            &key,
            &salt,
            &ts,
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    for want in [
        "infra/vault/dev/",
        "infra/vault/dev/.env.dev",
        "infra/vault/dev/tls/",
        "infra/vault/dev/tls/ca.pem",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "{want} missing from {names:?}"
        );
    }
}

#[test]
fn vsync_pulls_a_bucket_written_by_an_independent_writer() {
    require_keychain!();
    if !python_ok() {
        return;
    }
    let mut w = World::new();
    w.init("dev").ok();
    let (key, salt) = w.key_and_salt("dev");
    // Another checkout (as upstream would have it) with the vault to publish.
    let src = tempfile::tempdir().unwrap();
    let vf = src.path().join("infra/vault/dev");
    std::fs::create_dir_all(vf.join("certs")).unwrap();
    std::fs::write(vf.join(".env.dev"), "FROM_UPSTREAM=yes-upstream-42\n").unwrap();
    std::fs::write(vf.join("certs/a.crt"), b"crt").unwrap();
    w.secret("yes-upstream-42");
    let ts = "20260101-120000";
    let st = Command::new("python3")
        .arg(script())
        .args([
            "write",
            w.bucket.to_str().unwrap(),
            &format!("{}/dev", w.repo),
            &key,
            &salt,
            ts,
            src.path().to_str().unwrap(),
            "infra/vault/dev",
        ])
        .status()
        .unwrap();
    assert!(st.success());
    w.vsync(&["pull", "dev"]).ok();
    assert_eq!(
        std::fs::read_to_string(w.vault("dev").join(".env.dev")).unwrap(),
        "FROM_UPSTREAM=yes-upstream-42\n"
    );
    assert_eq!(
        std::fs::read(w.vault("dev").join("certs/a.crt")).unwrap(),
        b"crt"
    );
}
