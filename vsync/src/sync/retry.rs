//! Retry policy and the token-bucket limiter of the sync engine (docs/sync-contract.md §15.5).

use std::time::{Duration, Instant};

use vsync_dest_api::DestError;

/// At most this many attempts per call.
pub const MAX_ATTEMPTS: u32 = 3;
const BASE: Duration = Duration::from_millis(200);
const CAP: Duration = Duration::from_secs(30);

/// Delay before attempt `attempt + 1` (attempt counts from 1) after `err`, or None when the
/// error is not retryable or attempts are used up. `jitter` in [0, 1) scales a random extra of
/// up to half the delay. A `retry_after` from the remote wins over the computed delay.
pub fn next_delay(err: &DestError, attempt: u32, jitter: f64) -> Option<Duration> {
    if !err.retryable() || attempt >= MAX_ATTEMPTS {
        return None;
    }
    if let Some(ra) = err.retry_after {
        return Some(ra.min(CAP));
    }
    let exp = BASE.saturating_mul(1u32 << (attempt - 1).min(16)).min(CAP);
    let extra = exp.mul_f64(jitter.clamp(0.0, 1.0) / 2.0);
    Some(exp + extra)
}

/// A cheap jitter source in [0, 1) (not cryptographic; only spreads retries).
pub fn jitter() -> f64 {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(n % 1000) / 1000.0
}

/// Token bucket: `rate` tokens per second, burst `capacity`.
#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, capacity: f64, now: Instant) -> Self {
        let capacity = capacity.max(1.0);
        Self {
            rate: rate.max(0.001),
            capacity,
            tokens: capacity,
            last: now,
        }
    }

    /// Take one token at `now`: zero when available, else how long to wait (the token is
    /// reserved, so concurrent callers queue up behind each other).
    pub fn take(&mut self, now: Instant) -> Duration {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vsync_dest_api::DestErrorKind;

    #[test]
    fn only_retryable_kinds_and_at_most_three_attempts() {
        let t = DestError::new(DestErrorKind::Transient, "x");
        assert!(next_delay(&t, 1, 0.0).is_some());
        assert!(next_delay(&t, 2, 0.0).is_some());
        assert!(next_delay(&t, 3, 0.0).is_none());
        assert!(next_delay(&DestError::new(DestErrorKind::Auth, "x"), 1, 0.0).is_none());
    }

    #[test]
    fn backoff_grows_and_jitter_adds_at_most_half() {
        let t = DestError::new(DestErrorKind::Timeout, "x");
        let a = next_delay(&t, 1, 0.0).unwrap();
        let b = next_delay(&t, 2, 0.0).unwrap();
        assert_eq!(b, a * 2);
        let j = next_delay(&t, 1, 0.999).unwrap();
        assert!(j > a && j < a + a / 2 + Duration::from_millis(1));
    }

    #[test]
    fn retry_after_is_honoured() {
        let t = DestError::new(DestErrorKind::RateLimited, "x")
            .with_retry_after(Duration::from_secs(7));
        assert_eq!(next_delay(&t, 1, 0.5), Some(Duration::from_secs(7)));
    }

    #[test]
    fn bucket_allows_burst_then_paces() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0, 2.0, t0);
        assert_eq!(b.take(t0), Duration::ZERO);
        assert_eq!(b.take(t0), Duration::ZERO);
        let w = b.take(t0);
        assert!((w.as_secs_f64() - 0.1).abs() < 1e-6, "{w:?}");
        // a second later the bucket is full again
        let t1 = t0 + Duration::from_secs(1);
        assert_eq!(b.take(t1), Duration::ZERO);
    }
}
