//! `gs://` (our GCS fake, tests/fakes/gcs_fake.py) and `az://` (Azurite) specifics: the revision
//! token, the conditional-write probe, credentials from the environment, error mapping. The
//! generic store and remote tests also run on both (`both_backends!`).

use vsync_vault::StoreError;
use vsync_vault::store::{Bucket, Expected, Revision, StoreSpec};

use crate::common::{Gcs, azure_spec, unique};

/// A GCS ETag is the MD5 of the content, so writing A, B, A again gives the first ETag back. The
/// token vsync compares must be the generation, or a stale writer would win (ABA).
#[tokio::test]
async fn gcs_revision_is_the_generation_not_the_content_hash() {
    let Some(gcs) = Gcs::start() else { return };
    let b = Bucket::open_with_env(&gcs.spec("vsync-test"), &gcs.env("sa.json")).unwrap();
    assert_eq!(b.revision(), Revision::Generation);
    let k = format!("{}/latest", unique("aba"));
    b.put_create(&k, b"A".to_vec()).await.unwrap();
    let t1 = b.head(&k).await.unwrap().unwrap();
    assert!(t1.bytes().all(|c| c.is_ascii_digit()), "{t1}");
    let t2 = b
        .put_swap(&k, b"B".to_vec(), Expected::Etag(t1.clone()))
        .await
        .unwrap();
    let t3 = b
        .put_swap(&k, b"A".to_vec(), Expected::Etag(t2))
        .await
        .unwrap();
    assert_ne!(t1, t3, "same content, new generation");
    let err = b
        .put_swap(&k, b"stale".to_vec(), Expected::Etag(t1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    assert_eq!(&b.get(&k).await.unwrap().unwrap().bytes[..], b"A");
    // A token that is no generation at all is a conflict too, not a request error.
    let err = b
        .put_swap(
            &k,
            b"x".to_vec(),
            Expected::Etag("\"9b2cf535f27731c9\"".into()),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
}

#[tokio::test]
async fn gcs_probe_finds_conditional_writes() {
    let Some(gcs) = Gcs::start() else { return };
    let b = Bucket::open_with_env(&gcs.spec("vsync-test"), &gcs.env("sa.json")).unwrap();
    let scratch = format!("{}/probe", unique("probe"));
    assert!(b.probe_conditional(&scratch).await.unwrap());
    assert!(b.head(&scratch).await.unwrap().is_none(), "probe cleans up");
}

#[tokio::test]
async fn gcs_foreign_key_is_access_denied_with_the_variable_to_check() {
    let Some(gcs) = Gcs::start() else { return };
    let b = Bucket::open_with_env(&gcs.spec("vsync-test"), &gcs.env("other-sa.json")).unwrap();
    let key_file = std::fs::read_to_string(gcs.dir.path().join("other-sa.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&key_file).unwrap();
    let pem = v["private_key"].as_str().unwrap();
    let pem_body = pem.lines().nth(1).unwrap();
    for err in crate::common::read_and_create_denied(&b, "AuthenticationRequired").await {
        let shown = format!("{err} {err:?} {b:?}");
        assert!(shown.contains("GOOGLE_APPLICATION_CREDENTIALS"), "{shown}");
        assert!(shown.contains("gs://vsync-test"), "{shown}");
        assert!(!shown.contains(pem_body), "key material leaked: {shown}");
    }
}

#[tokio::test]
async fn gcs_missing_bucket_and_unreadable_key_file() {
    let Some(gcs) = Gcs::start() else { return };
    let b = Bucket::open_with_env(&gcs.spec("no-such-bucket"), &gcs.env("sa.json")).unwrap();
    for err in [
        b.get("x/latest").await.unwrap_err(),
        b.list("x/").await.unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::BucketMissing { .. }), "{err:?}");
    }
    let err = Bucket::open_with_env(&gcs.spec("vsync-test"), &gcs.env("absent.json")).unwrap_err();
    match &err {
        StoreError::InvalidUrl { reason, .. } => {
            assert!(
                reason.contains("GOOGLE_APPLICATION_CREDENTIALS"),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn gcs_unreachable_names_the_endpoint() {
    let Some(gcs) = Gcs::start() else { return };
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let spec = StoreSpec::Gcs {
        bucket: "vsync-test".into(),
        endpoint: Some(format!("http://{closed}")),
    };
    let b = Bucket::open_with_env(&spec, &gcs.env("sa.json")).unwrap();
    match b.get("x/latest").await.unwrap_err() {
        StoreError::Unreachable { endpoint, reason } => {
            assert_eq!(endpoint, format!("http://{closed}"));
            assert_eq!(reason, "connection refused");
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn azure_probe_finds_conditional_writes() {
    let Some((spec, env)) = azure_spec() else {
        return;
    };
    let b = Bucket::open_with_env(&spec, &env).unwrap();
    assert_eq!(b.revision(), Revision::ETag);
    let scratch = format!("{}/probe", unique("probe"));
    assert!(b.probe_conditional(&scratch).await.unwrap());
    assert!(b.head(&scratch).await.unwrap().is_none(), "probe cleans up");
}

#[tokio::test]
async fn azure_wrong_key_is_access_denied_and_never_shown() {
    let Some((spec, env)) = azure_spec() else {
        return;
    };
    let good = &env[0].1;
    // A well-formed key of the right length that is not the account's.
    let wrong: String = good
        .chars()
        .map(|c| if c.is_ascii_alphabetic() { 'Q' } else { c })
        .collect();
    let b = Bucket::open_with_env(
        &spec,
        &[("AZURE_STORAGE_ACCOUNT_KEY".into(), wrong.clone())],
    )
    .unwrap();
    for err in [
        b.get("x/latest").await.unwrap_err(),
        b.put_create(&format!("{}/k", unique("denied")), b"v".to_vec())
            .await
            .unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::AccessDenied { .. }), "{err:?}");
        let shown = format!("{err} {err:?} {b:?} {spec:?}");
        assert!(shown.contains("AZURE_STORAGE_ACCOUNT_KEY"), "{shown}");
        assert!(
            !shown.contains(&wrong) && !shown.contains(good.as_str()),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn azure_missing_container() {
    let Some((spec, env)) = azure_spec() else {
        return;
    };
    let StoreSpec::Azure {
        account, endpoint, ..
    } = spec
    else {
        unreachable!()
    };
    let spec = StoreSpec::Azure {
        container: format!("nope-{}", crate::common::rand_hex(4)),
        account,
        endpoint,
    };
    let b = Bucket::open_with_env(&spec, &env).unwrap();
    for err in [
        b.get("x/latest").await.unwrap_err(),
        b.list("x/").await.unwrap_err(),
    ] {
        assert!(matches!(err, StoreError::BucketMissing { .. }), "{err:?}");
    }
}
