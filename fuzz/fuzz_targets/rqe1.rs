//! RQE1: the structural check and decryption never panic, and whatever we encrypt decrypts
//! back under the same key and fails under another.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vsync_crypto::kdf::DerivedKey;
use vsync_crypto::rqe1;

fuzz_target!(|data: &[u8]| {
    let key = DerivedKey::from_bytes([0x42; 32]);
    let _ = rqe1::check_envelope(data);
    if let Ok(plain) = rqe1::decrypt(&key, data) {
        // Only reachable if the input is a genuine envelope under this key.
        assert_eq!(rqe1::decrypt(&key, data).unwrap(), plain);
    }

    let iv: [u8; 12] = core::array::from_fn(|i| data.get(i).copied().unwrap_or(0));
    let env = rqe1::encrypt_with_iv(&key, iv, data);
    assert_eq!(env.len(), rqe1::MIN_LEN + data.len());
    assert_eq!(&rqe1::decrypt(&key, &env).unwrap()[..], data);
    let other = DerivedKey::from_bytes([0x43; 32]);
    assert_eq!(
        rqe1::decrypt(&other, &env).unwrap_err().class(),
        "WrongPassphraseError"
    );
});
