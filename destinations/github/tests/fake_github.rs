//! `github` against tests/fakes/github_fake.py (spawned on a free port per test), driven through the
//! `Destination` trait. The fake decrypts every sealed box, so the tests assert the plaintext GitHub
//! would store. Needs python3 with PyNaCl (`.ci/venv`, installed by `scripts/test-services up`);
//! skipped with a note when missing, unless VSYNC_TEST_SERVICES=1.

// Printing is allowed here: a test says on the console which server it used or skipped.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vsync_dest_api::{
    ChangeOp, Ctx, DestErrorKind, Destination, PlanOptions, RemoteName, Routing, SecretBytes,
    SecretItem,
};
use vsync_dest_github::{EnvSource, GitHub};

const TOKEN: &str = "test-token";

struct Fake {
    child: Child,
    url: String,
}

impl Drop for Fake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn python() -> Option<PathBuf> {
    let venv = root().join(".ci/venv/bin/python3");
    let candidates = [venv, PathBuf::from("python3")];
    candidates.into_iter().find(|p| {
        Command::new(p)
            .args(["-c", "import nacl.public"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

fn fake() -> Option<Fake> {
    let Some(py) = python() else {
        if std::env::var("VSYNC_TEST_SERVICES").as_deref() == Ok("1") {
            panic!(
                "VSYNC_TEST_SERVICES=1 but no python3 with PyNaCl (run scripts/test-services up)"
            );
        }
        eprintln!("note: skipped (no python3 with PyNaCl: run `scripts/test-services up`)");
        return None;
    };
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(py)
        .arg(root().join("tests/fakes/github_fake.py"))
        .arg(port.to_string())
        .args([
            "--token",
            TOKEN,
            "--repo",
            "acme/app:dev,production",
            "--repo",
            "acme/other",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn github fake");
    let t0 = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "github fake did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Some(Fake {
        child,
        url: format!("http://127.0.0.1:{port}"),
    })
}

fn dest(f: &Fake, token: &str) -> GitHub {
    let mut m = BTreeMap::new();
    m.insert("GITHUB_API_URL".to_string(), f.url.clone());
    m.insert("GH_TOKEN".to_string(), token.to_string());
    GitHub::with_env(EnvSource::Fixed(m))
}

fn routing(repo: &str, env: Option<&str>) -> Routing {
    let mut r = Routing::new();
    r.insert("repo".into(), repo.into());
    match env {
        Some(e) => r.insert("environment".into(), e.into()),
        None => r.insert("scope".into(), "repository".into()),
    };
    r
}

fn items(kv: &[(&str, &str)]) -> Vec<SecretItem> {
    kv.iter()
        .map(|(k, v)| SecretItem::plain(*k, SecretBytes::from_str_value(v)))
        .collect()
}

fn ctx() -> Ctx {
    Ctx::new("dev", "app")
}

/// Minimal HTTP/1.1 client for the fake's debug endpoints (std only).
fn http(f: &Fake, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let mut s = TcpStream::connect(f.url.trim_start_matches("http://")).unwrap();
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: token {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&buf[..split]).to_string();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, buf[split + 4..].to_vec())
}

fn plaintext(f: &Fake, path: &str) -> Option<String> {
    let (s, b) = http(f, "GET", &format!("/_fake/plaintext/{path}"), "");
    (s == 200).then(|| String::from_utf8(b).unwrap())
}

async fn sync(d: &GitHub, r: &Routing, it: &[SecretItem], prune: bool) -> Vec<(String, ChangeOp)> {
    let plan = d
        .plan(
            r,
            it,
            &PlanOptions {
                prune,
                offline: false,
            },
            &ctx(),
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    for ch in &plan.changes {
        let item = ch
            .source_key
            .as_ref()
            .and_then(|k| it.iter().find(|i| &i.key == k));
        let op = if ch.op == ChangeOp::Delete {
            d.delete_one(r, &ch.remote, &ctx()).await.unwrap();
            ChangeOp::Delete
        } else {
            d.apply_one(r, ch, item, &ctx()).await.unwrap()
        };
        out.push((ch.remote.0.clone(), op));
    }
    if prune {
        // as the engine does: listed names not planned → delete_one
        for n in d.list(r, &ctx()).await.unwrap().unwrap() {
            if !plan.changes.iter().any(|c| c.remote == n) {
                d.delete_one(r, &n, &ctx()).await.unwrap();
                out.push((n.0, ChangeOp::Delete));
            }
        }
    }
    out
}

#[tokio::test]
async fn repository_secrets_cycle() {
    let Some(f) = fake() else { return };
    let d = dest(&f, TOKEN);
    let r = routing("acme/app", None);
    let caps = d.capabilities(&r);
    assert!(
        !caps.can_read_values && caps.can_list && caps.can_delete && caps.case_insensitive_names
    );
    d.preflight(&r, &ctx()).await.unwrap();

    // first sync: created, and the fake decrypted exactly our values
    let v1 = items(&[("DB_URL", "postgres://u:p@h/db"), ("api_key", "k1 ünïcode")]);
    let got = sync(&d, &r, &v1, false).await;
    assert_eq!(
        got,
        vec![
            ("DB_URL".into(), ChangeOp::Create),
            ("API_KEY".into(), ChangeOp::Create)
        ]
    );
    assert_eq!(
        plaintext(&f, "acme/app/DB_URL").as_deref(),
        Some("postgres://u:p@h/db")
    );
    assert_eq!(
        plaintext(&f, "acme/app/API_KEY").as_deref(),
        Some("k1 ünïcode")
    );

    // second sync: write-only, so existing names plan as Upsert (the engine's receipt decides
    // unchanged); nothing is read back
    let plan = d
        .plan(&r, &v1, &PlanOptions::default(), &ctx())
        .await
        .unwrap();
    assert!(
        plan.changes.iter().all(|c| c.op == ChangeOp::Upsert),
        "{plan:?}"
    );
    assert_eq!(
        d.read_values(&r, &[RemoteName("DB_URL".into())], &ctx())
            .await
            .unwrap(),
        None
    );
    // an Unchanged change (from the engine's receipt) is not written
    let unchanged = vsync_dest_api::Change {
        source_key: Some("DB_URL".into()),
        remote: RemoteName("DB_URL".into()),
        op: ChangeOp::Unchanged,
    };
    assert_eq!(
        d.apply_one(&r, &unchanged, Some(&v1[0]), &ctx())
            .await
            .unwrap(),
        ChangeOp::Unchanged
    );

    // one changed value → Update (204)
    let v2 = items(&[("DB_URL", "postgres://new"), ("api_key", "k1 ünïcode")]);
    let got = sync(&d, &r, &v2, false).await;
    assert_eq!(got[0], ("DB_URL".into(), ChangeOp::Update));
    assert_eq!(
        plaintext(&f, "acme/app/DB_URL").as_deref(),
        Some("postgres://new")
    );

    // drift: someone deletes a secret behind our back → plan sees it missing → Create
    assert_eq!(
        http(&f, "DELETE", "/repos/acme/app/actions/secrets/API_KEY", "").0,
        204
    );
    let plan = d
        .plan(&r, &v2, &PlanOptions::default(), &ctx())
        .await
        .unwrap();
    assert_eq!(plan.changes[1].op, ChangeOp::Create);
    sync(&d, &r, &v2, false).await;
    assert_eq!(
        plaintext(&f, "acme/app/API_KEY").as_deref(),
        Some("k1 ünïcode")
    );

    // prune: API_KEY dropped from the env file; without prune it stays
    let v3 = items(&[("DB_URL", "postgres://new")]);
    sync(&d, &r, &v3, false).await;
    assert_eq!(d.list(&r, &ctx()).await.unwrap().unwrap().len(), 2);
    let got = sync(&d, &r, &v3, true).await;
    assert_eq!(
        got.last().unwrap(),
        &("API_KEY".to_string(), ChangeOp::Delete)
    );
    assert_eq!(
        d.list(&r, &ctx()).await.unwrap().unwrap(),
        vec![RemoteName("DB_URL".into())]
    );
    assert_eq!(plaintext(&f, "acme/app/API_KEY"), None);
}

#[tokio::test]
async fn environment_secrets_and_scope_rules() {
    let Some(f) = fake() else { return };
    let d = dest(&f, TOKEN);
    let r = routing("acme/app", Some("production"));
    assert!(d.routing_summary(&r).contains("environment=production"));
    sync(&d, &r, &items(&[("TOKEN_A", "prod-value")]), false).await;
    assert_eq!(
        plaintext(&f, "acme/app/production/TOKEN_A").as_deref(),
        Some("prod-value")
    );
    assert_eq!(
        plaintext(&f, "acme/app/TOKEN_A"),
        None,
        "not a repository secret"
    );
    assert_eq!(
        plaintext(&f, "acme/app/dev/TOKEN_A"),
        None,
        "not another environment"
    );

    // no scope at all: the environment named like the vsync env (upstream behaviour)
    let mut bare = Routing::new();
    bare.insert("repo".into(), "acme/app".into());
    sync(&d, &bare, &items(&[("TOKEN_C", "dev-default")]), false).await;
    assert_eq!(
        plaintext(&f, "acme/app/dev/TOKEN_C").as_deref(),
        Some("dev-default")
    );
    assert_eq!(plaintext(&f, "acme/app/TOKEN_C"), None);
    // scope=environment without a name is the same
    let mut r2 = routing("acme/app", None);
    r2.insert("scope".into(), "environment".into());
    sync(&d, &r2, &items(&[("TOKEN_B", "dev-value")]), false).await;
    assert_eq!(
        plaintext(&f, "acme/app/dev/TOKEN_B").as_deref(),
        Some("dev-value")
    );
    // an environment that GitHub does not have: a clear NotFound naming it
    let e = d
        .preflight(&bare, &Ctx::new("staging", "app"))
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::NotFound, "{e}");
    assert!(
        e.message
            .contains("environment \"staging\" does not exist in acme/app"),
        "{e}"
    );
    // an environment with repository scope contradicts itself
    let mut both = routing("acme/app", Some("dev"));
    both.insert("scope".into(), "repository".into());
    assert_eq!(
        d.preflight(&both, &ctx()).await.unwrap_err().kind,
        DestErrorKind::Config
    );

    // unknown environment / repository → NotFound
    let e = d
        .preflight(&routing("acme/app", Some("nope")), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::NotFound, "{e}");
    let e = d
        .preflight(&routing("acme/missing", None), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::NotFound, "{e}");
    let e = d
        .preflight(&routing("not-a-repo", None), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Config);
}

#[tokio::test]
async fn invalid_names_rejected_at_plan_time() {
    let d = GitHub::new();
    let r = routing("acme/app", None);
    for bad in [
        "GITHUB_X",
        "github_token",
        "Github_Anything",
        "1ABC",
        "A-B",
        "A B",
        "",
    ] {
        let e = d.map_name(&r, bad).unwrap_err();
        assert_eq!(e.kind, DestErrorKind::InvalidName, "{bad}");
        assert_eq!(e.key.as_deref(), Some(bad));
    }
    assert_eq!(d.map_name(&r, "_x1").unwrap().0, "_X1");
    assert_eq!(d.map_name(&r, "GITHUBX").unwrap().0, "GITHUBX");
    let Some(f) = fake() else { return };
    let d = dest(&f, TOKEN);
    let e = d
        .plan(
            &r,
            &items(&[("OK", "1"), ("GITHUB_X", "2")]),
            &PlanOptions::default(),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::InvalidName);
    let (_, reqs) = http(&f, "GET", "/_fake/requests", "");
    assert!(
        !String::from_utf8(reqs).unwrap().contains("PUT"),
        "nothing written"
    );
}

#[tokio::test]
async fn rate_limit_then_success() {
    let Some(f) = fake() else { return };
    let d = dest(&f, TOKEN);
    let r = routing("acme/app", None);
    let it = items(&[("A", "1")]);
    let plan = d
        .plan(&r, &it, &PlanOptions::default(), &ctx())
        .await
        .unwrap();
    assert_eq!(
        http(
            &f,
            "POST",
            "/_fake/fail",
            r#"{"count":1,"status":429,"retry_after":1}"#
        )
        .0,
        200
    );
    let e = d
        .apply_one(&r, &plan.changes[0], Some(&it[0]), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::RateLimited, "{e}");
    assert_eq!(e.retry_after, Some(Duration::from_secs(1)));
    assert!(e.retryable());
    assert_eq!(e.key.as_deref(), Some("A"));
    // what the engine does: wait Retry-After, try again
    tokio::time::sleep(e.retry_after.unwrap()).await;
    assert_eq!(
        d.apply_one(&r, &plan.changes[0], Some(&it[0]), &ctx())
            .await
            .unwrap(),
        ChangeOp::Create
    );
    assert_eq!(plaintext(&f, "acme/app/A").as_deref(), Some("1"));
}

#[tokio::test]
async fn server_error_forever_is_transient_per_key() {
    let Some(f) = fake() else { return };
    let d = dest(&f, TOKEN);
    let r = routing("acme/other", None);
    let it = items(&[("A", "value-a"), ("B", "value-b")]);
    let plan = d
        .plan(&r, &it, &PlanOptions::default(), &ctx())
        .await
        .unwrap();
    http(
        &f,
        "POST",
        "/_fake/fail",
        r#"{"repo":"acme/other","status":500}"#,
    );
    for (ch, item) in plan.changes.iter().zip(&it) {
        let e = d.apply_one(&r, ch, Some(item), &ctx()).await.unwrap_err();
        assert_eq!(e.kind, DestErrorKind::Transient, "{e}");
        assert!(e.retryable());
        assert_eq!(e.key.as_deref(), Some(item.key.as_str()));
        assert!(
            !e.to_string().contains("value-"),
            "no values in errors: {e}"
        );
    }
    // other repos unaffected
    d.preflight(&routing("acme/app", None), &ctx())
        .await
        .unwrap();
}

#[tokio::test]
async fn wrong_or_missing_token_is_auth() {
    let Some(f) = fake() else { return };
    let r = routing("acme/app", None);
    let e = dest(&f, "wrong").preflight(&r, &ctx()).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Auth, "{e}");
    assert!(e.message.contains("GITHUB_TOKEN"), "{e}");
    let mut m = BTreeMap::new();
    m.insert("GITHUB_API_URL".to_string(), f.url.clone());
    let e = GitHub::with_env(EnvSource::Fixed(m))
        .preflight(&r, &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Auth);
    assert!(e.message.contains("GH_TOKEN"));
    // GITHUB_TOKEN works as well as GH_TOKEN
    let mut m = BTreeMap::new();
    m.insert("GITHUB_API_URL".to_string(), f.url.clone());
    m.insert("GITHUB_TOKEN".to_string(), TOKEN.to_string());
    GitHub::with_env(EnvSource::Fixed(m))
        .preflight(&r, &ctx())
        .await
        .unwrap();
}

#[tokio::test]
async fn unreachable_api_is_transient() {
    let mut m = BTreeMap::new();
    m.insert(
        "GITHUB_API_URL".to_string(),
        "http://127.0.0.1:9".to_string(),
    );
    m.insert("GH_TOKEN".to_string(), TOKEN.to_string());
    let e = GitHub::with_env(EnvSource::Fixed(m))
        .preflight(&routing("acme/app", None), &ctx())
        .await
        .unwrap_err();
    assert!(
        matches!(e.kind, DestErrorKind::Transient | DestErrorKind::Timeout),
        "{e}"
    );
}
