//! `vsync sync` through the example `jsonfile` plugin (a real cdylib loaded over the C ABI),
//! and `vsync plugins list|check`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::harness::{World, mode};
use crate::require_keychain;

/// Build `package` (a cdylib) with the profile this test binary was built with, and return
/// `lib<lib>.so` from the same target folder.
pub(crate) fn built_cdylib(package: &str, lib: &str) -> PathBuf {
    // target/<profile>/deps/e2e-* → target/<profile>
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
    let mut args = vec!["build", "-q", "-p", package];
    if dir.file_name().is_some_and(|n| n == "release") {
        args.push("--release");
    }
    let st = std::process::Command::new(env!("CARGO"))
        .args(&args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .status()
        .unwrap_or_else(|e| panic!("cargo build -p {package}: {e}"));
    assert!(st.success(), "cargo build -p {package}");
    let p = dir.join(format!("lib{lib}.so"));
    assert!(p.is_file(), "{}", p.display());
    p
}

/// Build `dest-jsonfile` once and return the artifact.
fn built_plugin() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| built_cdylib("dest-jsonfile", "vsync_dest_jsonfile"))
}

/// A private copy of the plugin (0700 folder, 0755 file), as a user would install it.
fn install(w: &World) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = w.home.join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let p = dir.join("libvsync_dest_jsonfile.so");
    std::fs::copy(built_plugin(), &p).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn read_json(p: &Path) -> serde_json::Map<String, serde_json::Value> {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn setup() -> (World, PathBuf, PathBuf) {
    let mut w = World::new();
    w.init("dev").ok();
    w.write_env(
        "dev",
        &[("API_TOKEN", "tok-sync-1a2b"), ("DB_PASS", "pw-sync-3c4d")],
    );
    w.vsync(&["push", "dev"]).ok();
    let plugin = install(&w);
    let out = w.home.join("out.json");
    (w, plugin, out)
}

#[test]
fn create_unchanged_update_drift_prune() {
    require_keychain!();
    let (mut w, plugin, out) = setup();
    let pl = plugin.to_str().unwrap();
    let o = out.to_str().unwrap();

    let r = w
        .vsync(&[
            "sync",
            "dev",
            "--to",
            "jsonfile",
            "--plugin",
            pl,
            "--jsonfile-path",
            o,
        ])
        .ok();
    assert!(r.stdout.contains("2 create"), "{}", r.stdout);
    let m = read_json(&out);
    assert_eq!(m["API_TOKEN"], "tok-sync-1a2b");
    assert_eq!(m["DB_PASS"], "pw-sync-3c4d");
    assert_eq!(mode(&out), 0o600);

    // routing was saved: no flag needed the second time; everything unchanged
    let r = w
        .vsync(&["sync", "dev", "--to", "jsonfile", "--plugin", pl, "--plan"])
        .ok();
    assert!(r.stdout.contains("2 unchanged"), "{}", r.stdout);
    let r = w
        .vsync(&[
            "sync", "dev", "jsonfile", "--plugin", pl, "--plan", "--json",
        ])
        .ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v[0]["plan"]["changes"][0]["op"], "unchanged", "{v}");

    // one changed value → update
    w.write_env(
        "dev",
        &[("API_TOKEN", "tok-sync-1a2b"), ("DB_PASS", "pw-sync-NEW9")],
    );
    w.vsync(&["push", "dev"]).ok();
    let r = w
        .vsync(&["sync", "dev", "--to", "jsonfile", "--plugin", pl, "--plan"])
        .ok();
    assert!(r.stdout.contains("update    DB_PASS"), "{}", r.stdout);
    assert!(r.stdout.contains("unchanged API_TOKEN"), "{}", r.stdout);
    w.vsync(&["sync", "dev", "--to", "jsonfile", "--plugin", pl])
        .ok();
    assert_eq!(read_json(&out)["DB_PASS"], "pw-sync-NEW9");

    // drift behind vsync's back, plus an orphan
    let mut m = read_json(&out);
    m.insert("API_TOKEN".into(), "tampered-77".into());
    m.insert("ORPHAN".into(), "orphan-88".into());
    w.secret("tampered-77");
    w.secret("orphan-88");
    std::fs::write(&out, serde_json::to_vec(&m).unwrap()).unwrap();
    let r = w
        .vsync(&[
            "sync", "dev", "--to", "jsonfile", "--plugin", pl, "--plan", "--prune",
        ])
        .ok();
    assert!(r.stdout.contains("update    API_TOKEN"), "{}", r.stdout);
    assert!(r.stdout.contains("delete    ORPHAN"), "{}", r.stdout);
    assert!(r.stderr.contains("drift"), "{}", r.stderr);
    // prune without a terminal needs --yes; nothing written
    w.vsync(&["sync", "dev", "--to", "jsonfile", "--plugin", pl, "--prune"])
        .code(1);
    assert_eq!(read_json(&out)["API_TOKEN"], "tampered-77");
    w.vsync(&[
        "sync", "dev", "--to", "jsonfile", "--plugin", pl, "--prune", "--yes",
    ])
    .ok();
    let m = read_json(&out);
    assert!(!m.contains_key("ORPHAN"));
    assert_eq!(m["API_TOKEN"], "tok-sync-1a2b");
}

#[test]
fn invalid_names_abort_the_target_before_any_write() {
    require_keychain!();
    let mut w = World::new();
    w.init("dev").ok();
    w.write_env("dev", &[("GOOD", "good-v-11"), ("bad.name", "bad-v-22")]);
    w.vsync(&["push", "dev"]).ok();
    let plugin = install(&w);
    let out = w.home.join("out.json");
    let r = w
        .vsync(&[
            "sync",
            "dev",
            "--to",
            "jsonfile",
            "--plugin",
            plugin.to_str().unwrap(),
            "--jsonfile-path",
            out.to_str().unwrap(),
        ])
        .code(1);
    assert!(r.stderr.contains("bad.name"), "{}", r.stderr);
    assert!(!out.exists(), "nothing may be written");
    // excluding the offending key lets the rest through
    let r = w
        .vsync(&[
            "sync",
            "dev",
            "--to",
            "jsonfile",
            "--plugin",
            plugin.to_str().unwrap(),
            "--exclude-property",
            "bad.name",
        ])
        .ok();
    assert!(
        r.stdout.contains("skipped (excluded): bad.name"),
        "{}",
        r.stdout
    );
    assert_eq!(read_json(&out).len(), 1);
}

#[test]
fn plugin_failures_are_per_target_errors() {
    require_keychain!();
    let (w, plugin, out) = setup();
    let pl = plugin.to_str().unwrap();
    let o = out.to_str().unwrap();
    // a panic inside the plugin: a clear error, exit 1, no crash
    let r = w
        .vsync(&[
            "sync",
            "dev",
            "--to",
            "jsonfile",
            "--plugin",
            pl,
            "--jsonfile-path",
            o,
            "--opt",
            "jsonfile.fail_mode=panic",
        ])
        .code(1);
    assert!(r.stderr.contains("panicked"), "{}", r.stderr);
    // one key fails: the others are written, exit 6
    let r = w
        .vsync(&[
            "sync",
            "dev",
            "--to",
            "jsonfile",
            "--plugin",
            pl,
            "--jsonfile-path",
            o,
            "--opt",
            "jsonfile.fail_mode=fail_key:DB_PASS",
        ])
        .code(6);
    assert!(r.stdout.contains("1 failed (DB_PASS)"), "{}", r.stdout);
    let m = read_json(&out);
    assert!(m.contains_key("API_TOKEN") && !m.contains_key("DB_PASS"));
    // an unknown target fails on its own; the other target still syncs
    std::fs::remove_file(&out).unwrap();
    let r = w
        .vsync(&[
            "sync",
            "dev",
            "--to",
            "nosuch,jsonfile",
            "--plugin",
            pl,
            "--opt",
            "jsonfile.fail_mode=",
        ])
        .code(6);
    assert!(r.stderr.contains("unknown target"), "{}", r.stderr);
    assert_eq!(read_json(&out).len(), 2);
}

#[test]
fn plugins_list_and_check() {
    require_keychain!();
    let mut w = World::new();
    let plugin = install(&w);
    w.extra_env.push((
        "VSYNC_PLUGIN_DIR".into(),
        plugin.parent().unwrap().display().to_string(),
    ));
    let r = w.vsync(&["plugins", "list"]).ok();
    assert!(
        r.stdout.contains("jsonfile") && r.stdout.contains("abi 1"),
        "{}",
        r.stdout
    );
    let r = w
        .vsync(&["plugins", "check", plugin.to_str().unwrap()])
        .ok();
    for step in [
        "manifest",
        "map_name",
        "map_name(\"\")",
        "resolve_routing",
        "preflight",
        "plan",
        "apply",
        "list",
        "read_values",
        "apply (update)",
        "read_values (update)",
        "delete_one",
        "list (after delete)",
    ] {
        assert!(
            r.stdout.contains(&format!("ok    {step}: ")),
            "{step}: {}",
            r.stdout
        );
    }
    assert!(!r.stdout.contains("FAIL"), "{}", r.stdout);
    // a plugin that fails a write is reported, step by step, and exits 1
    let r = w
        .vsync(&[
            "plugins",
            "check",
            plugin.to_str().unwrap(),
            "--opt",
            "fail_mode=fail_key:VSYNC_CHECK_B",
            "--json",
        ])
        .code(1);
    let steps: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).unwrap();
    let apply = steps.iter().find(|s| s["check"] == "apply").unwrap();
    assert_eq!(apply["verdict"], "fail", "{apply}");
    assert!(apply["detail"].as_str().unwrap().contains("VSYNC_CHECK_B"));
    // a world-writable plugin folder is refused before loading
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        plugin.parent().unwrap(),
        std::fs::Permissions::from_mode(0o777),
    )
    .unwrap();
    let r = w
        .vsync(&["plugins", "check", plugin.to_str().unwrap()])
        .code(1);
    assert!(r.stderr.contains("world-writable"), "{}", r.stderr);
}

#[test]
fn sha256_pin_is_checked_before_loading() {
    require_keychain!();
    let (w, plugin, out) = setup();
    let pl = plugin.to_str().unwrap();
    let o = out.to_str().unwrap();
    // first sync saves sync.jsonfile; then pin a wrong hash
    w.vsync(&[
        "sync",
        "dev",
        "--to",
        "jsonfile",
        "--plugin",
        pl,
        "--jsonfile-path",
        o,
    ])
    .ok();
    let cfg = w.base().join(&w.repo).join("env_dev");
    let edit = |pin: &str| {
        use std::io::{Read, Write};
        let gz = std::fs::read(&cfg).unwrap();
        let mut json = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut json)
            .unwrap();
        let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
        v["sync"]["jsonfile"]["plugin_sha256"] = pin.into();
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(v.to_string().as_bytes()).unwrap();
        std::fs::write(&cfg, enc.finish().unwrap()).unwrap();
    };
    edit(&"0".repeat(64));
    let r = w
        .vsync(&["sync", "dev", "--to", "jsonfile", "--plugin", pl])
        .code(1);
    assert!(r.stderr.contains("does not match the pin"), "{}", r.stderr);
    let out = std::process::Command::new("sha256sum")
        .arg(&plugin)
        .output()
        .unwrap();
    let hash = String::from_utf8(out.stdout).unwrap();
    edit(hash.split_whitespace().next().unwrap());
    w.vsync(&["sync", "dev", "--to", "jsonfile", "--plugin", pl])
        .ok();
}

#[test]
fn case_insensitive_collisions_abort_the_target() {
    require_keychain!();
    let mut w = World::new();
    w.init("dev").ok();
    w.write_env(
        "dev",
        &[
            ("Api_Key", "ci-v-1"),
            ("API_KEY", "ci-v-2"),
            ("OTHER", "ci-v-3"),
        ],
    );
    w.vsync(&["push", "dev"]).ok();
    let plugin = install(&w);
    let out = w.home.join("out.json");
    let r = w
        .vsync(&[
            "sync",
            "dev",
            "--to",
            "jsonfile",
            "--plugin",
            plugin.to_str().unwrap(),
            "--jsonfile-path",
            out.to_str().unwrap(),
            "--opt",
            "jsonfile.case_insensitive=true",
        ])
        .code(1);
    assert!(
        r.stderr.contains("collision") && r.stderr.contains("Api_Key, API_KEY"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
}

#[test]
fn timeout_marks_unstarted_keys_not_attempted() {
    require_keychain!();
    let (w, plugin, out) = setup();
    let r = w
        .vsync(&[
            "sync",
            "dev",
            "--to",
            "jsonfile",
            "--plugin",
            plugin.to_str().unwrap(),
            "--jsonfile-path",
            out.to_str().unwrap(),
            "--opt",
            "jsonfile.fail_mode=slow",
            "--jobs",
            "1",
            "--timeout",
            "1",
        ])
        .code(1);
    assert!(
        r.stdout.contains("not attempted: 1"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
}
