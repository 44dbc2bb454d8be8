//! Canary values: random enough to be recognised if a destination echoes one, never secret.
//!
//! std's `RandomState` is seeded from the OS once per process; hashing a counter and the time
//! with it gives values no other run (or case) shares. No CSPRNG is needed (and none is pulled
//! into this crate): a canary protects nothing, it only has to be unmistakable.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn word() -> u64 {
    static SEED: OnceLock<RandomState> = OnceLock::new();
    let mut h = SEED.get_or_init(RandomState::new).build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    h.write_u128(now);
    h.finish()
}

/// `vsync-check-<tag>-<24 hex digits>`.
pub(crate) fn value(tag: &str) -> String {
    format!("vsync-check-{tag}-{:016x}{:08x}", word(), word() as u32)
}

#[cfg(test)]
mod tests {
    #[test]
    fn values_differ_and_carry_the_tag() {
        let a = super::value("x");
        let b = super::value("x");
        assert_ne!(a, b);
        assert!(a.starts_with("vsync-check-x-") && a.len() == "vsync-check-x-".len() + 24);
    }
}
