//! RQEM0001 and the bundle object: unwrap/open never panic; a wrap of a valid timestamp
//! unwraps to the same parts; a sealed bundle opens only under its own timestamp.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vsync_crypto::kdf::DerivedKey;
use vsync_crypto::{bundle, rqem0001};

fuzz_target!(|data: &[u8]| {
    if let Ok((ts, payload)) = rqem0001::unwrap(data) {
        assert_eq!(ts.len(), rqem0001::TS_LEN);
        assert_eq!(rqem0001::open(data, ts).unwrap(), payload);
    }
    let head = String::from_utf8_lossy(&data[..data.len().min(15)]).into_owned();
    let _ = rqem0001::is_bundle_ts(&head);
    let _ = rqem0001::open(data, &head);

    let key = DerivedKey::from_bytes([0x24; 32]);
    let _ = bundle::open(&key, data, "20260523-114201");
    if rqem0001::is_bundle_ts(&head) {
        let rest = &data[head.len()..];
        let sealed = rqem0001::wrap(&head, rest).unwrap();
        assert_eq!(rqem0001::unwrap(&sealed).unwrap(), (head.as_str(), rest));
        let obj = bundle::seal(&key, &head, rest).unwrap();
        assert_eq!(&bundle::open(&key, &obj, &head).unwrap()[..], rest);
    } else {
        assert!(rqem0001::wrap(&head, data).is_err());
    }
});
