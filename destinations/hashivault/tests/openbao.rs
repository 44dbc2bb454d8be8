//! `hashivault` against a real OpenBao dev server (scripts/test-services up), driven through the
//! `Destination` trait. Needs VSYNC_TEST_VAULT_ADDR / VSYNC_TEST_VAULT_TOKEN; skipped with a note
//! when they are unset, unless VSYNC_TEST_SERVICES=1 (then a missing server fails the test).

// Printing is allowed here: a test says on the console which server it used or skipped.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};
use vsync_dest_api::{
    ChangeOp, Ctx, DestErrorKind, Destination, ItemOutcome, PlanOptions, RemoteName, Routing,
    SecretBytes, SecretItem, WriteMode,
};
use vsync_dest_hashivault::{EnvSource, HashiVault};

struct Server {
    addr: String,
    token: String,
}

fn server() -> Option<Server> {
    let required = std::env::var("VSYNC_TEST_SERVICES").as_deref() == Ok("1");
    match (
        std::env::var("VSYNC_TEST_VAULT_ADDR"),
        std::env::var("VSYNC_TEST_VAULT_TOKEN"),
    ) {
        (Ok(addr), Ok(token)) if !addr.is_empty() => Some(Server { addr, token }),
        _ if required => panic!("VSYNC_TEST_SERVICES=1 but VSYNC_TEST_VAULT_ADDR/TOKEN are unset"),
        _ => {
            eprintln!("note: skipped (no OpenBao: run `eval \"$(scripts/test-services env)\"`)");
            None
        }
    }
}

fn unique(tag: &str) -> String {
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("vsync-test/{tag}-{n}")
}

fn dest(s: &Server, token: &str) -> HashiVault {
    let mut m = BTreeMap::new();
    m.insert("VAULT_ADDR".to_string(), s.addr.clone());
    m.insert("VAULT_TOKEN".to_string(), token.to_string());
    HashiVault::with_env(EnvSource::Fixed(m))
}

fn routing(path: &str) -> Routing {
    let mut r = Routing::new();
    r.insert("mount".into(), "secret".into());
    r.insert("secretPath".into(), path.into());
    r
}

fn items(kv: &[(&str, &str)]) -> Vec<SecretItem> {
    kv.iter()
        .map(|(k, v)| SecretItem::plain(*k, SecretBytes::from_str_value(v)))
        .collect()
}

fn ops(plan: &vsync_dest_api::Plan) -> Vec<(String, ChangeOp)> {
    plan.changes
        .iter()
        .map(|c| (c.remote.0.clone(), c.op))
        .collect()
}

fn ctx() -> Ctx {
    Ctx::new("dev", "app")
}

fn client(s: &Server) -> VaultClient {
    VaultClient::new(
        VaultClientSettingsBuilder::default()
            .address(&s.addr)
            .token(&s.token)
            .build()
            .unwrap(),
    )
    .unwrap()
}

async fn remote(s: &Server, path: &str) -> BTreeMap<String, String> {
    vaultrs::kv2::read(&client(s), "secret", path)
        .await
        .unwrap()
}

async fn version(s: &Server, path: &str) -> u64 {
    vaultrs::kv2::read_metadata(&client(s), "secret", path)
        .await
        .unwrap()
        .current_version
}

async fn sync(
    d: &HashiVault,
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
    let rep = d.apply_bulk(r, &plan, it, &ctx()).await.unwrap();
    let mut out: Vec<(String, ChangeOp)> = rep
        .outcomes
        .into_iter()
        .map(|(n, o)| match o {
            ItemOutcome::Ok(op) => (n.0, op),
            other => panic!("{n}: {other:?}"),
        })
        .collect();
    if prune {
        // as the engine does: listed names not in the env file → delete_one
        for n in d.list(r, &ctx()).await.unwrap().unwrap() {
            if !it.iter().any(|i| i.key == n.0) {
                d.delete_one(r, &n, &ctx()).await.unwrap();
                out.push((n.0, ChangeOp::Delete));
            }
        }
    }
    out
}

#[tokio::test]
async fn full_cycle_create_unchanged_update_drift_prune() {
    let Some(s) = server() else { return };
    let d = dest(&s, &s.token);
    let path = unique("cycle");
    let r = routing(&path);
    assert_eq!(d.capabilities(&r).write_mode, WriteMode::BulkAtomic);
    d.preflight(&r, &ctx()).await.unwrap();

    // first sync: creates, one version
    let v1 = items(&[("A", "1"), ("B", "two"), ("C", "=@-special")]);
    let got = sync(&d, &r, &v1, false).await;
    assert!(got.iter().all(|(_, op)| *op == ChangeOp::Create), "{got:?}");
    assert_eq!(
        remote(&s, &path).await.get("C").map(String::as_str),
        Some("=@-special")
    );
    assert_eq!(version(&s, &path).await, 1);

    // second sync: all unchanged via read-back, no new version
    let plan = d
        .plan(&r, &v1, &PlanOptions::default(), &ctx())
        .await
        .unwrap();
    assert!(
        ops(&plan).iter().all(|(_, op)| *op == ChangeOp::Unchanged),
        "{plan:?}"
    );
    sync(&d, &r, &v1, false).await;
    assert_eq!(version(&s, &path).await, 1);
    let back = d
        .read_values(
            &r,
            &[RemoteName("A".into()), RemoteName("Z".into())],
            &ctx(),
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[&RemoteName("A".into())].expose(), b"1");

    // one changed value
    let v2 = items(&[("A", "1"), ("B", "2"), ("C", "=@-special")]);
    let got = sync(&d, &r, &v2, false).await;
    assert_eq!(
        got,
        vec![
            ("A".into(), ChangeOp::Unchanged),
            ("B".into(), ChangeOp::Update),
            ("C".into(), ChangeOp::Unchanged)
        ]
    );
    assert_eq!(version(&s, &path).await, 2);

    // drift: someone changes A behind our back
    let mut drifted = remote(&s, &path).await;
    drifted.insert("A".into(), "hand-edited".into());
    vaultrs::kv2::set(&client(&s), "secret", &path, &drifted)
        .await
        .unwrap();
    let plan = d
        .plan(&r, &v2, &PlanOptions::default(), &ctx())
        .await
        .unwrap();
    assert_eq!(ops(&plan)[0], ("A".into(), ChangeOp::Update));
    sync(&d, &r, &v2, false).await;
    assert_eq!(remote(&s, &path).await["A"], "1");

    // a key removed from the env file: kept (with a warning) unless pruning
    let v3 = items(&[("A", "1"), ("B", "2")]);
    let plan = d
        .plan(&r, &v3, &PlanOptions::default(), &ctx())
        .await
        .unwrap();
    assert!(
        plan.warnings.iter().any(|w| w.contains('C')),
        "{:?}",
        plan.warnings
    );
    assert!(
        !plan.warnings.iter().any(|w| w.contains("=@-special")),
        "no values in warnings"
    );
    sync(&d, &r, &v3, false).await;
    assert!(remote(&s, &path).await.contains_key("C"));
    let listed = d.list(&r, &ctx()).await.unwrap().unwrap();
    assert_eq!(listed.len(), 3);

    // the plan itself never deletes: the engine adds deletions from `list`
    let plan = d
        .plan(
            &r,
            &v3,
            &PlanOptions {
                prune: true,
                offline: false,
            },
            &ctx(),
        )
        .await
        .unwrap();
    assert!(ops(&plan).iter().all(|(_, op)| *op != ChangeOp::Delete));
    let got = sync(&d, &r, &v3, true).await;
    assert!(got.contains(&("C".into(), ChangeOp::Delete)));
    let now = remote(&s, &path).await;
    assert_eq!(now.keys().collect::<Vec<_>>(), vec!["A", "B"]);

    // delete_one (engine-driven prune) removes one key in a CAS write
    d.delete_one(&r, &RemoteName("B".into()), &ctx())
        .await
        .unwrap();
    assert_eq!(
        remote(&s, &path).await.keys().collect::<Vec<_>>(),
        vec!["A"]
    );
}

#[tokio::test]
async fn concurrent_writer_is_a_conflict_not_overwritten() {
    let Some(s) = server() else { return };
    let d = dest(&s, &s.token);
    let path = unique("cas");
    let r = routing(&path);
    sync(&d, &r, &items(&[("A", "1")]), false).await;

    let mine = items(&[("A", "mine")]);
    let plan = d
        .plan(&r, &mine, &PlanOptions::default(), &ctx())
        .await
        .unwrap();
    // another writer gets in between plan and apply
    let mut theirs = BTreeMap::new();
    theirs.insert("A".to_string(), "theirs".to_string());
    vaultrs::kv2::set(&client(&s), "secret", &path, &theirs)
        .await
        .unwrap();

    let rep = d.apply_bulk(&r, &plan, &mine, &ctx()).await.unwrap();
    match &rep.outcomes[0].1 {
        ItemOutcome::Failed(e) => {
            assert_eq!(e.kind, DestErrorKind::Conflict);
            assert!(!e.message.contains("mine") && !e.message.contains("theirs"));
        }
        other => panic!("expected conflict, got {other:?}"),
    }
    assert_eq!(remote(&s, &path).await["A"], "theirs");
}

#[tokio::test]
async fn first_write_uses_cas_zero() {
    let Some(s) = server() else { return };
    let d = dest(&s, &s.token);
    let path = unique("cas0");
    let r = routing(&path);
    let mine = items(&[("A", "mine")]);
    let plan = d
        .plan(&r, &mine, &PlanOptions::default(), &ctx())
        .await
        .unwrap();
    let mut theirs = BTreeMap::new();
    theirs.insert("A".to_string(), "theirs".to_string());
    vaultrs::kv2::set(&client(&s), "secret", &path, &theirs)
        .await
        .unwrap();
    let rep = d.apply_bulk(&r, &plan, &mine, &ctx()).await.unwrap();
    assert!(
        matches!(&rep.outcomes[0].1, ItemOutcome::Failed(e) if e.kind == DestErrorKind::Conflict)
    );
}

#[tokio::test]
async fn wrong_token_is_auth() {
    let Some(s) = server() else { return };
    let d = dest(&s, "not-the-token");
    let r = routing(&unique("auth"));
    let e = d.preflight(&r, &ctx()).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Auth, "{e}");
    assert!(e.message.contains("VAULT_TOKEN"), "{e}");
    let e = d
        .plan(&r, &items(&[("A", "1")]), &PlanOptions::default(), &ctx())
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Auth);
}

#[tokio::test]
async fn unreachable_server_is_transient() {
    let Some(s) = server() else { return };
    let mut m = BTreeMap::new();
    m.insert("VAULT_ADDR".to_string(), "http://127.0.0.1:9".to_string());
    m.insert("VAULT_TOKEN".to_string(), s.token.clone());
    let d = HashiVault::with_env(EnvSource::Fixed(m));
    let e = d.preflight(&routing("x"), &ctx()).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Transient, "{e}");
    assert!(e.retryable());
}

#[tokio::test]
async fn missing_config_and_binary_values() {
    let d = HashiVault::with_env(EnvSource::Fixed(BTreeMap::new()));
    let e = d.preflight(&routing("x"), &ctx()).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::Config);
    assert!(d.map_name(&routing("x"), "").is_err());
    let Some(s) = server() else { return };
    let d = dest(&s, &s.token);
    let bin = vec![SecretItem::plain("BIN", SecretBytes::new(vec![0xff, 0xfe]))];
    let e = d
        .plan(
            &routing(&unique("bin")),
            &bin,
            &PlanOptions::default(),
            &ctx(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind, DestErrorKind::InvalidValue);
    assert_eq!(e.key.as_deref(), Some("BIN"));
}

#[tokio::test]
async fn kv_version_1_mount() {
    let Some(s) = server() else { return };
    let c = client(&s);
    let mount = format!(
        "kv1-{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let mut opts = vaultrs::api::sys::requests::EnableEngineRequestBuilder::default();
    opts.options(
        [("version".to_string(), "1".to_string())]
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>(),
    );
    vaultrs::sys::mount::enable(&c, &mount, "kv", Some(&mut opts))
        .await
        .unwrap();
    let d = dest(&s, &s.token);
    let mut r = routing("app/dev");
    r.insert("mount".into(), mount.clone().into());
    r.insert("kv_version".into(), "1".into());
    let v1 = items(&[("A", "1"), ("B", "2")]);
    let got = sync(&d, &r, &v1, false).await;
    assert!(got.iter().all(|(_, op)| *op == ChangeOp::Create));
    let plan = d
        .plan(&r, &v1, &PlanOptions::default(), &ctx())
        .await
        .unwrap();
    assert!(ops(&plan).iter().all(|(_, op)| *op == ChangeOp::Unchanged));
    let stored: BTreeMap<String, String> = vaultrs::kv1::get(&c, &mount, "app/dev").await.unwrap();
    assert_eq!(stored["B"], "2");
}
