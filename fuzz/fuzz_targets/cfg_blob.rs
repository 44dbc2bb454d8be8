//! The runtime blob: decode never panics on any text (raw, or as a body after the prefix,
//! or as gzip bytes we wrap ourselves), and what decodes re-encodes to an equal config.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vsync_crypto::cfg_blob;

fn check_round_trip(cfg: &cfg_blob::RuntimeConfig) {
    let blob = cfg_blob::encode(cfg).unwrap();
    let again = cfg_blob::decode(&blob).unwrap();
    assert_eq!(
        serde_json::to_value(&again).unwrap(),
        serde_json::to_value(cfg).unwrap()
    );
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(cfg) = cfg_blob::decode(&text) {
        check_round_trip(&cfg);
    }
    if let Ok(cfg) = cfg_blob::decode(&format!("{}{text}", cfg_blob::PREFIX)) {
        check_round_trip(&cfg);
    }
    // Reach the JSON layer directly: treat the input as the inner JSON.
    if let Ok(serde_json::Value::Object(_)) = serde_json::from_slice::<serde_json::Value>(data) {
        if let Ok(cfg) = serde_json::from_slice::<cfg_blob::RuntimeConfig>(data) {
            if cfg.v == 1
                && cfg.iterations > 0
                && cfg.salt.chars().count() >= cfg_blob::MIN_SALT_CHARS
            {
                check_round_trip(&cfg);
            }
        }
    }
});
