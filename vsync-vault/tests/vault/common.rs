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

/// A test bucket: `file://` in a temp dir (kept alive by the returned guard), S3, GCS (our fake,
/// alive as long as this) or Azure (Azurite).
pub(crate) struct TestBucket {
    pub(crate) bucket: Bucket,
    pub(crate) _dir: Option<tempfile::TempDir>,
    pub(crate) root: Option<std::path::PathBuf>,
    pub(crate) _fake: Option<vsync_testkit::fakes::PythonFake>,
}

pub(crate) fn file_bucket() -> TestBucket {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("store");
    let bucket = Bucket::open(&StoreSpec::File { root: root.clone() }).unwrap();
    TestBucket {
        bucket,
        _dir: Some(dir),
        root: Some(root),
        _fake: None,
    }
}

pub(crate) fn s3_bucket() -> Option<TestBucket> {
    let spec = s3_spec()?;
    Some(TestBucket {
        bucket: Bucket::open(&spec).unwrap(),
        _dir: None,
        root: None,
        _fake: None,
    })
}

/// A running GCS fake (tests/fakes/gcs_fake.py) with bucket `vsync-test`, the key file of the
/// service account it trusts, and one of an account it does not.
pub(crate) struct Gcs {
    pub(crate) fake: vsync_testkit::fakes::PythonFake,
    pub(crate) dir: tempfile::TempDir,
}

impl Gcs {
    pub(crate) fn start() -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        let sa = dir.path().join("sa.json");
        let other = dir.path().join("other-sa.json");
        let fake = vsync_testkit::fakes::PythonFake::spawn(
            "gcs_fake.py",
            &["cryptography"],
            &[
                "--bucket",
                "vsync-test",
                "--service-account-out",
                sa.to_str().unwrap(),
                "--untrusted-service-account-out",
                other.to_str().unwrap(),
            ],
        )?;
        Some(Self { fake, dir })
    }

    pub(crate) fn spec(&self, bucket: &str) -> StoreSpec {
        StoreSpec::Gcs {
            bucket: bucket.to_owned(),
            endpoint: Some(self.fake.url()),
        }
    }

    /// The environment of a user whose `GOOGLE_APPLICATION_CREDENTIALS` names `file`.
    pub(crate) fn env(&self, file: &str) -> Vec<(String, String)> {
        vec![(
            "GOOGLE_APPLICATION_CREDENTIALS".to_owned(),
            self.dir.path().join(file).to_str().unwrap().to_owned(),
        )]
    }
}

pub(crate) fn gcs_bucket() -> Option<TestBucket> {
    let gcs = Gcs::start()?;
    let bucket = Bucket::open_with_env(&gcs.spec("vsync-test"), &gcs.env("sa.json")).unwrap();
    Some(TestBucket {
        bucket,
        _dir: Some(gcs.dir),
        root: None,
        _fake: Some(gcs.fake),
    })
}

/// The Azure spec of the Azurite container and the environment with its account key.
pub(crate) fn azure_spec() -> Option<(StoreSpec, Vec<(String, String)>)> {
    let Some(az) = vsync_testkit::services::azurite() else {
        vsync_testkit::services::skip("azure store", "VSYNC_TEST_AZURITE_*");
        return None;
    };
    Some((
        StoreSpec::Azure {
            container: az.container.clone(),
            account: Some(az.account.clone()),
            endpoint: Some(az.endpoint.clone()),
        },
        vec![("AZURE_STORAGE_ACCOUNT_KEY".to_owned(), az.key)],
    ))
}

pub(crate) fn azure_bucket() -> Option<TestBucket> {
    let (spec, env) = azure_spec()?;
    Some(TestBucket {
        bucket: Bucket::open_with_env(&spec, &env).unwrap(),
        _dir: None,
        root: None,
        _fake: None,
    })
}

/// Generate `mod $name { file(), s3(), gcs(), azure() }` tokio tests calling `$body(TestBucket)`.
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
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn gcs() {
                if let Some(b) = $crate::common::gcs_bucket() {
                    $body(b).await;
                }
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn azure() {
                if let Some(b) = $crate::common::azure_bucket() {
                    $body(b).await;
                }
            }
        }
    };
}
