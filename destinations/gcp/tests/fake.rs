//! `gcp` driven through the `Destination` trait against `tests/fakes/gcp_sm_fake.py`, a fake of
//! the Secret Manager REST API that the real `google-cloud-secretmanager-v1` client talks to.
//! The fake enforces the id/label/payload rules and answers with Google's error shapes; its
//! `/_fake/` endpoints let a test read stored plaintext, edit behind vsync's back and inject
//! failures. Skipped with a note when no python3 is found, unless VSYNC_TEST_SERVICES=1.

use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use vsync_dest_api::{
    ChangeOp, DestError, DestErrorKind, Destination, RemoteName, Routing, SecretBytes, SecretItem,
    WriteMode,
};
use vsync_dest_gcp::{ANONYMOUS_VAR, Credentials, ENDPOINT_VAR, EnvSource, GcpSecretManager};
use vsync_testkit::conformance::{Fault, Fixture, Tamper, ctx, plan, sync};
use vsync_testkit::fakes::PythonFake;
use vsync_testkit::services::http_send;

const PROJECT: &str = "vsync-test";

struct Fake {
    proc: PythonFake,
}

impl Fake {
    fn start(args: &[&str]) -> Option<Self> {
        PythonFake::spawn("gcp_sm_fake.py", &[], args).map(|proc| Self { proc })
    }

    fn url(&self) -> String {
        self.proc.url()
    }

    /// One request to the fake.
    fn call(&self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let r = http_send(method, &format!("{}{path}", self.url()), &[], body).unwrap();
        (r.status, r.body.into_bytes())
    }

    /// The stored secret (labels, replication, versions with plaintext), or None.
    fn secret(&self, id: &str) -> Option<Value> {
        let (st, body) = self.call("GET", &format!("/_fake/secret/{PROJECT}/{id}"), b"");
        (st == 200).then(|| serde_json::from_slice(&body).unwrap())
    }

    /// The plaintext of the newest version, if the secret exists.
    fn newest(&self, id: &str) -> Option<Vec<u8>> {
        let s = self.secret(id)?;
        let last = s["versions"].as_array()?.last()?.clone();
        base64::engine::general_purpose::STANDARD
            .decode(last["data_b64"].as_str()?)
            .ok()
    }

    /// The plaintext of the newest version.
    fn plaintext(&self, id: &str) -> Vec<u8> {
        self.newest(id).unwrap_or_else(|| panic!("{id} not stored"))
    }

    fn states(&self, id: &str) -> Vec<String> {
        self.secret(id).unwrap()["versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["state"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Adds a version behind vsync's back (creating the secret with `labels` if missing).
    fn set(&self, id: &str, value: &[u8], labels: &str) {
        let (st, _) = self.call(
            "POST",
            &format!("/_fake/set/{PROJECT}/{id}?labels={labels}"),
            value,
        );
        assert_eq!(st, 200);
    }

    fn fail(&self, spec: Value) {
        let (st, _) = self.call("POST", "/_fake/fail", spec.to_string().as_bytes());
        assert_eq!(st, 200);
    }

    fn stat(&self, name: &str) -> u64 {
        let (_, body) = self.call("GET", "/_fake/stats", b"");
        let v: Value = serde_json::from_slice(&body).unwrap();
        v[name].as_u64().unwrap_or(0)
    }
}

/// The destination pointed at the fake with anonymous credentials (VSYNC_GCP_ANONYMOUS).
fn dest(f: &Fake) -> GcpSecretManager {
    dest_with_vars(&[(ENDPOINT_VAR, &f.url()), (ANONYMOUS_VAR, "1")])
}

/// A destination configured by these variables only (no process environment, the Google chain
/// for credentials).
fn dest_with_vars(vars: &[(&str, &str)]) -> GcpSecretManager {
    GcpSecretManager::with_overrides(fixed(vars), None)
}

fn fixed(vars: &[(&str, &str)]) -> EnvSource {
    EnvSource::Fixed(
        vars.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    )
}

/// How `d`'s preflight fails (it must).
async fn preflight_error(d: &GcpSecretManager, r: &Routing) -> DestError {
    d.preflight(r, &ctx()).await.unwrap_err()
}

/// An `authorized_user` credential whose token_uri is the fake's OAuth endpoint.
fn user_creds(f: &Fake, refresh_token: &str) -> Credentials {
    google_cloud_auth::credentials::user_account::Builder::new(json!({
        "type": "authorized_user",
        "client_id": "vsync-test-client",
        "client_secret": "not-a-real-secret",
        "refresh_token": refresh_token,
        "token_uri": format!("{}/token", f.url()),
    }))
    .build()
    .unwrap()
}

fn dest_with(f: &Fake, creds: Credentials) -> GcpSecretManager {
    GcpSecretManager::with_overrides(fixed(&[(ENDPOINT_VAR, &f.url())]), Some(creds))
}

fn routing(prefix: &str) -> Routing {
    let mut r = Routing::new();
    r.insert("project".into(), PROJECT.into());
    if !prefix.is_empty() {
        r.insert("prefix".into(), prefix.into());
    }
    r
}

fn items(kv: &[(&str, &[u8])]) -> Vec<SecretItem> {
    kv.iter()
        .map(|(k, v)| SecretItem::plain(*k, SecretBytes::new(v.to_vec())))
        .collect()
}

/// The suite's view of the fake (one per test, listing one secret per page so every listing
/// walks pages): plaintext and `addVersion` counts from `/_fake/`, versions added behind vsync's
/// back, foreign secrets (no label, another owner's label, vsync's label outside the prefix), and
/// injected 429/500 answers.
struct Gcp {
    f: Fake,
}

async fn gcp() -> Option<(GcpSecretManager, Gcp)> {
    let f = Fake::start(&["--max-page-size", "1"])?;
    Some((dest(&f), Gcp { f }))
}

#[async_trait::async_trait]
impl Fixture for Gcp {
    async fn scope(&self) -> Result<Routing, String> {
        Ok(routing("cf_"))
    }

    async fn stored(&self, _r: &Routing, name: &RemoteName) -> Option<Option<Vec<u8>>> {
        Some(self.f.newest(&name.0))
    }

    async fn writes(&self, _r: &Routing) -> Option<u64> {
        Some(self.f.stat("addVersion"))
    }

    fn can_tamper(&self) -> bool {
        true
    }

    async fn tamper(&self, _r: &Routing, name: &RemoteName) -> Option<Tamper> {
        self.f.set(&name.0, b"hand-edited", "");
        Some(Tamper::Changed)
    }

    async fn plant_foreign(&self, _r: &Routing) -> Vec<RemoteName> {
        self.f.set("cf_HAND", b"hand", "");
        self.f.set("other_X", b"x", "managed-by=vsync");
        self.f.set("cf_FOREIGN", b"f", "managed-by=someone-else");
        ["cf_HAND", "other_X", "cf_FOREIGN"]
            .map(|n| RemoteName(n.into()))
            .to_vec()
    }

    fn can_inject(&self) -> bool {
        true
    }

    async fn inject(&self, fault: Fault) -> bool {
        let mut spec = json!({"status": fault.status, "count": fault.times.unwrap_or(1000)});
        if let Some(d) = fault.retry_after {
            spec["retryAfter"] = d.as_secs().into();
        }
        self.f.fail(spec);
        true
    }
}

mod conformance {
    vsync_testkit::conformance_tests!(super::gcp; preflight, map_name, create, idempotent, update,
        collisions, drift, prune, delete, retryable_errors, no_value_leaks);
}

#[tokio::test]
async fn labels_replication_kept_versions_and_a_concurrent_creator() {
    let Some(f) = Fake::start(&[]) else { return };
    let d = dest(&f);
    let r = routing("app_");
    assert_eq!(d.capabilities(&r).write_mode, WriteMode::PerKey);
    assert!(d.capabilities(&r).binary_values);
    assert_eq!(d.map_name(&r, "DB_URL").unwrap().0, "app_DB_URL");

    sync(&d, &r, &items(&[("A", b"one"), ("B", b"two")]), false).await;
    let s = f.secret("app_A").unwrap();
    assert_eq!(s["labels"], json!({"managed-by": "vsync"}));
    assert_eq!(s["replication"], json!({"automatic": {}}));

    // one changed value: one new version, the old one kept (no destroy unless asked)
    let got = sync(&d, &r, &items(&[("A", b"one"), ("B", b"TWO-2")]), false).await;
    assert_eq!(got[1], ("app_B".into(), ChangeOp::Update));
    assert_eq!(f.states("app_B"), vec!["ENABLED", "ENABLED"]);

    // a secret created by someone else between plan and apply: a version is added to it
    let plan = plan(&d, &r, &items(&[("C", b"c1")])).await.unwrap();
    assert_eq!(plan.changes[0].op, ChangeOp::Create);
    f.set("app_C", b"someone-else", "");
    let op = d
        .apply_one(
            &r,
            &plan.changes[0],
            Some(&items(&[("C", b"c1")])[0]),
            &ctx(),
        )
        .await
        .unwrap();
    assert_eq!(op, ChangeOp::Update, "existing secret: a version is added");
    assert_eq!(f.plaintext("app_C"), b"c1");
}

#[tokio::test]
async fn delete_one_refuses_what_is_not_ours() {
    let Some(f) = Fake::start(&[]) else { return };
    let d = dest(&f);
    let r = routing("pr_");
    sync(&d, &r, &items(&[("A", b"a")]), false).await;
    // not ours: no label, or outside the prefix
    f.set("pr_HAND", b"hand", "");
    f.set("other_X", b"x", "managed-by=vsync");
    let e = d
        .delete_one(&r, &RemoteName("pr_HAND".into()), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Unsupported, "{e}");
    assert!(e.message.contains("managed-by=vsync"), "{e}");
    let e = d
        .delete_one(&r, &RemoteName("other_X".into()), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Unsupported, "{e}");
    assert!(f.secret("pr_HAND").is_some() && f.secret("other_X").is_some());
    // already gone is fine
    d.delete_one(&r, &RemoteName("pr_A".into()), &ctx())
        .await
        .unwrap();
    d.delete_one(&r, &RemoteName("pr_A".into()), &ctx())
        .await
        .unwrap();
    assert!(f.secret("pr_A").is_none());
}

#[tokio::test]
async fn invalid_names_and_values_are_refused_before_any_request() {
    let Some(f) = Fake::start(&[]) else { return };
    let d = dest(&f);
    let r = routing("");
    for bad in ["BAD.KEY", "with space", "a/b", "", "é"] {
        let e = d.map_name(&r, bad).unwrap_err();
        assert_eq!(e.kind, DestErrorKind::InvalidName, "{bad:?}: {e}");
    }
    assert!(d.map_name(&r, &"K".repeat(255)).is_ok());
    assert!(d.map_name(&r, &"K".repeat(256)).is_err());
    // the prefix counts towards the 255
    assert!(d.map_name(&routing("p_"), &"K".repeat(254)).is_err());
    assert!(d.map_name(&r, "ok-Name_09").is_ok());

    let e = plan(&d, &r, &items(&[("GOOD", b"v"), ("BAD.KEY", b"v")]))
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::InvalidName);
    let e = plan(&d, &r, &items(&[("EMPTY", b"")])).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::InvalidValue);
    let big = vec![b'x'; 65_537];
    let e = plan(&d, &r, &items(&[("BIG", &big)])).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::InvalidValue);
    assert_eq!(f.stat("requests"), 0, "nothing reached the service");

    // routing errors are Config
    let e = d.map_name(&Routing::new(), "A").unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Config);
    assert!(e.message.contains("--gcp-project"), "{e}");
    let mut bad = routing("");
    bad.insert("labels".into(), "Team=Core".into());
    assert_eq!(
        d.map_name(&bad, "A").unwrap_err().kind,
        DestErrorKind::Config
    );

    // apply_one re-checks an id it is handed directly
    let item = &items(&[("A", b"v")])[0];
    let change = vsync_dest_api::Change {
        source_key: Some("A".into()),
        remote: RemoteName("bad.id".into()),
        op: ChangeOp::Create,
    };
    let e = d
        .apply_one(&r, &change, Some(item), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::InvalidName, "{e}");
    assert_eq!(f.stat("requests"), 0, "nothing reached the service");
    // and the fake enforces the rule as the service does
    let (st, body) = f.call(
        "POST",
        &format!("/v1/projects/{PROJECT}/secrets?secretId=bad.id"),
        br#"{"replication":{"automatic":{}}}"#,
    );
    let body: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (st, &body["error"]["status"]),
        (400, &json!("INVALID_ARGUMENT"))
    );
}

#[tokio::test]
async fn rate_limited_says_resource_exhausted_and_the_retry_adds_one_version() {
    let Some(f) = Fake::start(&[]) else { return };
    let d = dest(&f);
    let r = routing("rl_");
    let it = items(&[("K", b"v1")]);
    let plan = plan(&d, &r, &it).await.unwrap();
    f.fail(json!({"count": 1, "status": 429, "retryAfter": 2, "match": ":addVersion"}));
    let e = d
        .apply_one(&r, &plan.changes[0], Some(&it[0]), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::RateLimited, "{e}");
    assert_eq!(e.retry_after, Some(Duration::from_secs(2)));
    assert!(e.message.contains("RESOURCE_EXHAUSTED"), "{e}");
    // the retry the engine makes: the secret exists now, the version goes in once
    let op = d
        .apply_one(&r, &plan.changes[0], Some(&it[0]), &ctx())
        .await
        .unwrap();
    assert_eq!(op, ChangeOp::Update);
    assert_eq!(f.plaintext("rl_K"), b"v1");
    assert_eq!(f.states("rl_K").len(), 1);
}

#[tokio::test]
async fn server_errors_are_transient_and_say_so() {
    let Some(f) = Fake::start(&[]) else { return };
    let d = dest(&f);
    let r = routing("");
    f.fail(json!({"count": 1000, "status": 500}));
    let e = d.preflight(&r, &ctx()).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Transient, "{e}");
    assert!(e.retryable());
    assert!(
        e.message.contains("HTTP 500") && e.message.contains("Internal error"),
        "{e}"
    );
    let e = plan(&d, &r, &items(&[("A", b"s3cr3t-v")]))
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Transient, "{e}");
    assert!(!e.to_string().contains("s3cr3t-v"));

    // nothing listening at all
    let e = preflight_error(
        &dest_with_vars(&[(ENDPOINT_VAR, "http://127.0.0.1:9"), (ANONYMOUS_VAR, "1")]),
        &r,
    )
    .await;
    assert_eq!(e.kind, DestErrorKind::Transient, "{e}");
}

#[tokio::test]
async fn credentials_are_checked_and_wrong_ones_are_auth_errors() {
    let Some(f) = Fake::start(&["--token", "tok-good", "--refresh-token", "refresh-good"]) else {
        return;
    };
    let r = routing("au_");
    // the authorized_user flow: refresh token → access token → Bearer on every call
    let good = dest_with(&f, user_creds(&f, "refresh-good"));
    good.preflight(&r, &ctx()).await.unwrap();
    sync(&good, &r, &items(&[("A", b"a")]), false).await;
    assert_eq!(f.plaintext("au_A"), b"a");

    // no credentials at all
    let e = preflight_error(&dest(&f), &r).await;
    assert_eq!(e.kind, DestErrorKind::Auth, "{e}");
    assert!(e.message.contains("UNAUTHENTICATED"), "{e}");
    assert!(!e.retryable());

    // a refresh token the token endpoint refuses
    let e = preflight_error(&dest_with(&f, user_creds(&f, "refresh-wrong")), &r).await;
    assert_eq!(e.kind, DestErrorKind::Auth, "{e}");
    assert!(e.message.contains("credentials"), "{e}");

    // anonymous without an endpoint override is refused up front
    let e = preflight_error(&dest_with_vars(&[(ANONYMOUS_VAR, "1")]), &r).await;
    assert_eq!(e.kind, DestErrorKind::Config, "{e}");
}

#[tokio::test]
async fn permission_denied_is_an_auth_error() {
    let Some(f) = Fake::start(&[
        "--token",
        "tok-ro",
        "--denied-token",
        "tok-ro",
        "--refresh-token",
        "refresh-ro",
    ]) else {
        return;
    };
    let e = dest_with(&f, user_creds(&f, "refresh-ro"))
        .preflight(&routing(""), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Auth, "{e}");
    assert!(e.message.contains("PERMISSION_DENIED"), "{e}");
}

#[tokio::test]
async fn replication_labels_and_destroying_old_versions() {
    let Some(f) = Fake::start(&[]) else { return };
    let d = dest(&f);
    let mut r = routing("rv_");
    r.insert("replication".into(), "europe-west1,us-east1".into());
    r.insert("labels".into(), "team=core".into());
    r.insert("destroy_old_versions".into(), "true".into());
    sync(&d, &r, &items(&[("K", b"v1")]), false).await;
    let s = f.secret("rv_K").unwrap();
    assert_eq!(
        s["replication"],
        json!({"userManaged": {"replicas": [{"location": "europe-west1"}, {"location": "us-east1"}]}})
    );
    assert_eq!(s["labels"], json!({"team": "core", "managed-by": "vsync"}));
    sync(&d, &r, &items(&[("K", b"v2")]), false).await;
    sync(&d, &r, &items(&[("K", b"v3")]), false).await;
    assert_eq!(f.states("rv_K"), vec!["DESTROYED", "DESTROYED", "ENABLED"]);
    assert_eq!(f.plaintext("rv_K"), b"v3");
    // latest destroyed behind our back: reported, and a new version is written
    f.set("rv_K", b"tmp", "");
    let (st, _) = f.call(
        "POST",
        &format!("/v1/projects/{PROJECT}/secrets/rv_K/versions/latest:destroy"),
        b"",
    );
    assert_eq!(st, 200);
    let plan = plan(&d, &r, &items(&[("K", b"v3")])).await.unwrap();
    assert_eq!(plan.changes[0].op, ChangeOp::Update);
    assert!(
        plan.warnings[0].contains("destroyed"),
        "{:?}",
        plan.warnings
    );
}
