//! What `push` proves before it uploads (issue 10 item 3: its key and salt open the current
//! `latest`; `init` over an existing env) and how it names versions (issue 11 item 2: never after
//! the current second).

use std::path::PathBuf;

use vsync_crypto::kdf::DerivedKey;

use crate::harness::{Run, World};
use crate::require_keychain;

fn prefix(w: &World) -> PathBuf {
    w.bucket.join(&w.repo).join("dev")
}

fn latest(w: &World) -> String {
    std::fs::read_to_string(prefix(w).join("latest")).unwrap()
}

/// A machine that pushed `dev` once, and the version it pushed.
fn pushed() -> (World, String) {
    let mut w = World::new();
    w.init_push("dev", &[("API_KEY", "team-value-7b1d")]);
    let version = latest(&w);
    (w, version)
}

#[track_caller]
fn wrong_key(r: Run) {
    let r = r.code(4);
    assert!(
        r.stderr.contains("does not open") && r.stderr.contains("vsync import dev"),
        "{}",
        r.stderr
    );
}

#[test]
fn push_with_a_wrong_salt_is_refused_and_uploads_nothing() {
    require_keychain!();
    let (mut w, before) = pushed();
    let (_, salt) = w.key_and_salt("dev");
    w.edit_config("dev", |c| c["encryption"]["salt"] = "abc".into());
    w.write_env("dev", &[("API_KEY", "edited-value-0a9c")]);
    wrong_key(w.vsync(&["push", "dev"]));
    assert_eq!(latest(&w), before);
    let versions = std::fs::read_dir(prefix(&w).join("versions"))
        .unwrap()
        .count();
    assert_eq!(versions, 1, "nothing was uploaded");
    // The right salt pushes again.
    w.edit_config("dev", |c| c["encryption"]["salt"] = salt.into());
    w.vsync(&["push", "dev"]).ok();
}

#[test]
fn push_with_a_stray_key_is_refused_and_init_over_an_existing_env_needs_adopt() {
    require_keychain!();
    let (a, before) = pushed();
    let (_, salt) = a.key_and_salt("dev");

    // Another machine sets the env up again instead of importing the team's key.
    let mut b = a.other_machine();
    let cfg = b.base().join(&b.repo).join("env_dev");
    let r = b.init("dev").code(5);
    r.stderr_has("vsync import dev");
    assert!(!cfg.exists(), "a refused init writes no config");
    let r = b
        .vsync(&["init", "dev", "--store", &b.store_url(), "--yes", "--adopt"])
        .ok();
    r.stderr_has("--replace-key");
    // Its own random key, even with the team's salt, does not open `latest`.
    b.edit_config("dev", |c| c["encryption"]["salt"] = salt.into());
    b.write_env("dev", &[("API_KEY", "stray-value-55e0")]);
    wrong_key(b.vsync(&["push", "dev", "--force"]));
    assert_eq!(latest(&a), before);
    a.vsync(&["pull", "dev", "--force"]).ok();

    // A key lost for good: --replace-key starts over, loudly.
    let r = b.vsync(&["push", "dev", "--force", "--replace-key"]).ok();
    r.stderr_has("new share file");
    assert_ne!(latest(&a), before);
}

#[test]
fn a_damaged_latest_does_not_block_the_repairing_push() {
    require_keychain!();
    let (mut w, _) = pushed();
    w.push_env("dev", &[("API_KEY", "second-value-c3d4")]);
    let obj = prefix(&w).join(format!("versions/{}.enc", latest(&w)));
    let mut bytes = std::fs::read(&obj).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(&obj, bytes).unwrap();
    // The version before it opens with this key: the key is right, push a good copy.
    let r = w.vsync(&["push", "dev"]).ok();
    r.stderr_has("pushing a good copy");
    w.vsync(&["pull", "dev", "--force"]).ok();
}

fn now_ts() -> String {
    vsync_vault::ts::format_bundle_ts(time::OffsetDateTime::now_utc())
}

/// A machine that pushed, then the current latest re-sealed under a name `secs` seconds from
/// now and `latest` pointed at it, as a writer whose clock runs ahead (or an earlier vsync that
/// named versions forward) does. Returns the machine and that future name.
fn pushed_then_future_latest(secs: i64) -> (World, String) {
    let (w, _) = pushed();
    let future = future_latest(&w, secs);
    (w, future)
}

fn future_latest(w: &World, secs: i64) -> String {
    let (key, salt) = w.key_and_salt("dev");
    let dk = DerivedKey::derive(&key, &salt);
    let cur = latest(w);
    let obj = std::fs::read(prefix(w).join(format!("versions/{cur}.enc"))).unwrap();
    let zip = vsync_crypto::bundle::open(&dk, &obj, &cur).unwrap();
    let future = vsync_vault::ts::format_bundle_ts(
        time::OffsetDateTime::now_utc() + time::Duration::seconds(secs),
    );
    let sealed = vsync_crypto::bundle::seal(&dk, &future, &zip).unwrap();
    std::fs::write(prefix(w).join(format!("versions/{future}.enc")), sealed).unwrap();
    std::fs::write(prefix(w).join("latest"), &future).unwrap();
    future
}

#[test]
fn push_after_a_future_latest_waits_instead_of_naming_the_future() {
    require_keychain!();
    let (mut w, future) = pushed_then_future_latest(2);
    w.write_env("dev", &[("API_KEY", "after-future-88aa")]);
    w.vsync(&["push", "dev", "--force"]).ok();
    let done = now_ts();
    let named = latest(&w);
    assert!(named > future, "{named} must sort after {future}");
    assert!(
        named <= done,
        "version {named} is named after the clock ({done}) at the end of the push"
    );
}

#[test]
fn push_refuses_a_latest_far_ahead_of_the_clock() {
    require_keychain!();
    let (mut w, future) = pushed_then_future_latest(120);
    w.write_env("dev", &[("API_KEY", "far-future-77bb")]);
    w.vsync(&["push", "dev", "--force"])
        .code(5)
        .stderr_has("clock");
    assert_eq!(latest(&w), future);
}

#[test]
fn quick_pushes_never_name_a_version_after_the_clock() {
    require_keychain!();
    let (mut w, _) = pushed();
    let mut names = vec![latest(&w)];
    for i in 0..3 {
        w.push_env("dev", &[("API_KEY", &format!("quick-{i}-value-d00d"))]);
        let done = now_ts();
        let named = latest(&w);
        assert!(
            named <= done,
            "version {named} named after the clock ({done})"
        );
        assert!(&named > names.last().unwrap());
        names.push(named);
    }
}
