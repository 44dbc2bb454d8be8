//! Teams and deploys: export/import between two machines with separate keychains, runtime
//! tokens, keyless mode, `vsync run`.

use crate::harness::{World, mode};
use crate::require_keychain;

#[test]
fn export_import_two_machines_round_trip() {
    require_keychain!();
    let mut a = World::pushed("dev", &[("SHARED", "shared-value-777")]);
    let pass = a.secret("correct-horse-battery-staple-42");
    let pf = a.pass_file(pass);
    let share = a.home.join("team.share");
    a.export_share("dev", &share, &pf).ok();
    assert_eq!(mode(&share), 0o600);
    let bytes = std::fs::read(&share).unwrap();
    assert_eq!(&bytes[..4], b"SLS1");
    // refuses to overwrite
    a.export_share("dev", &share, &pf).code(5);

    let mut b = a.other_machine();
    let bpf = b.pass_file(pass);
    b.import_share("dev", &share, &bpf).ok();
    b.vsync(&["pull", "dev"]).ok();
    assert_eq!(b.env_text("dev"), a.env_text("dev"));
    b.write_env("dev", &[("SHARED", "changed-by-b-888")]);
    a.secret("changed-by-b-888");
    b.vsync(&["push", "dev"]).ok();
    a.vsync(&["pull", "dev"]).ok();
    assert_eq!(a.env_text("dev"), "SHARED=changed-by-b-888\n");
}

#[test]
fn bad_share_files_write_nothing() {
    require_keychain!();
    let mut a = World::with_env("dev");
    let pass = a.secret("a-long-enough-passphrase-1");
    let pf = a.pass_file(pass);
    let share = a.home.join("x.share");
    a.export_share("dev", &share, &pf).ok();
    let b = a.other_machine();
    let cfg = b.config_path("dev");
    // wrong passphrase
    let wrong = b.pass_file("not-the-right-passphrase");
    b.import_share("dev", &share, &wrong)
        .code(4)
        .stderr_has("wrong passphrase");
    // truncated
    let cut = b.home.join("cut.share");
    let bytes = std::fs::read(&share).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let good = b.pass_file(pass);
    b.import_share("dev", &cut, &good).code(4);
    // wrong env
    b.import_share("prod", &share, &good)
        .code(2)
        .stderr_has("for env");
    assert!(!cfg.exists(), "nothing written");
    let status = b.vsync(&["status", "--json"]).ok();
    assert_eq!(status.stdout.matches("\"env\"").count(), 0);
}

#[test]
fn runtime_token_keyless_pull_and_run() {
    require_keychain!();
    let mut a = World::with_env("prod");
    a.write_env(
        "prod",
        &[("APP_SECRET", "keyless-secret-31337"), ("PORT", "8080")],
    );
    std::fs::write(a.vault("prod").join("cert.pem"), b"-----CERT-----").unwrap();
    a.vsync(&["push", "prod"]).ok();
    let blob = a.runtime_token("prod", &[]);
    assert!(
        blob.starts_with("vsync-cfg-v1:") && !blob.contains('\n'),
        "only the blob on stdout"
    );
    let key = a.secret_key("prod");

    // A CI machine: no config, no keychain, no git checkout.
    let ci_dir = tempfile::tempdir().unwrap();
    let mut ci = World::keyless(&a, &blob, &key);
    ci.without_keychain();
    let in_ci = |ci: &World, args: &[&str]| ci.vsync_in(ci_dir.path(), args, None);
    in_ci(&ci, &["pull", "prod"]).ok().stdout_has("pulled");
    assert_eq!(
        std::fs::read_to_string(ci_dir.path().join("infra/vault/prod/.env.prod")).unwrap(),
        a.env_text("prod")
    );

    let sv = in_ci(&ci, &["status", "--json"]).ok().json();
    assert_eq!(sv["mode"], "keyless");
    assert!(sv["latest"].as_str().is_some_and(|t| t.len() == 15), "{sv}");
    in_ci(&ci, &["diff", "prod", "--json"])
        .ok()
        .stdout_has("\"added\": []");

    let script = "test \"$APP_SECRET\" = keyless-secret-31337 && test -f \"$VSYNC_ASSET_DIR/cert.pem\" && echo \"$VSYNC_ASSET_DIR\" > asset_dir.txt && exit 7";
    let r = in_ci(&ci, &["run", "prod", "--", "sh", "-c", script]);
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
    ci.set_env("PORT", "9999");
    let no_override = ["run", "prod", "--no-override", "--", "sh", "-c"];
    in_ci(
        &ci,
        &[&no_override[..], &["test \"$PORT\" = 9999"]].concat(),
    )
    .ok();
    in_ci(
        &ci,
        &["run", "prod", "--", "sh", "-c", "test \"$PORT\" = 8080"],
    )
    .ok();
    // a wrong passphrase is an integrity error, nothing written
    let mut bad = World::new();
    bad.set_env("VSYNC_CONFIG", &blob);
    bad.set_env(
        "VSYNC_PASSPHRASE",
        "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=",
    );
    let d = tempfile::tempdir().unwrap();
    bad.vsync_in(d.path(), &["pull", "prod"], None).code(4);
    assert!(!d.path().join("infra").exists());
}

#[test]
fn keystore_moves_every_pair_to_a_new_laptop() {
    require_keychain!();
    let mut a = World::with_env("dev");
    a.init_push("prod", &[("P", "prod-value-keystore")]);
    let pass = a.secret("keytree-passphrase-long");
    let pf = a.pass_file(pass);
    let v = a.vsync(&["keystore", "list", "--json"]).ok().json();
    assert_eq!(v.as_array().unwrap().len(), 2);
    a.vsync(&["keystore", "export"]).code(2); // a selection is mandatory
    let tree = a.home.join("laptop.keytree");
    a.keystore_export_all(&tree, &pf).ok();
    assert_eq!(mode(&tree), 0o600);
    assert_eq!(&std::fs::read(&tree).unwrap()[..4], b"VKT1");

    let b = a.other_machine();
    let bpf = b.pass_file("wrong-passphrase-here");
    b.keystore_import(&tree, &bpf).code(4);
    assert!(
        b.vsync(&["keystore", "list", "--json"]).ok().stdout.trim() == "[]",
        "nothing written on a wrong passphrase"
    );
    let bpf = b.pass_file(pass);
    b.keystore_import(&tree, &bpf).ok();
    let v = b.vsync(&["keystore", "list", "--json"]).ok().json();
    assert!(
        v.as_array().unwrap().iter().all(|r| r["key"] == true),
        "{v}"
    );
    b.vsync(&["pull", "prod"]).ok();
    assert_eq!(b.env_text("prod"), "P=prod-value-keystore\n");
    // a second import skips what is there
    b.keystore_import(&tree, &bpf).ok().stdout_has("skipped");
}
