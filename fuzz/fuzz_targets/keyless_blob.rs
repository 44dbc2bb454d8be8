//! The keyless bootstrap: everything an app does with `VSYNC_CONFIG` before it touches the
//! network — decode the runtime token, read its rollback floor, turn its endpoint into a store,
//! and its prefix into object keys. None of it may panic, and no credential from the token may
//! reach a store label or an error message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vsync_crypto::cfg_blob::{self, RuntimeConfig};
use vsync_vault::freshness;
use vsync_vault::layout::Prefix;
use vsync_vault::store::StoreSpec;

fn bootstrap(cfg: &RuntimeConfig) {
    if let Ok(floor) = freshness::blob_floor(cfg) {
        let _ = floor.check("20260101-000000");
    }
    let secret = cfg.secret_access_key.expose();
    // Only a secret that no other field repeats can be told apart in a message.
    let distinct = secret.len() >= 8
        && [&cfg.endpoint, &cfg.bucket, &cfg.region, &cfg.access_key_id, &cfg.prefix]
            .iter()
            .all(|f| !f.contains(secret));
    match StoreSpec::from_runtime_config(cfg) {
        Ok(spec) => {
            let label = spec.label();
            let url = spec.to_url();
            if distinct {
                assert!(!label.contains(secret), "secret in the store label");
                assert!(!format!("{spec:?}").contains(secret), "secret in Debug");
            }
            // The canonical URL of a file/gs/az store parses back to the same store.
            if !matches!(spec, StoreSpec::S3 { .. }) {
                assert_eq!(StoreSpec::parse_url(&url).ok().as_ref(), Some(&spec));
            }
        }
        Err(e) => {
            if distinct {
                assert!(!e.to_string().contains(secret), "secret in an error");
            }
        }
    }
    if let Ok(prefix) = Prefix::from_raw(&cfg.prefix) {
        let _ = prefix.latest_key();
        let _ = prefix.manifest_key();
        let _ = prefix.version_key("20260101-000000");
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // As a whole token, and as the body after the prefix.
    for blob in [text.to_string(), format!("{}{text}", cfg_blob::PREFIX)] {
        if let Ok(cfg) = cfg_blob::decode(&blob) {
            bootstrap(&cfg);
        }
    }
    // Reach the fields directly: the input as the token's inner JSON.
    if let Ok(cfg) = serde_json::from_slice::<RuntimeConfig>(data) {
        bootstrap(&cfg);
    }
});
