//! The read chain: what one open fetches, the generation cell, the fallback chain.

use std::sync::Arc;

use vsync_runtime::{FetchError, OpenOptions, Source};

use crate::common::*;
use crate::{open, open_err};

#[tokio::test]
async fn reads_keys_and_assets_with_one_round_trip_pair() {
    let f = bucket();
    let v = open(Arc::clone(&f)).await.unwrap();
    assert_eq!(
        v.keys().collect::<Vec<_>>(),
        ["DATABASE_URL", "API_KEY", "EMPTY", "DUP"]
    );
    assert_eq!(
        v.vault_env("DATABASE_URL"),
        Some("postgres://vault-secret-db")
    );
    assert_eq!(v.vault_env("API_KEY"), Some("sk_live_vault_quoted"));
    assert_eq!(v.vault_env("EMPTY"), Some(""));
    assert_eq!(v.vault_env("DUP"), Some("second-wins"));
    assert_eq!(
        v.asset_names().collect::<Vec<_>>(),
        ["tls/server.key", "other/server.key", "gcp-sa.json"]
    );
    assert_eq!(v.asset_bytes("tls/server.key"), Some(TLS_KEY));
    assert_eq!(v.get_as_content("gcp-sa.json"), Some(SA_JSON));
    assert_eq!(
        v.asset_str("gcp-sa.json").unwrap(),
        std::str::from_utf8(SA_JSON).ok()
    );
    assert_eq!(
        v.asset_bytes(".env.dev"),
        None,
        "the env file is not an asset"
    );
    assert_eq!(v.asset_bytes("nope"), None);
    assert_eq!(v.generation(), 0, "no latest.manifest means generation 0");
    assert_eq!(v.bundle_ts(), TS);
    assert_eq!(v.env_name(), ENV);

    // Round trip 1: pointer and generation cell; round trip 2: the version object and, with
    // no `latest.manifest`, the legacy `latest.meta`. Nothing else, and nothing after open.
    let reqs = f.requests();
    let mut first: Vec<_> = reqs[..2].to_vec();
    let mut second: Vec<_> = reqs[2..].to_vec();
    first.sort();
    second.sort();
    assert_eq!(
        first,
        [
            format!("{PREFIX}latest"),
            format!("{PREFIX}latest.manifest")
        ]
    );
    assert_eq!(
        second,
        [
            format!("{PREFIX}latest.meta"),
            format!("{PREFIX}versions/{TS}.enc")
        ]
    );
    let _ = (
        v.env("DATABASE_URL"),
        v.has("X"),
        v.source("Y"),
        v.asset_bytes("gcp-sa.json"),
    );
    assert_eq!(f.requests().len(), 4);
}

#[tokio::test]
async fn generation_cell_like_the_cli_reads_it() {
    // latest.manifest wins; the legacy latest.meta is read only when it is absent.
    let f = bucket();
    f.insert(format!("{PREFIX}latest.meta"), r#"{"gen":9}"#);
    let v = open(Arc::clone(&f)).await.unwrap();
    assert_eq!(v.generation(), 9);
    f.insert(format!("{PREFIX}latest.manifest"), r#"{"gen":3}"#);
    let before = f.requests().len();
    let v = open(Arc::clone(&f)).await.unwrap();
    assert_eq!(v.generation(), 3);
    assert_eq!(
        f.requests().len() - before,
        3,
        "no latest.meta read with a manifest"
    );
    assert_eq!(v.remote_generation().await.unwrap(), 3);
    f.remove(&format!("{PREFIX}latest.manifest"));
    assert_eq!(v.remote_generation().await.unwrap(), 9);
    f.remove(&format!("{PREFIX}latest.meta"));
    assert_eq!(v.remote_generation().await.unwrap(), 0);
    // Upstream's JavaScript writes integral floats.
    f.insert(format!("{PREFIX}latest.manifest"), r#"{"gen":4.0}"#);
    assert_eq!(v.remote_generation().await.unwrap(), 4);
}

#[tokio::test]
async fn fallback_chain_vault_env_default_missing() {
    let v = open(bucket())
        .await
        .unwrap()
        .with_env_lookup(lookup(&[
            ("DATABASE_URL", "postgres://env"),
            ("STRIPE_KEY", "sk_env"),
            ("BLANK", ""),
        ]))
        .with_defaults([
            ("STRIPE_KEY", "sk_default"),
            ("PORT", "8080"),
            ("DATABASE_URL", "d"),
        ]);

    let cases = [
        (
            "DATABASE_URL",
            Some("postgres://vault-secret-db"),
            Source::Vault,
        ),
        ("EMPTY", Some(""), Source::Vault),
        ("STRIPE_KEY", Some("sk_env"), Source::Env),
        ("BLANK", Some(""), Source::Env),
        ("PORT", Some("8080"), Source::Default),
        ("NOWHERE", None, Source::Missing),
    ];
    for (key, value, source) in cases {
        assert_eq!(v.env(key).as_deref(), value, "{key}");
        assert_eq!(v.get_env(key).as_deref(), value, "{key}");
        assert_eq!(v.source(key), source, "{key}");
        assert_eq!(v.env_source(key), source, "{key}");
        assert_eq!(v.has(key), source != Source::Missing, "{key}");
        assert_eq!(v.has_env(key), v.has(key), "{key}");
    }
    assert_eq!(v.vault_env("STRIPE_KEY"), None, "vault_env skips the chain");
    assert_eq!(Source::Default.to_string(), "default");
    // Assets are a separate namespace.
    assert_eq!(v.source("gcp-sa.json"), Source::Missing);
}

#[tokio::test]
async fn process_env_is_read_at_lookup_time() {
    use std::sync::Mutex;
    let value = Arc::new(Mutex::new(None::<String>));
    let seen = Arc::clone(&value);
    let env = move |name: &str| {
        (name == "LATE")
            .then(|| seen.lock().unwrap().clone())
            .flatten()
    };
    let v = OpenOptions::new()
        .env_lookup(Arc::new(env))
        .fetcher(bucket())
        .defaults([("LATE", "fallback")])
        .open_with(&blob(), PASSPHRASE)
        .await
        .unwrap();
    assert_eq!(v.source("LATE"), Source::Default);
    *value.lock().unwrap() = Some("now".into());
    assert_eq!(v.env("LATE").as_deref(), Some("now"));
    assert_eq!(v.source("LATE"), Source::Env);
}

#[tokio::test]
async fn generation_and_remote_generation() {
    let f = bucket();
    f.insert(
        format!("{PREFIX}latest.manifest"),
        r#"{"gen":2,"prev_gen":1,"rotated_at":"2026-05-23T11:42:01.234Z"}"#,
    );
    let v = open(Arc::clone(&f)).await.unwrap();
    assert_eq!(v.generation(), 2);
    assert_eq!(v.remote_generation().await.unwrap(), 2);
    assert!(!v.has_new_version().await.unwrap());

    f.insert(
        format!("{PREFIX}latest.manifest"),
        r#"{"gen":3,"prev_gen":2}"#,
    );
    let before = f.requests().len();
    assert_eq!(v.remote_generation().await.unwrap(), 3);
    assert!(v.has_new_version().await.unwrap());
    assert_eq!(v.generation(), 2, "the handle never changes");
    // Polling reads only the generation cell.
    let manifest = format!("{PREFIX}latest.manifest");
    assert_eq!(f.requests()[before..], [manifest.clone(), manifest]);

    f.fail_with(Some(FetchError::network("connection refused")));
    assert_eq!(
        v.remote_generation().await.unwrap_err().class(),
        "S3UnreachableError"
    );
    f.fail_with(None);
    f.insert(format!("{PREFIX}latest.manifest"), "not json");
    assert_eq!(
        v.remote_generation().await.unwrap_err().class(),
        "BundleCorruptError"
    );
}

#[tokio::test]
async fn malformed_generation_cell_refuses_to_open() {
    let f = bucket();
    f.insert(format!("{PREFIX}latest.manifest"), r#"{"gen":-1}"#);
    assert_eq!(open_err(f).await.class(), "BundleCorruptError");
    let f = bucket();
    f.insert(format!("{PREFIX}latest.meta"), "[]");
    assert_eq!(open_err(f).await.class(), "BundleCorruptError");
    let f = bucket();
    f.insert(format!("{PREFIX}latest.manifest"), "");
    assert_eq!(open(f).await.unwrap().generation(), 0);
}
