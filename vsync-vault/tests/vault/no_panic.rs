//! Every parser of untrusted input returns instead of panicking.

use std::path::Path;

use proptest::prelude::*;
use vsync_vault::zip_bundle::{ZipLimits, list, read_bundle};
use vsync_vault::{audit, envfile, identity, ledger::Ledger, remote::Manifest, ts};

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn text_parsers(s in "\\PC{0,200}", raw in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = envfile::parse(&s);
        let _ = envfile::parse_bytes(&raw);
        let _ = envfile::key_names(&s);
        let _ = identity::normalize(&s);
        let _ = identity::parse_remote_url(&s);
        let _ = identity::parse_pin(&s, Path::new(".vsync"));
        let _ = identity::redact_url(&s);
        let _ = audit::parse_audit(&s);
        let _ = Ledger::parse(&s, Path::new("l"));
        let _ = Manifest::parse(&s, "k");
        let _ = ts::parse_bundle_ts(&s);
        let _ = ts::parse_iso_ts(&s);
        let _ = ts::next_bundle_ts(Some(&s), time::OffsetDateTime::now_utc());
        let _ = vsync_vault::zip_bundle::normalize_vault_folder(&s);
        let _ = vsync_vault::Prefix::from_raw(&s);
        let _ = vsync_vault::StoreSpec::parse_url(&s);
    }

    #[test]
    fn zip_reader(raw in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = list(&raw);
        let _ = read_bundle(&raw, &ZipLimits::default());
        let mut z = b"PK\x03\x04".to_vec();
        z.extend_from_slice(&raw);
        let _ = list(&z);
    }

    #[test]
    fn mutated_real_zip(pos in 0usize..4096, byte in any::<u8>()) {
        // A valid bundle with one byte changed: must be refused or read, never panic.
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        use std::io::Write;
        w.add_directory("v/", zip::write::SimpleFileOptions::default()).unwrap();
        w.start_file("v/.env.dev", zip::write::SimpleFileOptions::default()).unwrap();
        w.write_all(b"A=1\nB=2\n").unwrap();
        let mut z = w.finish().unwrap().into_inner();
        let i = pos % z.len();
        z[i] = byte;
        let _ = list(&z);
        let _ = read_bundle(&z, &ZipLimits::default());
        let d = tempfile::tempdir().unwrap();
        let _ = vsync_vault::zip_bundle::extract(&z, &d.path().join("x"), &ZipLimits::default());
    }
}
