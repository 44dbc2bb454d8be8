//! Plugins run out of process: one that crashes, aborts, exits, hangs, never finishes a reply
//! or garbles its channel fails its own target with a one-line reason, while a second target
//! of the same run (OpenBao, read back through its own API) syncs; the exit code is 6 (or 1
//! when nothing synced), never 0. The misbehaving plugins are tiny C libraries built here
//! (`plugins/misbehave.c`), or the jsonfile example's hooks for a crash in the middle of a write.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use vsync_testkit::services::{self, VaultService};

use crate::harness::{Run, World, arg, install_plugin, target_report};
use crate::require_keychain;

const KEYS: [(&str, &str); 2] = [
    ("API_TOKEN", "tok-oop-5e6f7a8b"),
    ("DB_PASS", "pw-oop-9c0d1e2f"),
];

/// Build `misbehave.c` as plugin `id` with `defines`, installed privately under the test HOME.
fn c_plugin(w: &World, id: &str, defines: &[&str]) -> PathBuf {
    let out = w.plugin_dir().join(format!("libvsync_dest_{id}.so"));
    let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/plugins/misbehave.c");
    let st = std::process::Command::new("cc")
        .args(["-shared", "-fPIC", "-O0", "-o"])
        .arg(&out)
        .arg(format!("-DID=\"{id}\""))
        .args(defines)
        .arg(src)
        .status()
        .expect("cc (a C compiler) is needed to build the test plugins");
    assert!(st.success(), "cc {id}");
    std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755)).unwrap();
    out
}

struct Setup {
    w: World,
    vault: VaultService,
    path: String,
}

fn setup() -> Setup {
    let mut w = World::new();
    let vault = services::require_vault();
    w.set_env("VAULT_TOKEN", &vault.token);
    w.init_push("dev", &KEYS);
    let path = format!("e2e-oop/{}", w.repo);
    Setup { w, vault, path }
}

impl Setup {
    /// `vsync sync dev --to hashivault,<plugin id>` (the good target first: the bad one may
    /// use up the run's timeout).
    fn sync(&self, id: &str, plugin: &Path, extra: &[&str]) -> Run {
        let to = format!("hashivault,{id}");
        let vault = ["--vault-addr", &self.vault.addr, "--vault-mount", "secret"];
        let path = ["--vault-path", &self.path, "--plugin", arg(plugin)];
        let head = [&["sync", "dev", "--to", &to][..], &vault, &path].concat();
        self.w
            .vsync(&[&head[..], &["--no-progress"], extra].concat())
    }

    /// What OpenBao holds at this test's path, read through its own API.
    fn vault_holds_everything(&self) {
        let r = services::http_request(
            "GET",
            &format!("{}/v1/secret/data/{}", self.vault.addr, self.path),
            &[("X-Vault-Token", self.vault.token.as_str())],
        )
        .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        for (k, val) in KEYS {
            assert_eq!(v["data"]["data"][k], val, "hashivault {k}: {v}");
        }
    }
}

/// One bad plugin in a run with OpenBao: its own target fails with `reason`, OpenBao syncs,
/// exit 6; alone it exits 1; `plugins check` reports it as a FAIL line and exits 1.
fn contained(id: &str, defines: &[&str], reason: &str, extra: &[&str]) {
    require_keychain!();
    let s = setup();
    let plugin = c_plugin(&s.w, id, defines);
    let r = s.sync(id, &plugin, extra).code(6);
    let line = r
        .stderr
        .lines()
        .find(|l| l.contains(&format!("plugin {id} ")))
        .unwrap_or_else(|| panic!("no line names plugin {id}:\n{}", r.stderr));
    assert!(line.contains(reason), "{reason}: {line}");
    r.stdout_has(&format!("{id}: failed, nothing written"))
        .stdout_has("secrets synced to hashivault");
    s.vault_holds_everything();
    // --json still prints a report, with the failure in it
    let r = s.sync(id, &plugin, &[extra, &["--json"]].concat()).code(6);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let bad = target_report(&v, id);
    assert_eq!(bad["status"], "failed", "{v}");
    // alone: nothing synced, exit 1
    let alone = ["sync", "dev", "--to", id, "--plugin", arg(&plugin)];
    s.w.vsync(&[&alone[..], extra].concat()).code(1);
    // the conformance check runs it the same way
    let check = ["plugins", "check", arg(&plugin)];
    s.w.vsync(&[&check[..], extra].concat())
        .code(1)
        .stdout_has("FAIL")
        .stdout_has(reason);
}

#[test]
fn a_segfaulting_plugin_fails_only_its_target() {
    contained(
        "segv",
        &["-DMODE_SEGV"],
        "crashed (killed by signal 11 SIGSEGV)",
        &[],
    );
}

#[test]
fn a_plugin_that_segfaults_while_loading_fails_only_its_target() {
    contained(
        "segvload",
        &["-DMODE_SEGV", "-DAT_LOAD"],
        "crashed (killed by signal 11 SIGSEGV) while loading",
        &[],
    );
}

#[test]
fn an_aborting_plugin_fails_only_its_target() {
    contained(
        "abortp",
        &["-DMODE_ABORT"],
        "crashed (killed by signal 6 SIGABRT)",
        &[],
    );
}

#[test]
fn a_plugin_calling_exit_0_cannot_turn_failure_into_success() {
    contained(
        "exitp",
        &["-DMODE_EXIT0"],
        "exited (status 0) without a reply",
        &[],
    );
}

#[test]
fn a_looping_plugin_is_stopped_after_the_timeout() {
    contained(
        "loopp",
        &["-DMODE_LOOP"],
        "within 3s (stopped)",
        &["--timeout", "3"],
    );
}

#[test]
fn a_reply_that_never_ends_is_stopped_after_the_timeout() {
    contained(
        "endless",
        &["-DMODE_ENDLESS"],
        "within 3s (stopped)",
        &["--timeout", "3"],
    );
}

#[test]
fn garbage_on_the_frame_channel_fails_only_its_target() {
    contained(
        "garbage",
        &["-DMODE_GARBAGE"],
        "sent a malformed frame",
        &[],
    );
}

/// The jsonfile example (made to misbehave by its `fail_mode` option) installed, the file it
/// writes, and the `--opt` naming that file.
fn jsonfile_plugin(w: &World) -> (PathBuf, PathBuf, String) {
    let built = crate::sync::built_cdylib("dest-jsonfile", "vsync_dest_jsonfile");
    let plugin = install_plugin(w, &built, "libvsync_dest_jsonfile.so");
    let out = w.home.join("out.json");
    let path_opt = format!("jsonfile.path={}", out.display());
    (plugin, out, path_opt)
}

#[test]
fn a_plugin_dying_in_the_middle_of_writes_fails_only_its_target() {
    require_keychain!();
    let s = setup();
    let (plugin, _, path) = jsonfile_plugin(&s.w);
    for (mode, reason, extra) in [
        (
            "abort",
            "crashed (killed by signal 6 SIGABRT) (during apply_one)",
            "",
        ),
        (
            "exit",
            "exited (status 0) without a reply (during apply_one)",
            "",
        ),
        // the run's deadline and the call's timeout are the same here: the engine may report
        // the timeout before the host does
        ("hang", "", "4"),
    ] {
        let fail = format!("jsonfile.fail_mode={mode}");
        let mut args = vec!["--opt", &path, "--opt", &fail];
        if !extra.is_empty() {
            args.extend(["--timeout", extra]);
        }
        let r = s.sync("jsonfile", &plugin, &args).code(6);
        assert!(r.stderr.contains(reason), "{mode}: {}", r.stderr);
        assert!(
            !r.stdout.contains("synced to jsonfile"),
            "{mode}: {}",
            r.stdout
        );
        assert!(r.stdout.contains("jsonfile: 0 ok"), "{mode}: {}", r.stdout);
        s.vault_holds_everything();
    }
}

#[test]
fn a_chatty_plugin_keeps_its_channel_and_its_output_is_scrubbed() {
    require_keychain!();
    let s = setup();
    let (plugin, out, path) = jsonfile_plugin(&s.w);
    // the harness fails the test if any value reaches vsync's output
    let chatty = ["--opt", &path, "--opt", "jsonfile.fail_mode=chatty"];
    s.sync("jsonfile", &plugin, &chatty)
        .ok()
        .stderr_has("plugin jsonfile: jsonfile: writing API_TOKEN = [redacted]")
        .stderr_has("plugin jsonfile: jsonfile: wrote DB_PASS = [redacted]");
    let m: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    for (k, v) in KEYS {
        assert_eq!(m[k], v);
    }
    s.vault_holds_everything();
}

#[test]
fn the_plugin_child_gets_a_minimal_environment_and_its_stdout_is_not_the_channel() {
    require_keychain!();
    let s = setup();
    // prints on stdout (and says which variables it can see), then fails its first call
    let plugin = c_plugin(&s.w, "envp", &["-DMODE_STDOUT"]);
    s.sync("envp", &plugin, &[])
        .code(6)
        .stderr_has("plugin envp: noise on stdout from a plugin; VAULT_TOKEN unset, HOME set")
        .stderr_has("the envp plugin answers nothing");
    s.vault_holds_everything();
}

/// Vetting and pins come before any plugin code runs: a plugin that leaves a trace from its
/// load-time constructor leaves none when it is refused.
#[test]
fn refused_plugins_never_run_not_even_for_plugins_list() {
    require_keychain!();
    let s = setup();
    let plugin = c_plugin(&s.w, "mark", &["-DMODE_MARK", "-DAT_LOAD"]);
    let dir = plugin.parent().unwrap().to_owned();
    let trace = s.w.home.join("ran-mark");
    let mut w = s.w;
    w.set_env("VSYNC_PLUGIN_DIR", arg(&dir));
    // a group-writable folder two levels up: refused, not run
    let parent = w.home.clone();
    let old = std::fs::metadata(&parent).unwrap().permissions().mode();
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o775)).unwrap();
    w.vsync(&["plugins", "list"])
        .ok()
        .stdout_has("(refused)")
        .stdout_has("group- or world-writable");
    std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(old & 0o755)).unwrap();
    assert!(!trace.exists(), "a refused plugin ran");
    // a wrong pin for this env: refused by list --env and by sync, not run
    w.edit_config("dev", |v| {
        v["sync"]["mark"] = serde_json::json!({ "plugin_sha256": "0".repeat(64) });
    });
    w.vsync(&["plugins", "list", "--env", "dev"])
        .ok()
        .stdout_has("does not match the pin");
    let mark = |plugin: &Path| w.vsync(&["sync", "dev", "--to", "mark", "--plugin", arg(plugin)]);
    mark(&plugin).code(1).stderr_has("does not match the pin");
    // the same file under a name that hides its id, while the env pins plugins: refused
    let renamed = dir.join("renamed.so");
    std::fs::copy(&plugin, &renamed).unwrap();
    mark(&renamed)
        .code(1)
        .stderr_has("cannot be checked before it runs");
    assert!(!trace.exists(), "a refused plugin ran");
    // vetted and unpinned, `plugins list` runs it in a child and shows its sha256
    std::fs::remove_file(&renamed).unwrap();
    w.edit_config("dev", |v| {
        v["sync"]["mark"] = serde_json::json!({});
    });
    w.vsync(&["plugins", "list"])
        .ok()
        .stdout_has("mark\t0.0.1\tabi 1")
        .stdout_has("sha256 ");
    assert!(trace.exists());
}
