//! Buffers for secret bytes that never leave a copy behind when they grow, and the capped
//! gzip and base64 helpers built on them.

use std::io::{self, Read, Write};

use flate2::Compression;
use flate2::GzBuilder;
use flate2::read::MultiGzDecoder;
use zeroize::{Zeroize, Zeroizing};

use crate::CryptoError;

/// A byte buffer for secrets: grows by allocating a new buffer and zeroizing the old one, and
/// is zeroized (full capacity) on drop.
#[derive(Default)]
pub(crate) struct SecretBuf(Zeroizing<Vec<u8>>);

impl SecretBuf {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self(Zeroizing::new(Vec::with_capacity(n)))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn extend(&mut self, data: &[u8]) {
        let need = self.0.len().saturating_add(data.len());
        if need > self.0.capacity() {
            let cap = need.max(self.0.capacity().saturating_mul(2)).max(64);
            let mut grown = Vec::with_capacity(cap);
            grown.extend_from_slice(&self.0);
            self.0.zeroize();
            *self.0 = grown;
        }
        self.0.extend_from_slice(data);
    }

    pub(crate) fn into_inner(self) -> Zeroizing<Vec<u8>> {
        self.0
    }

    pub(crate) fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl Write for SecretBuf {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.extend(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Gzip with level 6, MTIME 0, no file name, OS byte 3 (docs/formats.md §8.1).
pub(crate) fn gzip(data: &[u8]) -> SecretBuf {
    let out = SecretBuf::with_capacity(data.len() + data.len() / 64 + 64);
    let mut enc = GzBuilder::new()
        .mtime(0)
        .operating_system(3)
        .write(out, Compression::new(6));
    // Writing into memory cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// Gunzip any valid gzip stream (one or more members; XFL and OS bytes are not checked),
/// refusing output larger than `cap` bytes.
pub(crate) fn gunzip_capped(data: &[u8], cap: usize) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    if !data.starts_with(&[0x1f, 0x8b]) {
        return Err(CryptoError::corrupt("not gzip data"));
    }
    let mut dec = MultiGzDecoder::new(data);
    let mut out = SecretBuf::with_capacity(data.len().saturating_mul(4).min(cap).max(64));
    let mut chunk = Zeroizing::new([0u8; 8192]);
    loop {
        let n = match dec.read(&mut chunk[..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return Err(CryptoError::corrupt("invalid gzip data")),
        };
        if out.len().saturating_add(n) > cap {
            return Err(CryptoError::corrupt(
                "gzip data inflates beyond the size limit (possible zip bomb)",
            ));
        }
        out.extend(&chunk[..n]);
    }
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_buf_grows() {
        let mut b = SecretBuf::with_capacity(1);
        for i in 0..1000u32 {
            b.extend(&i.to_le_bytes());
        }
        assert_eq!(b.len(), 4000);
        assert_eq!(&b.as_slice()[4..8], &1u32.to_le_bytes());
    }

    #[test]
    fn gzip_round_trip_and_header() {
        let z = gzip(b"hello hello hello");
        assert_eq!(&z.as_slice()[..10], &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
        assert_eq!(
            &gunzip_capped(z.as_slice(), 100).unwrap()[..],
            b"hello hello hello"
        );
    }

    #[test]
    fn gunzip_cap_and_garbage() {
        let big = vec![0u8; 1 << 20];
        let z = gzip(&big);
        assert!(z.len() < 4096);
        let e = gunzip_capped(z.as_slice(), 1000).unwrap_err();
        assert_eq!(e.class(), "BundleCorruptError");
        assert_eq!(gunzip_capped(z.as_slice(), 1 << 20).unwrap().len(), 1 << 20);
        assert!(gunzip_capped(b"", 10).is_err());
        assert!(gunzip_capped(&[0x1f, 0x8b, 8, 0], 10).is_err());
        let mut bad = z.as_slice().to_vec();
        let n = bad.len();
        bad[n - 5] ^= 1; // CRC/ISIZE trailer
        assert!(gunzip_capped(&bad, 1 << 20).is_err());
    }

    #[test]
    fn multi_member_and_other_os_byte() {
        let mut z = gzip(b"ab").into_inner().to_vec();
        z[8] = 2;
        z[9] = 0x13;
        z.extend_from_slice(gzip(b"cd").as_slice());
        assert_eq!(&gunzip_capped(&z, 100).unwrap()[..], b"abcd");
    }
}
