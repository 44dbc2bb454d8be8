//! Targets of one `vsync sync` run at the same time (docs/fanout.md): four targets (the GitHub
//! fake, the GCP fake, moto, OpenBao), the GitHub fake first in `--to` and the slowest (it waits
//! before every answer). Concurrency is read from the request times the two Python fakes record
//! (`GET /_fake/timeline`), never from wall-clock thresholds.

use std::process::Stdio;

use serde_json::{Value, json};
use vsync_testkit::fakes::PythonFake;
use vsync_testkit::services;

use super::servers::{Servers, helper};
use crate::harness::World;
use crate::require_keychain;

const TARGETS: &str = "github,gcp,aws,hashivault";
const GCP_PROJECT: &str = "p-fan";

/// The four servers; the GitHub fake waits 150 ms and the GCP fake 50 ms before each answer.
fn setup(pairs: &[(&str, &str)]) -> Option<(World, Servers, PythonFake)> {
    let mut w = World::new();
    let s = Servers::start_with(&mut w, &["--delay-ms", "150"])?;
    let gcp = PythonFake::spawn(
        "gcp_sm_fake.py",
        &[],
        &[
            "--token",
            "tok-fan",
            "--refresh-token",
            "refresh-fan",
            "--delay-ms",
            "50",
        ],
    )?;
    crate::sync_gcp::reach_gcp_fake(&mut w, &gcp, "refresh-fan");
    w.init_push("dev", pairs);
    Some((w, s, gcp))
}

/// `vsync sync dev --to TARGETS …` with stdout and stderr in one pipe, in the order written.
fn merged(w: &World, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["sync", "dev", "--to", TARGETS, "--no-progress"];
    args.extend_from_slice(extra);
    let mut cmd = w.command("bash", &w.repo_dir);
    cmd.arg("-c")
        .arg(r#""$0" "$@" 2>&1"#)
        .arg(env!("CARGO_BIN_EXE_vsync"))
        .args(&args)
        .stdin(Stdio::null());
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    w.assert_no_secret(&args, &text, "");
    (out.status.code().unwrap_or(-1), text)
}

/// (start, end) of every request a fake served, after the first `skip`.
fn timeline(fake_url: &str, skip: usize) -> Vec<(f64, f64, String)> {
    let r = services::http_request("GET", &format!("{fake_url}/_fake/timeline"), &[]).unwrap();
    let v: Value = serde_json::from_str(&r.body).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .skip(skip)
        .map(|e| {
            (
                e["start"].as_f64().unwrap(),
                e["end"].as_f64().unwrap(),
                e["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Whether some request of `a` was in flight while some request of `b` was.
fn overlap(a: &[(f64, f64, String)], b: &[(f64, f64, String)]) -> bool {
    a.iter().any(|x| b.iter().any(|y| x.0 < y.1 && y.0 < x.1))
}

/// Each target's lines form one block, in `--to` order: its plan line, then its summary line,
/// and nothing of another target's in between.
#[track_caller]
fn assert_blocks_in_order(out: &str, displays: &[&str], ids: &[&str]) {
    let lines: Vec<&str> = out.lines().collect();
    let find = |pred: &dyn Fn(&str) -> bool| -> usize {
        lines
            .iter()
            .position(|l| pred(l))
            .unwrap_or_else(|| panic!("line missing in:\n{out}"))
    };
    let mut last = 0;
    for (display, id) in displays.iter().zip(ids) {
        let plan = find(&|l| l.starts_with(&format!("Syncing to {display} (")));
        let summary = find(&|l| l.ends_with(&format!("synced to {id}.")));
        assert!(
            last <= plan && plan < summary,
            "{id}: block out of order\n{out}"
        );
        for l in &lines[plan + 1..summary] {
            assert!(
                !l.starts_with("Syncing to ") && !l.contains("synced to"),
                "{id}: another target's line inside its block\n{out}"
            );
        }
        last = summary;
    }
}

fn sync_rows(w: &World) -> Vec<String> {
    let rows = w.vsync(&["audit", "dev", "--json"]).ok().json();
    rows.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "sync")
        .map(|r| {
            let meta: Value = serde_json::from_str(r["meta"].as_str().unwrap()).unwrap();
            meta["target"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn targets_run_at_once_blocks_print_in_to_order_and_shared_state_is_kept() {
    require_keychain!();
    let Some((mut w, s, gcp)) = setup(&[("API_TOKEN", "conc-tok-1a"), ("DB_PASS", "conc-pw-2b")])
    else {
        return;
    };
    let mut flags: Vec<String> = s.routing();
    flags.extend(["--gcp-project".into(), GCP_PROJECT.into()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();

    let (code, out) = merged(&w, &flags);
    assert_eq!(code, 0, "{out}");
    // the slowest target is first: the others finished before it, yet print after it
    assert_blocks_in_order(
        &out,
        &[
            "GitHub Actions",
            "GCP Secret Manager",
            "AWS Secrets Manager",
            "HashiCorp Vault",
        ],
        &["github", "gcp", "aws", "hashivault"],
    );
    s.assert_everywhere("API_TOKEN", "conc-tok-1a");
    // concurrency is real: a GitHub request and a GCP request were in flight together
    let (gh, gc) = (timeline(&s.gh.url(), 0), timeline(&gcp.url(), 0));
    assert!(overlap(&gh, &gc), "no overlap:\n{gh:?}\n{gc:?}");

    // every target added its routing to the config, all four were saved
    let cfg = w.read_config("dev");
    assert_eq!(cfg["sync"]["gh"]["repo"], "acme/app", "{cfg}");
    assert_eq!(cfg["sync"]["gcp"]["project"], GCP_PROJECT, "{cfg}");
    assert_eq!(
        cfg["sync"]["aws"]["secretPrefix"],
        s.prefix.as_str(),
        "{cfg}"
    );
    assert_eq!(cfg["sync"]["vault"]["secretPath"], s.path.as_str(), "{cfg}");

    // one audit row per target, none lost to the others appending at the same time
    let mut rows = sync_rows(&w);
    rows.sort();
    assert_eq!(rows, ["aws", "gcp", "github", "hashivault"]);

    // --targets-at-once 1: one after another, in --to order (the last GitHub request started,
    // and was answered 150 ms later, before the first GCP request started)
    w.push_env(
        "dev",
        &[("API_TOKEN", "conc-tok-NEW"), ("DB_PASS", "conc-pw-2b")],
    );
    let (gh0, gc0) = (gh.len(), gc.len());
    let (code, out) = merged(&w, &["--targets-at-once", "1"]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(out.matches("1 update, 1 unchanged").count(), 4, "{out}");
    let (gh, gc) = (timeline(&s.gh.url(), gh0), timeline(&gcp.url(), gc0));
    let gh_last = gh.iter().map(|r| r.0).fold(f64::MIN, f64::max);
    let gc_first = gc.iter().map(|r| r.0).fold(f64::MAX, f64::min);
    assert!(
        !gh.is_empty() && !gc.is_empty() && gh_last < gc_first,
        "not sequential:\n{gh:?}\n{gc:?}"
    );
    s.assert_everywhere("API_TOKEN", "conc-tok-NEW");
    assert_eq!(sync_rows(&w).len(), 8);

    let r = w.vsync(&["sync", "dev", "--to", TARGETS, "--targets-at-once", "0"]);
    let r = r.code(2);
    r.stderr_has("--targets-at-once 0");
}

#[test]
fn one_failing_target_among_concurrent_ones_exits_6_all_failing_exits_1() {
    require_keychain!();
    let Some((mut w, s, _gcp)) = setup(&[("FINE", "conc-fine-1")]) else {
        return;
    };
    let mut flags: Vec<String> = s.routing();
    flags.extend(["--gcp-project".into(), GCP_PROJECT.into()]);
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    // GitHub answers 500 to everything: github fails, the three others sync
    helper(&[
        "post",
        &format!("{}/_fake/fail", s.gh.url()),
        r#"{"repo":"acme/app","status":500}"#,
    ]);
    let (code, out) = merged(&w, &flags);
    assert_eq!(code, 6, "{out}");
    assert!(out.contains("HTTP 500"), "{out}");
    assert_eq!(s.aws("FINE").as_deref(), Some("conc-fine-1"));
    assert_eq!(s.vault_map()["FINE"], "conc-fine-1");
    let mut rows = sync_rows(&w);
    rows.sort();
    assert_eq!(rows, ["aws", "gcp", "github", "hashivault"]);
    helper(&["post", &format!("{}/_fake/reset", s.gh.url()), "{}"]);

    // every target refused: nothing written anywhere, exit 1, each target says why
    w.set_env("VAULT_TOKEN", "wrong-token");
    w.set_env("GITHUB_TOKEN", "wrong-gh");
    let r = w.vsync(&["sync", "dev", "--to", "github,hashivault", "--no-progress"]);
    let r = r.code(1);
    r.stderr_has("GitHub rejected the token");
    super::vault_named_its_token(&r);
}

/// Runs argv[1:] on a pseudo-terminal (stdin, stdout and stderr), answers `y` to each `[y/N]`
/// once the output has been quiet for a second, and reports how many questions were on screen
/// each time it answered.
const PTY_DRIVER: &str = r#"
import json, os, pty, select, subprocess, sys
master, slave = pty.openpty()
p = subprocess.Popen(sys.argv[1:], stdin=slave, stdout=slave, stderr=slave, close_fds=True)
os.close(slave)
buf, answered, seen = b"", 0, []
while True:
    ready, _, _ = select.select([master], [], [], 1.0)
    if ready:
        try:
            data = os.read(master, 65536)
        except OSError:
            break
        if not data:
            break
        buf += data
        continue
    if buf.count(b"[y/N]") > answered:
        seen.append(buf.count(b"[y/N]"))
        os.write(master, b"y\n")
        answered += 1
    elif p.poll() is not None:
        break
p.wait()
print(json.dumps({"code": p.returncode, "seen": seen, "out": buf.decode(errors="replace")}))
"#;

#[test]
fn prune_prompts_of_targets_running_at_once_come_one_at_a_time() {
    require_keychain!();
    let Some((mut w, s)) = ({
        let mut w = World::new();
        Servers::start(&mut w).map(|s| (w, s))
    }) else {
        return;
    };
    w.init_push("dev", &[("KEEP", "conc-keep-1"), ("GONE", "conc-gone-2")]);
    let mut a = vec!["sync", "dev", "--to", "github,hashivault"];
    let routing = s.routing();
    a.extend(routing.iter().map(String::as_str));
    w.vsync(&a).ok();
    w.push_env("dev", &[("KEEP", "conc-keep-1")]);

    let py = vsync_testkit::fakes::python_with(&[]).expect("python3");
    let args = ["sync", "dev", "--to", "github,hashivault", "--prune"];
    let out = w
        .command(py, &w.repo_dir)
        .env("TERM", "xterm")
        .arg("-c")
        .arg(PTY_DRIVER)
        .arg(env!("CARGO_BIN_EXE_vsync"))
        .args(args)
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let text = v["out"].as_str().unwrap();
    w.assert_no_secret(&args, text, "");
    assert_eq!(v["code"], 0, "{text}");
    // both targets wanted to delete; the second question came only after the first was answered
    assert_eq!(v["seen"], json!([1, 2]), "{text}");
    assert!(
        text.contains("delete 1 name(s) from github?")
            && text.contains("delete 1 name(s) from hashivault?"),
        "{text}"
    );
    assert_eq!(s.gh_plain("dev/", "GONE"), None);
    assert!(!s.vault_map().contains_key("GONE"));
    assert_eq!(s.vault_map()["KEEP"], "conc-keep-1");
}
