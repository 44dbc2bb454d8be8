//! What the bucket can do wrong: tampered objects, wrong keys, pointer and fetch failures, bad payloads.

use std::sync::Arc;

use vsync_runtime::{FetchError, Fetcher, MemoryFetcher, OpenOptions, Unreachable, Vault};

use crate::common::*;
use crate::{object_key, open, open_err, sealed};

#[tokio::test]
async fn tampered_objects() {
    // A flipped ciphertext or tag byte: the GCM tag rejects it.
    for at in [40usize, usize::MAX] {
        let f = bucket();
        let mut obj = sealed(TS);
        let i = if at == usize::MAX { obj.len() - 1 } else { at };
        obj[i] ^= 0x01;
        f.insert(object_key(TS), obj);
        assert_eq!(open_err(f).await.class(), "WrongPassphraseError");
    }
    // A flipped magic, a truncated envelope, an empty object: not an envelope.
    let mut bad_magic = sealed(TS);
    bad_magic[0] = b'X';
    for obj in [bad_magic, sealed(TS)[..31].to_vec(), Vec::new()] {
        let f = bucket();
        f.insert(object_key(TS), obj);
        assert_eq!(open_err(f).await.class(), "BundleCorruptError");
    }
    // A newer envelope family.
    let mut rqe2 = sealed(TS);
    rqe2[3] = b'2';
    let f = bucket();
    f.insert(object_key(TS), rqe2);
    assert_eq!(open_err(f).await.class(), "UnsupportedSpecVersionError");
}

#[tokio::test]
async fn wrong_passphrase() {
    let e = Vault::open_with_fetcher(&blob(), "not-the-keychain-value", bucket())
        .await
        .unwrap_err();
    assert_eq!(e.class(), "WrongPassphraseError");
    assert!(e.to_string().contains("vsync key show"), "{e}");
    // The passphrase is used byte for byte: a trailing newline is a different passphrase.
    let e = Vault::open_with_fetcher(&blob(), &format!("{PASSPHRASE}\n"), bucket())
        .await
        .unwrap_err();
    assert_eq!(e.class(), "WrongPassphraseError");
}

#[tokio::test]
async fn rolled_back_pointer_is_refused() {
    // The pointer names TS, but the object there was sealed under an older timestamp (an old
    // bundle copied over the new name).
    let f = bucket();
    f.insert(object_key(TS), sealed(TS_OLD));
    let e = open_err(f).await;
    assert_eq!(e.class(), "BundleCorruptError");
    assert!(
        e.to_string().contains("seal timestamp does not match"),
        "{e}"
    );

    // The pointer moved back to an old, genuine version: it opens that version (its seal
    // matches); refusing rollbacks needs state the runtime does not keep.
    let f = bucket();
    f.insert(object_key(TS_OLD), sealed(TS_OLD));
    f.insert(format!("{PREFIX}latest"), TS_OLD);
    assert_eq!(open(f).await.unwrap().bundle_ts(), TS_OLD);
}

#[tokio::test]
async fn pointer_problems() {
    // 404 on the pointer: nothing pushed.
    let f = Arc::new(MemoryFetcher::new());
    let e = open_err(Arc::clone(&f)).await;
    assert_eq!(e.class(), "ManifestNotFoundError");
    assert!(e.to_string().contains("vsync push"), "{e}");
    assert!(e.to_string().contains("acme_web/dev/latest"), "{e}");
    assert_eq!(f.requests().len(), 2, "no version fetch without a pointer");
    // An empty pointer is the same.
    let f = bucket();
    f.insert(format!("{PREFIX}latest"), " \n");
    assert_eq!(open_err(f).await.class(), "ManifestNotFoundError");
    // A pointer that is not a timestamp is never used as an object key.
    let f = bucket();
    f.insert(format!("{PREFIX}latest"), "../../other/versions/x");
    assert_eq!(open_err(Arc::clone(&f)).await.class(), "BundleCorruptError");
    assert_eq!(f.requests().len(), 2);
    // A trailing newline in the pointer is fine.
    let f = bucket();
    f.insert(format!("{PREFIX}latest"), format!("{TS}\n"));
    assert!(open(f).await.is_ok());
    // The pointer names a version that does not exist: torn state.
    let f = bucket();
    f.remove(&object_key(TS));
    let e = open_err(f).await;
    assert_eq!(e.class(), "BundleCorruptError");
    assert!(e.to_string().contains("torn state"), "{e}");
}

#[tokio::test]
async fn fetcher_failures_are_s3_unreachable() {
    for (err, reason, words) in [
        (
            FetchError::network("connection refused"),
            Unreachable::Network,
            "cannot reach",
        ),
        (
            FetchError::access_denied("403 AccessDenied"),
            Unreachable::AccessDenied,
            "denied access",
        ),
        (
            FetchError::other("500 InternalError"),
            Unreachable::Other,
            "failed",
        ),
    ] {
        let f = bucket();
        f.fail_with(Some(err));
        let e = open_err(f).await;
        assert_unreachable(&e, reason);
        let msg = e.to_string();
        assert!(msg.contains(words), "{msg}");
        assert!(
            msg.contains("bucket `acme-secrets` at https://s3.example.com"),
            "{msg}"
        );
    }
}

/// A fetcher that answers the pointer and fails the version object.
struct FailSecond(Arc<MemoryFetcher>);

#[vsync_runtime::async_trait]
impl Fetcher for FailSecond {
    async fn get(&self, key: &str) -> Result<Option<vsync_runtime::Bytes>, FetchError> {
        if key.contains("/versions/") {
            return Err(FetchError::access_denied("403 AccessDenied"));
        }
        self.0.get(key).await
    }
}

#[tokio::test]
async fn failure_on_the_version_object() {
    let e = Vault::open_with_fetcher(&blob(), PASSPHRASE, Arc::new(FailSecond(bucket())))
        .await
        .unwrap_err();
    assert_eq!(e.class(), "S3UnreachableError");
    assert!(
        e.to_string().contains("versions/20260523-114201.enc"),
        "{e}"
    );
}

#[tokio::test]
async fn bad_payloads_are_corrupt() {
    // Not a zip.
    let f = bucket_with(b"PK\x03\x04 definitely not a zip");
    assert_eq!(open_err(f).await.class(), "BundleCorruptError");
    // An env file that is not UTF-8.
    let f = bucket_with(&zip_of(&[(".env.dev", b"A=\xff\xfe\n")]));
    let e = open_err(f).await;
    assert_eq!(e.class(), "BundleCorruptError");
    assert!(e.to_string().contains("line 1"), "{e}");
    // An entry that would escape the vault.
    let f = bucket_with(&zip_of(&[
        (".env.dev", b"A=1\n"),
        ("../../etc/passwd", b"x"),
    ]));
    assert_eq!(open_err(f).await.class(), "BundleCorruptError");
    // A zip bomb is capped.
    let big = vec![0u8; 4096];
    let f = bucket_with(&zip_of(&[(".env.dev", b"A=1\n"), ("big.bin", &big)]));
    let e = OpenOptions::new()
        .fetcher(f)
        .zip_limits(vsync_runtime::ZipLimits {
            max_entries: 100,
            max_total_bytes: 1024,
        })
        .open_with(&blob(), PASSPHRASE)
        .await
        .unwrap_err();
    assert_eq!(e.class(), "BundleCorruptError");
}

#[tokio::test]
async fn a_vault_without_env_file_has_only_assets() {
    let f = bucket_with(&zip_of(&[("tls/server.key", TLS_KEY)]));
    let v = open(f).await.unwrap();
    assert_eq!(v.keys().count(), 0);
    assert_eq!(v.asset_bytes("tls/server.key"), Some(TLS_KEY));
    // Another env's file is an asset too, never keys.
    let f = bucket_with(&zip_of(&[(".env.prod", b"A=1\n")]));
    let v = open(f).await.unwrap();
    assert_eq!(v.keys().count(), 0);
    assert!(v.asset_bytes(".env.prod").is_some());
}

#[tokio::test]
async fn reads_a_zip_built_like_push_builds_it() {
    let zip = pushed_zip();
    let v = open(bucket_with(&zip)).await.unwrap();
    assert_eq!(v.vault_env("DUP"), Some("second-wins"));
    assert_eq!(v.asset_names().collect::<Vec<_>>(), ["tls/server.key"]);
    assert_eq!(v.asset_bytes("tls/server.key"), Some(TLS_KEY));
}
