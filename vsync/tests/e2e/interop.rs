//! Byte compatibility with upstream, checked by an independent implementation written from the
//! spec in Python (`tests/interop/upstream_bundle.py`, using the `cryptography` package).

use crate::harness::{World, arg, run_upstream, upstream_bundle_write, vault_tree};
use crate::require_keychain;

#[test]
fn independent_reader_opens_what_vsync_pushes() {
    require_keychain!(python);
    let mut w = World::with_env("dev");
    w.write_env("dev", &[("TOKEN", "interop-token-123")]);
    std::fs::create_dir_all(w.vault("dev").join("tls")).unwrap();
    std::fs::write(w.vault("dev").join("tls/ca.pem"), b"pem").unwrap();
    w.vsync(&["push", "dev"]).ok();
    let ts = w.latest("dev");
    assert_eq!(ts.len(), 15, "the pointer is the bare 15-byte timestamp");
    let (key, salt) = w.key_and_salt("dev");
    let object = w.prefix("dev").join(format!("versions/{ts}.enc"));
    let out = run_upstream(
        "upstream_bundle.py",
        &["open", arg(&object), &key, &salt, &ts],
    );
    let names: Vec<String> = String::from_utf8(out)
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
    require_keychain!(python);
    let mut w = World::with_env("dev");
    let (key, salt) = w.key_and_salt("dev");
    // Another checkout (as upstream would have it) with the vault to publish.
    let src = vault_tree(
        "dev",
        &[
            (".env.dev", b"FROM_UPSTREAM=yes-upstream-42\n"),
            ("certs/a.crt", b"crt"),
        ],
    );
    w.secret("yes-upstream-42");
    let st = upstream_bundle_write(&w, &key, &salt, "20260101-120000", src.path())
        .status()
        .unwrap();
    assert!(st.success());
    w.vsync(&["pull", "dev"]).ok();
    assert_eq!(w.env_text("dev"), "FROM_UPSTREAM=yes-upstream-42\n");
    assert_eq!(
        std::fs::read(w.vault("dev").join("certs/a.crt")).unwrap(),
        b"crt"
    );
}
