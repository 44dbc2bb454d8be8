//! `vsync sync` through the example `jsonfile` plugin (a real cdylib loaded over the C ABI),
//! and `vsync plugins list|check`.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::harness::{Run, World, arg, install_plugin, mode};
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
    install_plugin(w, built_plugin(), "libvsync_dest_jsonfile.so")
}

/// `vsync sync dev --to jsonfile --plugin <plugin> <extra…>`.
fn sync_json(w: &World, plugin: &Path, extra: &[&str]) -> Run {
    let to = ["sync", "dev", "--to", "jsonfile", "--plugin", arg(plugin)];
    w.vsync(&[&to[..], extra].concat())
}

fn read_json(p: &Path) -> serde_json::Map<String, serde_json::Value> {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn setup() -> (World, PathBuf, PathBuf) {
    let w = World::pushed(
        "dev",
        &[("API_TOKEN", "tok-sync-1a2b"), ("DB_PASS", "pw-sync-3c4d")],
    );
    let plugin = install(&w);
    let out = w.home.join("out.json");
    (w, plugin, out)
}

#[test]
fn create_unchanged_update_drift_prune() {
    require_keychain!();
    let (mut w, plugin, out) = setup();
    let pl = arg(&plugin);

    sync_json(&w, &plugin, &["--jsonfile-path", arg(&out)])
        .ok()
        .stdout_has("2 create");
    let m = read_json(&out);
    assert_eq!(m["API_TOKEN"], "tok-sync-1a2b");
    assert_eq!(m["DB_PASS"], "pw-sync-3c4d");
    assert_eq!(mode(&out), 0o600);

    // routing was saved: no flag needed the second time; everything unchanged
    sync_json(&w, &plugin, &["--plan"])
        .ok()
        .stdout_has("2 unchanged");
    let v = w
        .vsync(&[
            "sync", "dev", "jsonfile", "--plugin", pl, "--plan", "--json",
        ])
        .ok()
        .json();
    assert_eq!(v[0]["plan"]["changes"][0]["op"], "unchanged", "{v}");

    // one changed value → update
    w.push_env(
        "dev",
        &[("API_TOKEN", "tok-sync-1a2b"), ("DB_PASS", "pw-sync-NEW9")],
    );
    sync_json(&w, &plugin, &["--plan"])
        .ok()
        .stdout_has("update    DB_PASS")
        .stdout_has("unchanged API_TOKEN");
    sync_json(&w, &plugin, &[]).ok();
    assert_eq!(read_json(&out)["DB_PASS"], "pw-sync-NEW9");

    // drift behind vsync's back, plus an orphan
    let mut m = read_json(&out);
    m.insert("API_TOKEN".into(), "tampered-77".into());
    m.insert("ORPHAN".into(), "orphan-88".into());
    w.secret("tampered-77");
    w.secret("orphan-88");
    std::fs::write(&out, serde_json::to_vec(&m).unwrap()).unwrap();
    sync_json(&w, &plugin, &["--plan", "--prune"])
        .ok()
        .stdout_has("update    API_TOKEN")
        .stdout_has("delete    ORPHAN")
        .stderr_has("drift");
    // prune without a terminal needs --yes; nothing written
    sync_json(&w, &plugin, &["--prune"]).code(1);
    assert_eq!(read_json(&out)["API_TOKEN"], "tampered-77");
    sync_json(&w, &plugin, &["--prune", "--yes"]).ok();
    let m = read_json(&out);
    assert!(!m.contains_key("ORPHAN"));
    assert_eq!(m["API_TOKEN"], "tok-sync-1a2b");
}

#[test]
fn invalid_names_abort_the_target_before_any_write() {
    require_keychain!();
    let w = World::pushed("dev", &[("GOOD", "good-v-11"), ("bad.name", "bad-v-22")]);
    let plugin = install(&w);
    let out = w.home.join("out.json");
    sync_json(&w, &plugin, &["--jsonfile-path", arg(&out)])
        .code(1)
        .stderr_has("bad.name");
    assert!(!out.exists(), "nothing may be written");
    // excluding the offending key lets the rest through
    sync_json(&w, &plugin, &["--exclude-property", "bad.name"])
        .ok()
        .stdout_has("skipped (excluded): bad.name");
    assert_eq!(read_json(&out).len(), 1);
}

#[test]
fn plugin_failures_are_per_target_errors() {
    require_keychain!();
    let (w, plugin, out) = setup();
    let pl = arg(&plugin);
    let path = ["--jsonfile-path", arg(&out), "--opt"];
    // a panic inside the plugin: a clear error, exit 1, no crash
    sync_json(
        &w,
        &plugin,
        &[&path[..], &["jsonfile.fail_mode=panic"]].concat(),
    )
    .code(1)
    .stderr_has("panicked");
    // one key fails: the others are written, exit 6
    let fail_key = "jsonfile.fail_mode=fail_key:DB_PASS";
    sync_json(&w, &plugin, &[&path[..], &[fail_key]].concat())
        .code(6)
        .stdout_has("1 failed (DB_PASS)");
    let m = read_json(&out);
    assert!(m.contains_key("API_TOKEN") && !m.contains_key("DB_PASS"));
    // an unknown target fails on its own; the other target still syncs
    std::fs::remove_file(&out).unwrap();
    let to = ["sync", "dev", "--to", "nosuch,jsonfile", "--plugin", pl];
    w.vsync(&[&to[..], &["--opt", "jsonfile.fail_mode="]].concat())
        .code(6)
        .stderr_has("unknown target");
    assert_eq!(read_json(&out).len(), 2);
}

#[test]
fn plugins_list_and_check() {
    require_keychain!();
    let mut w = World::new();
    let plugin = install(&w);
    w.set_env("VSYNC_PLUGIN_DIR", arg(plugin.parent().unwrap()));
    w.vsync(&["plugins", "list"])
        .ok()
        .stdout_has("jsonfile")
        .stdout_has("abi 1");
    let r = w.vsync(&["plugins", "check", arg(&plugin)]).ok();
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
    let check = ["plugins", "check", arg(&plugin), "--opt"];
    let r = w
        .vsync(&[&check[..], &["fail_mode=fail_key:VSYNC_CHECK_B", "--json"]].concat())
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
    w.vsync(&["plugins", "check", arg(&plugin)])
        .code(1)
        .stderr_has("world-writable");
}

#[test]
fn sha256_pin_is_checked_before_loading() {
    require_keychain!();
    let (w, plugin, out) = setup();
    // first sync saves sync.jsonfile; then pin a wrong hash
    sync_json(&w, &plugin, &["--jsonfile-path", arg(&out)]).ok();
    let edit = |pin: &str| {
        w.edit_config("dev", |v| {
            v["sync"]["jsonfile"]["plugin_sha256"] = pin.into();
        });
    };
    edit(&"0".repeat(64));
    sync_json(&w, &plugin, &[])
        .code(1)
        .stderr_has("does not match the pin");
    let out = std::process::Command::new("sha256sum")
        .arg(&plugin)
        .output()
        .unwrap();
    let hash = String::from_utf8(out.stdout).unwrap();
    edit(hash.split_whitespace().next().unwrap());
    sync_json(&w, &plugin, &[]).ok();
}

#[test]
fn case_insensitive_collisions_abort_the_target() {
    require_keychain!();
    let w = World::pushed(
        "dev",
        &[
            ("Api_Key", "ci-v-1"),
            ("API_KEY", "ci-v-2"),
            ("OTHER", "ci-v-3"),
        ],
    );
    let plugin = install(&w);
    let out = w.home.join("out.json");
    let flags = ["--jsonfile-path", arg(&out), "--opt"];
    let r = sync_json(
        &w,
        &plugin,
        &[&flags[..], &["jsonfile.case_insensitive=true"]].concat(),
    )
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
    let flags = [
        "--jsonfile-path",
        arg(&out),
        "--opt",
        "jsonfile.fail_mode=slow",
    ];
    let r = sync_json(
        &w,
        &plugin,
        &[&flags[..], &["--jobs", "1", "--timeout", "1"]].concat(),
    )
    .code(1);
    assert!(
        r.stdout.contains("not attempted: 1"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
}
