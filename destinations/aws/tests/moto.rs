//! `aws` against moto's Secrets Manager (scripts/test-services up), driven through the
//! `Destination` trait, plus a few canned AWS error responses from a tiny local server.
//! Needs VSYNC_TEST_MOTO_ENDPOINT; skipped with a note when unset, unless VSYNC_TEST_SERVICES=1.

// Printing is allowed here: a test says on the console which server it used or skipped.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::{BehaviorVersion, Credentials, Region};
use vsync_dest_api::{
    ChangeOp, Ctx, DestErrorKind, Destination, ItemOutcome, PlanOptions, RemoteName, Routing,
    SecretBytes, SecretItem, WriteMode,
};
use vsync_dest_aws::{AwsSecretsManager, EnvSource, StaticCredentials};

// moto 5.2.5 answers HTTP 500 ("dictionary changed size during iteration") when Secrets
// Manager requests overlap — a moto race, not AWS behaviour — so these tests take turns.
static MOTO_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn endpoint() -> Option<String> {
    match std::env::var("VSYNC_TEST_MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => Some(e),
        _ if std::env::var("VSYNC_TEST_SERVICES").as_deref() == Ok("1") => {
            panic!("VSYNC_TEST_SERVICES=1 but VSYNC_TEST_MOTO_ENDPOINT is unset")
        }
        _ => {
            eprintln!("note: skipped (no moto: run `eval \"$(scripts/test-services env)\"`)");
            None
        }
    }
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

fn unique(tag: &str) -> String {
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("vsync-test/{tag}-{n}/")
}

fn routing(prefix: &str) -> Routing {
    let mut r = Routing::new();
    r.insert("region".into(), "us-east-1".into());
    r.insert("secretPrefix".into(), prefix.into());
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

/// plan + apply_one per change (as the engine does for per-key destinations) + delete_one for deletions.
async fn sync(
    d: &AwsSecretsManager,
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

async fn value(c: &Client, name: &str) -> String {
    c.get_secret_value()
        .secret_id(name)
        .send()
        .await
        .unwrap()
        .secret_string()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn per_key_cycle_create_unchanged_update_drift_prune() {
    let _turn = MOTO_TURN.lock().await;
    let Some(ep) = endpoint() else { return };
    let d = dest(&ep);
    let c = sdk(&ep);
    let p = unique("cycle");
    let r = routing(&p);
    assert_eq!(d.capabilities(&r).write_mode, WriteMode::PerKey);
    d.preflight(&r, &ctx()).await.unwrap();
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
    assert_eq!(value(&c, &format!("{p}B")).await, "two");
    let desc = c
        .describe_secret()
        .secret_id(format!("{p}A"))
        .send()
        .await
        .unwrap();
    assert!(
        desc.tags()
            .iter()
            .any(|t| t.key() == Some("managed-by") && t.value() == Some("vsync"))
    );

    // second run: all unchanged (read back), nothing written
    let got = sync(&d, &r, &v1, false).await;
    assert!(
        got.iter().all(|(_, op)| *op == ChangeOp::Unchanged),
        "{got:?}"
    );
    let back = d
        .read_values(
            &r,
            &[RemoteName(format!("{p}A")), RemoteName(format!("{p}ZZ"))],
            &ctx(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.len(), 1);

    // one changed value
    let v2 = items(&[("A", "1"), ("B", "2")]);
    let got = sync(&d, &r, &v2, false).await;
    assert_eq!(got[1], (format!("{p}B"), ChangeOp::Update));
    assert_eq!(got[0].1, ChangeOp::Unchanged);
    assert_eq!(value(&c, &format!("{p}B")).await, "2");

    // drift behind our back
    c.put_secret_value()
        .secret_id(format!("{p}A"))
        .secret_string("hand-edited")
        .send()
        .await
        .unwrap();
    let plan = d
        .plan(&r, &v2, &PlanOptions::default(), &ctx())
        .await
        .unwrap();
    assert_eq!(plan.changes[0].op, ChangeOp::Update);
    sync(&d, &r, &v2, false).await;
    assert_eq!(value(&c, &format!("{p}A")).await, "1");

    // prune: B removed from the env file → deletion scheduled; without --prune nothing is deleted
    let v3 = items(&[("A", "1")]);
    let plan = d
        .plan(&r, &v3, &PlanOptions::default(), &ctx())
        .await
        .unwrap();
    assert!(plan.changes.iter().all(|c| c.op != ChangeOp::Delete));
    assert_eq!(d.list(&r, &ctx()).await.unwrap().unwrap().len(), 2);
    let got = sync(&d, &r, &v3, true).await;
    assert_eq!(got.last().unwrap(), &(format!("{p}B"), ChangeOp::Delete));
    let listed = d.list(&r, &ctx()).await.unwrap().unwrap();
    assert_eq!(listed, vec![RemoteName(format!("{p}A"))]);
    let desc = c
        .describe_secret()
        .secret_id(format!("{p}B"))
        .send()
        .await
        .unwrap();
    assert!(
        desc.deleted_date().is_some(),
        "deleted with a recovery window, not forced"
    );

    // re-adding B while it is scheduled for deletion: Conflict, and it stays scheduled
    let v4 = items(&[("A", "1"), ("B", "back")]);
    let plan = d
        .plan(&r, &v4, &PlanOptions::default(), &ctx())
        .await
        .unwrap();
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
    let desc = c
        .describe_secret()
        .secret_id(format!("{p}B"))
        .send()
        .await
        .unwrap();
    assert!(desc.deleted_date().is_some(), "not silently restored");
}

#[tokio::test]
async fn prune_refused_without_prefix_and_invalid_names() {
    let _turn = MOTO_TURN.lock().await;
    let Some(ep) = endpoint() else { return };
    let d = dest(&ep);
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
async fn json_mode_one_secret() {
    let _turn = MOTO_TURN.lock().await;
    let Some(ep) = endpoint() else { return };
    let d = dest(&ep);
    let c = sdk(&ep);
    let name = unique("json").trim_end_matches('/').to_string();
    let mut r = routing("");
    r.insert("mode".into(), "json".into());
    r.insert("secret_name".into(), name.clone().into());
    assert_eq!(d.capabilities(&r).write_mode, WriteMode::BulkAtomic);

    let bulk = |it: Vec<SecretItem>, prune: bool| {
        let d = d.clone();
        let r = r.clone();
        async move {
            let plan = d
                .plan(
                    &r,
                    &it,
                    &PlanOptions {
                        prune,
                        offline: false,
                    },
                    &ctx(),
                )
                .await
                .unwrap();
            let rep = d.apply_bulk(&r, &plan, &it, &ctx()).await.unwrap();
            let mut out = rep
                .outcomes
                .into_iter()
                .map(|(n, o)| match o {
                    ItemOutcome::Ok(op) => (n.0, op),
                    other => panic!("{n}: {other:?}"),
                })
                .collect::<Vec<_>>();
            if prune {
                for n in d.list(&r, &ctx()).await.unwrap().unwrap() {
                    if !it.iter().any(|i| i.key == n.0) {
                        d.delete_one(&r, &n, &ctx()).await.unwrap();
                        out.push((n.0, ChangeOp::Delete));
                    }
                }
            }
            out
        }
    };
    let got = bulk(items(&[("A", "1"), ("B", "2")]), false).await;
    assert!(got.iter().all(|(_, op)| *op == ChangeOp::Create));
    let stored: serde_json::Value = serde_json::from_str(&value(&c, &name).await).unwrap();
    assert_eq!(stored, serde_json::json!({"A": "1", "B": "2"}));
    let versions = c
        .list_secret_version_ids()
        .secret_id(&name)
        .send()
        .await
        .unwrap()
        .versions()
        .len();

    let got = bulk(items(&[("A", "1"), ("B", "2")]), false).await;
    assert!(got.iter().all(|(_, op)| *op == ChangeOp::Unchanged));
    assert_eq!(
        c.list_secret_version_ids()
            .secret_id(&name)
            .send()
            .await
            .unwrap()
            .versions()
            .len(),
        versions
    );

    let got = bulk(items(&[("A", "1"), ("B", "3")]), false).await;
    assert_eq!(got[1], ("B".into(), ChangeOp::Update));
    // B dropped from the env: kept without prune, removed with it
    bulk(items(&[("A", "1")]), false).await;
    assert!(value(&c, &name).await.contains("\"B\""));
    let got = bulk(items(&[("A", "1")]), true).await;
    assert!(got.contains(&("B".into(), ChangeOp::Delete)));
    let stored: serde_json::Value = serde_json::from_str(&value(&c, &name).await).unwrap();
    assert_eq!(stored, serde_json::json!({"A": "1"}));
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
    let e = dest(&ep)
        .plan(
            &r,
            &items(&[("A", "s3cr3t")]),
            &PlanOptions::default(),
            &ctx(),
        )
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
