//! Scrubbing a plugin's own output before it reaches the terminal: every value the host sent
//! to (or read back from) the child, raw and as the base64 the wire carries, is replaced. The
//! matching is the one redaction engine of [`crate::run::redact`].

use std::sync::{Arc, Mutex};

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::run::redact::Patterns;

/// Values shorter than this are not scrubbed (a one-letter value would blank every line).
const MIN_LEN: usize = 4;
const MASK: &[u8] = b"[redacted]";

/// The values one child has seen.
#[derive(Default)]
pub struct Redactor {
    values: Mutex<Vec<Zeroizing<Vec<u8>>>>,
    /// The compiled patterns of `values`, rebuilt after an `add`.
    compiled: Mutex<Option<Arc<Patterns>>>,
}

impl Redactor {
    /// Remember `value` (and its base64 form).
    pub fn add(&self, value: &[u8]) {
        if value.len() < MIN_LEN {
            return;
        }
        let b64 = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .encode(value)
                .into_bytes(),
        );
        let mut vs = self.values.lock().unwrap_or_else(|p| p.into_inner());
        for v in [value, &b64[..]] {
            if !vs.iter().any(|k| k[..] == *v) {
                vs.push(Zeroizing::new(v.to_vec()));
                *self.compiled.lock().unwrap_or_else(|p| p.into_inner()) = None;
            }
        }
    }

    fn patterns(&self) -> Arc<Patterns> {
        let mut slot = self.compiled.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(p) = slot.as_ref() {
            return p.clone();
        }
        let vs = self.values.lock().unwrap_or_else(|p| p.into_inner());
        let pairs = vs.iter().map(|v| (v.clone(), MASK.to_vec())).collect();
        let p = Arc::new(Patterns::from_pairs(pairs));
        *slot = Some(p.clone());
        p
    }

    /// One line of output, values masked, trailing newline dropped, as text.
    pub fn clean(&self, line: &[u8]) -> String {
        let mut end = line.len();
        while end > 0 && matches!(line[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        let out = Zeroizing::new(self.patterns().redact_all(&line[..end]));
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_raw_and_base64_are_masked() {
        let r = Redactor::default();
        r.add(b"hunter2-secret");
        r.add(b"abc"); // too short to scrub
        let b64 = base64::engine::general_purpose::STANDARD.encode(b"hunter2-secret");
        let line = format!("got hunter2-secret and {b64} and abc\n");
        assert_eq!(
            r.clean(line.as_bytes()),
            "got [redacted] and [redacted] and abc"
        );
    }

    #[test]
    fn a_value_added_later_is_masked_too_and_the_longest_wins() {
        let r = Redactor::default();
        r.add(b"abcd");
        assert_eq!(r.clean(b"abcdef"), "[redacted]ef");
        r.add(b"abcdef");
        assert_eq!(r.clean(b"abcdef abcd\r\n"), "[redacted] [redacted]");
    }
}
