//! `gcp` driven through the `Destination` trait against `tests/fakes/gcp_sm_fake.py`, a fake of
//! the Secret Manager REST API that the real `google-cloud-secretmanager-v1` client talks to.
//! The fake enforces the id/label/payload rules and answers with Google's error shapes; its
//! `/_fake/` endpoints let a test read stored plaintext, edit behind vsync's back and inject
//! failures. Skipped with a note when no python3 is found, unless VSYNC_TEST_SERVICES=1.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use vsync_dest_api::{
    ChangeOp, Ctx, DestErrorKind, Destination, PlanOptions, RemoteName, Routing, SecretBytes,
    SecretItem, WriteMode,
};
use vsync_dest_gcp::{ANONYMOUS_VAR, Credentials, ENDPOINT_VAR, EnvSource, GcpSecretManager};
use vsync_testkit::fakes::PythonFake;

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

    /// One request to the fake (std only: HTTP/1.1, one connection per call).
    fn call(&self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        let mut s = TcpStream::connect(("127.0.0.1", self.proc.port())).unwrap();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).unwrap();
        s.write_all(body).unwrap();
        let mut out = Vec::new();
        s.read_to_end(&mut out).unwrap();
        let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        let status = std::str::from_utf8(&out[9..12]).unwrap().parse().unwrap();
        (status, out[split + 4..].to_vec())
    }

    /// The stored secret (labels, replication, versions with plaintext), or None.
    fn secret(&self, id: &str) -> Option<Value> {
        let (st, body) = self.call("GET", &format!("/_fake/secret/{PROJECT}/{id}"), b"");
        (st == 200).then(|| serde_json::from_slice(&body).unwrap())
    }

    /// The plaintext of the newest version.
    fn plaintext(&self, id: &str) -> Vec<u8> {
        let s = self.secret(id).unwrap_or_else(|| panic!("{id} not stored"));
        let last = s["versions"].as_array().unwrap().last().unwrap().clone();
        base64::engine::general_purpose::STANDARD
            .decode(last["data_b64"].as_str().unwrap())
            .unwrap()
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
    let mut m = BTreeMap::new();
    m.insert(ENDPOINT_VAR.to_owned(), f.url());
    m.insert(ANONYMOUS_VAR.to_owned(), "1".to_owned());
    GcpSecretManager::with_overrides(EnvSource::Fixed(m), None)
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
    let mut m = BTreeMap::new();
    m.insert(ENDPOINT_VAR.to_owned(), f.url());
    GcpSecretManager::with_overrides(EnvSource::Fixed(m), Some(creds))
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

fn ctx() -> Ctx {
    Ctx::new("dev", "app")
}

/// plan + apply_one per change (the engine's per-key path) + list/delete_one for prune.
async fn sync(
    d: &GcpSecretManager,
    r: &Routing,
    it: &[SecretItem],
    prune: bool,
) -> Vec<(String, ChangeOp)> {
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
        let op = d.apply_one(r, ch, item, &ctx()).await.unwrap();
        out.push((ch.remote.0.clone(), op));
    }
    if prune {
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
async fn first_sync_unchanged_changed_and_drift() {
    let Some(f) = Fake::start(&[]) else { return };
    let d = dest(&f);
    let r = routing("app_");
    assert_eq!(d.capabilities(&r).write_mode, WriteMode::PerKey);
    assert!(d.capabilities(&r).binary_values);
    d.preflight(&r, &ctx()).await.unwrap();
    assert_eq!(d.map_name(&r, "DB_URL").unwrap().0, "app_DB_URL");

    let binary: &[u8] = &[0xff, 0x00, 0x10, 0x80];
    let v1 = items(&[("A", b"one"), ("B", b"two"), ("BIN", binary)]);
    let got = sync(&d, &r, &v1, false).await;
    assert_eq!(
        got,
        vec![
            ("app_A".into(), ChangeOp::Create),
            ("app_B".into(), ChangeOp::Create),
            ("app_BIN".into(), ChangeOp::Create),
        ]
    );
    assert_eq!(f.plaintext("app_B"), b"two");
    assert_eq!(f.plaintext("app_BIN"), binary);
    let s = f.secret("app_A").unwrap();
    assert_eq!(s["labels"], json!({"managed-by": "vsync"}));
    assert_eq!(s["replication"], json!({"automatic": {}}));
    let writes = f.stat("addVersion");
    assert_eq!(writes, 3);

    // second run: everything read back equal, no version added
    let got = sync(&d, &r, &v1, false).await;
    assert!(
        got.iter().all(|(_, op)| *op == ChangeOp::Unchanged),
        "{got:?}"
    );
    assert_eq!(f.stat("addVersion"), writes);
    let back = d
        .read_values(
            &r,
            &[RemoteName("app_BIN".into()), RemoteName("app_NOPE".into())],
            &ctx(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[&RemoteName("app_BIN".into())].expose(), binary);

    // one changed value: one new version, the old one kept (no destroy unless asked)
    let v2 = items(&[("A", b"one"), ("B", b"TWO-2"), ("BIN", binary)]);
    let got = sync(&d, &r, &v2, false).await;
    assert_eq!(got[0].1, ChangeOp::Unchanged);
    assert_eq!(got[1], ("app_B".into(), ChangeOp::Update));
    assert_eq!(f.plaintext("app_B"), b"TWO-2");
    assert_eq!(f.stat("addVersion"), writes + 1);
    assert_eq!(f.states("app_B"), vec!["ENABLED", "ENABLED"]);

    // drift: a version added behind vsync's back is detected and overwritten
    f.set("app_A", b"hand-edited", "");
    let plan = d
        .plan(&r, &v2, &PlanOptions::default(), &ctx())
        .await
        .unwrap();
    assert_eq!(plan.changes[0].op, ChangeOp::Update);
    assert_eq!(plan.changes[1].op, ChangeOp::Unchanged);
    sync(&d, &r, &v2, false).await;
    assert_eq!(f.plaintext("app_A"), b"one");

    // a secret created by someone else between plan and apply: a version is added to it
    let plan = d
        .plan(&r, &items(&[("C", b"c1")]), &PlanOptions::default(), &ctx())
        .await
        .unwrap();
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
async fn prune_deletes_only_managed_secrets_under_the_prefix() {
    // page size 1 makes every list walk through pages
    let Some(f) = Fake::start(&["--max-page-size", "1"]) else {
        return;
    };
    let d = dest(&f);
    let r = routing("pr_");
    sync(&d, &r, &items(&[("A", b"a"), ("B", b"b")]), false).await;
    // not ours: no label, or outside the prefix
    f.set("pr_HAND", b"hand", "");
    f.set("other_X", b"x", "managed-by=vsync");
    f.set("pr_FOREIGN", b"f", "managed-by=someone-else");

    let listed = d.list(&r, &ctx()).await.unwrap().unwrap();
    assert_eq!(
        listed,
        vec![RemoteName("pr_A".into()), RemoteName("pr_B".into())]
    );
    // without prune nothing is deleted
    sync(&d, &r, &items(&[("A", b"a")]), false).await;
    assert!(f.secret("pr_B").is_some());

    let got = sync(&d, &r, &items(&[("A", b"a")]), true).await;
    assert_eq!(got.last().unwrap(), &("pr_B".into(), ChangeOp::Delete));
    assert!(f.secret("pr_B").is_none());
    for keep in ["pr_A", "pr_HAND", "other_X", "pr_FOREIGN"] {
        assert!(f.secret(keep).is_some(), "{keep} must survive prune");
    }

    // asked directly, delete_one still refuses what is not ours
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
    d.delete_one(&r, &RemoteName("pr_B".into()), &ctx())
        .await
        .unwrap();
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

    let e = d
        .plan(
            &r,
            &items(&[("GOOD", b"v"), ("BAD.KEY", b"v")]),
            &PlanOptions::default(),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::InvalidName);
    let e = d
        .plan(
            &r,
            &items(&[("EMPTY", b"")]),
            &PlanOptions::default(),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::InvalidValue);
    let big = vec![b'x'; 65_537];
    let e = d
        .plan(
            &r,
            &items(&[("BIG", &big)]),
            &PlanOptions::default(),
            &ctx(),
        )
        .await
        .unwrap_err();
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
async fn rate_limited_with_retry_after_then_success() {
    let Some(f) = Fake::start(&[]) else { return };
    let d = dest(&f);
    let r = routing("rl_");
    let it = items(&[("K", b"v1")]);
    let plan = d
        .plan(&r, &it, &PlanOptions::default(), &ctx())
        .await
        .unwrap();
    f.fail(json!({"count": 1, "status": 429, "retryAfter": 2, "match": ":addVersion"}));
    let e = d
        .apply_one(&r, &plan.changes[0], Some(&it[0]), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::RateLimited, "{e}");
    assert!(e.retryable());
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
    let e = d
        .plan(
            &r,
            &items(&[("A", b"s3cr3t-v")]),
            &PlanOptions::default(),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Transient, "{e}");
    assert!(!e.to_string().contains("s3cr3t-v"));

    // nothing listening at all
    let mut m = BTreeMap::new();
    m.insert(ENDPOINT_VAR.to_owned(), "http://127.0.0.1:9".to_owned());
    m.insert(ANONYMOUS_VAR.to_owned(), "1".to_owned());
    let e = GcpSecretManager::with_overrides(EnvSource::Fixed(m), None)
        .preflight(&r, &ctx())
        .await
        .unwrap_err();
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
    let e = dest(&f).preflight(&r, &ctx()).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Auth, "{e}");
    assert!(e.message.contains("UNAUTHENTICATED"), "{e}");
    assert!(!e.retryable());

    // a refresh token the token endpoint refuses
    let e = dest_with(&f, user_creds(&f, "refresh-wrong"))
        .preflight(&r, &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Auth, "{e}");
    assert!(e.message.contains("credentials"), "{e}");

    // anonymous without an endpoint override is refused up front
    let mut m = BTreeMap::new();
    m.insert(ANONYMOUS_VAR.to_owned(), "1".to_owned());
    let e = GcpSecretManager::with_overrides(EnvSource::Fixed(m), None)
        .preflight(&r, &ctx())
        .await
        .unwrap_err();
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
    let plan = d
        .plan(&r, &items(&[("K", b"v3")]), &PlanOptions::default(), &ctx())
        .await
        .unwrap();
    assert_eq!(plan.changes[0].op, ChangeOp::Update);
    assert!(
        plan.warnings[0].contains("destroyed"),
        "{:?}",
        plan.warnings
    );
}
