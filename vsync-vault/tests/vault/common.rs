//! Shared helpers: backends, unique prefixes.

use vsync_vault::store::{Bucket, StoreSpec};

/// A random lower-case hex string.
pub(crate) fn rand_hex(n: usize) -> String {
    let mut b = vec![0u8; n];
    getrandom::getrandom(&mut b).expect("getrandom");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A unique key prefix for one test (no trailing slash).
pub(crate) fn unique(name: &str) -> String {
    format!("t{}_{name}", rand_hex(6))
}

/// The S3 spec from the environment, or `None` (printing "skipped: no S3") when the variables are
/// absent and `VSYNC_TEST_SERVICES` is not `1`.
pub(crate) fn s3_spec() -> Option<StoreSpec> {
    let services = std::env::var("VSYNC_TEST_SERVICES").is_ok_and(|v| v == "1");
    let Ok(endpoint) = std::env::var("VSYNC_TEST_S3_ENDPOINT") else {
        assert!(
            !services,
            "VSYNC_TEST_SERVICES=1 but VSYNC_TEST_S3_ENDPOINT is not set"
        );
        println!("skipped: no S3");
        return None;
    };
    let get = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_owned());
    Some(StoreSpec::S3 {
        bucket: get("VSYNC_TEST_S3_BUCKET", "vsync-test"),
        allow_http: endpoint.starts_with("http://"),
        endpoint: Some(endpoint),
        region: get("VSYNC_TEST_S3_REGION", "us-east-1"),
        access_key_id: get("VSYNC_TEST_S3_ACCESS_KEY", "test"),
        secret_access_key: get("VSYNC_TEST_S3_SECRET_KEY", "testtesttest"),
    })
}

/// A test bucket: `file://` in a temp dir (kept alive by the returned guard) or S3.
pub(crate) struct TestBucket {
    pub(crate) bucket: Bucket,
    pub(crate) _dir: Option<tempfile::TempDir>,
    pub(crate) root: Option<std::path::PathBuf>,
}

pub(crate) fn file_bucket() -> TestBucket {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let bucket = Bucket::open(&StoreSpec::File { root: root.clone() }).unwrap();
    TestBucket {
        bucket,
        _dir: Some(dir),
        root: Some(root),
    }
}

pub(crate) fn s3_bucket() -> Option<TestBucket> {
    let spec = s3_spec()?;
    Some(TestBucket {
        bucket: Bucket::open(&spec).unwrap(),
        _dir: None,
        root: None,
    })
}

/// Generate `mod $name { file(), s3() }` tokio tests calling `$body(TestBucket)`.
#[macro_export]
macro_rules! both_backends {
    ($name:ident, $body:path) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn file() {
                $body($crate::common::file_bucket()).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn s3() {
                if let Some(b) = $crate::common::s3_bucket() {
                    $body(b).await;
                }
            }
        }
    };
}
