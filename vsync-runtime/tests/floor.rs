//! The rollback floor: a `latest` older than the token's `minTs`, `VSYNC_MIN_TS` or
//! `OpenOptions::min_ts` is refused before any key derivation; the token field stays invisible
//! to readers that do not know it.

mod common;

use std::sync::Arc;

use common::*;
use vsync_crypto::cfg_blob;
use vsync_runtime::{EmptyEnv, Error, MemoryFetcher, OpenOptions, Vault};

/// The bucket after two pushes, `TS_OLD` then `TS`, with `latest` moved back to `TS_OLD` by
/// someone with write access to the bucket.
fn rolled_back() -> Arc<MemoryFetcher> {
    let f = bucket();
    let old = vsync_crypto::bundle::seal(
        &key(),
        TS_OLD,
        &zip_of(&[(".env.dev", b"API_KEY=revoked-old-key-value\n")]),
    )
    .unwrap();
    f.insert(format!("{PREFIX}versions/{TS_OLD}.enc"), old);
    f.insert(format!("{PREFIX}latest"), TS_OLD);
    f
}

fn blob_with_floor(ts: &str) -> String {
    let mut cfg = config(1);
    cfg.extra.insert("minTs".into(), ts.into());
    cfg_blob::encode(&cfg).unwrap()
}

/// Open `token` from `f` with no environment and an optional floor of the app's own.
async fn open_from(
    f: &Arc<MemoryFetcher>,
    token: &str,
    min_ts: Option<String>,
) -> Result<Vault, Error> {
    let mut o = OpenOptions::new()
        .env_lookup(Arc::new(EmptyEnv))
        .fetcher(Arc::clone(f) as _);
    if let Some(ts) = min_ts {
        o = o.min_ts(ts);
    }
    o.open_with(token, PASSPHRASE).await
}

fn expect_rollback(r: Result<Vault, Error>, f: &MemoryFetcher) {
    let e = match r {
        Ok(v) => panic!("a rolled-back latest opened: {v}"),
        Err(e) => e,
    };
    assert_eq!(e.class(), "BundleCorruptError", "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("rolled back") && msg.contains(TS_OLD) && msg.contains(TS),
        "{msg}"
    );
    assert_clean("error", &msg);
    assert_clean("debug", &format!("{e:?}"));
    // Refused on the pointer alone: the old bundle was never downloaded.
    assert!(
        !f.requests().iter().any(|k| k.contains("versions/")),
        "{:?}",
        f.requests()
    );
}

#[tokio::test]
async fn token_floor_refuses_a_rolled_back_latest() {
    let f = rolled_back();
    let r = open_from(&f, &blob_with_floor(TS), None).await;
    expect_rollback(r, &f);
}

#[tokio::test]
async fn token_floor_at_latest_opens() {
    let v = open_from(&bucket(), &blob_with_floor(TS), None)
        .await
        .unwrap();
    assert_eq!(v.bundle_ts(), TS);
}

#[tokio::test]
async fn env_floor_refuses_and_a_bad_one_is_a_config_error() {
    let f = rolled_back();
    let r = OpenOptions::new()
        .env_lookup(lookup(&[("VSYNC_MIN_TS", TS)]))
        .fetcher(Arc::clone(&f) as _)
        .open_with(&blob(), PASSPHRASE)
        .await;
    expect_rollback(r, &f);

    let e = OpenOptions::new()
        .env_lookup(lookup(&[(vsync_runtime::MIN_TS_VAR, "yesterday")]))
        .fetcher(bucket() as _)
        .open_with(&blob(), PASSPHRASE)
        .await
        .unwrap_err();
    assert_eq!(e.class(), "ConfigUnsupportedVersionError", "{e}");
    assert!(e.to_string().contains("VSYNC_MIN_TS"), "{e}");
}

#[tokio::test]
async fn app_keeps_its_own_floor_across_restarts() {
    // First boot: nothing to compare with, so the newest version opens and the app stores
    // its timestamp.
    let first = open_from(&bucket(), &blob(), None).await.unwrap();
    let kept = first.bundle_ts().to_owned();
    // Someone moves `latest` back; the next boot passes the stored timestamp.
    let f = rolled_back();
    let r = open_from(&f, &blob(), Some(kept)).await;
    expect_rollback(r, &f);
    // Without a floor the rolled-back version opens: a first boot cannot tell.
    let v = open_from(&rolled_back(), &blob(), None).await.unwrap();
    assert_eq!(v.bundle_ts(), TS_OLD);
}

#[test]
fn token_without_floor_is_unchanged_and_floor_is_an_ignorable_field() {
    // No floor: the same bytes as before the field existed.
    let mut cfg = config(600_000);
    vsync_vault::freshness::set_blob_floor(&mut cfg, &vsync_vault::freshness::Floor::none());
    assert_eq!(
        cfg_blob::encode(&cfg).unwrap(),
        cfg_blob::encode(&config(600_000)).unwrap()
    );
    // With a floor: a reader that knows only the ten upstream fields (docs/formats.md §8.2) still
    // parses it, with the same values (rule 9: unknown fields are ignored).
    let blob = blob_with_floor(TS);
    let back = cfg_blob::decode(&blob).unwrap();
    assert_eq!(back.extra.get("minTs").and_then(|v| v.as_str()), Some(TS));
    let json = decode_json(&blob);
    let obj = json.as_object().unwrap();
    let upstream: Vec<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(
        upstream,
        [
            "v",
            "endpoint",
            "region",
            "bucket",
            "accessKeyId",
            "secretAccessKey",
            "prefix",
            "env",
            "salt",
            "iterations",
            "minTs"
        ],
        "the upstream fields come first, in their order"
    );
    assert_eq!(obj["iterations"], 1);
    assert_eq!(obj["salt"], SALT);
}

/// The inner JSON, decoded the way docs/formats.md §8.1 describes it (base64url, gunzip).
fn decode_json(blob: &str) -> serde_json::Value {
    use base64::Engine as _;
    use std::io::Read as _;
    let body = blob.strip_prefix("vsync-cfg-v1:").unwrap();
    let gz = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(body)
        .unwrap();
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}
