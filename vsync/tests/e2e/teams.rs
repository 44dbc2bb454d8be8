//! Teams and deploys: export/import between two machines with separate keychains, runtime
//! tokens, keyless mode, `vsync run`.

use crate::harness::{World, mode};
use crate::require_keychain;

fn pass_file(w: &World, text: &str) -> std::path::PathBuf {
    let p = w.home.join("pass.txt");
    std::fs::write(&p, format!("{text}\n")).unwrap();
    p
}

#[test]
fn export_import_two_machines_round_trip() {
    require_keychain!();
    let mut a = World::new();
    a.init("dev").ok();
    a.write_env("dev", &[("SHARED", "shared-value-777")]);
    a.vsync(&["push", "dev"]).ok();
    let pass = "correct-horse-battery-staple-42";
    a.secret(pass);
    let pf = pass_file(&a, pass);
    let share = a.home.join("team.share");
    a.vsync(&[
        "export",
        "dev",
        "--out",
        share.to_str().unwrap(),
        "--passphrase-file",
        pf.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(mode(&share), 0o600);
    let bytes = std::fs::read(&share).unwrap();
    assert_eq!(&bytes[..4], b"SLS1");
    // refuses to overwrite
    a.vsync(&[
        "export",
        "dev",
        "--out",
        share.to_str().unwrap(),
        "--passphrase-file",
        pf.to_str().unwrap(),
    ])
    .code(5);

    let mut b = a.other_machine();
    let bpf = pass_file(&b, pass);
    b.vsync(&[
        "import",
        "dev",
        share.to_str().unwrap(),
        "--passphrase-file",
        bpf.to_str().unwrap(),
    ])
    .ok();
    b.vsync(&["pull", "dev"]).ok();
    assert_eq!(
        std::fs::read(b.vault("dev").join(".env.dev")).unwrap(),
        std::fs::read(a.vault("dev").join(".env.dev")).unwrap()
    );
    b.write_env("dev", &[("SHARED", "changed-by-b-888")]);
    a.secret("changed-by-b-888");
    b.vsync(&["push", "dev"]).ok();
    a.vsync(&["pull", "dev"]).ok();
    assert_eq!(
        std::fs::read_to_string(a.vault("dev").join(".env.dev")).unwrap(),
        "SHARED=changed-by-b-888\n"
    );
}

#[test]
fn bad_share_files_write_nothing() {
    require_keychain!();
    let mut a = World::new();
    a.init("dev").ok();
    let pass = "a-long-enough-passphrase-1";
    a.secret(pass);
    let pf = pass_file(&a, pass);
    let share = a.home.join("x.share");
    a.vsync(&[
        "export",
        "dev",
        "--out",
        share.to_str().unwrap(),
        "--passphrase-file",
        pf.to_str().unwrap(),
    ])
    .ok();
    let b = a.other_machine();
    let cfg = b.base().join(&b.repo).join("env_dev");
    // wrong passphrase
    let wrong = pass_file(&b, "not-the-right-passphrase");
    let r = b
        .vsync(&[
            "import",
            "dev",
            share.to_str().unwrap(),
            "--passphrase-file",
            wrong.to_str().unwrap(),
        ])
        .code(4);
    assert!(r.stderr.contains("wrong passphrase"), "{}", r.stderr);
    // truncated
    let cut = b.home.join("cut.share");
    let bytes = std::fs::read(&share).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let good = pass_file(&b, pass);
    b.vsync(&[
        "import",
        "dev",
        cut.to_str().unwrap(),
        "--passphrase-file",
        good.to_str().unwrap(),
    ])
    .code(4);
    // wrong env
    let r = b
        .vsync(&[
            "import",
            "prod",
            share.to_str().unwrap(),
            "--passphrase-file",
            good.to_str().unwrap(),
        ])
        .code(2);
    assert!(r.stderr.contains("for env"), "{}", r.stderr);
    assert!(!cfg.exists(), "nothing written");
    assert_eq!(
        b.vsync(&["status", "--json"])
            .ok()
            .stdout
            .matches("\"env\"")
            .count(),
        0
    );
}

#[test]
fn runtime_token_keyless_pull_and_run() {
    require_keychain!();
    let mut a = World::new();
    a.init("prod").ok();
    a.write_env(
        "prod",
        &[("APP_SECRET", "keyless-secret-31337"), ("PORT", "8080")],
    );
    std::fs::write(a.vault("prod").join("cert.pem"), b"-----CERT-----").unwrap();
    a.vsync(&["push", "prod"]).ok();
    let token = a.vsync(&["runtime-token", "--env", "prod"]).ok();
    let blob = token.stdout.trim().to_owned();
    assert!(
        blob.starts_with("vsync-cfg-v1:") && !blob.contains('\n'),
        "only the blob on stdout"
    );
    let kf = a.home.join("key.txt");
    a.vsync(&["key", "show", "prod", "--out", kf.to_str().unwrap()])
        .ok();
    let key = std::fs::read_to_string(&kf).unwrap().trim().to_owned();
    a.secret(&key);

    // A CI machine: no config, no keychain, no git checkout.
    let ci = World::new();
    let ci_dir = tempfile::tempdir().unwrap();
    let mut ci = ci;
    ci.extra_env.push(("VSYNC_CONFIG".into(), blob.clone()));
    ci.extra_env.push(("VSYNC_PASSPHRASE".into(), key.clone()));
    ci.extra_env
        .push(("VSYNC_KEYCHAIN".into(), "nonexistent-backend".into()));
    ci.secrets = a.secrets.clone();
    let r = ci.vsync_in(ci_dir.path(), &["pull", "prod"], None).ok();
    assert!(r.stdout.contains("pulled"), "{}", r.stdout);
    assert_eq!(
        std::fs::read_to_string(ci_dir.path().join("infra/vault/prod/.env.prod")).unwrap(),
        std::fs::read_to_string(a.vault("prod").join(".env.prod")).unwrap()
    );

    let st = ci.vsync_in(ci_dir.path(), &["status", "--json"], None).ok();
    let sv: serde_json::Value = serde_json::from_str(&st.stdout).unwrap();
    assert_eq!(sv["mode"], "keyless");
    assert!(sv["latest"].as_str().is_some_and(|t| t.len() == 15), "{sv}");
    let d = ci
        .vsync_in(ci_dir.path(), &["diff", "prod", "--json"], None)
        .ok();
    assert!(d.stdout.contains("\"added\": []"), "{}", d.stdout);

    let script = "test \"$APP_SECRET\" = keyless-secret-31337 && test -f \"$VSYNC_ASSET_DIR/cert.pem\" && echo \"$VSYNC_ASSET_DIR\" > asset_dir.txt && exit 7";
    let r = ci.vsync_in(
        ci_dir.path(),
        &["run", "prod", "--", "sh", "-c", script],
        None,
    );
    assert_eq!(
        r.code, 7,
        "the child's exit code passes through: {}",
        r.stderr
    );
    let asset_dir = std::fs::read_to_string(ci_dir.path().join("asset_dir.txt")).unwrap();
    assert!(
        !std::path::Path::new(asset_dir.trim()).exists(),
        "asset folder removed after the child exits"
    );
    // --no-override keeps the parent's value
    ci.extra_env.push(("PORT".into(), "9999".into()));
    ci.vsync_in(
        ci_dir.path(),
        &[
            "run",
            "prod",
            "--no-override",
            "--",
            "sh",
            "-c",
            "test \"$PORT\" = 9999",
        ],
        None,
    )
    .ok();
    ci.vsync_in(
        ci_dir.path(),
        &["run", "prod", "--", "sh", "-c", "test \"$PORT\" = 8080"],
        None,
    )
    .ok();
    // a wrong passphrase is an integrity error, nothing written
    let mut bad = World::new();
    bad.extra_env.push(("VSYNC_CONFIG".into(), blob));
    bad.extra_env.push((
        "VSYNC_PASSPHRASE".into(),
        "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=".into(),
    ));
    let d = tempfile::tempdir().unwrap();
    bad.vsync_in(d.path(), &["pull", "prod"], None).code(4);
    assert!(!d.path().join("infra").exists());
}

#[test]
fn keystore_moves_every_pair_to_a_new_laptop() {
    require_keychain!();
    let mut a = World::new();
    a.init("dev").ok();
    a.init("prod").ok();
    a.write_env("prod", &[("P", "prod-value-keystore")]);
    a.vsync(&["push", "prod"]).ok();
    let pass = "keytree-passphrase-long";
    a.secret(pass);
    let pf = pass_file(&a, pass);
    let list = a.vsync(&["keystore", "list", "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&list.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    a.vsync(&["keystore", "export"]).code(2); // a selection is mandatory
    let tree = a.home.join("laptop.keytree");
    a.vsync(&[
        "keystore",
        "export",
        "--all",
        "--out",
        tree.to_str().unwrap(),
        "--passphrase-file",
        pf.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(mode(&tree), 0o600);
    assert_eq!(&std::fs::read(&tree).unwrap()[..4], b"VKT1");

    let b = a.other_machine();
    let bpf = pass_file(&b, "wrong-passphrase-here");
    b.vsync(&[
        "keystore",
        "import",
        tree.to_str().unwrap(),
        "--passphrase-file",
        bpf.to_str().unwrap(),
    ])
    .code(4);
    assert!(
        b.vsync(&["keystore", "list", "--json"]).ok().stdout.trim() == "[]",
        "nothing written on a wrong passphrase"
    );
    let bpf = pass_file(&b, pass);
    b.vsync(&[
        "keystore",
        "import",
        tree.to_str().unwrap(),
        "--passphrase-file",
        bpf.to_str().unwrap(),
    ])
    .ok();
    let v: serde_json::Value =
        serde_json::from_str(&b.vsync(&["keystore", "list", "--json"]).ok().stdout).unwrap();
    assert!(
        v.as_array().unwrap().iter().all(|r| r["key"] == true),
        "{v}"
    );
    b.vsync(&["pull", "prod"]).ok();
    assert_eq!(
        std::fs::read_to_string(b.vault("prod").join(".env.prod")).unwrap(),
        "P=prod-value-keystore\n"
    );
    // a second import skips what is there
    let r = b
        .vsync(&[
            "keystore",
            "import",
            tree.to_str().unwrap(),
            "--passphrase-file",
            bpf.to_str().unwrap(),
        ])
        .ok();
    assert!(r.stdout.contains("skipped"), "{}", r.stdout);
}
