//! `aws` against moto's Secrets Manager (scripts/test-services up): the conformance suite
//! (vsync-testkit::conformance) in per-key and in JSON mode, then what is AWS's own (tags,
//! recovery window, pending deletion, the prefix rule) and a few canned AWS error responses from
//! a tiny local server. Needs VSYNC_TEST_MOTO_ENDPOINT; skipped with a note when unset, unless
//! VSYNC_TEST_SERVICES=1.

// Printing is allowed here: a test says on the console which server it used or skipped.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_secretsmanager::operation::describe_secret::DescribeSecretOutput;
use aws_sdk_secretsmanager::types::Tag;
use tokio::sync::MutexGuard;
use vsync_dest_api::{
    ChangeOp, DestErrorKind, Destination, PlanOptions, RemoteName, Routing, WriteMode,
};
use vsync_dest_aws::{AwsSecretsManager, EnvSource, StaticCredentials};
use vsync_testkit::conformance::{Fixture, Tamper, ctx, items, plan, sync, unique};
use vsync_testkit::services;

// moto 5.2.5 answers HTTP 500 ("dictionary changed size during iteration") when Secrets
// Manager requests overlap — a moto race, not AWS behaviour — so these tests take turns.
static MOTO_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn endpoint() -> Option<String> {
    let m = services::moto();
    if m.is_none() {
        services::skip("aws against moto", "VSYNC_TEST_MOTO_ENDPOINT");
    }
    m.map(|m| m.endpoint)
}

fn dest(endpoint: &str) -> AwsSecretsManager {
    let mut m = BTreeMap::new();
    m.insert("AWS_ENDPOINT_URL".to_string(), endpoint.to_string());
    AwsSecretsManager::with_overrides(
        EnvSource::Fixed(m),
        Some(StaticCredentials {
            access_key_id: "test".into(),
            secret_access_key: "test".into(),
        }),
    )
}

fn sdk(endpoint: &str) -> Client {
    let conf = aws_sdk_secretsmanager::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("test", "test", None, None, "t"))
        .build();
    Client::from_conf(conf)
}

/// What Secrets Manager says about `name` (tags, deletion date), read with the test's own client.
async fn describe(c: &Client, name: String) -> DescribeSecretOutput {
    c.describe_secret().secret_id(name).send().await.unwrap()
}

fn routing(prefix: &str) -> Routing {
    let mut r = Routing::new();
    r.insert("region".into(), "us-east-1".into());
    r.insert("secretPrefix".into(), prefix.into());
    r
}

fn json_routing(name: &str) -> Routing {
    let mut r = routing("");
    r.insert("mode".into(), "json".into());
    r.insert("secret_name".into(), name.into());
    r
}

async fn value(c: &Client, name: &str) -> Option<String> {
    let got = c.get_secret_value().secret_id(name).send().await.ok()?;
    got.secret_string().map(str::to_owned)
}

/// The suite's view of moto: reads with its own SDK client, edits behind vsync's back, plants
/// untagged or foreign-tagged secrets under the prefix. Holds the moto turn for the whole case.
struct Moto {
    _turn: MutexGuard<'static, ()>,
    c: Client,
    json: bool,
}

impl Moto {
    async fn start(json: bool) -> Option<(AwsSecretsManager, Self)> {
        let turn = MOTO_TURN.lock().await;
        let ep = endpoint()?;
        let moto = Self {
            _turn: turn,
            c: sdk(&ep),
            json,
        };
        Some((dest(&ep), moto))
    }

    fn json_name(r: &Routing) -> Option<&str> {
        r.get("secret_name").and_then(|v| v.as_str())
    }

    async fn json_map(&self, r: &Routing) -> Option<BTreeMap<String, String>> {
        let text = value(&self.c, Self::json_name(r)?).await?;
        serde_json::from_str(&text).ok()
    }
}

#[async_trait::async_trait]
impl Fixture for Moto {
    async fn scope(&self) -> Result<Routing, String> {
        let scope = unique("conformance");
        Ok(if self.json {
            json_routing(&scope)
        } else {
            routing(&format!("{scope}/"))
        })
    }

    async fn stored(&self, r: &Routing, name: &RemoteName) -> Option<Option<Vec<u8>>> {
        let held = if self.json {
            self.json_map(r).await.and_then(|m| m.get(&name.0).cloned())
        } else {
            // a secret scheduled for deletion cannot be read either: nothing is stored
            value(&self.c, &name.0).await
        };
        Some(held.map(String::into_bytes))
    }

    async fn writes(&self, r: &Routing) -> Option<u64> {
        let name = Self::json_name(r).filter(|_| self.json)?;
        let got = self
            .c
            .list_secret_version_ids()
            .secret_id(name)
            .send()
            .await;
        Some(got.map_or(0, |v| v.versions().len() as u64))
    }

    fn can_tamper(&self) -> bool {
        true
    }

    async fn tamper(&self, r: &Routing, name: &RemoteName) -> Option<Tamper> {
        let (id, body) = if self.json {
            let mut map = self.json_map(r).await?;
            map.insert(name.0.clone(), "hand-edited".into());
            (
                Self::json_name(r)?.to_owned(),
                serde_json::to_string(&map).ok()?,
            )
        } else {
            (name.0.clone(), "hand-edited".to_owned())
        };
        let put = self.c.put_secret_value().secret_id(id).secret_string(body);
        put.send().await.ok()?;
        Some(Tamper::Changed)
    }

    async fn plant_foreign(&self, r: &Routing) -> Vec<RemoteName> {
        if self.json {
            return Vec::new();
        }
        let prefix = r["secretPrefix"].as_str().unwrap();
        let tag = |v: &str| Tag::builder().key("managed-by").value(v).build();
        let plants = [
            (format!("{prefix}HAND_MADE"), None),
            (format!("{prefix}FOREIGN"), Some(tag("someone-else"))),
        ];
        let mut names = Vec::new();
        for (name, tag) in plants {
            let create = self.c.create_secret().name(&name).secret_string("theirs");
            create.set_tags(tag.map(|t| vec![t])).send().await.unwrap();
            names.push(RemoteName(name));
        }
        names
    }
}

async fn per_key() -> Option<(AwsSecretsManager, Moto)> {
    Moto::start(false).await
}

async fn json_mode() -> Option<(AwsSecretsManager, Moto)> {
    Moto::start(true).await
}

mod conformance_per_key {
    vsync_testkit::conformance_tests!(super::per_key; preflight, map_name, create, idempotent,
        update, collisions, drift, prune, delete, no_value_leaks);
}

mod conformance_json {
    vsync_testkit::conformance_tests!(super::json_mode; preflight, create, idempotent, update,
        drift, prune, delete, no_value_leaks);
}

#[tokio::test]
async fn tagged_created_and_prune_keeps_a_recovery_window() {
    // `m` holds the moto turn to the end of the test
    let Some((d, m)) = Moto::start(false).await else {
        return;
    };
    let p = format!("{}/", unique("cycle"));
    let r = routing(&p);
    assert_eq!(d.capabilities(&r).write_mode, WriteMode::PerKey);
    assert_eq!(d.map_name(&r, "DB_URL").unwrap().0, format!("{p}DB_URL"));

    let v1 = items(&[("A", "1"), ("B", "two")]);
    let got = sync(&d, &r, &v1, false).await;
    assert_eq!(
        got,
        vec![
            (format!("{p}A"), ChangeOp::Create),
            (format!("{p}B"), ChangeOp::Create)
        ]
    );
    let desc = describe(&m.c, format!("{p}A")).await;
    assert!(
        desc.tags()
            .iter()
            .any(|t| t.key() == Some("managed-by") && t.value() == Some("vsync"))
    );

    // prune: B left the env file → deleted with a recovery window, not forced
    let v3 = items(&[("A", "1")]);
    let got = sync(&d, &r, &v3, true).await;
    assert_eq!(got.last().unwrap(), &(format!("{p}B"), ChangeOp::Delete));
    let desc = describe(&m.c, format!("{p}B")).await;
    assert!(
        desc.deleted_date().is_some(),
        "deleted with a recovery window, not forced"
    );

    // re-adding B while it is scheduled for deletion: Conflict, and it stays scheduled
    let v4 = items(&[("A", "1"), ("B", "back")]);
    let plan = plan(&d, &r, &v4).await.unwrap();
    assert_eq!(plan.changes[1].op, ChangeOp::Upsert);
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.contains("scheduled for deletion"))
    );
    let e = d
        .apply_one(&r, &plan.changes[1], Some(&v4[1]), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Conflict, "{e}");
    assert!(
        e.message.contains(&format!("{p}B")) && !e.message.contains("back"),
        "{e}"
    );
    let desc = describe(&m.c, format!("{p}B")).await;
    assert!(desc.deleted_date().is_some(), "not silently restored");
}

#[tokio::test]
async fn prune_refused_without_prefix_and_invalid_names() {
    let Some((d, _moto)) = Moto::start(false).await else {
        return;
    };
    let r = routing("");
    let e = d
        .plan(
            &r,
            &items(&[("A", "1")]),
            &PlanOptions {
                prune: true,
                offline: false,
            },
            &ctx(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Unsupported);
    assert!(e.message.contains("prefix"));
    assert_eq!(d.list(&r, &ctx()).await.unwrap(), None);
    let e = d
        .delete_one(&r, &RemoteName("A".into()), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Unsupported);

    let e = d.map_name(&routing("app/"), "BAD KEY").unwrap_err();
    assert_eq!(e.kind, DestErrorKind::InvalidName);
    assert!(d.map_name(&routing("app/"), &"X".repeat(600)).is_err());
    assert!(d.map_name(&routing("app/"), "ok.name@x+y=z-").is_ok());
}

#[tokio::test]
async fn json_mode_is_one_bulk_secret() {
    let Some((d, m)) = Moto::start(true).await else {
        return;
    };
    let name = unique("json");
    let r = json_routing(&name);
    assert_eq!(d.capabilities(&r).write_mode, WriteMode::BulkAtomic);
    sync(&d, &r, &items(&[("A", "1"), ("B", "2")]), false).await;
    let stored: serde_json::Value =
        serde_json::from_str(&value(&m.c, &name).await.unwrap()).unwrap();
    assert_eq!(stored, serde_json::json!({"A": "1", "B": "2"}));
}

/// A one-shot HTTP server answering every request with `status` and an awsJson error body.
fn canned(status: u16, code: &str, msg: &str, n: usize) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let body = format!(r#"{{"__type":"{code}","message":"{msg}"}}"#);
    let code = code.to_string();
    std::thread::spawn(move || {
        for s in l.incoming().take(n) {
            let mut s = s.unwrap();
            let mut buf = vec![0u8; 65536];
            let _ = s.read(&mut buf);
            let resp = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-ErrorType: {code}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes());
        }
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn aws_error_responses_map_to_kinds() {
    let r = routing("app/");
    let ep = canned(
        400,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        2,
    );
    let e = dest(&ep).preflight(&r, &ctx()).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Auth, "{e}");
    assert!(e.message.contains("credentials"), "{e}");
    let e = plan(&dest(&ep), &r, &items(&[("A", "s3cr3t")]))
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Auth);
    assert!(!e.to_string().contains("s3cr3t"));

    let ep = canned(400, "ThrottlingException", "Rate exceeded", 1);
    let e = dest(&ep).preflight(&r, &ctx()).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::RateLimited, "{e}");

    let ep = canned(500, "InternalServiceError", "boom", 1);
    let e = dest(&ep).preflight(&r, &ctx()).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Transient, "{e}");
    assert!(e.retryable());

    let e = dest("http://127.0.0.1:9")
        .preflight(&r, &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Transient, "{e}");
}
