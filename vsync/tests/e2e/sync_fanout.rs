//! `vsync sync <env> --to github,aws,hashivault` through the real binary, against the GitHub
//! fake (which decrypts every sealed box), moto and OpenBao. What each server stores is read back
//! through its own API, never through vsync.

mod bench;
mod concurrent;
mod pinned;
mod servers;

use servers::{Servers, helper};

use crate::harness::{Run, World, target_report};
use crate::require_keychain;

/// The hashivault target's failure says the token is the problem.
#[track_caller]
fn vault_named_its_token(r: &Run) {
    assert!(
        r.stderr
            .lines()
            .any(|l| l.contains("hashivault") && l.to_lowercase().contains("token")),
        "{}",
        r.stderr
    );
}

fn sync(w: &World, extra: &[&str]) -> Run {
    let mut a = vec!["sync", "dev", "--to", "github,aws,hashivault"];
    a.extend_from_slice(extra);
    w.vsync(&a)
}

fn setup(pairs: &[(&str, &str)]) -> Option<(World, Servers)> {
    let mut w = World::new();
    let s = Servers::start(&mut w)?;
    w.init_push("dev", pairs);
    Some((w, s))
}

#[test]
fn fanout_create_unchanged_update_drift_prune() {
    require_keychain!();
    let Some((mut w, s)) = setup(&[
        ("API_TOKEN", "fan-tok-1a"),
        ("DB_PASS", "fan-pw-2b"),
        ("OLD_KEY", "fan-old-3c"),
    ]) else {
        return;
    };
    let routing = s.routing();
    let mut first: Vec<&str> = routing.iter().map(String::as_str).collect();
    first.push("--no-progress");
    let r = sync(&w, &first).ok();
    assert_eq!(r.stdout.matches("3 create").count(), 3, "{}", r.stdout);
    s.assert_everywhere("API_TOKEN", "fan-tok-1a");
    s.assert_everywhere("DB_PASS", "fan-pw-2b");
    assert_eq!(
        s.gh_plain("", "API_TOKEN"),
        None,
        "environment secrets by default, not repository ones"
    );

    // routing was saved under the upstream keys; the next runs need no flag
    let cfg = w.read_config("dev");
    assert_eq!(cfg["sync"]["gh"]["repo"], "acme/app", "{cfg}");
    assert_eq!(cfg["sync"]["aws"]["secretPrefix"], s.prefix.as_str());
    assert_eq!(cfg["sync"]["vault"]["secretPath"], s.path.as_str());
    let r = sync(&w, &[]).ok();
    assert_eq!(r.stdout.matches("3 unchanged").count(), 3, "{}", r.stdout);

    // one changed value
    w.push_env(
        "dev",
        &[
            ("API_TOKEN", "fan-tok-1a"),
            ("DB_PASS", "fan-pw-NEW"),
            ("OLD_KEY", "fan-old-3c"),
        ],
    );
    let r = sync(&w, &[]).ok();
    assert_eq!(
        r.stdout.matches("0 create, 1 update, 2 unchanged").count(),
        3,
        "{}",
        r.stdout
    );
    s.assert_everywhere("DB_PASS", "fan-pw-NEW");

    // drift behind vsync's back: changed in AWS and Vault, deleted in GitHub
    w.secret("drifted-9z");
    helper(&[
        "aws_put",
        &s.moto.endpoint,
        &format!("{}API_TOKEN", s.prefix),
        "drifted-9z",
    ]);
    let mut m = s.vault_map();
    m.insert("API_TOKEN".into(), "drifted-9z".into());
    helper(&[
        "vault_write",
        &s.vault.addr,
        &s.vault.token,
        &s.path,
        &serde_json::Value::Object(m).to_string(),
    ]);
    helper(&["gh_delete", &s.gh.url(), "acme/app", "dev", "API_TOKEN"]);
    let r = sync(&w, &["--plan"]).ok();
    r.stdout_has("update    API_TOKEN");
    assert!(
        r.stderr
            .contains(&format!("drift: {}API_TOKEN was changed", s.prefix))
            && r.stderr.contains("drift: API_TOKEN was changed")
            && r.stderr.contains("drift: API_TOKEN was deleted"),
        "{}",
        r.stderr
    );
    let r = sync(&w, &["--plan", "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let op = |target: &str, name: &str| -> String {
        let rep = target_report(&v, target);
        rep["plan"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["remote"] == name)
            .map(|c| c["op"].as_str().unwrap().to_owned())
            .unwrap()
    };
    assert_eq!(op("github", "API_TOKEN"), "create", "{v}");
    assert_eq!(
        op("aws", &format!("{}API_TOKEN", s.prefix)),
        "update",
        "{v}"
    );
    assert_eq!(op("hashivault", "API_TOKEN"), "update", "{v}");
    assert_eq!(op("hashivault", "DB_PASS"), "unchanged", "{v}");
    assert_eq!(
        s.aws("API_TOKEN").as_deref(),
        Some("drifted-9z"),
        "plan wrote nothing"
    );

    // prune: OLD_KEY leaves the vault; names vsync does not manage survive
    w.push_env(
        "dev",
        &[("API_TOKEN", "fan-tok-1a"), ("DB_PASS", "fan-pw-NEW")],
    );
    let unmanaged = format!("other-{}", w.repo);
    helper(&["aws_create", &s.moto.endpoint, &unmanaged, "keep-aws"]);
    helper(&[
        "gh_put",
        &s.gh.url(),
        "acme/app",
        "-",
        "REPO_LEVEL",
        "keep-gh",
    ]);
    let r = sync(&w, &["--prune"]).code(1);
    r.stderr_has("pass --yes");
    assert_eq!(
        s.aws("OLD_KEY").as_deref(),
        Some("fan-old-3c"),
        "nothing deleted"
    );
    let r = sync(&w, &["--prune", "--yes"]).ok();
    r.stdout_has("1 delete");
    assert_eq!(s.gh_plain("dev/", "OLD_KEY"), None);
    assert_eq!(s.aws("OLD_KEY"), None);
    assert!(!s.vault_map().contains_key("OLD_KEY"));
    s.assert_everywhere("API_TOKEN", "fan-tok-1a");
    assert_eq!(s.gh_plain("", "REPO_LEVEL").as_deref(), Some("keep-gh"));
    assert_eq!(
        helper(&["aws_get", &s.moto.endpoint, &unmanaged]),
        "keep-aws"
    );
}

#[test]
fn one_target_failing_leaves_the_others_synced() {
    require_keychain!();
    let Some((mut w, s)) = setup(&[("GITHUB_X", "fan-gx-1"), ("FINE", "fan-fine-2")]) else {
        return;
    };
    let routing = s.routing();
    let flags: Vec<&str> = routing.iter().map(String::as_str).collect();
    // an invalid GitHub name aborts only github, before any write to it
    let r = sync(&w, &flags).code(6);
    r.stderr_has("GITHUB_X");
    assert_eq!(s.gh_plain("dev/", "FINE"), None);
    assert_eq!(s.aws("FINE").as_deref(), Some("fan-fine-2"));
    assert_eq!(s.vault_map()["GITHUB_X"], "fan-gx-1");

    // GitHub answering 500 forever: github fails, the others still sync (exit 6)
    w.push_env("dev", &[("FINE", "fan-fine-3"), ("MORE", "fan-more-4")]);
    helper(&[
        "post",
        &format!("{}/_fake/fail", s.gh.url()),
        r#"{"repo":"acme/app","status":500}"#,
    ]);
    let r = sync(&w, &[]).code(6);
    r.stderr_has("HTTP 500");
    assert_eq!(s.aws("MORE").as_deref(), Some("fan-more-4"));
    assert_eq!(s.vault_map()["MORE"], "fan-more-4");
    helper(&["post", &format!("{}/_fake/reset", s.gh.url()), "{}"]);

    // wrong credentials: one clear line per target, the others unaffected
    w.set_env("VAULT_TOKEN", "wrong-token");
    w.set_env("GITHUB_TOKEN", "wrong-gh");
    let r = sync(&w, &[]).code(6);
    let gh_line = r
        .stderr
        .lines()
        .find(|l| l.contains("GitHub rejected the token"))
        .unwrap_or_else(|| panic!("{}", r.stderr));
    assert!(gh_line.contains("GITHUB_TOKEN"), "{gh_line}");
    vault_named_its_token(&r);
    // only aws wrote (its keys were unchanged); the github fake saw no secret at all
    assert_eq!(s.gh_plain("dev/", "MORE"), None);
}

#[test]
fn keyless_ci_sync() {
    require_keychain!();
    let Some((w, s)) = setup(&[("CI_ONLY", "fan-ci-7")]) else {
        return;
    };
    let blob = w.runtime_token("dev", &[]);
    let key = w.key_text("dev");
    let mut ci = World::keyless(&w, &blob, &key);
    ci.secret(&key);
    ci.extra_env.extend(w.extra_env.iter().cloned());
    ci.without_keychain();
    let dir = tempfile::tempdir().unwrap();
    let routing = s.routing();
    let mut a = vec!["sync", "dev", "--to", "github,aws,hashivault"];
    a.extend(routing.iter().map(String::as_str));
    let r = ci.vsync_in(dir.path(), &a, None).ok();
    assert_eq!(r.stdout.matches("1 create").count(), 3, "{}", r.stdout);
    s.assert_everywhere("CI_ONLY", "fan-ci-7");
}

#[test]
fn offline_dry_run_inline_files_and_github_scope() {
    require_keychain!();
    let Some((mut w, s)) = setup(&[("A", "fan-a-1")]) else {
        return;
    };
    // file references: the pushed file's text under the stripped key
    std::fs::create_dir_all(w.vault("dev").join("keys")).unwrap();
    std::fs::write(w.vault("dev").join("keys/id"), "-----FAN KEY-----\n").unwrap();
    w.secret("-----FAN KEY-----");
    w.push_env("dev", &[("A", "fan-a-1"), ("SSH_KEY_PATH", "keys/id")]);
    let routing = s.routing();
    let flags: Vec<&str> = routing.iter().map(String::as_str).collect();

    // offline: not even an unreachable server is contacted; every key is an upsert
    let mut off = w.extra_env.clone();
    off.push(("GITHUB_API_URL".into(), "http://127.0.0.1:9".into()));
    let saved = std::mem::replace(&mut w.extra_env, off);
    let mut a = flags.clone();
    a.extend(["--dry-run=offline", "--inline-file-suffix", "_PATH"]);
    let r = sync(&w, &a).ok();
    assert_eq!(r.stdout.matches("2 upsert").count(), 3, "{}", r.stdout);
    r.stdout_has("upsert    SSH_KEY");
    r.stdout_has("inline-file-suffix: _PATH");
    w.extra_env = saved;
    assert!(s.vault_map().is_empty(), "offline wrote nothing");

    let mut a = flags.clone();
    a.extend(["--inline-file-suffix", "_PATH", "--exclude-property", "A"]);
    let r = sync(&w, &a).ok();
    r.stdout_has("skipped (excluded): A");
    s.assert_everywhere("SSH_KEY", "-----FAN KEY-----\n");
    assert!(!s.vault_map().contains_key("A"));

    // a missing reference aborts everything before any write
    w.write_env("dev", &[("A", "fan-a-1"), ("GONE_PATH", "keys/nope")]);
    // a file reference's value is a path, which the error names (as upstream does)
    w.secrets.retain(|v| v != "keys/nope");
    w.vsync(&["push", "dev"]).ok();
    let r = sync(&w, &["--inline-file-suffix", "_PATH"]).code(1);
    assert!(
        r.stderr
            .contains("1 file reference(s) could not be resolved")
            && r.stderr.contains("GONE_PATH: file not found at"),
        "{}",
        r.stderr
    );
    assert!(!s.vault_map().contains_key("A"));

    // repository scope on request; a GitHub environment that does not exist is named
    w.vsync(&[
        "sync",
        "dev",
        "--to",
        "github",
        "--github-scope",
        "repository",
    ])
    .ok();
    assert_eq!(s.gh_plain("", "A").as_deref(), Some("fan-a-1"));
    assert_eq!(s.gh_plain("dev/", "A"), None);
    w.init_push("staging", &[("S", "fan-s-1")]);
    let r = w
        .vsync(&[
            "sync",
            "staging",
            "--to",
            "github",
            "--github-repo",
            "acme/app",
        ])
        .code(1);
    assert!(
        r.stderr
            .contains("GitHub environment \"staging\" does not exist in acme/app"),
        "{}",
        r.stderr
    );
}
