//! Scrubbing a plugin's own output before it reaches the terminal: every value the host sent
//! to (or read back from) the child, raw and as the base64 the wire carries, is replaced.

use std::sync::Mutex;

use base64::Engine as _;
use zeroize::Zeroizing;

/// Values shorter than this are not scrubbed (a one-letter value would blank every line).
const MIN_LEN: usize = 4;
const MASK: &[u8] = b"[redacted]";

/// The values one child has seen.
#[derive(Default)]
pub struct Redactor {
    values: Mutex<Vec<Zeroizing<Vec<u8>>>>,
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
            }
        }
        // longest first, so a value containing another is masked whole
        vs.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }

    /// One line of output, values masked, trailing newline dropped, as text.
    pub fn clean(&self, line: &[u8]) -> String {
        let mut out = Zeroizing::new(line.to_vec());
        while out.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            out.pop();
        }
        let vs = self.values.lock().unwrap_or_else(|p| p.into_inner());
        for v in vs.iter() {
            out = Zeroizing::new(replace_all(&out, v, MASK));
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

fn replace_all(hay: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(hay.len());
    let mut i = 0;
    while i < hay.len() {
        if hay[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(hay[i]);
            i += 1;
        }
    }
    out
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
}
