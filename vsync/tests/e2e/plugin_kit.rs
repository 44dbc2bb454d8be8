//! The kit for plugin authors: `examples/dest-template` builds as-is into a plugin that passes
//! `vsync plugins check` and that `vsync sync` drives like any destination.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::harness::{World, arg, install_plugin};
use crate::require_keychain;
use crate::sync::built_cdylib;

fn template() -> &'static Path {
    static P: OnceLock<PathBuf> = OnceLock::new();
    P.get_or_init(|| built_cdylib("dest-template", "vsync_dest_template"))
}

/// Installed as a user would: a private folder, the file not writable by others.
fn install(w: &World) -> PathBuf {
    install_plugin(w, template(), "libvsync_dest_template.so")
}

#[test]
fn the_template_passes_the_conformance_check() {
    let w = World::new();
    let plugin = install(&w);
    let r = w.vsync(&["plugins", "check", arg(&plugin), "--json"]).ok();
    let steps: Vec<serde_json::Value> = serde_json::from_str(&r.stdout).unwrap();
    assert!(steps.len() >= 12, "{}", r.stdout);
    for s in &steps {
        assert_eq!(s["verdict"], "ok", "{s}");
    }
    // pointing the scratch scope somewhere unusable is a reported failure, not a crash
    let scratch = "dir=/nonexistent/vsync/deeper";
    w.vsync(&["plugins", "check", arg(&plugin), "--opt", scratch])
        .code(1)
        .stdout_has("FAIL  preflight: ")
        .stdout_has("mkdir");
}

#[test]
fn sync_through_the_template_writes_one_private_file_per_key() {
    require_keychain!();
    let w = World::pushed(
        "dev",
        &[("API_TOKEN", "tok-kit-9f8e"), ("DB_PASS", "pw-kit-7d6c")],
    );
    let plugin = install(&w);
    let out = w.home.join("secrets");
    let opt = format!("template.dir={}", out.display());
    let to = ["sync", "dev", "--to", "template", "--plugin"];
    let args = [&to[..], &[arg(&plugin), "--opt", &opt]].concat();
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
    let v = w
        .vsync(&[&args[..], &["--plan", "--json"]].concat())
        .ok()
        .json();
    let changes = v[0]["plan"]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 2, "{v}");
    for c in changes {
        assert_eq!(c["op"], "unchanged", "{v}");
    }
}
