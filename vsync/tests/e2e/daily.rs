//! The daily loop on the embedded default (`file://`) bucket.

use crate::harness::{World, mode};
use crate::require_keychain;

#[test]
fn init_creates_key_config_vault_pin_and_gitignore() {
    require_keychain!();
    let w = World::with_env("dev");
    let cfg = w.config_path("dev");
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
    let w = World::with_env("dev");
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
    let mut a = World::with_env("dev");
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
    a.vsync(&["push", "dev"]).ok().stdout_has("pushed");

    // The bucket holds only ciphertext.
    let versions = a.prefix("dev").join("versions");
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
    let json = a.vsync(&["versions", "dev", "--json"]).ok().json();
    assert_eq!(json["versions"].as_array().unwrap().len(), 1);
    assert_eq!(json["versions"][0]["latest"], true);
}

#[test]
fn push_refuses_when_remote_advanced_and_pull_refuses_local_edits() {
    require_keychain!();
    let mut a = World::pushed("dev", &[("K", "v1-secret-aaaa")]);

    let mut b = World::second_machine(&a);
    b.vsync(&["pull", "dev"]).ok();
    std::fs::write(b.vault("dev").join(".env.dev"), "K=v2-secret-bbbb\n").unwrap();
    b.secret("v2-secret-bbbb");
    a.secret("v2-secret-bbbb");
    b.vsync(&["push", "dev"]).ok();

    // Machine A edits on top of v1 and tries to push: the remote advanced.
    std::fs::write(a.vault("dev").join(".env.dev"), "K=v3-secret-cccc\n").unwrap();
    a.secret("v3-secret-cccc");
    a.vsync(&["push", "dev"])
        .code(5)
        .stderr_has("remote advanced — pull first");
    // ...and pull refuses to overwrite the unpushed edit.
    a.vsync(&["pull", "dev"]).code(5).stderr_has("local edits");
    assert_eq!(a.env_text("dev"), "K=v3-secret-cccc\n");

    // --backup keeps a copy and pulls.
    a.vsync(&["pull", "dev", "--backup"])
        .ok()
        .stdout_has("prior state preserved");
    assert_eq!(a.env_text("dev"), "K=v2-secret-bbbb\n");
}

#[test]
fn diff_names_keys_never_values_and_rollback_rolls_forward() {
    require_keychain!();
    let mut a = World::pushed("dev", &[("A", "alpha-111"), ("B", "beta-222")]);
    let first = a.latest_version("dev");
    a.write_env(
        "dev",
        &[("A", "alpha-111"), ("B", "beta-333"), ("C", "gamma-444")],
    );
    let v = a.vsync(&["diff", "dev", "--json"]).ok().json();
    assert_eq!(v["keys"]["added"], serde_json::json!(["C"]));
    assert_eq!(v["keys"]["changed"], serde_json::json!(["B"]));
    assert_eq!(v["keys"]["removed"], serde_json::json!([]));
    a.vsync(&["push", "dev"]).ok();
    a.vsync(&["rollback", "dev", &first]).ok();
    a.vsync(&["pull", "dev"]).ok();
    assert_eq!(a.env_text("dev"), "A=alpha-111\nB=beta-222\n");
    let rows = a.vsync(&["audit", "dev", "--json"]).ok().json();
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
    let w = World::with_env("dev");
    let v = w.vsync(&["status", "--json"]).ok().json();
    assert_eq!(v["envs"][0]["env"], "dev");
    assert_eq!(v["envs"][0]["key"], "present");
    w.vsync(&["doctor"])
        .ok()
        .stdout_has("ok    dev: conditional writes")
        .stdout_has("ok    dev: .gitignore");
    std::fs::write(w.repo_dir.join(".gitignore"), "").unwrap();
    w.vsync(&["doctor"])
        .code(1)
        .stdout_has("fail  dev: .gitignore");
}

#[test]
fn kernel_keyring_backend_when_chosen_explicitly() {
    require_keychain!();
    let mut w = World::new();
    w.set_env("VSYNC_KEYCHAIN", "keyutils");
    w.init_push("dev", &[("KU", "keyutils-held-value")]);
    assert_eq!(w.env_from_bucket("dev"), "KU=keyutils-held-value\n");
    // The Secret Service does not hold it: backends are never mixed silently.
    w.extra_env.clear();
    let r = w.vsync(&["push", "dev"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    r.stderr_has("no key");
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
    w.vsync(&["profile", "show", "ci"])
        .ok()
        .stdout_has("wJ********");
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
    let mut w = World::pushed("dev", &[("A", "first-aaa")]);
    let v1 = w.latest_version("dev");
    w.push_env("dev", &[("A", "second-bbb"), ("B", "new-ccc")]);
    let v2 = w.latest_version("dev");
    let v = w
        .vsync(&["diff", "dev", "--from", &v1, "--to", &v2, "--json"])
        .ok()
        .json();
    assert_eq!(v["keys"]["added"], serde_json::json!(["B"]));
    assert_eq!(v["keys"]["changed"], serde_json::json!(["A"]));
    w.vsync(&["pull", "dev", "--version", &v1]).ok();
    assert_eq!(w.env_text("dev"), "A=first-aaa\n");
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
    let mut w = World::with_env("dev");
    // The file store honours conditional writes: init's probe records nothing.
    assert!(w.read_config("dev").get("conditionalWrites").is_none());
    // What init records for a store that ignores them:
    w.edit_config("dev", |v| {
        v["conditionalWrites"] = serde_json::Value::Bool(false)
    });
    w.write_env("dev", &[("A", "no-cas-value")]);
    w.vsync(&["push", "dev"])
        .ok()
        .stderr_has("ignores conditional writes");
    w.vsync(&["pull", "dev", "--force"]).ok();
    assert_eq!(w.env_text("dev"), "A=no-cas-value\n");
}
