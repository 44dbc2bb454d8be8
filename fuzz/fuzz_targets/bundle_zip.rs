//! The bundle zip reader (it reads bytes that came out of a decrypted bundle, so a key holder
//! can craft them): any bytes give a bundle or a typed error, never a panic, and what it accepts
//! stays inside the limits it was given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vsync_vault::zip_bundle::{self, ZipLimits};

fuzz_target!(|data: &[u8]| {
    let limits = ZipLimits {
        max_entries: 64,
        max_total_bytes: 1 << 20,
    };
    if let Ok(entries) = zip_bundle::list(data) {
        for e in &entries {
            assert!(!e.name.ends_with('/'));
        }
    }
    if let Ok(bundle) = zip_bundle::read_bundle(data, &limits) {
        let total: u64 = bundle.files.iter().map(|f| f.data.len() as u64).sum();
        assert!(total <= limits.max_total_bytes, "read more than the byte budget");
        assert!(bundle.files.len() <= limits.max_entries);
        for f in &bundle.files {
            assert!(!f.name.starts_with('/'), "absolute entry accepted");
            assert!(
                !f.name.split('/').any(|c| c == ".."),
                "parent-directory entry accepted"
            );
        }
    }
});
