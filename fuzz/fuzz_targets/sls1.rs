//! SLS1 and VKT1: frame parsing, decryption and every inner layer (base64, gzip, JSON,
//! validation) never panic. The input is tried as a whole file and, to reach the inner layers
//! past the GCM tag, as the inner plaintext of a share and a keytree sealed with a fixed key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vsync_crypto::kdf::DerivedKey;
use vsync_crypto::{rqe1, sls1, vkt1};

fn framed(magic: &[u8; 4], salt: &str, key: &DerivedKey, plain: &[u8]) -> Vec<u8> {
    let mut v = magic.to_vec();
    v.push(salt.len() as u8);
    v.extend_from_slice(salt.as_bytes());
    v.extend_from_slice(&rqe1::encrypt_with_iv(key, [7; 12], plain));
    v
}

/// A round trip kept every field: both serialise to the same JSON.
fn assert_same_json<T: serde::Serialize>(again: &T, first: &T) {
    assert_eq!(
        serde_json::to_value(again).unwrap(),
        serde_json::to_value(first).unwrap()
    );
}

fuzz_target!(|data: &[u8]| {
    let key = DerivedKey::from_bytes([0x51; 32]);
    let _ = sls1::parse_frame(data);
    let _ = sls1::open_with_key(&key, data);
    let _ = vkt1::parse_frame(data);
    let _ = vkt1::open_with_key(&key, data);

    if let Ok(p) = sls1::decode_inner(data) {
        // Whatever decodes re-encodes and decodes to the same payload.
        let again = sls1::decode_inner(&sls1::encode_inner(&p).unwrap()).unwrap();
        assert_same_json(&again, &p);
    }
    let share = framed(sls1::MAGIC, "oKGio6SlpqeoqaqrrK2urw==", &key, data);
    if let Ok((_, p)) = sls1::open_with_key(&key, &share) {
        let file = sls1::seal_with_key(&key, "salt", &p).unwrap();
        let (_, q) = sls1::open_with_key(&key, &file).unwrap();
        assert_same_json(&q, &p);
    }
    let tree = framed(vkt1::MAGIC, "oKGio6SlpqeoqaqrrK2urw==", &key, data);
    if let Ok((_, t)) = vkt1::open_with_key(&key, &tree) {
        let file = vkt1::seal_with_key(&key, "salt", &t).unwrap();
        let (_, u) = vkt1::open_with_key(&key, &file).unwrap();
        assert_same_json(&u, &t);
    }
});
