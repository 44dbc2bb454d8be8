//! Known answers from `tests/kat/gen_kat.py` (an independent Python implementation): our
//! output must match byte for byte wherever the format is deterministic, and we must decode
//! everything it wrote. Regenerate or check the file with `python3 tests/kat/gen_kat.py [--check]`.

use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;
use vsync_crypto::kdf::{DerivedKey, pbkdf2_hmac_sha256};
use vsync_crypto::{bundle, cfg_blob, rqe1, rqem0001, sls1, vkt1};
use vsync_testkit::vectors::{hex, unhex};

fn kat() -> &'static Value {
    static KAT: OnceLock<Value> = OnceLock::new();
    KAT.get_or_init(|| {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("kat/kat.json");
        let text = std::fs::read_to_string(&path).expect("tests/kat/kat.json is readable");
        serde_json::from_str(&text).expect("kat.json is JSON")
    })
}

fn cases(section: &str) -> &'static [Value] {
    let list = kat()[section].as_array().expect("section is a list");
    assert!(!list.is_empty(), "section {section} is empty");
    list
}

fn s<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} is a string"))
}

fn bytes(v: &Value, field: &str) -> Vec<u8> {
    unhex(s(v, field)).unwrap_or_else(|e| panic!("{field}: {e}"))
}

fn iv(v: &Value) -> [u8; 12] {
    bytes(v, "iv_hex").try_into().expect("12-byte IV")
}

fn key(v: &Value) -> DerivedKey {
    DerivedKey::derive(s(v, "passphrase"), s(v, "salt"))
}

/// The case's `file_hex` opened by `unpack` with its passphrase: the salt is the case's, the
/// value is its `field`, and our JSON of it is the case's `json` text byte for byte.
fn unpacked<S: AsRef<str>, T: serde::Serialize, E: std::fmt::Debug>(
    c: &Value,
    field: &str,
    unpack: impl Fn(&str, &[u8]) -> Result<(S, T), E>,
) -> (Vec<u8>, S, T) {
    let file = bytes(c, "file_hex");
    let (salt, value) = unpack(s(c, "passphrase"), &file).unwrap();
    assert_eq!(salt.as_ref(), s(c, "salt"));
    assert_eq!(serde_json::to_value(&value).unwrap(), c[field]);
    assert_eq!(serde_json::to_string(&value).unwrap(), s(c, "json"));
    (file, salt, value)
}

/// `file` after its `head` bytes is the RQE1 layer sealed around `inner` with the case's IV.
fn assert_rqe1_layer(c: &Value, file: &[u8], head: usize, inner: &[u8]) {
    assert_eq!(
        hex(&rqe1::encrypt_with_iv(&key(c), iv(c), inner)),
        hex(&file[head..])
    );
}

#[test]
fn iteration_count_is_600k() {
    assert_eq!(kat()["iterations"], 600_000);
    assert_eq!(vsync_crypto::kdf::ITERATIONS, 600_000);
}

#[test]
fn pbkdf2() {
    for c in cases("pbkdf2") {
        let iterations = u32::try_from(c["iterations"].as_u64().unwrap()).unwrap();
        let len = usize::try_from(c["dklen"].as_u64().unwrap()).unwrap();
        let mut out = vec![0u8; len];
        pbkdf2_hmac_sha256(
            s(c, "password").as_bytes(),
            s(c, "salt").as_bytes(),
            iterations,
            &mut out,
        );
        assert_eq!(hex(&out), s(c, "key_hex"), "{c}");
        if len == 32 {
            let k = DerivedKey::derive_with_iterations(s(c, "password"), s(c, "salt"), iterations);
            assert_eq!(hex(k.expose()), s(c, "key_hex"));
        }
    }
}

/// A deterministic RQE1-based seal: `seal` with the case's key and IV turns its `plain_field`
/// into its `sealed_field` byte for byte, a well-formed envelope that `open` turns back.
/// Returns the key and the sealed bytes, for the format's own checks.
fn assert_seal_round_trip<E: std::fmt::Debug, O: std::ops::Deref<Target = Vec<u8>>>(
    c: &Value,
    plain_field: &str,
    sealed_field: &str,
    seal: impl Fn(&DerivedKey, [u8; 12], &[u8]) -> Result<Vec<u8>, E>,
    open: impl Fn(&DerivedKey, &[u8]) -> Result<O, E>,
) -> (DerivedKey, Vec<u8>) {
    let k = key(c);
    let plain = bytes(c, plain_field);
    let sealed = bytes(c, sealed_field);
    assert_eq!(
        hex(&seal(&k, iv(c), &plain).unwrap()),
        s(c, sealed_field),
        "{c}"
    );
    rqe1::check_envelope(&sealed).unwrap();
    assert_eq!(&open(&k, &sealed).unwrap()[..], &plain[..]);
    (k, sealed)
}

#[test]
fn rqe1_envelopes() {
    for c in cases("rqe1") {
        assert_seal_round_trip(
            c,
            "plaintext_hex",
            "envelope_hex",
            |k, iv, plain| Ok::<_, vsync_crypto::CryptoError>(rqe1::encrypt_with_iv(k, iv, plain)),
            rqe1::decrypt,
        );
    }
}

#[test]
fn rqem0001_seals() {
    for c in cases("rqem0001") {
        let payload = bytes(c, "payload_hex");
        let sealed = bytes(c, "sealed_hex");
        assert_eq!(
            hex(&rqem0001::wrap(s(c, "ts"), &payload).unwrap()),
            s(c, "sealed_hex")
        );
        assert_eq!(
            rqem0001::unwrap(&sealed).unwrap(),
            (s(c, "ts"), &payload[..])
        );
        assert_eq!(rqem0001::open(&sealed, s(c, "ts")).unwrap(), &payload[..]);
    }
}

#[test]
fn bundle_objects() {
    for c in cases("bundle") {
        let ts = s(c, "ts");
        let (k, obj) = assert_seal_round_trip(
            c,
            "zip_hex",
            "object_hex",
            |k, iv, zip| bundle::seal_with_iv(k, iv, ts, zip),
            |k, obj| bundle::open(k, obj, ts),
        );
        assert_eq!(
            bundle::open(&k, &obj, "20000101-000000")
                .unwrap_err()
                .class(),
            "BundleCorruptError"
        );
    }
}

#[test]
fn sls1_shares() {
    for c in cases("sls1") {
        // Our JSON is the same text as JSON.stringify's (field order, escaping, unknown fields).
        let (file, salt, payload) = unpacked(c, "payload", sls1::unpack);
        assert_eq!(payload.key.expose(), c["payload"]["key"].as_str().unwrap());

        // The frame and RQE1 layer are deterministic: same bytes around the same inner text.
        let k = key(c);
        let inner = s(c, "inner_text").as_bytes();
        let head = 5 + salt.len();
        assert_eq!(&file[..4], b"SLS1");
        assert_eq!(usize::from(file[4]), salt.len());
        assert_eq!(&file[5..head], salt.as_bytes());
        assert_rqe1_layer(c, &file, head, inner);
        assert_eq!(
            serde_json::to_value(sls1::decode_inner(inner).unwrap()).unwrap(),
            c["payload"]
        );

        // Our gzip differs from zlib's, but what we write opens to the same payload.
        let ours = sls1::seal_with_key_and_iv(&k, &salt, iv(c), &payload).unwrap();
        assert_eq!(&ours[..head], &file[..head]);
        let (_, again) = sls1::open_with_key(&k, &ours).unwrap();
        assert_eq!(serde_json::to_value(&again).unwrap(), c["payload"]);
    }
}

#[test]
fn vkt1_keytrees() {
    for c in cases("vkt1") {
        let (file, salt, tree) = unpacked(c, "keytree", vkt1::unpack);
        let k = key(c);
        let head = 5 + salt.len();
        assert_rqe1_layer(c, &file, head, s(c, "json").as_bytes());
        let ours = vkt1::seal_with_key(&k, &salt, &tree).unwrap();
        assert_eq!(
            serde_json::to_value(vkt1::open_with_key(&k, &ours).unwrap().1).unwrap(),
            c["keytree"]
        );
    }
}

#[test]
fn cfg_blobs() {
    for c in cases("cfg_blob") {
        let cfg = cfg_blob::decode(s(c, "blob")).unwrap();
        assert_eq!(serde_json::to_value(&cfg).unwrap(), c["config"]);
        assert_eq!(serde_json::to_string(&cfg).unwrap(), s(c, "json"));
        let ours = cfg_blob::encode(&cfg).unwrap();
        assert!(ours.starts_with(cfg_blob::PREFIX));
        assert!(!ours.contains(['+', '/', '=']));
        assert_eq!(
            serde_json::to_value(cfg_blob::decode(&ours).unwrap()).unwrap(),
            c["config"]
        );
    }
}
