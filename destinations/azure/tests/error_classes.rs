//! One test per error class of the `azure` destination, against tests/fakes/azure_kv_fake.py:
//! kinds come from azure_core's typed error kinds, the HTTP status, Key Vault's error code, the
//! request (with or without a body) and rustls' certificate error, never from message text.

use std::collections::BTreeMap;
use std::path::Path;

use vsync_dest_api::{Ctx, DestError, DestErrorKind, Destination, RemoteName, Routing};
use vsync_dest_azure::{AzureKeyVault, EnvSource};
use vsync_testkit::fakes::{PythonFake, free_port};

const TENANT: &str = "00000000-0000-0000-0000-0000000000aa";

struct Vault {
    fake: PythonFake,
    _dir: tempfile::TempDir,
    ca: String,
}

fn start() -> Option<Vault> {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem").to_str().unwrap().to_owned();
    let args = ["--ca-out", ca.as_str(), "--tenant", TENANT];
    let fake = PythonFake::spawn_tls("azure_kv_fake.py", &["cryptography"], &args)?;
    Some(Vault {
        fake,
        _dir: dir,
        ca,
    })
}

impl Vault {
    /// The destination with a service principal; `ca` trusts the fake's CA when given.
    fn dest(&self, client_secret: &str, ca: Option<&str>) -> AzureKeyVault {
        let mut env: BTreeMap<String, String> = [
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", "vsync-test-client"),
            ("AZURE_CLIENT_SECRET", client_secret),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        env.insert("AZURE_AUTHORITY_HOST".into(), self.fake.url());
        if let Some(ca) = ca {
            env.insert("VSYNC_AZURE_CA_FILE".into(), ca.into());
        }
        AzureKeyVault::with_env(EnvSource::Fixed(env))
    }

    fn trusted(&self) -> AzureKeyVault {
        self.dest("vsync-test-secret", Some(&self.ca))
    }

    fn routing(&self) -> Routing {
        vault_at(&self.fake.url())
    }

    /// Makes the fake fail its next matching request(s).
    async fn fail(&self, rule: serde_json::Value) {
        let pem = std::fs::read(Path::new(&self.ca)).unwrap();
        let client = reqwest::Client::builder()
            .tls_certs_only(reqwest::Certificate::from_pem_bundle(&pem).unwrap())
            .build()
            .unwrap();
        let url = format!("{}/_fake/fail", self.fake.url());
        let req = client.post(url).header("content-type", "application/json");
        let rsp = req.body(rule.to_string()).send().await.unwrap();
        assert_eq!(rsp.status().as_u16(), 204);
    }
}

fn vault_at(url: &str) -> Routing {
    let mut r = Routing::new();
    r.insert("vaultName".into(), url.into());
    r
}

fn ctx() -> Ctx {
    Ctx::new("dev", "app")
}

async fn read(d: &AzureKeyVault, r: &Routing, name: &str) -> DestError {
    let names = [RemoteName(name.into())];
    d.read_values(r, &names, &ctx()).await.unwrap_err()
}

/// The error a read of `A` gets while a fresh fake answers requests with `fault`
/// (`{"status": …, "count": …}`, see the fake's `/_fake/fail`).
async fn read_while_failing(fault: serde_json::Value) -> Option<DestError> {
    let v = start()?;
    v.fail(fault).await;
    Some(read(&v.trusted(), &v.routing(), "A").await)
}

#[tokio::test]
async fn a_refused_credential_is_auth() {
    let Some(v) = start() else { return };
    let e = v
        .dest("wrong-secret", Some(&v.ca))
        .preflight(&v.routing(), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Auth, "{e}");
    assert!(!e.message.contains("wrong-secret"), "{e}");
}

#[tokio::test]
async fn forbidden_is_auth() {
    let Some(e) = read_while_failing(serde_json::json!({"status": 403, "count": -1})).await else {
        return;
    };
    assert_eq!(e.kind, DestErrorKind::Auth, "{e}");
}

#[tokio::test]
async fn throttling_is_rate_limited_with_the_servers_delay() {
    let Some(e) =
        read_while_failing(serde_json::json!({"status": 429, "count": -1, "retry_after": 3})).await
    else {
        return;
    };
    assert_eq!(e.kind, DestErrorKind::RateLimited, "{e}");
    assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(3)));
    assert!(e.retryable());
}

#[tokio::test]
async fn server_errors_are_transient() {
    let Some(e) = read_while_failing(serde_json::json!({"status": 503, "count": -1})).await else {
        return;
    };
    assert_eq!(e.kind, DestErrorKind::Transient, "{e}");
    assert!(e.retryable());
}

#[tokio::test]
async fn a_name_the_service_refuses_on_a_read_is_invalid_name() {
    let Some(v) = start() else { return };
    // not through map_name (which would refuse it offline): the service's own rule answers
    let e = read(&v.trusted(), &v.routing(), "under_score").await;
    assert_eq!(e.kind, DestErrorKind::InvalidName, "{e}");
    assert_eq!(e.key.as_deref(), Some("under_score"));
}

#[tokio::test]
async fn a_bad_request_on_a_write_is_invalid_value() {
    let Some(v) = start() else { return };
    v.fail(serde_json::json!({"status": 400, "count": -1, "method": "PUT"}))
        .await;
    let item =
        vsync_dest_api::SecretItem::plain("A", vsync_dest_api::SecretBytes::from_str_value("v"));
    let change = vsync_dest_api::Change {
        source_key: Some("A".into()),
        remote: RemoteName("A".into()),
        op: vsync_dest_api::ChangeOp::Upsert,
    };
    let e = v
        .trusted()
        .apply_one(&v.routing(), &change, Some(&item), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::InvalidValue, "{e}");
}

#[tokio::test]
async fn an_untrusted_certificate_is_config_and_final() {
    let Some(v) = start() else { return };
    let e = v
        .dest("vsync-test-secret", None)
        .preflight(&v.routing(), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Config, "{e}");
    assert!(!e.retryable());
}

#[tokio::test]
async fn an_unreachable_vault_is_transient() {
    let Some(v) = start() else { return };
    let r = vault_at(&format!("https://127.0.0.1:{}", free_port()));
    let e = read(&v.trusted(), &r, "A").await;
    assert_eq!(e.kind, DestErrorKind::Transient, "{e}");
    assert!(e.retryable());
}
