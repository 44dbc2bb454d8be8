//! Time one PBKDF2-HMAC-SHA256 derivation (600 000 iterations) over N runs.
//!
//! `cargo run --release -p vsync-crypto --example kdf_bench -- [RUNS] [--reference] [--floor]`
//!
//! Prints `min_ms=… median_ms=… runs=…` for our implementation, and the same for the `pbkdf2`
//! crate with `--reference`, and for a bare chain of 1.2 million `sha2::compress256` calls
//! with `--floor`. Used by `scripts/bench-kdf`.

// Printing is allowed here: an example prints its measurements.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::time::Instant;

use sha2::Sha256;
use sha2::digest::generic_array::GenericArray;
use vsync_crypto::kdf::{ITERATIONS, pbkdf2_hmac_sha256};

const EXPECTED: &str = "3257cf76e56a9cc4e3afa561c3fd4daa6952b61e91c4e365955121042cfb94a2";

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn time(runs: usize, f: impl Fn(&mut [u8; 32])) -> (f64, f64) {
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let mut out = [0u8; 32];
        let t = Instant::now();
        f(&mut out);
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(hex(&out), EXPECTED, "wrong key");
    }
    ms.sort_by(f64::total_cmp);
    (ms[0], ms[ms.len() / 2])
}

fn time_raw(runs: usize, f: impl Fn() -> u32) -> (f64, f64) {
    let mut ms = Vec::with_capacity(runs);
    for _ in 0..runs {
        let t = Instant::now();
        std::hint::black_box(f());
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    (ms[0], ms[ms.len() / 2])
}

fn main() {
    let mut runs = 9usize;
    let mut reference = false;
    let mut floor = false;
    for a in std::env::args().skip(1) {
        if a == "--reference" {
            reference = true;
        } else if a == "--floor" {
            floor = true;
        } else if let Ok(n) = a.parse::<usize>() {
            runs = n.max(1);
        }
    }
    // Warm up (CPU frequency, page faults).
    time(1, |o| {
        pbkdf2_hmac_sha256(b"password", b"saltsaltsaltsalt", ITERATIONS, o)
    });
    let (min, med) = time(runs, |o| {
        pbkdf2_hmac_sha256(b"password", b"saltsaltsaltsalt", ITERATIONS, o);
    });
    println!("vsync min_ms={min:.1} median_ms={med:.1} runs={runs}");
    if floor {
        // 1.2M dependent SHA-256 compressions through the same sha2 entry point: the cost of
        // PBKDF2 with zero overhead around the compression function.
        let (min, med) = time_raw(runs, || {
            let mut state = [0x6a09_e667u32; 8];
            let mut block = [0u8; 64];
            for _ in 0..2 * ITERATIONS {
                sha2::compress256(
                    &mut state,
                    core::slice::from_ref(GenericArray::from_slice(&block)),
                );
                block[..4].copy_from_slice(&state[0].to_be_bytes());
            }
            state[0]
        });
        println!("sha2-compress-chain min_ms={min:.1} median_ms={med:.1} runs={runs}");
    }
    if reference {
        let (min, med) = time(runs, |o| {
            pbkdf2::pbkdf2_hmac::<Sha256>(b"password", b"saltsaltsaltsalt", ITERATIONS, o);
        });
        println!("pbkdf2-crate min_ms={min:.1} median_ms={med:.1} runs={runs}");
    }
}
