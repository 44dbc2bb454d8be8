//! Random material from the OS CSPRNG (docs/formats.md §1.5).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Fill `buf` from the OS CSPRNG.
///
/// # Panics
/// When the operating system's random source fails, which leaves no safe way to continue.
pub fn fill(buf: &mut [u8]) {
    if let Err(e) = getrandom::getrandom(buf) {
        panic!("the OS random number generator failed: {e}");
    }
}

/// A fresh per-env config salt: B64STD of 18 random bytes (24 characters, no padding).
#[must_use]
pub fn config_salt() -> String {
    let mut raw = [0u8; 18];
    fill(&mut raw);
    STANDARD.encode(raw)
}

/// A fresh share-file (or keytree) salt: B64STD of 16 random bytes (24 characters, `==` at the end).
#[must_use]
pub fn share_salt() -> String {
    let mut raw = [0u8; 16];
    fill(&mut raw);
    STANDARD.encode(raw)
}

/// A fresh 12-byte AES-GCM IV.
#[must_use]
pub fn iv() -> [u8; 12] {
    let mut iv = [0u8; 12];
    fill(&mut iv);
    iv
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let s = config_salt();
        assert_eq!(s.len(), 24);
        assert!(!s.contains('='));
        let s = share_salt();
        assert_eq!(s.len(), 24);
        assert!(s.ends_with("=="));
        assert_ne!(iv(), iv());
    }
}
