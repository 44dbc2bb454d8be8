//! `github` against tests/fakes/github_fake.py (spawned on a free port per test), driven through the
//! `Destination` trait. The fake decrypts every sealed box, so the tests assert the plaintext GitHub
//! would store. Needs python3 with PyNaCl (`.ci/venv`, installed by `scripts/test-services up`);
//! skipped with a note when missing, unless VSYNC_TEST_SERVICES=1.

// Printing is allowed here: a test says on the console which server it used or skipped.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;

use serde_json::json;
use vsync_dest_api::{ChangeOp, Ctx, DestErrorKind, Destination, RemoteName, Routing};
use vsync_dest_github::{EnvSource, GitHub};
use vsync_testkit::conformance::{Fault, Fixture, Tamper, ctx, items, plan, sync};
use vsync_testkit::fakes::PythonFake;
use vsync_testkit::services::http_send;

const TOKEN: &str = "test-token";

struct Fake {
    proc: PythonFake,
    url: String,
}

fn fake() -> Option<Fake> {
    let proc = PythonFake::spawn(
        "github_fake.py",
        &["nacl.public"],
        &[
            "--token",
            TOKEN,
            "--repo",
            "acme/app:dev,production",
            "--repo",
            "acme/other",
        ],
    )?;
    let url = proc.url();
    Some(Fake { proc, url })
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

/// One request to the fake, with the token its API endpoints want.
fn http(f: &Fake, method: &str, path: &str, body: &str) -> (u16, Vec<u8>) {
    let auth = format!("token {TOKEN}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let url = format!("http://127.0.0.1:{}{path}", f.proc.port());
    let r = http_send(method, &url, &headers, body.as_bytes()).unwrap();
    (r.status, r.body.into_bytes())
}

fn plaintext(f: &Fake, path: &str) -> Option<String> {
    let (s, b) = http(f, "GET", &format!("/_fake/plaintext/{path}"), "");
    (s == 200).then(|| String::from_utf8(b).unwrap())
}

/// The suite's view of the fake (one per test, repository secrets of acme/app): the plaintext it
/// decrypted from each sealed box, the PUTs it logged, deletions behind vsync's back (GitHub
/// cannot show a changed value), and injected 429/500 answers. Every secret of the repository is
/// in vsync's scope, so there is nothing foreign to plant.
struct Gh {
    f: Fake,
}

async fn github() -> Option<(GitHub, Gh)> {
    let f = fake()?;
    Some((dest(&f, TOKEN), Gh { f }))
}

#[async_trait::async_trait]
impl Fixture for Gh {
    async fn scope(&self) -> Result<Routing, String> {
        Ok(routing("acme/app", None))
    }

    async fn stored(&self, _r: &Routing, name: &RemoteName) -> Option<Option<Vec<u8>>> {
        Some(plaintext(&self.f, &format!("acme/app/{name}")).map(String::into_bytes))
    }

    async fn writes(&self, _r: &Routing) -> Option<u64> {
        let (_, log) = http(&self.f, "GET", "/_fake/requests", "");
        let log: Vec<String> = serde_json::from_slice(&log).ok()?;
        Some(log.iter().filter(|l| l.starts_with("PUT ")).count() as u64)
    }

    fn can_tamper(&self) -> bool {
        true
    }

    async fn tamper(&self, _r: &Routing, name: &RemoteName) -> Option<Tamper> {
        let path = format!("/repos/acme/app/actions/secrets/{name}");
        (http(&self.f, "DELETE", &path, "").0 == 204).then_some(Tamper::Deleted)
    }

    fn can_inject(&self) -> bool {
        true
    }

    async fn inject(&self, fault: Fault) -> bool {
        let spec = match fault.times {
            Some(n) => json!({
                "count": n,
                "status": fault.status,
                "retry_after": fault.retry_after.map_or(1, |d| d.as_secs()),
            }),
            None => json!({"repo": "acme/app", "status": fault.status}),
        };
        http(&self.f, "POST", "/_fake/fail", &spec.to_string()).0 == 200
    }
}

mod conformance {
    vsync_testkit::conformance_tests!(super::github; preflight, map_name, create, idempotent,
        update, collisions, drift, prune, delete, retryable_errors, no_value_leaks);
}

#[tokio::test]
async fn repository_secrets_are_write_only_and_upper_cased() {
    let Some(f) = fake() else { return };
    let d = dest(&f, TOKEN);
    let r = routing("acme/app", None);
    let caps = d.capabilities(&r);
    assert!(
        !caps.can_read_values && caps.can_list && caps.can_delete && caps.case_insensitive_names
    );

    // names upper-cased; the fake decrypted exactly our (non-ASCII) value
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
        plaintext(&f, "acme/app/API_KEY").as_deref(),
        Some("k1 ünïcode")
    );

    // write-only: existing names plan as Upsert (the engine's receipt decides unchanged);
    // nothing is read back
    let plan = plan(&d, &r, &v1).await.unwrap();
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
    let e = plan(&d, &r, &items(&[("OK", "1"), ("GITHUB_X", "2")]))
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
async fn server_error_forever_is_transient_per_key() {
    let Some(f) = fake() else { return };
    let d = dest(&f, TOKEN);
    let r = routing("acme/other", None);
    let it = items(&[("A", "value-a"), ("B", "value-b")]);
    let plan = plan(&d, &r, &it).await.unwrap();
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
