//! Pinned plans (docs/pinned-plans.md) through the real binary against the GitHub fake, moto and
//! OpenBao: `--plan-out` writes nothing to any destination and saves a plan without values;
//! `--apply` writes exactly that plan, or refuses (exit 5) naming what moved since.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::{Digest, Sha256};

use super::servers::{Servers, helper};
use super::{setup, sync};
use crate::harness::{Run, World};
use crate::require_keychain;

fn plan_out(w: &World, file: &Path, extra: &[&str]) -> Run {
    let mut a = vec!["--plan-out", file.to_str().unwrap()];
    a.extend_from_slice(extra);
    sync(w, &a).ok()
}

fn apply(w: &World, file: &Path, extra: &[&str]) -> Run {
    let mut a = vec!["sync", "--apply", file.to_str().unwrap(), "--no-progress"];
    a.extend_from_slice(extra);
    w.vsync(&a)
}

/// A first sync with the routing flags (saved to the config) so later runs need none.
fn first_sync(w: &World, s: &Servers) {
    let routing = s.routing();
    let mut a: Vec<&str> = routing.iter().map(String::as_str).collect();
    a.push("--no-progress");
    sync(w, &a).ok();
}

fn read_plan(file: &Path) -> (String, Value) {
    let text = std::fs::read_to_string(file).unwrap();
    let v = serde_json::from_str(&text).unwrap();
    (text, v)
}

fn op<'a>(plan: &'a Value, target: &str, name: &str) -> &'a Value {
    plan["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == target)
        .and_then(|t| {
            t["ops"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["name"] == name)
        })
        .unwrap_or_else(|| panic!("{target}/{name} in {plan}"))
}

fn plan_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("plan.json")
}

#[test]
fn plan_out_then_apply_writes_exactly_the_plan() {
    require_keychain!();
    let Some((mut w, s)) = setup(&[("API_TOKEN", "pin-tok-1a"), ("DB_PASS", "pin-pw-2b")]) else {
        return;
    };
    first_sync(&w, &s);
    w.push_env(
        "dev",
        &[
            ("API_TOKEN", "pin-tok-1a"),
            ("DB_PASS", "pin-canary-9q"),
            ("NEW_KEY", "pin-new-3c"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let file = plan_path(&dir);

    // the Markdown summary: a table per target, shortened fingerprints, no value, nothing else
    let r = plan_out(&w, &file, &["--format", "md"]);
    r.stdout_has("| create | `NEW_KEY` |");
    r.stdout_has("| update | `DB_PASS` |");
    r.stdout_has("| unchanged | `API_TOKEN` |");
    r.stdout_has(&format!("| create | `{}NEW_KEY` |", s.prefix));
    assert!(!r.stdout.contains("Parser policy"), "{}", r.stdout);
    r.stderr_has("vsync sync --apply");
    assert_eq!(crate::harness::mode(&file) & 0o777, 0o600);
    let (text, plan) = read_plan(&file);
    for v in &w.secrets {
        assert!(!text.contains(v.as_str()), "a value is in the plan file");
    }
    assert_eq!(plan["format"], "vsync-plan/1");
    assert_eq!(plan["env"], "dev");
    let digest = plan["digest"].as_str().unwrap().to_owned();
    r.stdout_has(&format!("plan digest `{}`", &digest[..16]));
    // keyed fingerprints: not a plain hash of the value
    let fp = op(&plan, "github", "DB_PASS")["fp"].as_str().unwrap();
    let plain: String = Sha256::digest(b"pin-canary-9q")
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(fp.len(), 64);
    assert_ne!(fp, plain);
    assert_eq!(op(&plan, "aws", &format!("{}DB_PASS", s.prefix))["fp"], fp);
    // planning wrote nothing anywhere
    assert_eq!(s.aws("NEW_KEY"), None);
    assert_eq!(s.gh_plain("dev/", "NEW_KEY"), None);
    assert!(!s.vault_map().contains_key("NEW_KEY"));

    let r = apply(&w, &file, &[]).ok();
    assert_eq!(
        r.stdout.matches("1 create, 1 update, 1 unchanged").count(),
        3,
        "{}",
        r.stdout
    );
    s.assert_everywhere("NEW_KEY", "pin-new-3c");
    s.assert_everywhere("DB_PASS", "pin-canary-9q");

    // the plan's rows (one per target) and the apply's name the plan's digest
    let csv = w.vsync(&["audit", "dev", "--csv"]).ok().stdout;
    assert_eq!(csv.matches(&digest[..16]).count(), 6, "{csv}");

    // applied, the plan no longer holds: the destinations now have what it planned to write
    let r = apply(&w, &file, &[]).code(5);
    r.stderr_has("moved: github/NEW_KEY: op was create, now unchanged");
    r.stderr_has("nothing was written");
}

#[test]
fn apply_refuses_when_the_vault_a_remote_or_the_routing_moved() {
    require_keychain!();
    let Some((mut w, s)) = setup(&[("API_TOKEN", "pin-tok-4d"), ("B", "pin-b-5e")]) else {
        return;
    };
    first_sync(&w, &s);
    w.push_env("dev", &[("API_TOKEN", "pin-tok-4d"), ("B", "pin-b-6f")]);
    let dir = tempfile::tempdir().unwrap();
    let file = plan_path(&dir);

    // the vault was pushed after the plan
    plan_out(&w, &file, &[]);
    w.push_env("dev", &[("API_TOKEN", "pin-tok-4d"), ("B", "pin-b-7g")]);
    let r = apply(&w, &file, &[]).code(5);
    r.stderr_has("moved: vault: planned from bundle");
    r.stderr_has("moved: github/B: the value to write changed");
    assert_eq!(s.aws("B").as_deref(), Some("pin-b-5e"), "nothing written");

    // a value changed at a destination behind vsync's back
    plan_out(&w, &file, &[]);
    w.secret("pin-drift-8h");
    helper(&[
        "aws_put",
        &s.moto.endpoint,
        &format!("{}API_TOKEN", s.prefix),
        "pin-drift-8h",
    ]);
    let r = apply(&w, &file, &[]).code(5);
    r.stderr_has(&format!(
        "moved: aws/{}API_TOKEN: the value at the destination changed since the plan",
        s.prefix
    ));
    assert!(!r.stderr.contains("moved: vault"), "{}", r.stderr);
    assert!(!r.stderr.contains("moved: github"), "{}", r.stderr);
    assert_eq!(s.gh_plain("dev/", "B").as_deref(), Some("pin-b-5e"));

    // the routing in the config changed
    plan_out(&w, &file, &[]);
    let moved_path = format!("{}-moved", s.path);
    w.edit_config("dev", |c| {
        c["sync"]["vault"]["secretPath"] = Value::String(moved_path.clone());
    });
    let r = apply(&w, &file, &[]).code(5);
    r.stderr_has("moved: hashivault: routing secretPath was");
    assert_eq!(s.vault_map()["B"], "pin-b-5e");

    // env and targets come from the plan: flags that contradict it are usage errors
    let f = file.to_str().unwrap();
    let r = w.vsync(&["sync", "prod", "--apply", f]).code(2);
    r.stderr_has("the plan is for env dev, not prod");
    let r = w
        .vsync(&["sync", "dev", "--to", "github", "--apply", f])
        .code(2);
    r.stderr_has("the plan is for targets github,aws,hashivault");
    w.vsync(&["sync", "dev", "--to", "github", "--apply", f, "--plan"])
        .code(2);
}

#[test]
fn edited_or_garbage_plans_are_refused_and_pinned_deletions_need_yes() {
    require_keychain!();
    let Some((mut w, s)) = setup(&[("KEEP", "pin-keep-1"), ("OLD", "pin-old-2")]) else {
        return;
    };
    first_sync(&w, &s);
    w.push_env("dev", &[("KEEP", "pin-keep-1")]);
    let dir = tempfile::tempdir().unwrap();
    let file = plan_path(&dir);
    let r = plan_out(&w, &file, &["--prune"]);
    r.stdout_has("delete    OLD");
    let (text, plan) = read_plan(&file);
    assert_eq!(plan["prune"], true);
    assert_eq!(op(&plan, "github", "OLD")["op"], "delete");

    // an edited plan (a deletion turned into a no-op): exit 4, nothing written
    let edited = dir.path().join("edited.json");
    std::fs::write(&edited, text.replacen("\"delete\"", "\"unchanged\"", 1)).unwrap();
    let r = apply(&w, &edited, &["--yes"]).code(4);
    r.stderr_has("digest does not match");
    // not a plan at all (an env file passed by mistake): exit 2, its content not echoed
    let garbage = dir.path().join("garbage.json");
    w.secret("pin-garbage-3");
    std::fs::write(&garbage, "OLD=pin-garbage-3\n").unwrap();
    apply(&w, &garbage, &[])
        .code(2)
        .stderr_has("is not a usable plan");
    apply(&w, &dir.path().join("missing.json"), &[]).code(3);
    assert_eq!(s.aws("OLD").as_deref(), Some("pin-old-2"));

    // deletions in a plan need --yes without a terminal, as --prune does
    let r = apply(&w, &file, &[]).code(1);
    r.stderr_has("pass --yes");
    assert_eq!(
        s.aws("OLD").as_deref(),
        Some("pin-old-2"),
        "nothing deleted"
    );
    let r = apply(&w, &file, &["--yes"]).ok();
    r.stdout_has("1 delete");
    assert_eq!(s.aws("OLD"), None);
    assert_eq!(s.gh_plain("dev/", "OLD"), None);
    assert!(!s.vault_map().contains_key("OLD"));
    s.assert_everywhere("KEEP", "pin-keep-1");
}
