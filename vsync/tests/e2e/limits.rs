//! What push accepts, every reader accepts (the bundle limits, UTF-8 values), names are capped
//! before any write, bucket-controlled text is escaped before it reaches a terminal, and a
//! killed push does not leave staging files behind for ever.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::harness::World;
use crate::require_keychain;

fn prefix_dir(w: &World, env: &str) -> PathBuf {
    w.bucket.join(&w.repo).join(env)
}

fn version_count(w: &World) -> usize {
    std::fs::read_dir(prefix_dir(w, "dev").join("versions"))
        .map(|rd| rd.flatten().count())
        .unwrap_or(0)
}

/// A machine with `dev` set up and `K=value` in its env file, not pushed yet.
fn dev_world(value: &str) -> World {
    let mut w = World::with_env("dev");
    w.write_env("dev", &[("K", value)]);
    w
}

/// `vsync push dev` fails with `code`, its message names both of `what`, and nothing was
/// uploaded.
#[track_caller]
fn push_refused_naming(w: &World, code: i32, what: [&str; 2]) {
    let r = w.vsync(&["push", "dev"]).code(code);
    assert!(what.iter().all(|s| r.stderr.contains(s)), "{}", r.stderr);
    assert_eq!(version_count(w), 0, "nothing may be uploaded");
}

#[test]
fn push_refuses_a_vault_over_the_byte_limit_naming_the_file() {
    require_keychain!();
    let w = dev_world("byte-limit-value");
    // 300 MB, sparse: the limit is checked on sizes before anything is read.
    let big = w.vault("dev").join("assets/huge.bin");
    std::fs::create_dir_all(big.parent().unwrap()).unwrap();
    std::fs::File::create(&big)
        .unwrap()
        .set_len(300 * 1024 * 1024)
        .unwrap();
    push_refused_naming(&w, 2, ["assets/huge.bin", "268435456 bytes"]);
    assert!(!prefix_dir(&w, "dev").join("latest").exists());
    std::fs::remove_file(&big).unwrap();
    w.vsync(&["push", "dev"]).ok();
}

#[test]
fn push_refuses_a_vault_over_the_entry_limit_naming_the_file() {
    require_keychain!();
    let w = dev_world("entry-limit-value");
    // The vault folder + .env.dev + 9 999 files = 10 001 entries, one over the limit.
    let many = w.vault("dev").join("many");
    std::fs::create_dir_all(&many).unwrap();
    for i in 0..9_998 {
        std::fs::write(many.join(format!("f{i:05}")), "").unwrap();
    }
    push_refused_naming(&w, 2, ["many/f09997", "10000 entries"]);
    // At the limit exactly, push works and pull reads it back.
    std::fs::remove_file(many.join("f09997")).unwrap();
    w.vsync(&["push", "dev"]).ok();
    w.vsync(&["pull", "dev", "--force"]).ok();
}

#[test]
fn non_utf8_value_is_refused_by_push_naming_the_key() {
    require_keychain!();
    let mut w = World::with_env("dev");
    w.secret("before-bad");
    w.secret("after-bad");
    std::fs::create_dir_all(w.vault("dev")).unwrap();
    std::fs::write(
        w.vault("dev").join(".env.dev"),
        b"OK=1\nBINARY_TOKEN=before-bad\xff\xfeafter-bad\n",
    )
    .unwrap();
    push_refused_naming(&w, 1, ["BINARY_TOKEN", "line 2"]);
}

/// Put a bundle whose `.env.dev` holds a non-UTF-8 value into the bucket, as another tool
/// (or an older vsync) could have pushed it.
fn push_raw_env(w: &World, env_bytes: &[u8]) {
    let (key, salt) = w.key_and_salt("dev");
    let stage = tempfile::tempdir().unwrap();
    let vault = stage.path().join("infra/vault/dev");
    std::fs::create_dir_all(&vault).unwrap();
    std::fs::write(vault.join(".env.dev"), env_bytes).unwrap();
    let zip = vsync_vault::zip_bundle::build(stage.path(), "infra/vault/dev").unwrap();
    let dk = vsync_crypto::kdf::DerivedKey::derive(&key, &salt);
    let ts = "20300101-000000";
    let sealed = vsync_crypto::bundle::seal(&dk, ts, &zip).unwrap();
    let p = prefix_dir(w, "dev");
    std::fs::create_dir_all(p.join("versions")).unwrap();
    std::fs::write(p.join(format!("versions/{ts}.enc")), sealed).unwrap();
    std::fs::write(p.join("latest"), ts).unwrap();
}

#[test]
fn non_utf8_value_in_a_pushed_bundle_is_refused_by_run_and_sync() {
    require_keychain!();
    let mut w = World::with_env("dev");
    w.secret("value-before");
    w.secret("value-after");
    push_raw_env(
        &w,
        b"GOOD=ok-value\nBAD_KEY=value-before\xc3\x28value-after\n",
    );
    let r = w.vsync(&["run", "dev", "--", "true"]).code(1);
    r.stderr_has("BAD_KEY");
    let r = w.vsync(&[
        "sync",
        "dev",
        "--to",
        "github",
        "--github-repo",
        "acme/web",
        "--plan",
    ]);
    assert_ne!(r.code, 0);
    r.stderr_has("BAD_KEY");
}

#[test]
fn long_env_names_are_refused_before_any_write() {
    require_keychain!();
    let w = World::new();
    let long = "a".repeat(230);
    let r = w
        .vsync(&["init", &long, "--store", &w.store_url(), "--yes"])
        .code(2);
    r.stderr_has("at most 64");
    let r = w
        .vsync(&["init", &"b".repeat(65), "--store", &w.store_url(), "--yes"])
        .code(2);
    r.stderr_has("at most 64");
    // Nothing was created: no config folder, no vault folder, nothing in the bucket.
    assert!(!w.base().join(&w.repo).exists());
    assert!(!w.repo_dir.join("infra").exists());
    assert_eq!(std::fs::read_dir(&w.bucket).unwrap().count(), 0);
    for verb in ["push", "pull", "status", "versions", "audit"] {
        w.vsync(&[verb, &long]).code(2);
    }
    w.init(&"c".repeat(64)).ok();
}

#[test]
fn audit_escapes_control_characters_from_a_tampered_log() {
    require_keychain!();
    let w = World::pushed("dev", &[("K", "audit-escape-value")]);
    let log = prefix_dir(&w, "dev").join("audit.csv");
    let mut text = std::fs::read_to_string(&log).unwrap();
    text.push_str(
        "2030-01-01T00:00:00.000Z,push\u{1b}[2J,20300101-000000,\"evil\nFORGED ROW\",127.0.0.1,\u{1b}]0;title\u{7},x@y,1,,\"a\rb\"\n",
    );
    std::fs::write(&log, text).unwrap();
    let r = w.vsync(&["audit", "dev"]).ok();
    assert!(
        !r.stdout.contains('\u{1b}') && !r.stdout.contains('\u{7}') && !r.stdout.contains('\r'),
        "{:?}",
        r.stdout
    );
    assert!(
        !r.stdout.lines().any(|l| l.starts_with("FORGED")),
        "{}",
        r.stdout
    );
    r.stdout_has("evil\\nFORGED ROW");
    let r = w.vsync(&["audit", "dev", "--csv"]).ok();
    assert!(!r.stdout.contains('\u{1b}'), "{:?}", r.stdout);
}

#[test]
fn versions_skips_and_reports_an_object_name_with_a_control_character() {
    require_keychain!();
    let w = World::pushed("dev", &[("K", "versions-control-value")]);
    let versions = prefix_dir(&w, "dev").join("versions");
    std::fs::write(versions.join("2030\u{1b}[31m.enc"), "x").unwrap();
    std::fs::write(versions.join("bad\nname.enc"), "x").unwrap();
    let r = w.vsync(&["versions", "dev"]).ok();
    r.stdout_has("<- latest");
    r.stderr_has("skipped 2");
    assert!(!r.stderr.contains('\u{1b}'), "{:?}", r.stderr);
    // The other verbs that list are not derailed either.
    w.vsync(&["pull", "dev", "--force"]).ok();
}

fn dead_pid() -> u64 {
    let mut c = std::process::Command::new("true").spawn().unwrap();
    c.wait().unwrap();
    u64::from(c.id())
}

fn aged(path: &Path, age: Duration) {
    let f = std::fs::File::create(path).unwrap();
    std::io::Write::write_all(&mut &f, b"partial ciphertext").unwrap();
    f.set_modified(SystemTime::now() - age).unwrap();
}

#[cfg(target_os = "linux")]
#[test]
fn staging_files_of_a_killed_push_are_cleaned_on_the_next_write() {
    require_keychain!();
    let mut w = World::pushed("dev", &[("K", "stale-temp-value")]);
    let versions = prefix_dir(&w, "dev").join("versions");
    // What a SIGKILLed push leaves: `<ts>.enc#<pid << 20>`, its process gone.
    let killed = versions.join(format!("20300101-000000.enc#{}", dead_pid() << 20));
    aged(&killed, Duration::from_secs(600));
    // A live writer's staging file (this test process) must survive.
    let live = versions.join(format!(
        "20300101-000001.enc#{}",
        u64::from(std::process::id()) << 20
    ));
    aged(&live, Duration::from_secs(600));
    w.push_env("dev", &[("K", "stale-temp-value-2")]);
    assert!(
        !killed.exists(),
        "the killed push's staging file is still there"
    );
    assert!(live.exists(), "a live writer's staging file was removed");
}
