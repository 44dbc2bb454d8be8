//! Criterion benchmarks: PBKDF2 at 600 000 iterations, RQE1 encrypt/decrypt at 1 KiB and
//! 10 MiB, the whole bundle open at 10 MiB, and runtime-blob decode.
//!
//! `cargo bench -p vsync-crypto --bench crypto` (numbers in docs/benchmarks.md).

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use vsync_crypto::kdf::DerivedKey;
use vsync_crypto::{bundle, cfg_blob, rqe1};

const BLOB: &str = "vsync-cfg-v1:H4sIAAAAAAAAAzVOvQrCMBh8l5tTqwgO2YJ0qK2guLhJTD81aJOSL239wXeXoN52x_29MEDOBMg1nbcuQuISY8cyz3k-0a1-eqdHnhjfQiDQ2XoHiZ4z0hyzGQSOvblSCmrTUsZkAkWGgDaGmCt6lA0kVFWqYq_Wm7qAwNel_g7InwKBLtDJ3n91h5GOeRd8kyN9HCCRWGrQt7RZLgtbPra3lTW-2vlQL6d9_VR3CNhIQUfrHUMupgnvDyAKfInuAAAA";

fn kdf(c: &mut Criterion) {
    let mut g = c.benchmark_group("kdf");
    g.sample_size(10).measurement_time(Duration::from_secs(8));
    g.bench_function("pbkdf2_hmac_sha256_600k", |b| {
        b.iter(|| DerivedKey::derive(black_box("password"), black_box("saltsaltsaltsalt")));
    });
    g.finish();
}

fn rqe1_bench(c: &mut Criterion) {
    let key = DerivedKey::from_bytes([7; 32]);
    let mut g = c.benchmark_group("rqe1");
    for (label, size) in [("1KiB", 1024usize), ("10MiB", 10 << 20)] {
        let plain: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let env = rqe1::encrypt(&key, &plain);
        if size > 1 << 20 {
            g.sample_size(20);
        }
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("encrypt", label), &plain, |b, p| {
            b.iter(|| rqe1::encrypt(&key, black_box(p)));
        });
        g.bench_with_input(BenchmarkId::new("decrypt", label), &env, |b, e| {
            b.iter(|| rqe1::decrypt(&key, black_box(e)).unwrap());
        });
    }
    g.finish();

    let mut g = c.benchmark_group("bundle");
    g.sample_size(20);
    let zip: Vec<u8> = (0..10usize << 20).map(|i| (i * 31) as u8).collect();
    let obj = bundle::seal(&key, "20260523-114201", &zip).unwrap();
    g.throughput(Throughput::Bytes(zip.len() as u64));
    g.bench_function("open/10MiB", |b| {
        b.iter(|| bundle::open(&key, black_box(&obj), "20260523-114201").unwrap());
    });
    g.finish();
}

fn cfg(c: &mut Criterion) {
    let cfg = cfg_blob::decode(BLOB).unwrap();
    let mut g = c.benchmark_group("cfg_blob");
    g.bench_function("decode", |b| {
        b.iter(|| cfg_blob::decode(black_box(BLOB)).unwrap())
    });
    g.bench_function("encode", |b| {
        b.iter(|| cfg_blob::encode(black_box(&cfg)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, kdf, rqe1_bench, cfg);
criterion_main!(benches);
