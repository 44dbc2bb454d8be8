//! Each class of store error, produced by a real server (SeaweedFS) and by the `file://` store,
//! and a guard that keeps error classification on types and codes rather than message text.

use std::path::Path;

use vsync_vault::StoreError;
use vsync_vault::store::{Bucket, Expected, StoreSpec};

use crate::common::{TestBucket, file_bucket, s3_bucket, s3_spec, unique};

/// Error text may change with any dependency update; classifying by it breaks silently.
#[test]
fn no_error_is_classified_by_its_text() {
    const FORBIDDEN: [&str; 5] = [
        ".to_string().contains(",
        ".to_string().find(",
        ".to_string().to_ascii_lowercase()",
        ".to_string().starts_with(",
        "fn error_text(",
    ];
    let mut hits = Vec::new();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut dirs = vec![src];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            // Tests may look at messages (to check that a secret is not in them).
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            for (n, line) in code.lines().enumerate() {
                if FORBIDDEN.iter().any(|f| line.contains(f)) {
                    hits.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        hits.is_empty(),
        "errors classified by text:\n{}",
        hits.join("\n")
    );
}

/// Not found, already exists, conflict: the same classes on every backend.
async fn object_classes(tb: TestBucket) {
    let b = &tb.bucket;
    let key = format!("{}/obj", unique("classes"));
    // Not found: a read says "absent", a swap against a missing object is a conflict.
    assert!(b.get(&key).await.unwrap().is_none());
    assert!(b.head(&key).await.unwrap().is_none());
    let err = b
        .put_swap(&key, b"v".to_vec(), Expected::Etag("abc".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    // Precondition failed on create-only: already exists.
    b.put_create(&key, b"v1".to_vec()).await.unwrap();
    let err = b.put_create(&key, b"v2".to_vec()).await.unwrap_err();
    assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err:?}");
    // Precondition failed on compare-and-swap: conflict.
    let err = b
        .put_swap(&key, b"v3".to_vec(), Expected::Etag("0000-wrong".into()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Conflict { .. }), "{err:?}");
    b.delete(&key).await.unwrap();
}

#[tokio::test]
async fn object_classes_file() {
    object_classes(file_bucket()).await;
}

#[tokio::test]
async fn object_classes_s3() {
    if let Some(tb) = s3_bucket() {
        object_classes(tb).await;
    }
}

fn s3_with(endpoint: &str) -> Bucket {
    Bucket::open(&StoreSpec::S3 {
        bucket: "b".into(),
        endpoint: Some(endpoint.to_owned()),
        region: "us-east-1".into(),
        access_key_id: "AKIDEXAMPLE".into(),
        secret_access_key: "very-secret-value".into(),
        allow_http: endpoint.starts_with("http://"),
    })
    .unwrap()
}

/// Why a read through an S3 bucket at `endpoint` could not reach the server (it must not).
async fn unreachable_reason(endpoint: &str) -> String {
    match s3_with(endpoint).get("x/latest").await.unwrap_err() {
        StoreError::Unreachable { reason, .. } => reason,
        other => panic!("{other:?}"),
    }
}

/// Network class: a name that does not resolve is told apart from a refused connection.
#[tokio::test]
async fn unresolvable_host_is_a_dns_failure() {
    assert_eq!(
        unreachable_reason("http://no-such-host.invalid:8333").await,
        "DNS lookup failed"
    );
}

/// Network class: TLS spoken to a plain-HTTP server fails the handshake.
#[tokio::test]
async fn tls_to_a_plain_http_server_is_a_tls_failure() {
    let endpoint = s3_spec().and_then(|spec| match spec {
        StoreSpec::S3 { endpoint, .. } => endpoint,
        _ => None,
    });
    let Some(hostport) = endpoint.as_deref().and_then(|e| e.strip_prefix("http://")) else {
        return;
    };
    assert_eq!(
        unreachable_reason(&format!("https://{hostport}")).await,
        "TLS handshake failed"
    );
}

/// Access denied comes from the HTTP status and the service's code: an unknown access key.
#[tokio::test]
async fn s3_unknown_access_key_is_access_denied() {
    let Some(spec) = s3_spec() else {
        return;
    };
    let spec = spec.with_credentials("AKIDNOSUCHKEY0000000", "whatever-secret");
    let err = Bucket::open(&spec)
        .unwrap()
        .get("x/latest")
        .await
        .unwrap_err();
    match &err {
        StoreError::AccessDenied { code, .. } => {
            assert!(
                [
                    "InvalidAccessKeyId",
                    "SignatureDoesNotMatch",
                    "AccessDenied"
                ]
                .contains(&code.as_str()),
                "{code}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(!format!("{err} {err:?}").contains("whatever-secret"));
}
