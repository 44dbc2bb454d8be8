//! `hashivault` against a real OpenBao dev server (scripts/test-services up): the conformance
//! suite (vsync-testkit::conformance) on a KV v2 and a KV v1 mount, then what is Vault's own
//! (versions, check-and-set, warnings, auth). Needs VSYNC_TEST_VAULT_ADDR / VSYNC_TEST_VAULT_TOKEN;
//! skipped with a note when they are unset, unless VSYNC_TEST_SERVICES=1 (then a missing server
//! fails the test).

// Printing is allowed here: a test says on the console which server it used or skipped.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;

use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};
use vsync_dest_api::{
    ChangeOp, DestErrorKind, Destination, ItemOutcome, PlanOptions, RemoteName, Routing,
    SecretBytes, SecretItem, WriteMode,
};
use vsync_dest_hashivault::{EnvSource, HashiVault};
use vsync_testkit::conformance::{Fixture, Tamper, ctx, items, plan, sync, unique};
use vsync_testkit::services::{self, VaultService};

fn server() -> Option<VaultService> {
    let s = services::vault();
    if s.is_none() {
        services::skip("hashivault against OpenBao", "VSYNC_TEST_VAULT_*");
    }
    s
}

fn dest(s: &VaultService, token: &str) -> HashiVault {
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

/// The server, the destination with the server's token, a KV v2 path no earlier run used
/// (`unique(tag)`) and its routing.
fn fresh_path(tag: &str) -> Option<(VaultService, HashiVault, String, Routing)> {
    let s = server()?;
    let d = dest(&s, &s.token);
    let path = unique(tag);
    let r = routing(&path);
    Some((s, d, path, r))
}

/// Another writer sets `key` = `value` at `path` (a whole-map KV v2 write with its own client).
async fn write_behind_our_back(s: &VaultService, path: &str, key: &str, value: &str) {
    let theirs = BTreeMap::from([(key.to_string(), value.to_string())]);
    vaultrs::kv2::set(&client(s), "secret", path, &theirs)
        .await
        .unwrap();
}

fn ops(plan: &vsync_dest_api::Plan) -> Vec<(String, ChangeOp)> {
    plan.changes
        .iter()
        .map(|c| (c.remote.0.clone(), c.op))
        .collect()
}

fn client(s: &VaultService) -> VaultClient {
    VaultClient::new(
        VaultClientSettingsBuilder::default()
            .address(&s.addr)
            .token(&s.token)
            .build()
            .unwrap(),
    )
    .unwrap()
}

async fn remote(s: &VaultService, path: &str) -> BTreeMap<String, String> {
    vaultrs::kv2::read(&client(s), "secret", path)
        .await
        .unwrap()
}

async fn version(s: &VaultService, path: &str) -> u64 {
    vaultrs::kv2::read_metadata(&client(s), "secret", path)
        .await
        .unwrap()
        .current_version
}

/// The suite's view of OpenBao: reads the stored map with its own client, counts KV v2 versions
/// as writes, and edits a key behind vsync's back. Every key at the path is vsync's (the whole
/// map is written), so there is no foreign secret to plant.
struct Bao {
    s: VaultService,
    /// A KV v1 mount of this fixture's own, or None for `secret/` (KV v2).
    kv1: Option<String>,
}

impl Bao {
    async fn map(&self, r: &Routing) -> Option<BTreeMap<String, String>> {
        let path = r["secretPath"].as_str().unwrap();
        match &self.kv1 {
            Some(m) => vaultrs::kv1::get(&client(&self.s), m, path).await.ok(),
            None => vaultrs::kv2::read(&client(&self.s), "secret", path)
                .await
                .ok(),
        }
    }
}

#[async_trait::async_trait]
impl Fixture for Bao {
    async fn scope(&self) -> Result<Routing, String> {
        let mut r = routing(&unique("conformance"));
        if let Some(m) = &self.kv1 {
            r.insert("mount".into(), m.clone().into());
            r.insert("kv_version".into(), "1".into());
        }
        Ok(r)
    }

    async fn stored(&self, r: &Routing, name: &RemoteName) -> Option<Option<Vec<u8>>> {
        let map = self.map(r).await.unwrap_or_default();
        Some(map.get(&name.0).map(|v| v.as_bytes().to_vec()))
    }

    async fn writes(&self, r: &Routing) -> Option<u64> {
        self.kv1.is_none().then_some(())?;
        let path = r["secretPath"].as_str().unwrap();
        let meta = vaultrs::kv2::read_metadata(&client(&self.s), "secret", path).await;
        Some(meta.map_or(0, |m| m.current_version))
    }

    fn can_tamper(&self) -> bool {
        self.kv1.is_none()
    }

    async fn tamper(&self, r: &Routing, name: &RemoteName) -> Option<Tamper> {
        let mut map = self.map(r).await?;
        map.insert(name.0.clone(), "hand-edited".into());
        let path = r["secretPath"].as_str().unwrap();
        vaultrs::kv2::set(&client(&self.s), "secret", path, &map)
            .await
            .ok()?;
        Some(Tamper::Changed)
    }
}

async fn kv2() -> Option<(HashiVault, Bao)> {
    let s = server()?;
    Some((dest(&s, &s.token), Bao { s, kv1: None }))
}

async fn kv1() -> Option<(HashiVault, Bao)> {
    let s = server()?;
    let mount = format!("kv1-{}", unique("m").rsplit('-').next().unwrap());
    let mut opts = vaultrs::api::sys::requests::EnableEngineRequestBuilder::default();
    opts.options(
        [("version".to_string(), "1".to_string())]
            .into_iter()
            .collect::<std::collections::HashMap<_, _>>(),
    );
    vaultrs::sys::mount::enable(&client(&s), &mount, "kv", Some(&mut opts))
        .await
        .unwrap();
    let d = dest(&s, &s.token);
    Some((
        d,
        Bao {
            s,
            kv1: Some(mount),
        },
    ))
}

mod conformance_kv2 {
    vsync_testkit::conformance_tests!(super::kv2; preflight, map_name, create, idempotent, update,
        collisions, drift, prune, delete, no_value_leaks);
}

mod conformance_kv1 {
    vsync_testkit::conformance_tests!(super::kv1; create, idempotent, update, prune, delete);
}

#[tokio::test]
async fn one_version_per_write_and_warnings_name_keys_not_values() {
    let Some((s, d, path, r)) = fresh_path("cycle") else {
        return;
    };
    assert_eq!(d.capabilities(&r).write_mode, WriteMode::BulkAtomic);

    // first sync: creates, one version, special characters kept
    let v1 = items(&[("A", "1"), ("B", "two"), ("C", "=@-special")]);
    let got = sync(&d, &r, &v1, false).await;
    assert!(got.iter().all(|(_, op)| *op == ChangeOp::Create), "{got:?}");
    assert_eq!(
        remote(&s, &path).await.get("C").map(String::as_str),
        Some("=@-special")
    );
    assert_eq!(version(&s, &path).await, 1);

    // one changed value: the outcome per key, one new version
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

    // a key removed from the env file: kept (with a warning naming it, not its value) unless
    // pruning
    let v3 = items(&[("A", "1"), ("B", "2")]);
    let plan = plan(&d, &r, &v3).await.unwrap();
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

    // the destination's plan itself never deletes: the engine adds deletions from `list`
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
}

#[tokio::test]
async fn concurrent_writer_is_a_conflict_not_overwritten() {
    let Some((s, d, path, r)) = fresh_path("cas") else {
        return;
    };
    sync(&d, &r, &items(&[("A", "1")]), false).await;

    let mine = items(&[("A", "mine")]);
    let plan = plan(&d, &r, &mine).await.unwrap();
    // another writer gets in between plan and apply
    write_behind_our_back(&s, &path, "A", "theirs").await;

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
    let Some((s, d, path, r)) = fresh_path("cas0") else {
        return;
    };
    let mine = items(&[("A", "mine")]);
    let plan = plan(&d, &r, &mine).await.unwrap();
    write_behind_our_back(&s, &path, "A", "theirs").await;
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
    let e = plan(&d, &r, &items(&[("A", "1")])).await.unwrap_err();
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
    let e = plan(&d, &routing(&unique("bin")), &bin).await.unwrap_err();
    assert_eq!(e.kind, DestErrorKind::InvalidValue);
    assert_eq!(e.key.as_deref(), Some("BIN"));
}
