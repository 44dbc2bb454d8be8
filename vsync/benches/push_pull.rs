//! Push and pull a vault of 200 keys plus a 5 MiB asset against the local S3 server
//! (scripts/test-services), and report where the time goes: key derivation, zip, crypto,
//! network. Run: `eval "$(scripts/test-services env)"; cargo bench -p vsync --bench push_pull`.
#![allow(clippy::print_stdout, clippy::print_stderr, unreachable_pub)]

use std::time::{Duration, Instant};

use vsync_crypto::kdf::DerivedKey;
use vsync_vault::layout::Prefix;
use vsync_vault::remote::Remote;
use vsync_vault::store::{Bucket, StoreSpec};
use vsync_vault::zip_bundle;

const ROUNDS: usize = 5;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let Some(endpoint) = var("VSYNC_TEST_S3_ENDPOINT") else {
        eprintln!(
            "push_pull bench: no S3 server; run `eval \"$(scripts/test-services env)\"` first"
        );
        return;
    };
    let spec = StoreSpec::S3 {
        bucket: var("VSYNC_TEST_S3_BUCKET").unwrap_or_else(|| "vsync-test".into()),
        allow_http: endpoint.starts_with("http://"),
        endpoint: Some(endpoint),
        region: var("VSYNC_TEST_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
        access_key_id: var("VSYNC_TEST_S3_ACCESS_KEY").unwrap_or_else(|| "test".into()),
        secret_access_key: var("VSYNC_TEST_S3_SECRET_KEY").unwrap_or_else(|| "testtesttest".into()),
    };
    let bucket = Bucket::open(&spec).expect("bucket");
    let repo = format!("bench_{}", std::process::id());
    let remote = Remote::new(bucket, Prefix::new(&repo, "bench").expect("prefix"));

    let dir = tempfile::tempdir().expect("tempdir");
    let vf = "infra/vault/bench";
    let vault = dir.path().join(vf);
    std::fs::create_dir_all(&vault).unwrap();
    let env: String = (0..200)
        .map(|i| format!("KEY_{i:03}=value-{i:03}-{}\n", "x".repeat(40)))
        .collect();
    std::fs::write(vault.join(".env.bench"), env).unwrap();
    let mut asset = vec![0u8; 5 << 20];
    vsync_crypto::random::fill(&mut asset);
    std::fs::write(vault.join("asset.bin"), &asset).unwrap();

    let t = Instant::now();
    let key = DerivedKey::derive(
        "bench-key-text-bench-key-text-bench-key-tex=",
        "bench-salt-bench-salt-123",
    );
    let kdf = t.elapsed();

    let (mut zip_t, mut seal_t, mut put_t, mut get_t, mut open_t, mut unzip_t) =
        (vec![], vec![], vec![], vec![], vec![], vec![]);
    let mut pointer = None;
    for round in 0..ROUNDS {
        let t = Instant::now();
        let zip = zip_bundle::build(dir.path(), vf).expect("zip");
        zip_t.push(ms(t.elapsed()));
        // A fresh prefix: synthetic, increasing names in the past (a real push waits for the clock).
        let ts = vsync_vault::ts::format_bundle_ts(
            time::OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(round as i64),
        );
        let t = Instant::now();
        let sealed = vsync_crypto::bundle::seal(&key, &ts, &zip).expect("seal");
        seal_t.push(ms(t.elapsed()));
        let t = Instant::now();
        pointer = Some(
            remote
                .publish(&ts, sealed, pointer.as_ref())
                .await
                .expect("publish"),
        );
        put_t.push(ms(t.elapsed()));

        let t = Instant::now();
        let p = remote.latest().await.expect("latest").expect("pointer");
        let object = remote.fetch_version(&p.ts).await.expect("fetch");
        get_t.push(ms(t.elapsed()));
        let t = Instant::now();
        let plain = vsync_crypto::bundle::open(&key, &object, &p.ts).expect("open");
        open_t.push(ms(t.elapsed()));
        let out = tempfile::tempdir().unwrap();
        let t = Instant::now();
        zip_bundle::extract_vault(&plain, &out.path().join("v"), &Default::default())
            .expect("extract");
        unzip_t.push(ms(t.elapsed()));
    }
    let (z, s, p, g, o, u) = (
        median(zip_t),
        median(seal_t),
        median(put_t),
        median(get_t),
        median(open_t),
        median(unzip_t),
    );
    println!(
        "push/pull of 200 keys + a 5 MiB asset against {} (median of {ROUNDS})",
        remote.bucket.label()
    );
    println!("  key derivation (once per process) {:8.1} ms", ms(kdf));
    println!(
        "  push: zip {z:7.1} ms | seal+encrypt {s:7.1} ms | upload+pointer swap {p:7.1} ms | total w/o KDF {:7.1} ms",
        z + s + p
    );
    println!(
        "  pull: download {g:7.1} ms | decrypt+verify {o:7.1} ms | unzip {u:7.1} ms | total w/o KDF {:7.1} ms",
        g + o + u
    );
}
