//! Property tests: every format round-trips, every single-bit flip and every truncation of an
//! encrypted object is rejected, and no parser panics on arbitrary input. Keys come from
//! `from_bytes` or a 1-iteration KDF so the suite stays fast.

use proptest::prelude::*;
use serde_json::{Map, Value};
use vsync_crypto::kdf::DerivedKey;
use vsync_crypto::secret::SecretText;
use vsync_crypto::sls1::ExportPayload;
use vsync_crypto::{bundle, cfg_blob, rqe1, rqem0001, sls1, vkt1};

fn key_strategy() -> impl Strategy<Value = DerivedKey> {
    any::<[u8; 32]>().prop_map(DerivedKey::from_bytes)
}

fn ts_strategy() -> impl Strategy<Value = String> {
    (
        1970u32..=9999,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
    )
        .prop_map(|(y, mo, d, h, mi, s)| format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}"))
}

fn json_map() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map("[a-zA-Z_]{1,10}", any::<String>(), 0..4)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k, Value::String(v))).collect())
}

fn payload_strategy() -> impl Strategy<Value = ExportPayload> {
    (".{1,20}", ".{1,12}", json_map(), ".{20,50}", json_map()).prop_map(
        |(repo, env, config, key, extra)| {
            let mut p = ExportPayload::new(repo, env, config, SecretText::new(key));
            // Unknown fields must not shadow the known ones.
            p.extra = extra
                .into_iter()
                .filter(|(k, _)| !["version", "repo", "env", "config", "key"].contains(&k.as_str()))
                .collect();
            p
        },
    )
}

/// Open a share the way `sls1::unpack` does, with a 1-iteration KDF.
fn open_share(
    pass: &str,
    bytes: &[u8],
) -> Result<(String, ExportPayload), vsync_crypto::CryptoError> {
    let (salt, _) = sls1::parse_frame(bytes)?;
    let key = DerivedKey::derive_with_iterations(pass, salt, 1);
    sls1::open_with_key(&key, bytes)
}

/// Every single-bit flip, every truncation and a one-byte extension must fail `open`.
fn assert_tamper_evident<T, E>(
    bytes: &[u8],
    open: impl Fn(&[u8]) -> Result<T, E>,
) -> Result<(), TestCaseError> {
    prop_assert!(open(bytes).is_ok(), "the untouched object opens");
    let mut v = bytes.to_vec();
    for i in 0..v.len() {
        for bit in 0..8 {
            v[i] ^= 1 << bit;
            prop_assert!(
                open(&v).is_err(),
                "flip of bit {} in byte {} accepted",
                bit,
                i
            );
            v[i] ^= 1 << bit;
        }
    }
    for n in 0..bytes.len() {
        prop_assert!(open(&bytes[..n]).is_err(), "truncation to {} accepted", n);
    }
    v.push(0);
    prop_assert!(open(&v).is_err(), "extension accepted");
    Ok(())
}

proptest! {
    #[test]
    fn rqe1_round_trip(key in key_strategy(), iv in any::<[u8; 12]>(), pt in prop::collection::vec(any::<u8>(), 0..2048)) {
        let env = rqe1::encrypt_with_iv(&key, iv, &pt);
        prop_assert_eq!(env.len(), rqe1::MIN_LEN + pt.len());
        prop_assert!(rqe1::check_envelope(&env).is_ok());
        prop_assert_eq!(&rqe1::decrypt(&key, &env).unwrap()[..], &pt[..]);
        let fresh = rqe1::encrypt(&key, &pt);
        prop_assert_eq!(&rqe1::decrypt(&key, &fresh).unwrap()[..], &pt[..]);
    }

    #[test]
    fn rqem0001_round_trip(ts in ts_strategy(), payload in prop::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(rqem0001::is_bundle_ts(&ts));
        let sealed = rqem0001::wrap(&ts, &payload).unwrap();
        prop_assert_eq!(sealed.len(), rqem0001::HEADER_LEN + payload.len());
        prop_assert_eq!(rqem0001::unwrap(&sealed).unwrap(), (ts.as_str(), &payload[..]));
        prop_assert_eq!(rqem0001::open(&sealed, &ts).unwrap(), &payload[..]);
    }

    #[test]
    fn bundle_round_trip(key in key_strategy(), ts in ts_strategy(), zip in prop::collection::vec(any::<u8>(), 0..4096)) {
        let obj = bundle::seal(&key, &ts, &zip).unwrap();
        prop_assert_eq!(&bundle::open(&key, &obj, &ts).unwrap()[..], &zip[..]);
        let (embedded, z) = bundle::open_unverified(&key, &obj).unwrap();
        prop_assert_eq!(embedded, ts);
        prop_assert_eq!(&z[..], &zip[..]);
    }

    #[test]
    fn cfg_blob_round_trip(
        strings in prop::collection::vec(any::<String>(), 7),
        salt in ".{16,40}",
        iterations in 1u32..,
        extra in json_map(),
    ) {
        let json = serde_json::json!({
            "v": 1, "endpoint": strings[0], "region": strings[1], "bucket": strings[2],
            "accessKeyId": strings[3], "secretAccessKey": strings[4], "prefix": strings[5],
            "env": strings[6], "salt": salt, "iterations": iterations,
        });
        let mut cfg: cfg_blob::RuntimeConfig = serde_json::from_value(json).unwrap();
        const KNOWN: [&str; 10] = [
            "v", "endpoint", "region", "bucket", "accessKeyId", "secretAccessKey", "prefix", "env",
            "salt", "iterations",
        ];
        cfg.extra = extra.into_iter().filter(|(k, _)| !KNOWN.contains(&k.as_str())).collect::<serde_json::Map<_, _>>().into();
        let blob = cfg_blob::encode(&cfg).unwrap();
        prop_assert!(blob.starts_with(cfg_blob::PREFIX));
        let back = cfg_blob::decode(&blob).unwrap();
        prop_assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&cfg).unwrap());
    }

    #[test]
    fn no_panic_on_arbitrary_bytes(key in key_strategy(), bytes in prop::collection::vec(any::<u8>(), 0..300), ts in ".{0,20}") {
        let _ = rqe1::check_envelope(&bytes);
        let _ = rqe1::decrypt(&key, &bytes);
        let _ = rqem0001::unwrap(&bytes);
        let _ = rqem0001::open(&bytes, &ts);
        let _ = rqem0001::is_bundle_ts(&ts);
        let _ = bundle::open(&key, &bytes, &ts);
        let _ = sls1::parse_frame(&bytes);
        let _ = sls1::open_with_key(&key, &bytes);
        let _ = sls1::decode_inner(&bytes);
        let _ = vkt1::open_with_key(&key, &bytes);
        let text = String::from_utf8_lossy(&bytes);
        let _ = cfg_blob::decode(&text);
        let _ = cfg_blob::decode(&format!("{}{text}", cfg_blob::PREFIX));
    }

    #[test]
    fn no_panic_on_arbitrary_cfg_bodies(body in "[A-Za-z0-9_-]{0,200}") {
        let _ = cfg_blob::decode(&format!("{}{body}", cfg_blob::PREFIX));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn sls1_round_trip(pass in ".{0,30}", p in payload_strategy()) {
        let salt = vsync_crypto::random::share_salt();
        let key = DerivedKey::derive_with_iterations(&pass, &salt, 1);
        let file = sls1::seal_with_key(&key, &salt, &p).unwrap();
        let (s, q) = open_share(&pass, &file).unwrap();
        prop_assert_eq!(s, salt);
        prop_assert_eq!(serde_json::to_value(&q).unwrap(), serde_json::to_value(&p).unwrap());
    }

    #[test]
    fn vkt1_round_trip(pass in ".{0,30}", key_text in ".{1,60}", cfg in json_map(), mut profile in json_map()) {
        profile.insert("name".into(), Value::String("p".into()));
        let tree: vkt1::Keytree = serde_json::from_value(serde_json::json!({
            "version": 1, "exportedAt": "2026-05-23T11:42:01.234Z",
            "entries": [{"repo": "r", "env": "e", "config": cfg, "key": key_text}],
            "profiles": [profile],
        })).unwrap();
        let salt = vsync_crypto::random::share_salt();
        let key = DerivedKey::derive_with_iterations(&pass, &salt, 1);
        let file = vkt1::seal_with_key(&key, &salt, &tree).unwrap();
        let (s, back) = vkt1::open_with_key(&key, &file).unwrap();
        prop_assert_eq!(s, salt);
        prop_assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&tree).unwrap());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(8))]

    #[test]
    fn rqe1_tampering_is_rejected(key in key_strategy(), pt in prop::collection::vec(any::<u8>(), 0..48)) {
        let env = rqe1::encrypt(&key, &pt);
        assert_tamper_evident(&env, |b| rqe1::decrypt(&key, b))?;
    }

    #[test]
    fn bundle_tampering_is_rejected(key in key_strategy(), ts in ts_strategy(), zip in prop::collection::vec(any::<u8>(), 0..48)) {
        let obj = bundle::seal(&key, &ts, &zip).unwrap();
        assert_tamper_evident(&obj, |b| bundle::open(&key, b, &ts))?;
    }

    #[test]
    fn share_tampering_is_rejected(pass in ".{0,16}", p in payload_strategy()) {
        let salt = vsync_crypto::random::share_salt();
        let key = DerivedKey::derive_with_iterations(&pass, &salt, 1);
        let file = sls1::seal_with_key(&key, &salt, &p).unwrap();
        assert_tamper_evident(&file, |b| open_share(&pass, b))?;
    }
}
