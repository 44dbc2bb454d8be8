//! `vsync run` as a supervisor: signals reach the child, its exit code comes back, the asset
//! folder is gone afterwards whatever ended the run, folders of dead runs are swept, and the
//! child never inherits vsync's credentials.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::World;
use crate::require_keychain;

/// A world with `dev` pushed: one key and one asset file.
fn pushed_world() -> World {
    let mut w = World::with_env("dev");
    w.write_env("dev", &[("APP_TOKEN", "run-signal-secret-77")]);
    std::fs::write(w.vault("dev").join("cert.pem"), b"pem-bytes").unwrap();
    w.vsync(&["push", "dev"]).ok();
    w
}

/// `vsync <args>` started in the background, in a process group of its own (so a terminal the
/// tests run from never delivers signals to it), with the world's environment.
fn spawn(w: &World, runtime_dir: &Path, args: &[&str]) -> Child {
    use std::os::unix::process::CommandExt;
    w.command(env!("CARGO_BIN_EXE_vsync"), &w.repo_dir)
        .args(args)
        .env("XDG_RUNTIME_DIR", runtime_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("spawn vsync")
}

fn wait_for(path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn send(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

fn private_runtime_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    d
}

/// The child records its asset folder, then reports the signal it gets in its exit code (40+N).
const HANDLING_CHILD: &str = r#"
import os, signal, sys, time
out = sys.argv[1]
with open(os.path.join(out, "asset_dir"), "w") as f:
    f.write(os.environ["VSYNC_ASSET_DIR"])
def on_signal(n, _frame):
    with open(os.path.join(out, "got"), "w") as f:
        f.write(str(n))
    sys.exit(40 + n)
for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
    signal.signal(s, on_signal)
open(os.path.join(out, "ready"), "w").close()
while True:
    time.sleep(0.05)
"#;

#[test]
fn term_hup_and_int_reach_the_child_whose_code_passes_through_and_assets_go() {
    require_keychain!();
    let w = pushed_world();
    let rt = private_runtime_dir();
    for (sig, num) in [("TERM", 15), ("HUP", 1), ("INT", 2)] {
        let out = tempfile::tempdir().unwrap();
        let child = spawn(
            &w,
            rt.path(),
            &[
                "run",
                "dev",
                "--",
                "python3",
                "-c",
                HANDLING_CHILD,
                out.path().to_str().unwrap(),
            ],
        );
        wait_for(&out.path().join("ready"));
        let assets = PathBuf::from(std::fs::read_to_string(out.path().join("asset_dir")).unwrap());
        assert!(
            assets.starts_with(rt.path()),
            "assets live under $XDG_RUNTIME_DIR: {}",
            assets.display()
        );
        assert_eq!(
            std::fs::read(assets.join("cert.pem")).unwrap(),
            b"pem-bytes"
        );
        send(child.id(), sig);
        let res = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&res.stderr);
        assert_eq!(
            res.status.code(),
            Some(40 + num),
            "SIG{sig}: the child's exit code passes through; stderr: {stderr}"
        );
        assert_eq!(
            std::fs::read_to_string(out.path().join("got")).unwrap(),
            num.to_string(),
            "SIG{sig} reached the child"
        );
        assert!(!assets.exists(), "SIG{sig}: the asset folder is removed");
        assert!(!stderr.contains("run-signal-secret-77"));
    }
}

#[test]
fn a_child_killed_by_the_forwarded_signal_exits_128_plus_n() {
    require_keychain!();
    let w = pushed_world();
    let rt = private_runtime_dir();
    let out = tempfile::tempdir().unwrap();
    let script = format!(
        "echo \"$VSYNC_ASSET_DIR\" > {0}/asset_dir.tmp && mv {0}/asset_dir.tmp {0}/asset_dir && exec sleep 60",
        out.path().display()
    );
    let child = spawn(&w, rt.path(), &["run", "dev", "--", "sh", "-c", &script]);
    wait_for(&out.path().join("asset_dir"));
    let assets = PathBuf::from(
        std::fs::read_to_string(out.path().join("asset_dir"))
            .unwrap()
            .trim(),
    );
    assert!(assets.is_dir());
    std::thread::sleep(Duration::from_millis(200)); // let `exec sleep` replace the shell
    send(child.id(), "TERM");
    let res = child.wait_with_output().unwrap();
    assert_eq!(res.status.code(), Some(128 + 15));
    assert!(!assets.exists());
}

#[test]
fn stale_asset_folders_of_dead_runs_are_swept_live_and_foreign_ones_are_not() {
    require_keychain!();
    let w = pushed_world();
    let rt = private_runtime_dir();
    let parent = rt.path().join("vsync");
    std::fs::create_dir(&parent).unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&parent, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    // A run that died (SIGKILL): its folder and its lock file, which nobody holds any more.
    let stale = parent.join("assets-0000dead0000beef");
    std::fs::create_dir(&stale).unwrap();
    std::fs::write(stale.join("cert.pem"), b"left behind").unwrap();
    std::fs::write(parent.join("assets-0000dead0000beef.lock"), b"pid 999999\n").unwrap();
    // A live run: its lock is held by a process that is still running.
    let live = parent.join("assets-11111111aaaaaaaa");
    std::fs::create_dir(&live).unwrap();
    let live_lock = parent.join("assets-11111111aaaaaaaa.lock");
    std::fs::write(&live_lock, b"").unwrap();
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import fcntl,sys,time\nf=open(sys.argv[1],'r+')\nfcntl.flock(f,fcntl.LOCK_EX)\nprint('locked',flush=True)\ntime.sleep(120)",
            live_lock.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(holder.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "locked");
    }
    // Someone else's folder, lock free: not ours to remove.
    let foreign = parent.join("assets-2222222222222222");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(parent.join("assets-2222222222222222.lock"), b"").unwrap();
    std::os::unix::fs::chown(&foreign, Some(54321), Some(54321)).unwrap();

    let out = tempfile::tempdir().unwrap();
    let script = format!(
        "echo \"$VSYNC_ASSET_DIR\" > {}/asset_dir",
        out.path().display()
    );
    let res = spawn(&w, rt.path(), &["run", "dev", "--", "sh", "-c", &script])
        .wait_with_output()
        .unwrap();
    assert_eq!(
        res.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&res.stderr)
    );
    let _ = holder.kill();
    let _ = holder.wait();

    assert!(!stale.exists(), "the dead run's folder is swept");
    assert!(!parent.join("assets-0000dead0000beef.lock").exists());
    assert!(live.exists(), "a live run's folder is left alone");
    assert!(
        foreign.exists(),
        "a folder owned by another user is left alone"
    );
    let own = PathBuf::from(
        std::fs::read_to_string(out.path().join("asset_dir"))
            .unwrap()
            .trim(),
    );
    assert!(
        own.starts_with(&parent) && !own.exists(),
        "{}",
        own.display()
    );
}

#[test]
fn keyless_run_passes_no_vsync_credentials_to_the_child() {
    require_keychain!();
    let mut a = World::pushed("prod", &[("APP_SECRET", "keyless-run-secret-5")]);
    let blob = a.runtime_token("prod", &[]);
    let key = a.secret_key("prod");
    a.secret(&blob);

    let inputs = tempfile::tempdir().unwrap();
    let key_file = inputs.path().join("key.txt");
    let blob_file = inputs.path().join("cfg.txt");
    std::fs::write(&key_file, format!("{key}\n")).unwrap();
    std::fs::write(&blob_file, &blob).unwrap();
    let forms: [Vec<(&str, String)>; 2] = [
        vec![
            ("VSYNC_CONFIG", blob.clone()),
            ("VSYNC_PASSPHRASE", key.clone()),
        ],
        vec![
            ("VSYNC_CONFIG_FILE", blob_file.display().to_string()),
            ("VSYNC_PASSPHRASE_FILE", key_file.display().to_string()),
        ],
    ];
    for form in forms {
        let mut ci = World::new();
        ci.secrets = a.secrets.clone();
        for (k, v) in &form {
            ci.set_env(k, v);
        }
        ci.without_keychain();
        let dir = tempfile::tempdir().unwrap();
        let dump = dir.path().join("env.txt");
        let script = format!(
            "test \"$APP_SECRET\" = keyless-run-secret-5 && env > {}",
            dump.display()
        );
        ci.vsync_in(
            dir.path(),
            &["run", "prod", "--", "sh", "-c", &script],
            None,
        )
        .ok();
        let env = std::fs::read_to_string(&dump).unwrap();
        for name in [
            "VSYNC_PASSPHRASE",
            "VSYNC_PASSPHRASE_FILE",
            "VSYNC_CONFIG",
            "VSYNC_CONFIG_FILE",
        ] {
            assert!(
                !env.lines().any(|l| l.starts_with(&format!("{name}="))),
                "{name} reached the child"
            );
        }
        assert!(!env.contains(&key) && !env.contains(&blob));
        assert!(env.lines().any(|l| l.starts_with("VSYNC_ASSET_DIR=")));
    }
    // --help says which variables are withheld
    a.vsync(&["run", "--help"])
        .ok()
        .stdout_has("VSYNC_PASSPHRASE_FILE")
        .stdout_has("VSYNC_CONFIG_FILE");
}

#[test]
fn a_wrong_keyless_key_names_the_variable_or_file_it_came_from() {
    require_keychain!();
    let a = World::pushed("prod", &[("APP_SECRET", "keyless-wrong-secret-9")]);
    let blob = a.runtime_token("prod", &[]);
    let wrong = "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=";
    let dir = tempfile::tempdir().unwrap();
    let wrong_file = dir.path().join("wrong-key.txt");
    std::fs::write(&wrong_file, wrong).unwrap();
    let verbs: [&[&str]; 3] = [
        &["pull", "prod"],
        &["diff", "prod"],
        &["run", "prod", "--", "true"],
    ];
    for (var, value, named) in [
        (
            "VSYNC_PASSPHRASE",
            wrong.to_owned(),
            "VSYNC_PASSPHRASE".to_owned(),
        ),
        (
            "VSYNC_PASSPHRASE_FILE",
            wrong_file.display().to_string(),
            wrong_file.display().to_string(),
        ),
    ] {
        let mut ci = World::new();
        ci.secrets = a.secrets.clone();
        ci.secret(wrong);
        ci.set_env("VSYNC_CONFIG", &blob);
        ci.set_env(var, &value);
        ci.without_keychain();
        for args in verbs {
            let work = tempfile::tempdir().unwrap();
            let r = ci.vsync_in(work.path(), args, None).code(4);
            assert!(
                r.stderr.contains(&named) && r.stderr.contains(var),
                "{args:?} with {var}: {}",
                r.stderr
            );
            assert!(
                !r.stderr.contains("keychain"),
                "{args:?}: keyless mode has no keychain to blame: {}",
                r.stderr
            );
            assert!(!work.path().join("infra").exists(), "nothing written");
        }
    }
}
