//! Passphrases, in one place: generated from the EFF large wordlist (7,776 words) with the OS
//! CSPRNG, read from a file, typed at a hidden prompt, or (upstream's flags, warned about) given
//! on the command line ([`input`]). Never written to a log.

pub mod input;

use zeroize::Zeroizing;

use crate::error::{CliError, ExitKind};

/// Words in a generated passphrase: 6 × log2(7776) ≈ 77.5 bits.
pub const WORDS: usize = 6;
/// Shortest passphrase accepted from a file.
pub const MIN_LEN: usize = 12;

/// A uniform index below `n` from the OS CSPRNG (rejection sampling, no modulo bias).
fn uniform(n: u32) -> u32 {
    let zone = u32::MAX - (u32::MAX % n);
    loop {
        let mut b = [0u8; 4];
        vsync_crypto::random::fill(&mut b);
        let x = u32::from_le_bytes(b);
        if x < zone {
            return x % n;
        }
    }
}

/// A fresh passphrase of [`WORDS`] words joined by `.`, and its strength in bits.
pub fn generate() -> (Zeroizing<String>, f64) {
    let list = eff_wordlist::large::LIST;
    let n = u32::try_from(list.len()).unwrap_or(u32::MAX);
    let mut out = Zeroizing::new(String::new());
    for i in 0..WORDS {
        if i > 0 {
            out.push('.');
        }
        out.push_str(list[uniform(n) as usize].1);
    }
    #[allow(clippy::cast_precision_loss)]
    let bits = WORDS as f64 * (list.len() as f64).log2();
    (out, bits)
}

/// Read a passphrase from a file (one trailing newline dropped).
pub fn from_file(path: &std::path::Path) -> Result<Zeroizing<String>, CliError> {
    let raw = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
        CliError::new(
            ExitKind::Failed,
            format!("cannot read the passphrase file {}: {e}", path.display()),
        )
    })?);
    let text = Zeroizing::new(
        raw.strip_suffix('\n')
            .map(|s| s.strip_suffix('\r').unwrap_or(s))
            .unwrap_or(&raw)
            .to_owned(),
    );
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passphrases_have_six_listed_words_and_differ() {
        assert!(eff_wordlist::large::LIST.len() >= 7776);
        let (a, bits) = generate();
        let (b, _) = generate();
        assert_ne!(*a, *b);
        assert_eq!(a.split('.').count(), WORDS);
        assert!(bits > 77.0);
        for w in a.split('.') {
            assert!(eff_wordlist::large::LIST.iter().any(|(_, x)| *x == w));
        }
    }
}
