//! PBKDF2-HMAC-SHA256 with text inputs (docs/formats.md §1.6).
//!
//! The password and the salt are **text**, fed to PBKDF2 as their UTF-8 bytes; neither is ever
//! base64-decoded first. The implementation precomputes the HMAC inner and outer states once, so
//! each iteration costs exactly two SHA-256 compressions on pre-padded blocks (the physical
//! minimum for this construction).

use core::fmt;

use sha2::compress256;
use sha2::digest::generic_array::GenericArray;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

/// The iteration count used by every vsync artefact (docs/formats.md §1.6).
pub const ITERATIONS: u32 = 600_000;

/// Length of a derived key in bytes (AES-256).
pub const KEY_LEN: usize = 32;

/// A 32-byte AES-256 key derived with PBKDF2. Zeroized on drop; `Debug` prints a redaction.
#[derive(Clone)]
pub struct DerivedKey(Zeroizing<[u8; KEY_LEN]>);

impl DerivedKey {
    /// Derive with the standard [`ITERATIONS`] (600 000).
    #[must_use]
    pub fn derive(password: &str, salt: &str) -> Self {
        Self::derive_with_iterations(password, salt, ITERATIONS)
    }

    /// Derive with an explicit iteration count (the runtime blob carries one; tests use small
    /// counts). An iteration count of 0 is treated as 1.
    #[must_use]
    pub fn derive_with_iterations(password: &str, salt: &str, iterations: u32) -> Self {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        pbkdf2_hmac_sha256(
            password.as_bytes(),
            salt.as_bytes(),
            iterations,
            &mut key[..],
        );
        Self(key)
    }

    /// Wrap raw key bytes (tests, benchmarks, fuzzing).
    #[must_use]
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The raw key bytes. Use only to key a cipher or a MAC.
    #[must_use]
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for DerivedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DerivedKey(<redacted>)")
    }
}

/// SHA-256 initial hash value (FIPS 180-4 §5.3.3).
const H0: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

const BLOCK: usize = 64;
const DIGEST: usize = 32;

#[inline(always)]
fn compress(state: &mut [u32; 8], block: &[u8; BLOCK]) {
    compress256(
        state,
        core::slice::from_ref(GenericArray::from_slice(block)),
    );
}

#[inline(always)]
fn store_be(words: &[u32; 8], out: &mut [u8]) {
    for (chunk, w) in out.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&w.to_be_bytes());
    }
}

/// A 64-byte block holding a 32-byte digest followed by the SHA-256 padding for a message of
/// 64 + 32 bytes (one key block already absorbed): `0x80`, zeros, then the bit length 768.
fn digest_block() -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    b[DIGEST] = 0x80;
    b[BLOCK - 8..].copy_from_slice(&(((BLOCK + DIGEST) as u64) * 8).to_be_bytes());
    b
}

/// Finish a SHA-256 computation whose state has absorbed exactly one 64-byte block, over the
/// concatenation of `parts`. Returns the final state words.
fn finish(mut state: [u32; 8], parts: &[&[u8]]) -> [u32; 8] {
    let mut block = [0u8; BLOCK];
    let mut fill = 0usize;
    let mut total: u64 = BLOCK as u64;
    for part in parts {
        let mut rest = *part;
        total = total.wrapping_add(rest.len() as u64);
        while !rest.is_empty() {
            let take = (BLOCK - fill).min(rest.len());
            block[fill..fill + take].copy_from_slice(&rest[..take]);
            fill += take;
            rest = &rest[take..];
            if fill == BLOCK {
                compress(&mut state, &block);
                fill = 0;
            }
        }
    }
    block[fill] = 0x80;
    block[fill + 1..].fill(0);
    if fill + 1 > BLOCK - 8 {
        compress(&mut state, &block);
        block.fill(0);
    }
    block[BLOCK - 8..].copy_from_slice(&total.wrapping_mul(8).to_be_bytes());
    compress(&mut state, &block);
    block.zeroize();
    state
}

/// PBKDF2-HMAC-SHA256 (RFC 8018 §5.2) into `out`, for any `out` length and any password
/// length. An iteration count of 0 is treated as 1. Output blocks past the 2³²−1-th (an
/// impossible 128 GiB request) are left zero.
pub fn pbkdf2_hmac_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    // HMAC key block: the password, or its SHA-256 when longer than a block.
    let mut key_block = [0u8; BLOCK];
    if password.len() > BLOCK {
        let mut h = Sha256::digest(password);
        key_block[..DIGEST].copy_from_slice(&h);
        h.zeroize();
    } else {
        key_block[..password.len()].copy_from_slice(password);
    }

    let mut pad = [0u8; BLOCK];
    for (p, k) in pad.iter_mut().zip(&key_block) {
        *p = k ^ 0x36;
    }
    let mut inner0 = H0;
    compress(&mut inner0, &pad);
    for (p, k) in pad.iter_mut().zip(&key_block) {
        *p = k ^ 0x5c;
    }
    let mut outer0 = H0;
    compress(&mut outer0, &pad);
    pad.zeroize();
    key_block.zeroize();

    let mut block_in = digest_block();
    let mut block_out = digest_block();
    let mut u = [0u32; 8];
    let mut acc = [0u32; 8];
    let mut acc_bytes = [0u8; DIGEST];

    for (idx, chunk) in out.chunks_mut(DIGEST).enumerate() {
        let Some(i) = idx.checked_add(1).and_then(|n| u32::try_from(n).ok()) else {
            chunk.fill(0);
            continue;
        };
        // U1 = HMAC(P, S || INT(i))
        let inner = finish(inner0, &[salt, &i.to_be_bytes()]);
        store_be(&inner, &mut block_out[..DIGEST]);
        u = outer0;
        compress(&mut u, &block_out);
        acc = u;

        // U2..Uc: two compressions each, state kept as words.
        for _ in 1..iterations {
            store_be(&u, &mut block_in[..DIGEST]);
            let mut s = inner0;
            compress(&mut s, &block_in);
            store_be(&s, &mut block_out[..DIGEST]);
            u = outer0;
            compress(&mut u, &block_out);
            for (a, w) in acc.iter_mut().zip(&u) {
                *a ^= w;
            }
        }

        store_be(&acc, &mut acc_bytes);
        chunk.copy_from_slice(&acc_bytes[..chunk.len()]);
    }

    inner0.zeroize();
    outer0.zeroize();
    block_in.zeroize();
    block_out.zeroize();
    u.zeroize();
    acc.zeroize();
    acc_bytes.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    fn reference(password: &[u8], salt: &[u8], iterations: u32, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, &mut out);
        out
    }

    fn ours(password: &[u8], salt: &[u8], iterations: u32, len: usize) -> Vec<u8> {
        let mut out = vec![0u8; len];
        pbkdf2_hmac_sha256(password, salt, iterations, &mut out);
        out
    }

    #[test]
    fn rfc7914_vectors() {
        // RFC 7914 §11 PBKDF2-HMAC-SHA256 vectors.
        assert_eq!(
            hex(&ours(b"passwd", b"salt", 1, 64)),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
        assert_eq!(
            hex(&ours(b"Password", b"NaCl", 80000, 64)),
            "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56\
             a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"
        );
    }

    /// The 600 000-iteration key of (`passphrase`, `salt`) is `want` (hex).
    #[track_caller]
    fn assert_derives(passphrase: &str, salt: &str, want: &str) {
        assert_eq!(hex(DerivedKey::derive(passphrase, salt).expose()), want);
    }

    #[test]
    fn known_answer_600k() {
        assert_derives(
            "password",
            "saltsaltsaltsalt",
            "3257cf76e56a9cc4e3afa561c3fd4daa6952b61e91c4e365955121042cfb94a2",
        );
    }

    #[test]
    fn formats_16_1_vectors() {
        assert_derives(
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            "ICEiIyQlJicoKSorLC0uLzAx",
            "3b15da2401ecd11e73ecb6b60223b7faa2c7737e2c1d33b5257474898ae87d12",
        );
        assert_derives(
            "correct-horse-battery-staple",
            "oKGio6SlpqeoqaqrrK2urw==",
            "a5ecde2d95800725a96b54aaf4d89595d88005fa2ba0e26767d87ede0a99ba36",
        );
    }

    #[test]
    fn matches_reference_crate_across_shapes() {
        let long_pw = vec![0xa5u8; 200];
        let long_salt = vec![0x3cu8; 150];
        let pws: [&[u8]; 6] = [b"", b"p", &[7u8; 63], &[7u8; 64], &[7u8; 65], &long_pw];
        let salts: [&[u8]; 6] = [b"", b"s", &[9u8; 51], &[9u8; 52], &[9u8; 56], &long_salt];
        for pw in pws {
            for salt in salts {
                for iters in [1u32, 2, 3, 17] {
                    for len in [0usize, 1, 31, 32, 33, 64, 100] {
                        assert_eq!(
                            ours(pw, salt, iters, len),
                            reference(pw, salt, iters, len),
                            "pw {} salt {} iters {iters} len {len}",
                            pw.len(),
                            salt.len()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn zero_iterations_is_one() {
        assert_eq!(ours(b"a", b"b", 0, 32), ours(b"a", b"b", 1, 32));
    }

    #[test]
    fn debug_redacts() {
        let k = DerivedKey::from_bytes([0x41; 32]);
        assert_eq!(format!("{k:?}"), "DerivedKey(<redacted>)");
    }
}
