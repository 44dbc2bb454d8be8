//! Against the real S3 server (SeaweedFS, SigV4 checked): a vault published by the CLI's own
//! push path opens through the default fetcher. Runs when `VSYNC_TEST_S3_*` is set, and must run
//! under `scripts/test` (`VSYNC_TEST_SERVICES=1`); otherwise it skips with a note.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::*;
use vsync_crypto::cfg_blob;
use vsync_crypto::kdf::{DerivedKey, ITERATIONS};
use vsync_crypto::secret::SecretText;
use vsync_runtime::{Unreachable, Vault};
use vsync_testkit::services::{self, S3Service};
use vsync_vault::layout::Prefix;
use vsync_vault::remote::{Manifest, Remote, seal_bundle};
use vsync_vault::store::{Bucket, Expected, StoreSpec};

fn unique_prefix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("runtime-it-{}-{nanos}/dev/", std::process::id())
}

fn blob_for(s3: &S3Service, prefix: &str, secret: &str, iterations: u32) -> String {
    let mut cfg = config(iterations);
    cfg.endpoint = s3.endpoint.clone();
    cfg.region = s3.region.clone();
    cfg.bucket = s3.bucket.clone();
    cfg.access_key_id = s3.access_key.clone();
    cfg.secret_access_key = SecretText::new(secret.to_owned());
    cfg.prefix = prefix.to_owned();
    cfg_blob::encode(&cfg).unwrap()
}

fn remote_for(s3: &S3Service, prefix: &str) -> Remote {
    let spec = StoreSpec::from_upstream_s3(
        &s3.endpoint,
        &s3.region,
        &s3.bucket,
        &s3.access_key,
        &s3.secret_key,
        true,
    );
    Remote::new(
        Bucket::open(&spec).unwrap(),
        Prefix::from_raw(prefix).unwrap(),
    )
}

/// Push the way `vsync push` does: build the zip from a vault folder, seal, publish.
async fn push(remote: &Remote, key: &DerivedKey) {
    let sealed = seal_bundle(key, TS, &pushed_zip()).unwrap();
    remote.publish(TS, sealed, None).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn opens_a_vault_pushed_to_the_real_s3_server() {
    let Some(s3) = services::s3() else {
        return services::skip("vsync-runtime against S3", "VSYNC_TEST_S3_*");
    };
    let prefix = unique_prefix();
    let remote = remote_for(&s3, &prefix);
    let blob = blob_for(&s3, &prefix, &s3.secret_key, ITERATIONS);

    // Nothing pushed yet.
    let e = Vault::open_with(&blob, PASSPHRASE).await.unwrap_err();
    assert_eq!(e.class(), "ManifestNotFoundError", "{e}");

    push(&remote, &DerivedKey::derive(PASSPHRASE, SALT)).await;
    let v = Vault::open_with(&blob, PASSPHRASE).await.unwrap();
    assert_eq!(
        v.vault_env("DATABASE_URL"),
        Some("postgres://vault-secret-db")
    );
    assert_eq!(v.vault_env("DUP"), Some("second-wins"));
    assert_eq!(v.asset_bytes("tls/server.key"), Some(TLS_KEY));
    assert_eq!((v.bundle_ts(), v.generation()), (TS, 0));

    // A rotation bumps the generation cell; a poll sees it without a key.
    remote
        .write_manifest(
            &Manifest::default().bumped("2026-05-23T11:42:01.234Z"),
            Expected::Absent,
        )
        .await
        .unwrap();
    assert_eq!(v.remote_generation().await.unwrap(), 1);
    assert!(v.has_new_version().await.unwrap());

    // The blocking entry point, then a poll from this (other) runtime.
    let blob2 = blob.clone();
    let v = tokio::task::spawn_blocking(move || Vault::open_with_blocking(&blob2, PASSPHRASE))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(v.generation(), 1);
    assert_eq!(v.remote_generation().await.unwrap(), 1);
    assert_eq!(v.remote_generation_blocking().unwrap(), 1);

    // Wrong passphrase against real data.
    let e = Vault::open_with(&blob, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
        .await
        .unwrap_err();
    assert_eq!(e.class(), "WrongPassphraseError");

    // A wrong secret key: the server rejects the signature (403).
    let bad = blob_for(&s3, &prefix, "not-the-secret-key", ITERATIONS);
    let e = Vault::open_with(&bad, PASSPHRASE).await.unwrap_err();
    assert_unreachable(&e, Unreachable::AccessDenied);
    assert!(!e.to_string().contains("not-the-secret-key"), "{e}");
    assert!(!e.to_string().contains(&s3.secret_key), "{e}");
}

#[tokio::test]
async fn a_closed_port_is_s3_unreachable() {
    // Needs no server: nothing listens on port 1.
    let s3 = S3Service {
        endpoint: "http://127.0.0.1:1".into(),
        bucket: "b".into(),
        access_key: "k".into(),
        secret_key: "s".into(),
        region: "us-east-1".into(),
    };
    let blob = blob_for(&s3, "p/dev/", "s", 1);
    let e = Vault::open_with(&blob, PASSPHRASE).await.unwrap_err();
    assert_unreachable(&e, Unreachable::Network);
}
