//! A streaming filter that replaces vault values in the child's output with `[vsync:KEY]`
//! (`vsync run --redact`).
//!
//! Output arrives in arbitrary pieces: a value may be split across two writes, or written one
//! byte at a time. The filter therefore holds back the last `longest pattern − 1` bytes of what
//! it has seen (the most a match still in progress can have consumed) and releases them when
//! more output proves them harmless, or when the stream ends. Among patterns that overlap, the
//! one starting first wins, and of those the longest (a whole PEM key rather than its first line).

use aho_corasick::{AhoCorasick, MatchKind};
use zeroize::Zeroizing;

use super::masks;

/// One value to redact, under the key name that replaces it.
pub struct Secret<'a> {
    pub key: &'a str,
    pub value: &'a str,
}

/// The replacement patterns of one run: every form of every value (see [`masks::forms`]).
pub struct Patterns {
    matcher: Option<AhoCorasick>,
    replacements: Vec<Vec<u8>>,
    longest: usize,
}

impl Patterns {
    /// Patterns for `secrets`; values shorter than [`masks::MIN_CHARS`] are left out, each with
    /// a note on stderr.
    pub fn new<'a>(secrets: impl IntoIterator<Item = Secret<'a>>) -> Self {
        let mut pairs = Vec::new();
        for s in secrets {
            if !masks::long_enough(s.value) {
                if !s.value.is_empty() {
                    masks::note_too_short(s.key, "redacted");
                }
                continue;
            }
            for form in masks::forms(s.value) {
                let pattern = Zeroizing::new(form.as_bytes().to_vec());
                pairs.push((pattern, format!("[vsync:{}]", s.key).into_bytes()));
            }
        }
        Self::from_pairs(pairs)
    }

    /// Patterns from byte strings, each with its replacement (the caller decides which values
    /// are long enough to redact).
    pub fn from_pairs(pairs: Vec<(Zeroizing<Vec<u8>>, Vec<u8>)>) -> Self {
        let longest = pairs.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
        let matcher = if pairs.is_empty() {
            None
        } else {
            // Building only fails past size limits far above what a vault holds; redacting
            // nothing is not an option then, so the caller gets None and must refuse to run.
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(pairs.iter().map(|(p, _)| p.as_slice()))
                .ok()
        };
        Self {
            matcher,
            replacements: pairs.into_iter().map(|(_, r)| r).collect(),
            longest,
        }
    }

    /// `text` with every pattern replaced, when no more input follows it.
    pub fn redact_all(&self, text: &[u8]) -> Vec<u8> {
        let mut f = self.filter();
        let mut out = f.push(text);
        out.extend(f.finish());
        out
    }

    /// Whether the patterns could not be compiled although there were values to redact.
    pub fn failed(&self) -> bool {
        self.matcher.is_none() && self.longest > 0
    }

    /// A fresh filter for one stream.
    pub fn filter(&self) -> Filter<'_> {
        Filter {
            patterns: self,
            pending: Zeroizing::new(Vec::new()),
        }
    }
}

/// The filter state of one stream (stdout or stderr).
pub struct Filter<'p> {
    patterns: &'p Patterns,
    /// Seen but not yet released: never more than `longest − 1` bytes between calls.
    pending: Zeroizing<Vec<u8>>,
}

impl Filter<'_> {
    /// Feed `input`; returns what may be written out now.
    pub fn push(&mut self, input: &[u8]) -> Vec<u8> {
        self.pending.extend_from_slice(input);
        self.release(false)
    }

    /// The stream ended: returns everything still held, redacted.
    pub fn finish(&mut self) -> Vec<u8> {
        self.release(true)
    }

    fn release(&mut self, at_end: bool) -> Vec<u8> {
        let p = self.patterns;
        let Some(matcher) = &p.matcher else {
            return std::mem::take(&mut *self.pending);
        };
        let len = self.pending.len();
        // A match starting at or after `cutoff` might still grow (or only begin to exist) with
        // more input; one starting before it is complete, since the longest pattern fits.
        let cutoff = if at_end {
            len
        } else {
            len.saturating_sub(p.longest - 1)
        };
        let mut out = Vec::with_capacity(len);
        let mut pos = 0;
        for m in matcher.find_iter(&self.pending[..]) {
            if m.start() >= cutoff {
                break;
            }
            out.extend_from_slice(&self.pending[pos..m.start()]);
            out.extend_from_slice(&p.replacements[m.pattern().as_usize()]);
            pos = m.end();
        }
        let keep_from = pos.max(cutoff);
        out.extend_from_slice(&self.pending[pos..keep_from]);
        let rest = self.pending[keep_from..].to_vec();
        let old = std::mem::replace(&mut *self.pending, rest);
        drop(Zeroizing::new(old));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn patterns(pairs: &[(&str, &str)]) -> Patterns {
        Patterns::new(pairs.iter().map(|(k, v)| Secret { key: k, value: v }))
    }

    /// The whole of `input` through a filter, cut into pieces at the given offsets.
    fn through(p: &Patterns, input: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut f = p.filter();
        let mut out = Vec::new();
        let mut last = 0;
        for &c in cuts {
            out.extend(f.push(&input[last..c]));
            last = c;
        }
        out.extend(f.push(&input[last..]));
        out.extend(f.finish());
        out
    }

    #[test]
    fn a_value_split_at_every_byte_position_is_still_replaced() {
        let p = patterns(&[("TOKEN", "s3cr3t-value")]);
        let input = b"before s3cr3t-value after";
        let want = b"before [vsync:TOKEN] after".to_vec();
        for i in 0..=input.len() {
            assert_eq!(through(&p, input, &[i]), want, "cut at {i}");
            for j in i..=input.len() {
                assert_eq!(through(&p, input, &[i, j]), want, "cuts at {i},{j}");
            }
        }
    }

    #[test]
    fn one_byte_writes_are_redacted_and_nothing_else_changes() {
        let p = patterns(&[("TOKEN", "s3cr3t-value"), ("PW", "hunter22")]);
        let input = b"x s3cr3t-value y hunter22 s3cr3t-valu z hunter2";
        let cuts: Vec<usize> = (1..input.len()).collect();
        assert_eq!(
            through(&p, input, &cuts),
            b"x [vsync:TOKEN] y [vsync:PW] s3cr3t-valu z hunter2".to_vec()
        );
    }

    #[test]
    fn the_longest_of_overlapping_patterns_wins() {
        let pem = "-----BEGIN-----\nAAAABBBB\n-----END-----";
        let p = patterns(&[("LINE", "AAAABBBB"), ("PEM", pem), ("AB", "BBBBCCCC")]);
        let input = format!("k={pem};AAAABBBBCCCC");
        for i in 0..=input.len() {
            assert_eq!(
                through(&p, input.as_bytes(), &[i]),
                b"k=[vsync:PEM];[vsync:LINE]CCCC".to_vec(),
                "cut at {i}"
            );
        }
    }

    #[test]
    fn derived_forms_are_replaced_too() {
        let p = patterns(&[("PW", "p@ss w/\"q\"")]);
        let b64 =
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "p@ss w/\"q\"");
        let input = format!("{b64} p%40ss%20w%2F%22q%22 {{\"pw\":\"p@ss w/\\\"q\\\"\"}}");
        let out = String::from_utf8(through(&p, input.as_bytes(), &[3, 17, 30])).unwrap();
        assert_eq!(out, "[vsync:PW]== [vsync:PW] {\"pw\":\"[vsync:PW]\"}");
    }

    #[test]
    fn held_back_bytes_never_exceed_the_longest_pattern() {
        let p = patterns(&[("K", "abcdefgh")]);
        let mut f = p.filter();
        let mut out = Vec::new();
        for b in b"zzzzzzzzzzzzzzzzzzzzzzzzzzzzzz" {
            out.extend(f.push(&[*b]));
            assert!(f.pending.len() < p.longest);
        }
        assert_eq!(out.len() + f.pending.len(), 30);
    }

    #[test]
    fn short_values_are_not_redacted_and_no_values_pass_everything() {
        let p = patterns(&[("A", "abc"), ("E", "")]);
        assert!(!p.failed());
        assert_eq!(through(&p, b"abc abc", &[1, 2]), b"abc abc".to_vec());
    }
}
