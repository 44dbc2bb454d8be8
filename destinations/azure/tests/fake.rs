//! `azure` against tests/fakes/azure_kv_fake.py (HTTPS, 401 challenge, Entra token endpoint, the
//! Key Vault secrets REST API with its naming rules and error shapes), driven through the
//! `Destination` trait. The real credential path runs: ClientSecretCredential fetches a token
//! from the fake (AZURE_AUTHORITY_HOST), and the fake's throwaway CA is trusted only through
//! VSYNC_AZURE_CA_FILE. Skipped with a note when no python with `cryptography` exists, unless
//! VSYNC_TEST_SERVICES=1.

// Printing is allowed here: a test says on the console which server it used or skipped.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{Value, json};
use vsync_dest_api::{ChangeOp, DestErrorKind, Destination, RemoteName, Routing, WriteMode};
use vsync_dest_azure::{AzureKeyVault, EnvSource};
use vsync_testkit::conformance::{Fault, Fixture, Tamper, ctx, items, plan, sync};
use vsync_testkit::fakes::PythonFake;

const TENANT: &str = "00000000-0000-0000-0000-000000000001";
const CLIENT_ID: &str = "vsync-test-client";
const CLIENT_SECRET: &str = "vsync-test-secret";

struct Fake {
    _proc: PythonFake,
    _dir: tempfile::TempDir,
    url: String,
    ca: PathBuf,
    http: reqwest::Client,
}

impl Fake {
    fn start() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        let proc = PythonFake::spawn_tls(
            "azure_kv_fake.py",
            &["cryptography"],
            &["--ca-out", ca.to_str().unwrap(), "--tenant", TENANT],
        )?;
        let pem = std::fs::read(&ca).unwrap();
        let http = reqwest::Client::builder()
            .tls_certs_only(reqwest::Certificate::from_pem_bundle(&pem).unwrap())
            .build()
            .unwrap();
        Some(Self {
            url: proc.url(),
            _proc: proc,
            _dir: dir,
            ca,
            http,
        })
    }

    fn env(&self, secret: &str) -> EnvSource {
        let mut m = BTreeMap::new();
        m.insert("AZURE_TENANT_ID".to_string(), TENANT.to_string());
        m.insert("AZURE_CLIENT_ID".to_string(), CLIENT_ID.to_string());
        m.insert("AZURE_CLIENT_SECRET".to_string(), secret.to_string());
        m.insert("AZURE_AUTHORITY_HOST".to_string(), self.url.clone());
        m.insert(
            "VSYNC_AZURE_CA_FILE".to_string(),
            self.ca.to_str().unwrap().to_string(),
        );
        EnvSource::Fixed(m)
    }

    fn dest(&self) -> AzureKeyVault {
        AzureKeyVault::with_env(self.env(CLIENT_SECRET))
    }

    fn routing(&self, extra: &[(&str, &str)]) -> Routing {
        let mut r = Routing::new();
        r.insert("vaultName".into(), self.url.clone().into());
        for (k, v) in extra {
            r.insert((*k).into(), (*v).into());
        }
        r
    }

    async fn ctl(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}/_fake/{path}", self.url));
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let rsp = req.send().await.unwrap();
        let status = rsp.status().as_u16();
        let text = rsp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// What the fake stores for `name` (latest version), or None.
    async fn stored(&self, name: &str) -> Option<Value> {
        let (s, v) = self
            .ctl(reqwest::Method::GET, &format!("secrets/{name}"), None)
            .await;
        (s == 200).then_some(v)
    }

    async fn counts(&self) -> Value {
        self.ctl(reqwest::Method::GET, "counts", None).await.1
    }

    async fn fail(&self, body: Value) {
        let (s, _) = self.ctl(reqwest::Method::POST, "fail", Some(body)).await;
        assert_eq!(s, 204);
    }
}

fn writes(counts: &Value) -> u64 {
    counts["PUT /secrets/{}"].as_u64().unwrap_or(0)
}

/// The suite's view of the fake (one per test): stored plaintext and PUT counts from `/_fake/`,
/// values changed behind vsync's back, secrets vsync did not create (another owner's tags, or
/// none), and injected 429/500 answers to writes. Keys map `_` → `-` (`nameMap=dash`).
struct Az {
    f: Fake,
}

/// A fresh fake vault where vsync already wrote `key` = `value`: the fake, the destination and
/// the default routing.
async fn vault_holding(key: &str, value: &str) -> Option<(Fake, AzureKeyVault, Routing)> {
    let f = Fake::start()?;
    let d = f.dest();
    let r = f.routing(&[]);
    sync(&d, &r, &items(&[(key, value)]), false).await;
    Some((f, d, r))
}

async fn azure() -> Option<(AzureKeyVault, Az)> {
    Fake::start().map(|f| (f.dest(), Az { f }))
}

#[async_trait::async_trait]
impl Fixture for Az {
    async fn scope(&self) -> Result<Routing, String> {
        Ok(self.f.routing(&[("nameMap", "dash")]))
    }

    async fn stored(&self, _r: &Routing, name: &RemoteName) -> Option<Option<Vec<u8>>> {
        let s = self
            .f
            .stored(&name.0)
            .await
            .filter(|s| s["deleted"] != true);
        Some(s.map(|s| s["value"].as_str().unwrap_or_default().as_bytes().to_vec()))
    }

    async fn writes(&self, _r: &Routing) -> Option<u64> {
        Some(writes(&self.f.counts().await))
    }

    fn can_tamper(&self) -> bool {
        true
    }

    async fn tamper(&self, _r: &Routing, name: &RemoteName) -> Option<Tamper> {
        let body = json!({"value": "hand-edited"});
        let path = format!("secrets/{name}");
        let (st, _) = self.f.ctl(reqwest::Method::PUT, &path, Some(body)).await;
        (st == 204).then_some(Tamper::Changed)
    }

    async fn plant_foreign(&self, _r: &Routing) -> Vec<RemoteName> {
        let plants = [
            ("HAND-MADE", json!({"value": "x", "tags": {"owner": "ops"}})),
            (
                "THEIRS",
                json!({"value": "y", "tags": {"managed-by": "someone-else"}}),
            ),
        ];
        let mut names = Vec::new();
        for (name, body) in plants {
            let path = format!("secrets/{name}");
            let (st, _) = self.f.ctl(reqwest::Method::PUT, &path, Some(body)).await;
            assert_eq!(st, 204);
            names.push(RemoteName(name.into()));
        }
        names
    }

    fn can_inject(&self) -> bool {
        true
    }

    async fn inject(&self, fault: Fault) -> bool {
        let count = fault.times.map_or(-1, i64::from);
        let mut spec = json!({"status": fault.status, "count": count, "method": "PUT"});
        if let Some(d) = fault.retry_after {
            spec["retry_after"] = d.as_secs().into();
        }
        self.f.fail(spec).await;
        true
    }
}

mod conformance {
    vsync_testkit::conformance_tests!(super::azure; preflight, map_name, create, idempotent,
        update, collisions, drift, prune, delete, retryable_errors, no_value_leaks);
}

#[tokio::test]
async fn tags_kept_foreign_secrets_updated_in_place_and_soft_delete_hints() {
    let Some(f) = Fake::start() else { return };
    let d = f.dest();
    let r = f.routing(&[]);
    assert_eq!(d.capabilities(&r).write_mode, WriteMode::PerKey);
    assert!(d.capabilities(&r).case_insensitive_names);

    // created tagged; a changed value makes a new version and the tag survives it
    let v1 = items(&[("API-KEY", "k1"), ("DB", "postgres://u:p@h/db")]);
    sync(&d, &r, &v1, false).await;
    assert_eq!(
        f.stored("DB").await.unwrap()["tags"],
        json!({"managed-by": "vsync"})
    );
    let v2 = items(&[("API-KEY", "k2"), ("DB", "postgres://u:p@h/db")]);
    sync(&d, &r, &v2, false).await;
    let s = f.stored("API-KEY").await.unwrap();
    assert_eq!(s["versions"], 2);
    assert_eq!(s["tags"], json!({"managed-by": "vsync"}));

    // an existing secret vsync did not create: updated in place, keeps its tags, never listed,
    // refused by delete_one
    let (st, _) = f
        .ctl(
            reqwest::Method::PUT,
            "secrets/HAND-MADE",
            Some(json!({"value": "x", "tags": {"owner": "ops"}})),
        )
        .await;
    assert_eq!(st, 204);
    let v3 = items(&[
        ("API-KEY", "k2"),
        ("DB", "postgres://u:p@h/db"),
        ("HAND-MADE", "y"),
    ]);
    let got = sync(&d, &r, &v3, false).await;
    assert_eq!(got[2], ("HAND-MADE".into(), ChangeOp::Update));
    assert_eq!(
        f.stored("HAND-MADE").await.unwrap()["tags"],
        json!({"owner": "ops"})
    );
    let e = d
        .delete_one(&r, &RemoteName("HAND-MADE".into()), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Unsupported, "{e}");
    assert!(f.stored("HAND-MADE").await.is_some());

    // prune: DB left the env file → soft-deleted (recoverable), not purged
    let v4 = items(&[("API-KEY", "k2")]);
    let got = sync(&d, &r, &v4, true).await;
    assert_eq!(got.last().unwrap(), &("DB".into(), ChangeOp::Delete));
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(f.stored("DB").await.unwrap()["deleted"], true);

    // DB comes back while soft-deleted: the plan warns, the write is a Conflict naming the
    // recover and purge commands, and the deleted secret is left as it was
    let v5 = items(&[("API-KEY", "k2"), ("DB", "new-value")]);
    let plan = plan(&d, &r, &v5).await.unwrap();
    assert_eq!(plan.changes[1].op, ChangeOp::Upsert);
    let recover = format!(
        "az keyvault secret recover --id {}/deletedsecrets/DB",
        f.url
    );
    assert!(
        plan.warnings.iter().any(|w| w.contains(&recover)),
        "{:?}",
        plan.warnings
    );
    let e = d
        .apply_one(&r, &plan.changes[1], Some(&v5[1]), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Conflict, "{e}");
    assert!(!e.retryable());
    assert!(e.message.contains(&recover), "{e}");
    assert!(
        e.message.contains(&format!(
            "az keyvault secret purge --id {}/deletedsecrets/DB",
            f.url
        )),
        "{e}"
    );
    assert!(!e.to_string().contains("new-value"));
    let s = f.stored("DB").await.unwrap();
    assert_eq!(s["deleted"], true);
    assert_eq!(s["value"], "postgres://u:p@h/db", "not overwritten");
}

#[tokio::test]
async fn soft_deleted_behind_our_back_is_reported() {
    let Some((f, d, r)) = vault_holding("A", "1").await else {
        return;
    };
    let (st, _) = f
        .ctl(reqwest::Method::POST, "secrets/A/softdelete", None)
        .await;
    assert_eq!(st, 204);
    let plan = plan(&d, &r, &items(&[("A", "1")])).await.unwrap();
    assert_eq!(plan.changes[0].op, ChangeOp::Upsert);
    assert!(plan.warnings[0].contains("recover"), "{:?}", plan.warnings);
    let e = d
        .apply_one(&r, &plan.changes[0], Some(&items(&[("A", "1")])[0]), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Conflict);
    assert_eq!(f.stored("A").await.unwrap()["deleted"], true);
}

#[tokio::test]
async fn names_underscore_refused_dash_map_and_collisions() {
    let Some(f) = Fake::start() else { return };
    let d = f.dest();

    // default: `_` refused before any request, with the fix
    let r = f.routing(&[]);
    let e = d.map_name(&r, "DB_URL").unwrap_err();
    assert_eq!(e.kind, DestErrorKind::InvalidName);
    assert!(e.message.contains("--azure-name-map dash"), "{e}");
    let e = plan(&d, &r, &items(&[("OK", "1"), ("DB_URL", "2")]))
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::InvalidName);
    assert_eq!(e.key.as_deref(), Some("DB_URL"));
    assert_eq!(
        f.counts().await,
        json!({}),
        "no request before the names are valid"
    );
    assert!(d.map_name(&r, "A.B").is_err());
    assert!(d.map_name(&r, &"X".repeat(128)).is_err());

    // dash map: DB_URL → DB-URL, and the fake (which enforces the real rule) accepts it
    let r = f.routing(&[("nameMap", "dash")]);
    assert_eq!(d.map_name(&r, "DB_URL").unwrap().0, "DB-URL");
    let got = sync(&d, &r, &items(&[("DB_URL", "x")]), false).await;
    assert_eq!(got, vec![("DB-URL".into(), ChangeOp::Create)]);
    assert_eq!(f.stored("DB-URL").await.unwrap()["value"], "x");

    // collisions after mapping (and case-insensitively) abort the plan, nothing written
    let before = writes(&f.counts().await);
    for pair in [[("A_B", "1"), ("A-B", "2")], [("a-b", "1"), ("A-B", "2")]] {
        let e = plan(&d, &r, &items(&pair)).await.unwrap_err();
        assert_eq!(e.kind, DestErrorKind::InvalidName, "{e}");
        assert!(
            e.message.contains(pair[0].0) && e.message.contains(pair[1].0),
            "{e}"
        );
    }
    assert_eq!(writes(&f.counts().await), before);
}

#[tokio::test]
async fn server_errors_cost_one_request_per_call() {
    let Some((f, d, r)) = vault_holding("A", "s3cr3t").await else {
        return;
    };

    // 500 forever: Transient (retryable) on every call, the SDK does not retry on its own
    let before = f.counts().await["GET /secrets/{}"].as_u64().unwrap();
    f.fail(json!({"status": 500, "count": -1})).await;
    for _ in 0..3 {
        let e = d
            .read_values(&r, &[RemoteName("A".into())], &ctx())
            .await
            .unwrap_err();
        assert_eq!(e.kind, DestErrorKind::Transient, "{e}");
        assert!(e.retryable());
    }
    assert_eq!(
        f.counts().await["GET /secrets/{}"].as_u64().unwrap(),
        before + 3,
        "one request per call"
    );
    let e = d.preflight(&r, &ctx()).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Transient);
}

#[tokio::test]
async fn wrong_credentials_and_rejected_token_are_auth_errors() {
    let Some(f) = Fake::start() else { return };
    let r = f.routing(&[]);

    // wrong client secret: the token endpoint refuses, a clear non-retryable Auth error
    let d = AzureKeyVault::with_env(f.env("wrong-secret-value"));
    assert!(!format!("{d:?}").contains("wrong-secret-value"));
    let e = d.preflight(&r, &ctx()).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Auth, "{e}");
    assert!(!e.retryable());
    assert!(e.message.contains("Invalid client secret"), "{e}");
    eprintln!("wrong secret: {e}");
    assert!(!e.to_string().contains("wrong-secret-value"), "{e}");
    assert_eq!(f.counts().await, json!({}));

    // a token the vault no longer accepts: 401 after the challenge retry → Auth
    let d = f.dest();
    d.preflight(&r, &ctx()).await.unwrap();
    let (s, _) = f.ctl(reqwest::Method::POST, "revoke-tokens", None).await;
    assert_eq!(s, 204);
    let e = d.preflight(&r, &ctx()).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Auth, "{e}");
    assert!(e.message.contains("401"), "{e}");

    // missing service principal variables (credential=client-secret): Auth, names the variable
    let d = AzureKeyVault::with_env(EnvSource::Fixed(BTreeMap::new()));
    let e = d
        .preflight(&f.routing(&[("credential", "client-secret")]), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Auth);
    assert!(e.message.contains("AZURE_TENANT_ID"), "{e}");
}

#[tokio::test]
async fn tls_is_verified_without_the_test_ca() {
    let Some(f) = Fake::start() else { return };
    let mut m = BTreeMap::new();
    m.insert("AZURE_TENANT_ID".to_string(), TENANT.to_string());
    m.insert("AZURE_CLIENT_ID".to_string(), CLIENT_ID.to_string());
    m.insert("AZURE_CLIENT_SECRET".to_string(), CLIENT_SECRET.to_string());
    m.insert("AZURE_AUTHORITY_HOST".to_string(), f.url.clone());
    let d = AzureKeyVault::with_env(EnvSource::Fixed(m));
    let e = d.preflight(&f.routing(&[]), &ctx()).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Config, "{e}");
    assert!(!e.retryable());
    assert!(
        e.message.contains("certificate") && e.message.contains("VSYNC_AZURE_CA_FILE"),
        "{e}"
    );
    eprintln!("untrusted: {e}");
    assert_eq!(f.counts().await, json!({}), "nothing reached the vault");

    // a bad CA file is a configuration error, not a silent fallback
    let mut m = BTreeMap::new();
    m.insert(
        "VSYNC_AZURE_CA_FILE".to_string(),
        "/nonexistent/ca.pem".to_string(),
    );
    let d = AzureKeyVault::with_env(EnvSource::Fixed(m));
    let e = d.preflight(&f.routing(&[]), &ctx()).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Config, "{e}");
}

#[tokio::test]
async fn list_follows_next_link_and_keeps_to_the_prefix() {
    let Some(f) = Fake::start() else { return };
    let d = f.dest();
    // 30 managed names under the prefix (the fake pages by 25), plus managed ones outside it
    for i in 0..30 {
        let (s, _) = f
            .ctl(
                reqwest::Method::PUT,
                &format!("secrets/app-K{i:02}"),
                Some(json!({"value": "v", "tags": {"managed-by": "vsync"}})),
            )
            .await;
        assert_eq!(s, 204);
    }
    f.ctl(
        reqwest::Method::PUT,
        "secrets/other-K",
        Some(json!({"value": "v", "tags": {"managed-by": "vsync"}})),
    )
    .await;
    let r = f.routing(&[("prefix", "app-")]);
    let listed = d.list(&r, &ctx()).await.unwrap().unwrap();
    assert_eq!(listed.len(), 30, "{listed:?}");
    assert!(listed.iter().all(|n| n.0.starts_with("app-K")));
    assert!(
        f.counts().await["GET /secrets"].as_u64().unwrap() >= 2,
        "paged"
    );
    assert_eq!(d.map_name(&r, "K").unwrap().0, "app-K");
    let e = d
        .delete_one(&r, &RemoteName("other-K".into()), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Unsupported);
    assert_eq!(f.stored("other-K").await.unwrap()["deleted"], false);
}
