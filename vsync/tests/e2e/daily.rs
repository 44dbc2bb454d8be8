//! The daily loop on the embedded default (`file://`) bucket.

use crate::harness::{World, mode};
use crate::require_keychain;

#[test]
fn init_creates_key_config_vault_pin_and_gitignore() {
    require_keychain!();
    let w = World::new();
    w.init("dev").ok();
    let cfg = w.base().join(&w.repo).join("env_dev");
    assert!(cfg.is_file());
    assert_eq!(mode(&cfg), 0o600);
    assert_eq!(mode(cfg.parent().unwrap()), 0o700);
    assert!(w.vault("dev").join(".env.dev").is_file());
    let gi = std::fs::read_to_string(w.repo_dir.join(".gitignore")).unwrap();
    assert!(gi.lines().any(|l| l == "infra/vault/"), "{gi}");
    let pin = std::fs::read_to_string(w.repo_dir.join(".vsync")).unwrap();
    assert!(pin.contains(&format!("repo={}", w.repo)), "{pin}");
    // a second init refuses without a terminal, and changes nothing
    let before = std::fs::read(&cfg).unwrap();
    w.init("dev").code(5);
    assert_eq!(std::fs::read(&cfg).unwrap(), before);
}

#[test]
fn secret_tool_finds_the_key_by_service_and_account() {
    require_keychain!();
    if std::env::var("VSYNC_KEYCHAIN").as_deref() == Ok("keyutils") {
        return;
    }
    let w = World::new();
    w.init("dev").ok();
    let out = std::process::Command::new("secret-tool")
        .args([
            "lookup",
            "service",
            "tools.vsync",
            "account",
            &format!("{}/dev", w.repo),
        ])
        .output()
        .expect("secret-tool");
    let key = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        key.trim().len(),
        44,
        "the keychain holds the 44-char key text"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("k");
    w.vsync(&["key", "show", "dev", "--out", file.to_str().unwrap()])
        .ok();
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim(), key.trim());
    assert_eq!(mode(&file), 0o600);
}

#[test]
fn push_pull_round_trip_between_two_checkouts() {
    require_keychain!();
    let mut a = World::new();
    a.init("dev").ok();
    a.write_env(
        "dev",
        &[
            ("DATABASE_URL", "postgres://u:hunter2-e2e@db/app"),
            ("API_TOKEN", "tok-5f1e2d3c"),
        ],
    );
    std::fs::create_dir_all(a.vault("dev").join("tls")).unwrap();
    std::fs::write(
        a.vault("dev").join("tls/server.crt"),
        b"-----BEGIN CERT-----\nabc\n",
    )
    .unwrap();
    let out = a.vsync(&["push", "dev"]).ok();
    assert!(out.stdout.contains("pushed"), "{}", out.stdout);

    // The bucket holds only ciphertext.
    let versions = a.bucket.join(&a.repo).join("dev/versions");
    let objs: Vec<_> = std::fs::read_dir(&versions).unwrap().flatten().collect();
    assert_eq!(objs.len(), 1);
    let body = std::fs::read(objs[0].path()).unwrap();
    assert_eq!(&body[..4], b"RQE1");
    assert!(!String::from_utf8_lossy(&body).contains("hunter2"));

    // A second machine pulls the same bytes.
    let b = World::second_machine(&a);
    b.vsync(&["pull", "dev"]).ok();
    for f in [".env.dev", "tls/server.crt"] {
        assert_eq!(
            std::fs::read(b.vault("dev").join(f)).unwrap(),
            std::fs::read(a.vault("dev").join(f)).unwrap(),
            "{f}"
        );
    }
    let v = a.vsync(&["versions", "dev", "--json"]).ok();
    let json: serde_json::Value = serde_json::from_str(&v.stdout).unwrap();
    assert_eq!(json["versions"].as_array().unwrap().len(), 1);
    assert_eq!(json["versions"][0]["latest"], true);
}

#[test]
fn push_refuses_when_remote_advanced_and_pull_refuses_local_edits() {
    require_keychain!();
    let mut a = World::new();
    a.init("dev").ok();
    a.write_env("dev", &[("K", "v1-secret-aaaa")]);
    a.vsync(&["push", "dev"]).ok();

    let mut b = World::second_machine(&a);
    b.vsync(&["pull", "dev"]).ok();
    std::fs::write(b.vault("dev").join(".env.dev"), "K=v2-secret-bbbb\n").unwrap();
    b.secret("v2-secret-bbbb");
    a.secret("v2-secret-bbbb");
    b.vsync(&["push", "dev"]).ok();

    // Machine A edits on top of v1 and tries to push: the remote advanced.
    std::fs::write(a.vault("dev").join(".env.dev"), "K=v3-secret-cccc\n").unwrap();
    a.secret("v3-secret-cccc");
    let r = a.vsync(&["push", "dev"]).code(5);
    assert!(
        r.stderr.contains("remote advanced — pull first"),
        "{}",
        r.stderr
    );
    // ...and pull refuses to overwrite the unpushed edit.
    let r = a.vsync(&["pull", "dev"]).code(5);
    assert!(r.stderr.contains("local edits"), "{}", r.stderr);
    assert_eq!(
        std::fs::read_to_string(a.vault("dev").join(".env.dev")).unwrap(),
        "K=v3-secret-cccc\n"
    );

    // --backup keeps a copy and pulls.
    let r = a.vsync(&["pull", "dev", "--backup"]).ok();
    assert!(r.stdout.contains("prior state preserved"), "{}", r.stdout);
    assert_eq!(
        std::fs::read_to_string(a.vault("dev").join(".env.dev")).unwrap(),
        "K=v2-secret-bbbb\n"
    );
}

#[test]
fn diff_names_keys_never_values_and_rollback_rolls_forward() {
    require_keychain!();
    let mut a = World::new();
    a.init("dev").ok();
    a.write_env("dev", &[("A", "alpha-111"), ("B", "beta-222")]);
    a.vsync(&["push", "dev"]).ok();
    let first = serde_json::from_str::<serde_json::Value>(
        &a.vsync(&["versions", "dev", "--json"]).ok().stdout,
    )
    .unwrap()["latest"]
        .as_str()
        .unwrap()
        .to_owned();
    a.write_env(
        "dev",
        &[("A", "alpha-111"), ("B", "beta-333"), ("C", "gamma-444")],
    );
    let d = a.vsync(&["diff", "dev", "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&d.stdout).unwrap();
    assert_eq!(v["keys"]["added"], serde_json::json!(["C"]));
    assert_eq!(v["keys"]["changed"], serde_json::json!(["B"]));
    assert_eq!(v["keys"]["removed"], serde_json::json!([]));
    a.vsync(&["push", "dev"]).ok();
    a.vsync(&["rollback", "dev", &first]).ok();
    a.vsync(&["pull", "dev"]).ok();
    assert_eq!(
        std::fs::read_to_string(a.vault("dev").join(".env.dev")).unwrap(),
        "A=alpha-111\nB=beta-222\n"
    );
    let audit = a.vsync(&["audit", "dev", "--json"]).ok();
    let rows: serde_json::Value = serde_json::from_str(&audit.stdout).unwrap();
    let actions: Vec<_> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| *a == "push").count(),
        3,
        "{actions:?}"
    );
    assert!(actions.contains(&"pull".to_owned()));
}

#[test]
fn status_and_doctor_report_health() {
    require_keychain!();
    let w = World::new();
    w.init("dev").ok();
    let s = w.vsync(&["status", "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&s.stdout).unwrap();
    assert_eq!(v["envs"][0]["env"], "dev");
    assert_eq!(v["envs"][0]["key"], "present");
    let d = w.vsync(&["doctor"]).ok();
    assert!(
        d.stdout.contains("ok    dev: conditional writes"),
        "{}",
        d.stdout
    );
    assert!(d.stdout.contains("ok    dev: .gitignore"), "{}", d.stdout);
    std::fs::write(w.repo_dir.join(".gitignore"), "").unwrap();
    let d = w.vsync(&["doctor"]).code(1);
    assert!(d.stdout.contains("fail  dev: .gitignore"), "{}", d.stdout);
}

#[test]
fn kernel_keyring_backend_when_chosen_explicitly() {
    require_keychain!();
    let mut w = World::new();
    w.extra_env
        .push(("VSYNC_KEYCHAIN".into(), "keyutils".into()));
    w.init("dev").ok();
    w.write_env("dev", &[("KU", "keyutils-held-value")]);
    w.vsync(&["push", "dev"]).ok();
    std::fs::remove_file(w.vault("dev").join(".env.dev")).unwrap();
    w.vsync(&["pull", "dev", "--force"]).ok();
    assert_eq!(
        std::fs::read_to_string(w.vault("dev").join(".env.dev")).unwrap(),
        "KU=keyutils-held-value\n"
    );
    // The Secret Service does not hold it: backends are never mixed silently.
    w.extra_env.clear();
    let r = w.vsync(&["push", "dev"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("no key"), "{}", r.stderr);
}

#[test]
fn profile_add_reads_secret_from_stdin_and_show_masks_it() {
    let mut w = World::new();
    w.secret("wJalrXUtnFEMI-profile-secret");
    w.vsync_in(
        &w.repo_dir,
        &[
            "profile",
            "add",
            "ci",
            "--endpoint",
            "http://127.0.0.1:8333",
            "--region",
            "us-east-1",
            "--bucket",
            "b",
            "--access-key-id",
            "AKID",
            "--secret-key-stdin",
        ],
        Some("wJalrXUtnFEMI-profile-secret\n"),
    )
    .ok();
    let p = w.base().join("profiles/ci.json");
    assert_eq!(mode(&p), 0o600);
    assert!(
        std::fs::read_to_string(&p)
            .unwrap()
            .contains("wJalrXUtnFEMI-profile-secret")
    );
    let s = w.vsync(&["profile", "show", "ci"]).ok();
    assert!(s.stdout.contains("wJ********"), "{}", s.stdout);
    let l = w.vsync(&["profile", "list", "--json"]).ok();
    assert!(l.stdout.contains("\"ci\""));
    // never from a flag
    w.vsync(&["profile", "add", "x", "--secret-key", "nope"])
        .code(2);
    w.vsync(&["profile", "remove", "ci", "--yes"]).ok();
    assert!(!p.exists());
}

#[test]
fn pull_an_older_version_diff_two_versions_and_use_links_env() {
    require_keychain!();
    let mut w = World::new();
    w.init("dev").ok();
    w.write_env("dev", &[("A", "first-aaa")]);
    w.vsync(&["push", "dev"]).ok();
    let v1 = serde_json::from_str::<serde_json::Value>(
        &w.vsync(&["versions", "dev", "--json"]).ok().stdout,
    )
    .unwrap()["latest"]
        .as_str()
        .unwrap()
        .to_owned();
    w.write_env("dev", &[("A", "second-bbb"), ("B", "new-ccc")]);
    w.vsync(&["push", "dev"]).ok();
    let v2 = serde_json::from_str::<serde_json::Value>(
        &w.vsync(&["versions", "dev", "--json"]).ok().stdout,
    )
    .unwrap()["latest"]
        .as_str()
        .unwrap()
        .to_owned();
    let d = w
        .vsync(&["diff", "dev", "--from", &v1, "--to", &v2, "--json"])
        .ok();
    let v: serde_json::Value = serde_json::from_str(&d.stdout).unwrap();
    assert_eq!(v["keys"]["added"], serde_json::json!(["B"]));
    assert_eq!(v["keys"]["changed"], serde_json::json!(["A"]));
    w.vsync(&["pull", "dev", "--version", &v1]).ok();
    assert_eq!(
        std::fs::read_to_string(w.vault("dev").join(".env.dev")).unwrap(),
        "A=first-aaa\n"
    );
    w.vsync(&["pull", "dev", "--version", "not-a-ts"]).code(2);
    // use: ./.env points at the vault's env file
    w.vsync(&["use", "dev"]).ok();
    let link = std::fs::read_link(w.repo_dir.join(".env")).unwrap();
    assert_eq!(link, std::path::Path::new("infra/vault/dev/.env.dev"));
    std::fs::remove_file(w.repo_dir.join(".env")).unwrap();
    std::fs::write(w.repo_dir.join(".env"), "LOCAL=1\n").unwrap();
    w.vsync(&["use", "dev"]).code(5);
    assert_eq!(
        std::fs::read_to_string(w.repo_dir.join(".env")).unwrap(),
        "LOCAL=1\n",
        "a regular .env is never touched"
    );
}

#[test]
fn a_store_without_conditional_writes_is_recorded_and_push_warns() {
    require_keychain!();
    let mut w = World::new();
    w.init("dev").ok();
    // The file store honours conditional writes: init's probe records nothing.
    assert!(w.read_config("dev").get("conditionalWrites").is_none());
    // What init records for a store that ignores them:
    w.edit_config("dev", |v| {
        v["conditionalWrites"] = serde_json::Value::Bool(false)
    });
    w.write_env("dev", &[("A", "no-cas-value")]);
    let r = w.vsync(&["push", "dev"]).ok();
    assert!(
        r.stderr.contains("ignores conditional writes"),
        "{}",
        r.stderr
    );
    w.vsync(&["pull", "dev", "--force"]).ok();
    assert_eq!(
        std::fs::read_to_string(w.vault("dev").join(".env.dev")).unwrap(),
        "A=no-cas-value\n"
    );
}
