//! Shared helpers: backends, unique prefixes.

use vsync_vault::StoreError;
use vsync_vault::store::{Bucket, StoreSpec};

/// Start `racers` tasks at once, racer `i` running `racer(i)`, and return their results in
/// racer order (the contention tests: exactly one of them may win).
pub(crate) async fn race<T, Fut>(racers: u8, racer: impl Fn(u8) -> Fut) -> Vec<T>
where
    Fut: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let tasks: Vec<_> = (0..racers).map(|i| tokio::spawn(racer(i))).collect();
    let mut results = Vec::with_capacity(tasks.len());
    for t in tasks {
        results.push(t.await.expect("a racer panicked"));
    }
    results
}

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

impl TestBucket {
    /// Write `bytes` at `key` directly (a hostile or damaged bucket), bypassing `Remote`.
    pub(crate) async fn plant(&self, key: &str, bytes: Vec<u8>) {
        self.bucket.put(key, bytes).await.unwrap();
    }

    /// The bytes stored at `key`, which must exist.
    pub(crate) async fn raw(&self, key: &str) -> Vec<u8> {
        self.bucket.get(key).await.unwrap().unwrap().bytes.to_vec()
    }
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

/// A bucket on the test S3 server whose bucket name and secret key `edit` changed (a wrong
/// secret, a bucket that does not exist).
pub(crate) fn s3_bucket_edited(edit: impl FnOnce(&mut String, &mut String)) -> Option<Bucket> {
    let mut spec = s3_spec()?;
    if let StoreSpec::S3 {
        bucket,
        secret_access_key,
        ..
    } = &mut spec
    {
        edit(bucket, secret_access_key);
    }
    Some(Bucket::open(&spec).unwrap())
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
        let fake = vsync_testkit::fakes::gcs_fake(dir.path())?;
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

/// A read and a create on `b`, both refused as `AccessDenied` with the service's `code`: the
/// two errors, for the caller's checks of what they show.
pub(crate) async fn read_and_create_denied(b: &Bucket, code: &str) -> [StoreError; 2] {
    let errs = [
        b.get("x/latest").await.unwrap_err(),
        b.put_create(&format!("{}/k", unique("denied")), b"v".to_vec())
            .await
            .unwrap_err(),
    ];
    for err in &errs {
        match err {
            StoreError::AccessDenied { code: got, .. } => assert_eq!(got, code),
            other => panic!("{other:?}"),
        }
    }
    errs
}
