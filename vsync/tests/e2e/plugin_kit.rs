//! The kit for plugin authors: `examples/dest-template` builds as-is into a plugin that passes
//! `vsync plugins check` and that `vsync sync` drives like any destination.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::harness::World;
use crate::require_keychain;
use crate::sync::built_cdylib;

fn template() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| built_cdylib("dest-template", "vsync_dest_template"))
}

/// Installed as a user would: a private folder, the file not writable by others.
fn install(w: &World) -> PathBuf {
    let dir = w.home.join("plugins");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let p = dir.join("libvsync_dest_template.so");
    std::fs::copy(template(), &p).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn the_template_passes_the_conformance_check() {
    let w = World::new();
    let plugin = install(&w);
    let r = w
        .vsync(&["plugins", "check", plugin.to_str().unwrap(), "--json"])
        .ok();
    let steps: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).unwrap();
    assert!(steps.len() >= 12, "{}", r.stdout);
    for s in &steps {
        assert_eq!(s["verdict"], "ok", "{s}");
    }
    // pointing the scratch scope somewhere unusable is a reported failure, not a crash
    let r = w
        .vsync(&[
            "plugins",
            "check",
            plugin.to_str().unwrap(),
            "--opt",
            "dir=/nonexistent/vsync/deeper",
        ])
        .code(1);
    assert!(r.stdout.contains("FAIL  preflight: "), "{}", r.stdout);
    assert!(r.stdout.contains("mkdir"), "{}", r.stdout);
}

#[test]
fn sync_through_the_template_writes_one_private_file_per_key() {
    require_keychain!();
    let mut w = World::new();
    w.init("dev").ok();
    w.write_env(
        "dev",
        &[("API_TOKEN", "tok-kit-9f8e"), ("DB_PASS", "pw-kit-7d6c")],
    );
    w.vsync(&["push", "dev"]).ok();
    let plugin = install(&w);
    let out = w.home.join("secrets");
    let opt = format!("template.dir={}", out.display());
    let args = [
        "sync",
        "dev",
        "--to",
        "template",
        "--plugin",
        plugin.to_str().unwrap(),
        "--opt",
        &opt,
    ];
    w.vsync(&args).ok();
    assert_eq!(
        std::fs::read_to_string(out.join("API_TOKEN")).unwrap(),
        "tok-kit-9f8e"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("DB_PASS")).unwrap(),
        "pw-kit-7d6c"
    );
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&out), 0o700);
    assert_eq!(mode(&out.join("DB_PASS")), 0o600);
    // read back: the second run changes nothing
    let r = w.vsync(&[&args[..], &["--plan", "--json"]].concat()).ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let changes = v[0]["plan"]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{v}");
    for c in changes {
        assert_eq!(c["op"], "unchanged", "{v}");
    }
}
