//! The env-file parser: any bytes give entries or a typed error, never a panic; bytes and text
//! parse alike, and `key_names` never loses a key the parser returned. (An empty key, from a line
//! like `=x`, is upstream's behaviour: the sync name rules refuse it per target.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use vsync_vault::envfile;

fuzz_target!(|data: &[u8]| {
    let Ok(entries) = envfile::parse_bytes(data) else {
        // Only undecodable text may fail, and then decoding fails the same way.
        assert!(std::str::from_utf8(data).is_err());
        return;
    };
    let text = std::str::from_utf8(data).expect("parse_bytes succeeded on non-UTF-8");
    let again = envfile::parse(text);
    assert_eq!(entries.len(), again.len());
    for ((k1, v1), (k2, v2)) in entries.iter().zip(again.iter()) {
        assert_eq!(k1, k2);
        assert_eq!(v1.as_str(), v2.as_str());
    }
    if let Ok(names) = envfile::key_names(text) {
        for (k, _) in &entries {
            assert!(names.contains(k), "key_names lost a parsed key");
        }
    }
});
