//! The encrypted sync receipt (docs/decisions.md §4): after each sync, `<prefix>sync/<target>.enc`
//! holds RQE1 of a JSON map remote name → hex HMAC-SHA256(value) under a key derived from the
//! vault key. It lets write-only destinations show `unchanged`, and scopes `--prune`.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use vsync_crypto::kdf::DerivedKey;

type HmacSha256 = Hmac<Sha256>;

/// name → hex MAC.
pub type Receipt = BTreeMap<String, String>;

fn mac_key(key: &DerivedKey) -> zeroize::Zeroizing<Vec<u8>> {
    let mut m = HmacSha256::new_from_slice(key.expose()).expect("any key length");
    m.update(b"vsync-sync-receipt-v1");
    zeroize::Zeroizing::new(m.finalize().into_bytes().to_vec())
}

/// The MAC of one value.
pub fn fingerprint(key: &DerivedKey, value: &[u8]) -> String {
    let mk = mac_key(key);
    let mut m = HmacSha256::new_from_slice(&mk).expect("any key length");
    m.update(value);
    crate::plugins::discover::hex(&m.finalize().into_bytes())
}

/// Seal a receipt.
pub fn seal(key: &DerivedKey, r: &Receipt) -> Vec<u8> {
    let json = serde_json::to_vec(r).unwrap_or_default();
    vsync_crypto::rqe1::encrypt(key, &json)
}

/// Open a receipt; a receipt that does not open (rotated key, corruption) is treated as absent.
pub fn open(key: &DerivedKey, bytes: &[u8]) -> Option<Receipt> {
    let plain = vsync_crypto::rqe1::decrypt(key, bytes).ok()?;
    serde_json::from_slice(&plain).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_keyed() {
        let k = DerivedKey::from_bytes([7; 32]);
        let mut r = Receipt::new();
        r.insert("A".into(), fingerprint(&k, b"v"));
        let sealed = seal(&k, &r);
        assert_eq!(open(&k, &sealed), Some(r));
        let other = DerivedKey::from_bytes([8; 32]);
        assert_ne!(fingerprint(&k, b"v"), fingerprint(&other, b"v"));
        assert!(open(&other, &sealed).is_none());
    }
}
