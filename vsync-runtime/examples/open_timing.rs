//! How long `Vault::open` takes against the local S3 server, and how much of it is the key
//! derivation (PBKDF2-SHA256, 600 000 rounds).
//!
//! ```sh
//! scripts/test-services up && eval "$(scripts/test-services env)"
//! cargo run --release -p vsync-runtime --example open_timing [-- RUNS]
//! ```
//!
//! It pushes one small vault under a fresh prefix the way `vsync push` does, then opens it RUNS
//! times (default 10) and prints the median and min of: the whole open, the KDF alone, and the
//! rest (fetches, decryption, zip). The KDF overlaps the version download, so `open` is less
//! than `kdf + fetches`.

// Printing is allowed here: an example prints its measurements.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use vsync_crypto::cfg_blob::{self, RuntimeConfig};
use vsync_crypto::kdf::DerivedKey;
use vsync_crypto::secret::SecretText;
use vsync_runtime::Vault;
use vsync_vault::layout::Prefix;
use vsync_vault::remote::{Remote, seal_bundle};
use vsync_vault::store::{Bucket, StoreSpec};

const PASSPHRASE: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
const SALT: &str = "ICEiIyQlJicoKSorLC0uLzAx";
const TS: &str = "20260523-114201";

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        eprintln!("{name} is not set: run `eval \"$(scripts/test-services env)\"` first");
        std::process::exit(2)
    })
}

fn stats(mut xs: Vec<Duration>) -> (Duration, Duration) {
    xs.sort();
    (xs[xs.len() / 2], xs[0])
}

fn ms(d: Duration) -> String {
    format!("{:7.1} ms", d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10)
        .max(1);
    let (endpoint, bucket, access, secret, region) = (
        var("VSYNC_TEST_S3_ENDPOINT"),
        var("VSYNC_TEST_S3_BUCKET"),
        var("VSYNC_TEST_S3_ACCESS_KEY"),
        var("VSYNC_TEST_S3_SECRET_KEY"),
        var("VSYNC_TEST_S3_REGION"),
    );
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let prefix = format!("runtime-timing-{nanos}/dev/");

    // Push one vault: 20 keys and a 4 KiB asset.
    let tmp = tempfile::tempdir().expect("temp dir");
    let folder = tmp.path().join("infra/vault/dev");
    std::fs::create_dir_all(&folder).expect("vault folder");
    let env_file: String = (0..20).map(|i| format!("KEY_{i}=value-{i}\n")).collect();
    std::fs::write(folder.join(".env.dev"), env_file).expect("env file");
    std::fs::write(folder.join("cert.pem"), vec![b'x'; 4096]).expect("asset");
    let zip = vsync_vault::zip_bundle::build(tmp.path(), "infra/vault/dev").expect("zip");
    let key = DerivedKey::derive(PASSPHRASE, SALT);
    let spec = StoreSpec::from_upstream_s3(&endpoint, &region, &bucket, &access, &secret, true);
    let remote = Remote::new(
        Bucket::open(&spec).expect("bucket"),
        Prefix::from_raw(&prefix).expect("prefix"),
    );
    remote
        .publish(TS, seal_bundle(&key, TS, &zip).expect("seal"), None)
        .await
        .expect("push");

    let blob = cfg_blob::encode(&RuntimeConfig {
        v: 1,
        endpoint,
        region,
        bucket,
        access_key_id: access,
        secret_access_key: SecretText::new(secret),
        prefix,
        env: "dev".into(),
        salt: SALT.into(),
        iterations: vsync_crypto::kdf::ITERATIONS,
        extra: Default::default(),
    })
    .expect("blob");

    let (mut open, mut kdf) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = Instant::now();
        let v = Vault::open_with(&blob, PASSPHRASE).await.expect("open");
        open.push(t.elapsed());
        assert_eq!(v.keys().len(), 20);
        let t = Instant::now();
        std::hint::black_box(DerivedKey::derive(PASSPHRASE, SALT));
        kdf.push(t.elapsed());
    }
    let (open_med, open_min) = stats(open);
    let (kdf_med, kdf_min) = stats(kdf);
    println!("runs: {runs}");
    println!("Vault::open  median {}  min {}", ms(open_med), ms(open_min));
    println!("KDF alone    median {}  min {}", ms(kdf_med), ms(kdf_min));
    println!(
        "KDF share of open (median): {:.0} %; the rest (2 round trips, AES-GCM, zip): {}",
        100.0 * kdf_med.as_secs_f64() / open_med.as_secs_f64(),
        ms(open_med.saturating_sub(kdf_med))
    );
}
