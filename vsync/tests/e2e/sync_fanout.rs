//! `vsync sync <env> --to github,aws,hashivault` through the real binary, against the GitHub
//! fake (which decrypts every sealed box), moto and OpenBao. What each server stores is read back
//! through its own API, never through vsync.

use std::process::Command;

use vsync_testkit::fakes::{PythonFake, python_with};
use vsync_testkit::services::{self, MotoService, VaultService};

use crate::harness::{Run, World};
use crate::require_keychain;

const GH_TOKEN: &str = "test-token";

/// Reads and writes behind vsync's back, through each server's own API.
const HELPER: &str = r#"
import base64, json, sys, urllib.request
op, args = sys.argv[1], sys.argv[2:]
def http(method, url, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
def sm(endpoint):
    import boto3
    return boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")
if op == "aws_get":
    try:
        print(sm(args[0]).get_secret_value(SecretId=args[1])["SecretString"], end="")
    except Exception:
        print("<absent>", end="")
elif op == "aws_put":
    sm(args[0]).put_secret_value(SecretId=args[1], SecretString=args[2])
elif op == "aws_create":
    sm(args[0]).create_secret(Name=args[1], SecretString=args[2])
elif op == "vault_read":
    st, body = http("GET", f"{args[0]}/v1/secret/data/{args[2]}", headers={"X-Vault-Token": args[1]})
    print(json.dumps(json.loads(body)["data"]["data"] if st == 200 else {}), end="")
elif op == "vault_write":
    st, _ = http("POST", f"{args[0]}/v1/secret/data/{args[2]}", {"data": json.loads(args[3])},
                 {"X-Vault-Token": args[1]})
    assert st in (200, 204), st
elif op == "post":
    st, _ = http("POST", args[0], json.loads(args[1]))
    assert st == 200, st
elif op == "gh_put":
    from nacl.public import PublicKey, SealedBox
    url, repo, scope, name, value = args
    base = f"{url}/repos/{repo}/actions/secrets" if scope == "-" else f"{url}/repos/{repo}/environments/{scope}/secrets"
    auth = {"Authorization": "Bearer test-token"}
    st, body = http("GET", base + "/public-key", headers=auth)
    pk = json.loads(body)
    sealed = SealedBox(PublicKey(base64.b64decode(pk["key"]))).encrypt(value.encode())
    st, _ = http("PUT", f"{base}/{name}", {"encrypted_value": base64.b64encode(sealed).decode(), "key_id": pk["key_id"]}, auth)
    assert st in (201, 204), st
elif op == "gh_delete":
    url, repo, scope, name = args
    st, _ = http("DELETE", f"{url}/repos/{repo}/environments/{scope}/secrets/{name}",
                 headers={"Authorization": "Bearer test-token"})
    assert st == 204, st
"#;

fn helper(args: &[&str]) -> String {
    let py = python_with(&["boto3", "nacl"]).expect("the .ci/venv python with boto3 and PyNaCl");
    let out = Command::new(py)
        .arg("-c")
        .arg(HELPER)
        .args(args)
        .output()
        .expect("python helper");
    assert!(
        out.status.success(),
        "helper {}: {}",
        args[0],
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The three servers and this test's private corner of each.
struct Servers {
    gh: PythonFake,
    moto: MotoService,
    vault: VaultService,
    /// AWS name prefix and Vault path, unique per test.
    prefix: String,
    path: String,
}

impl Servers {
    fn start(w: &mut World) -> Option<Self> {
        let gh = PythonFake::spawn("github_fake.py", &["nacl"], &[])?;
        let moto = services::require_moto();
        let vault = services::require_vault();
        let prefix = format!("{}/", w.repo);
        let path = format!("e2e/{}", w.repo);
        for (k, v) in [
            ("GITHUB_TOKEN", GH_TOKEN.to_owned()),
            ("GITHUB_API_URL", gh.url()),
            ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("VAULT_TOKEN", vault.token.clone()),
        ] {
            w.extra_env.push((k.into(), v));
        }
        Some(Self {
            gh,
            moto,
            vault,
            prefix,
            path,
        })
    }

    /// Routing flags for the first sync of a test.
    fn routing(&self) -> Vec<String> {
        [
            "--github-repo",
            "acme/app",
            "--aws-region",
            "us-east-1",
            "--aws-secret-prefix",
            &self.prefix,
            "--vault-addr",
            &self.vault.addr,
            "--vault-mount",
            "secret",
            "--vault-path",
            &self.path,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }

    fn gh_plain(&self, scope: &str, name: &str) -> Option<String> {
        let r = services::http_request(
            "GET",
            &format!("{}/_fake/plaintext/acme/app/{scope}{name}", self.gh.url()),
            &[],
        )
        .unwrap();
        (r.status == 200).then_some(r.body)
    }

    fn aws(&self, key: &str) -> Option<String> {
        let v = helper(&[
            "aws_get",
            &self.moto.endpoint,
            &format!("{}{key}", self.prefix),
        ]);
        (v != "<absent>").then_some(v)
    }

    fn vault_map(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(&helper(&[
            "vault_read",
            &self.vault.addr,
            &self.vault.token,
            &self.path,
        ]))
        .unwrap()
    }

    /// Every server holds exactly `value` for `key` (GitHub in environment `dev`).
    #[track_caller]
    fn assert_everywhere(&self, key: &str, value: &str) {
        assert_eq!(
            self.gh_plain("dev/", key).as_deref(),
            Some(value),
            "github {key}"
        );
        assert_eq!(self.aws(key).as_deref(), Some(value), "aws {key}");
        assert_eq!(self.vault_map()[key], value, "hashivault {key}");
    }
}

fn sync(w: &World, extra: &[&str]) -> Run {
    let mut a = vec!["sync", "dev", "--to", "github,aws,hashivault"];
    a.extend_from_slice(extra);
    w.vsync(&a)
}

fn setup(pairs: &[(&str, &str)]) -> Option<(World, Servers)> {
    let mut w = World::new();
    let s = Servers::start(&mut w)?;
    w.init("dev").ok();
    w.write_env("dev", pairs);
    w.vsync(&["push", "dev"]).ok();
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
    w.write_env(
        "dev",
        &[
            ("API_TOKEN", "fan-tok-1a"),
            ("DB_PASS", "fan-pw-NEW"),
            ("OLD_KEY", "fan-old-3c"),
        ],
    );
    w.vsync(&["push", "dev"]).ok();
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
    assert!(r.stdout.contains("update    API_TOKEN"), "{}", r.stdout);
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
        let rep = v
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["target"] == target)
            .unwrap();
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
    w.write_env(
        "dev",
        &[("API_TOKEN", "fan-tok-1a"), ("DB_PASS", "fan-pw-NEW")],
    );
    w.vsync(&["push", "dev"]).ok();
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
    assert!(r.stderr.contains("pass --yes"), "{}", r.stderr);
    assert_eq!(
        s.aws("OLD_KEY").as_deref(),
        Some("fan-old-3c"),
        "nothing deleted"
    );
    let r = sync(&w, &["--prune", "--yes"]).ok();
    assert!(r.stdout.contains("1 delete"), "{}", r.stdout);
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
    assert!(r.stderr.contains("GITHUB_X"), "{}", r.stderr);
    assert_eq!(s.gh_plain("dev/", "FINE"), None);
    assert_eq!(s.aws("FINE").as_deref(), Some("fan-fine-2"));
    assert_eq!(s.vault_map()["GITHUB_X"], "fan-gx-1");

    // GitHub answering 500 forever: github fails, the others still sync (exit 6)
    w.write_env("dev", &[("FINE", "fan-fine-3"), ("MORE", "fan-more-4")]);
    w.vsync(&["push", "dev"]).ok();
    helper(&[
        "post",
        &format!("{}/_fake/fail", s.gh.url()),
        r#"{"repo":"acme/app","status":500}"#,
    ]);
    let r = sync(&w, &[]).code(6);
    assert!(r.stderr.contains("HTTP 500"), "{}", r.stderr);
    assert_eq!(s.aws("MORE").as_deref(), Some("fan-more-4"));
    assert_eq!(s.vault_map()["MORE"], "fan-more-4");
    helper(&["post", &format!("{}/_fake/reset", s.gh.url()), "{}"]);

    // wrong credentials: one clear line per target, the others unaffected
    w.extra_env
        .push(("VAULT_TOKEN".into(), "wrong-token".into()));
    w.extra_env.push(("GITHUB_TOKEN".into(), "wrong-gh".into()));
    let r = sync(&w, &[]).code(6);
    let gh_line = r
        .stderr
        .lines()
        .find(|l| l.contains("GitHub rejected the token"))
        .unwrap_or_else(|| panic!("{}", r.stderr));
    assert!(gh_line.contains("GITHUB_TOKEN"), "{gh_line}");
    assert!(
        r.stderr
            .lines()
            .any(|l| l.contains("hashivault") && l.to_lowercase().contains("token")),
        "{}",
        r.stderr
    );
    // only aws wrote (its keys were unchanged); the github fake saw no secret at all
    assert_eq!(s.gh_plain("dev/", "MORE"), None);
}

#[test]
fn keyless_ci_sync() {
    require_keychain!();
    let Some((w, s)) = setup(&[("CI_ONLY", "fan-ci-7")]) else {
        return;
    };
    let blob = w
        .vsync(&["runtime-token", "--env", "dev"])
        .ok()
        .stdout
        .trim()
        .to_owned();
    let kf = w.home.join("key.txt");
    w.vsync(&["key", "show", "dev", "--out", kf.to_str().unwrap()])
        .ok();
    let key = std::fs::read_to_string(&kf).unwrap().trim().to_owned();
    let mut ci = World::new();
    ci.secrets = w.secrets.clone();
    ci.secret(&key);
    ci.extra_env = w.extra_env.clone();
    ci.extra_env.push(("VSYNC_CONFIG".into(), blob));
    ci.extra_env.push(("VSYNC_PASSPHRASE".into(), key));
    ci.extra_env
        .push(("VSYNC_KEYCHAIN".into(), "nonexistent-backend".into()));
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
    w.write_env("dev", &[("A", "fan-a-1"), ("SSH_KEY_PATH", "keys/id")]);
    w.vsync(&["push", "dev"]).ok();
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
    assert!(r.stdout.contains("upsert    SSH_KEY"), "{}", r.stdout);
    assert!(
        r.stdout.contains("inline-file-suffix: _PATH"),
        "{}",
        r.stdout
    );
    w.extra_env = saved;
    assert!(s.vault_map().is_empty(), "offline wrote nothing");

    let mut a = flags.clone();
    a.extend(["--inline-file-suffix", "_PATH", "--exclude-property", "A"]);
    let r = sync(&w, &a).ok();
    assert!(r.stdout.contains("skipped (excluded): A"), "{}", r.stdout);
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
    w.init("staging").ok();
    w.write_env("staging", &[("S", "fan-s-1")]);
    w.vsync(&["push", "staging"]).ok();
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

/// One timed run of the binary: wall time and the child's own CPU (user + sys, from the shell's
/// `times` builtin, so no extra dependency). Output is scanned for secrets like every other run.
fn timed(w: &World, args: &[&str]) -> (serde_json::Value, f64, f64) {
    let script = r#""$0" "$@"; rc=$?; times >&2; exit $rc"#;
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_vsync"))
        .args(args)
        .current_dir(&w.repo_dir)
        .env("HOME", &w.home)
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("VSYNC_CONFIG")
        .env_remove("VSYNC_PASSPHRASE")
        .env("NO_COLOR", "1");
    for (k, v) in &w.extra_env {
        cmd.env(k, v);
    }
    let t0 = std::time::Instant::now();
    let out = cmd.output().unwrap();
    let wall = t0.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    for s in &w.secrets {
        assert!(
            !stdout.contains(s.as_str()) && !stderr.contains(s.as_str()),
            "leak"
        );
    }
    // exit 6 (moto answering 500 under load) is reported, not fatal, in the benchmark
    if !out.status.success() && out.status.code() != Some(6) {
        let v: serde_json::Value = serde_json::from_str(&stdout).unwrap_or_default();
        for t in v.as_array().into_iter().flatten() {
            let failed: Vec<_> = t["results"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|k| k["status"] != "ok")
                .take(3)
                .collect();
            eprintln!("{}: {:?} {failed:?}", t["target"], t["problems"]);
        }
        panic!("{stderr}");
    }
    // last line of `times`: children's "XmY.YYYs XmY.YYYs"
    let secs = |t: &str| -> f64 {
        let (m, s) = t.trim_end_matches('s').split_once('m').unwrap();
        m.parse::<f64>().unwrap() * 60.0 + s.parse::<f64>().unwrap()
    };
    let last = stderr.lines().last().unwrap();
    let cpu: f64 = last.split_whitespace().map(secs).sum();
    (serde_json::from_str(&stdout).unwrap(), wall, cpu)
}

/// `cargo test --release -p vsync --test e2e bench_fanout -- --ignored --nocapture`:
/// 1,000 keys to the GitHub fake and moto at once, default jobs vs `--jobs 1`. OpenBao refuses a
/// KV v2 write of 1,000 keys (its default `max_request_json_strings` is 1,000 strings, a key and
/// a value each), so hashivault gets the largest map it accepts (450 keys) in a run of its own.
/// Numbers go to docs/benchmarks.md.
#[test]
#[ignore = "benchmark: run on purpose"]
fn bench_fanout_1000_keys() {
    require_keychain!();
    for (n, targets) in [(1000, "github,aws"), (450, "hashivault")] {
        let mut walls = Vec::new();
        for jobs in ["6", "1"] {
            walls.push(bench_run(n, targets, jobs));
        }
        println!(
            "BENCH {targets} ratio wall(jobs=1) / wall(jobs=6): {:.2}",
            walls[1] / walls[0]
        );
    }
}

fn bench_run(n: usize, targets: &str, jobs: &str) -> f64 {
    let keys: Vec<(String, String)> = (0..n)
        .map(|i| (format!("K{i:04}"), format!("bench-{jobs}-{i:04}-x")))
        .collect();
    let pairs: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (w, s) = setup(&pairs).expect("the GitHub fake");
    let routing = s.routing();
    let mut a = vec!["sync", "dev", "--to", targets, "--json"];
    a.extend(routing.iter().map(String::as_str));
    a.extend(["--jobs", jobs, "--rate", "100000"]);
    let (v, wall, cpu) = timed(&w, &a);
    let mut per = Vec::new();
    for t in v.as_array().unwrap() {
        let ok = t["results"]
            .as_array()
            .map_or(0, |r| r.iter().filter(|k| k["status"] == "ok").count());
        let secs = t["elapsed_ms"].as_f64().unwrap() / 1000.0;
        per.push(format!(
            "{} {ok}/{n} ok in {:.2}s ({:.0} keys/s)",
            t["target"].as_str().unwrap(),
            secs,
            n as f64 / secs
        ));
    }
    let gh_requests = services::http_request("GET", &format!("{}/_fake/requests", s.gh.url()), &[])
        .ok()
        .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.body).ok())
        .and_then(|v| v.as_array().map(Vec::len))
        .unwrap_or(0);
    println!(
        "BENCH {targets} n={n} jobs={jobs}: wall {wall:.2}s, vsync cpu {cpu:.2}s ({:.1}% of wall); github fake requests {gh_requests}; {}",
        100.0 * cpu / wall,
        per.join("; ")
    );
    wall
}
