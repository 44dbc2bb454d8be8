//! Tampering and bad input: each gets a clear error and a non-zero exit, and nothing local is
//! written.

use std::path::{Path, PathBuf};

use crate::harness::World;
use crate::require_keychain;

/// Every file under `dir` with its bytes, to prove "byte-for-byte as before".
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((p.clone(), std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn pushed(w: &mut World) -> (PathBuf, String) {
    w.init_push("dev", &[("SECRET", "s3cr3t-value-xyz")]);
    let latest = std::fs::read_to_string(w.bucket.join(&w.repo).join("dev/latest")).unwrap();
    (w.bucket.join(&w.repo).join("dev"), latest)
}

#[test]
fn flipped_byte_in_bundle_is_integrity_error_and_vault_untouched() {
    require_keychain!();
    let mut w = World::new();
    let (prefix, latest) = pushed(&mut w);
    let obj = prefix.join(format!("versions/{latest}.enc"));
    let mut bytes = std::fs::read(&obj).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(&obj, bytes).unwrap();
    let before = snapshot(&w.vault("dev"));
    let r = w.vsync(&["pull", "dev", "--force"]).code(4);
    assert!(
        r.stderr.contains("error:") && r.stderr.lines().count() <= 3,
        "{}",
        r.stderr
    );
    assert_eq!(snapshot(&w.vault("dev")), before);
}

#[test]
fn pointer_rolled_back_or_bigger_than_vsync_writes_is_refused() {
    require_keychain!();
    let mut w = World::new();
    let (prefix, first) = pushed(&mut w);
    w.push_env("dev", &[("SECRET", "second-value-abc")]);
    // An attacker with bucket write access points `latest` back at the old version.
    std::fs::write(prefix.join("latest"), &first).unwrap();
    let before = snapshot(&w.vault("dev"));
    let r = w.vsync(&["pull", "dev", "--force"]).code(4);
    r.stderr_has("rollback");
    assert_eq!(snapshot(&w.vault("dev")), before);
    w.vsync(&["pull", "dev", "--force", "--allow-rollback"])
        .ok();
    // A pointer no reader should hold in memory: refused by its size, unread.
    std::fs::write(prefix.join("latest"), vec![b'2'; 64 * 1024 + 1]).unwrap();
    w.vsync(&["pull", "dev", "--force"])
        .code(4)
        .stderr_has("not written by vsync");
}

#[test]
fn pointer_renamed_to_another_version_fails_the_seal() {
    require_keychain!();
    let mut w = World::new();
    let (prefix, first) = pushed(&mut w);
    // Copy the old bundle under a newer name and point latest at it: the seal names `first`.
    let fake = "29990101-000000";
    std::fs::copy(
        prefix.join(format!("versions/{first}.enc")),
        prefix.join(format!("versions/{fake}.enc")),
    )
    .unwrap();
    std::fs::write(prefix.join("latest"), fake).unwrap();
    let r = w.vsync(&["pull", "dev", "--force"]).code(4);
    assert!(
        r.stderr.contains("BundleCorrupt") || r.stderr.contains("integrity"),
        "{}",
        r.stderr
    );
}

#[test]
fn bundle_sealed_with_another_key_is_refused() {
    require_keychain!();
    let mut w = World::new();
    let (prefix, latest) = pushed(&mut w);
    let (_, salt) = w.key_and_salt("dev");
    let other = vsync_crypto::kdf::DerivedKey::derive(
        "another-key-entirely-0000000000000000000000=",
        &salt,
    );
    let zip = std::fs::read(prefix.join(format!("versions/{latest}.enc"))).unwrap();
    let _ = zip;
    let sealed = vsync_crypto::bundle::seal(
        &other,
        &latest,
        b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
    )
    .unwrap();
    std::fs::write(prefix.join(format!("versions/{latest}.enc")), sealed).unwrap();
    let before = snapshot(&w.vault("dev"));
    let r = w.vsync(&["pull", "dev", "--force"]).code(4);
    r.stderr_has("wrong key");
    assert_eq!(snapshot(&w.vault("dev")), before);
}

#[test]
fn zip_with_parent_or_absolute_paths_is_refused() {
    require_keychain!();
    for evil in [
        "../../escape.txt",
        "/tmp/vsync-abs-escape.txt",
        "infra/vault/dev/../../../x",
    ] {
        let mut w = World::new();
        let (prefix, latest) = pushed(&mut w);
        let (key, salt) = w.key_and_salt("dev");
        let dk = vsync_crypto::kdf::DerivedKey::derive(&key, &salt);
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut z = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default();
            z.start_file("infra/vault/dev/.env.dev", opts).unwrap();
            std::io::Write::write_all(&mut z, b"A=1\n").unwrap();
            z.start_file(evil, opts).unwrap();
            std::io::Write::write_all(&mut z, b"pwned").unwrap();
            z.finish().unwrap();
        }
        let sealed = vsync_crypto::bundle::seal(&dk, &latest, buf.get_ref()).unwrap();
        std::fs::write(prefix.join(format!("versions/{latest}.enc")), sealed).unwrap();
        let before = snapshot(&w.vault("dev"));
        let r = w.vsync(&["pull", "dev", "--force"]).code(4);
        assert!(r.stderr.contains("unsafe"), "{evil}: {}", r.stderr);
        assert_eq!(snapshot(&w.vault("dev")), before);
        assert!(!w._tmp.path().join("escape.txt").exists());
        assert!(!Path::new("/tmp/vsync-abs-escape.txt").exists());
    }
}

#[test]
fn bad_input_gets_one_line_errors() {
    require_keychain!();
    let mut w = World::new();
    // unknown / invalid env names are usage errors on every verb
    for verb in [
        ["init", "Prod"],
        ["push", "../x"],
        ["pull", "PROD"],
        ["versions", "a b"],
    ] {
        let r = w.vsync(&verb).code(2);
        assert!(
            r.stderr.contains("invalid env name"),
            "{verb:?}: {}",
            r.stderr
        );
    }
    // an env never set up
    let r = w.vsync(&["push", "staging"]).code(3);
    r.stderr_has("vsync init staging");
    w.init("dev").ok();
    // missing .env.<env>
    std::fs::remove_file(w.vault("dev").join(".env.dev")).unwrap();
    let r = w.vsync(&["push", "dev"]).code(3);
    r.stderr_has(".env.dev");
    // a symlink in the vault
    w.write_env("dev", &[("A", "value-for-symlink-test")]);
    #[cfg(unix)]
    std::os::unix::fs::symlink("/etc/passwd", w.vault("dev").join("link")).unwrap();
    let r = w.vsync(&["push", "dev"]).code(1);
    r.stderr_has("symlink");
    assert!(
        !w.bucket.join(&w.repo).join("dev/latest").exists(),
        "nothing was sent"
    );
    // outside a git checkout
    let elsewhere = tempfile::tempdir().unwrap();
    let r = w.vsync_in(elsewhere.path(), &["push", "dev"], None);
    assert_ne!(r.code, 0);
    r.stderr_has("git");
    // pull with nothing pushed
    std::fs::remove_file(w.vault("dev").join("link")).unwrap();
    let r = w.vsync(&["pull", "dev"]).code(3);
    r.stderr_has("push first");
    // no panics, no stack traces anywhere
    assert!(!r.stderr.contains("panicked") && !r.stderr.contains("RUST_BACKTRACE"));
}

#[test]
fn no_keychain_service_names_the_fix() {
    let mut w = World::new();
    w.extra_env.push((
        "DBUS_SESSION_BUS_ADDRESS".into(),
        "unix:path=/nonexistent/vsync-test-bus".into(),
    ));
    w.set_env("VSYNC_KEYCHAIN", "secret-service");
    let r = w.init("dev");
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("Secret Service") && r.stderr.contains("hint:"),
        "{}",
        r.stderr
    );
    assert!(
        !w.base().join(&w.repo).join("env_dev").exists(),
        "nothing written"
    );
}
