//! A bucket in memory, filled the way `vsync push` fills a real one.
#![allow(dead_code, unreachable_pub)]

use std::io::Write as _;
use std::sync::Arc;

use vsync_crypto::cfg_blob::{self, RuntimeConfig};
use vsync_crypto::kdf::DerivedKey;
use vsync_crypto::secret::SecretText;
use vsync_runtime::MemoryFetcher;
use zip::write::SimpleFileOptions;

pub const PREFIX: &str = "acme_web/dev/";
pub const ENV: &str = "dev";
pub const TS: &str = "20260523-114201";
pub const TS_OLD: &str = "20260501-091500";
/// The keychain value text (44 characters of base64), used as the passphrase.
pub const PASSPHRASE: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
pub const SALT: &str = "ICEiIyQlJicoKSorLC0uLzAx";
pub const SECRET_ACCESS_KEY: &str = "sEcReT-aCcEsS-kEy-do-not-print";
pub const ENDPOINT: &str = "https://s3.example.com";

pub const ENV_FILE: &str = "# comment\n\
DATABASE_URL=postgres://vault-secret-db\n\
API_KEY=\"sk_live_vault_quoted\"\n\
EMPTY=\n\
DUP=first\n\
DUP=second-wins\n";

pub const TLS_KEY: &[u8] =
    b"-----BEGIN PRIVATE KEY-----\nTLS-SECRET-BYTES\n-----END PRIVATE KEY-----\n";
pub const OTHER_TLS_KEY: &[u8] = b"OTHER-TLS-SECRET\n";
pub const SA_JSON: &[u8] = br#"{"type":"service_account","private_key":"SA-SECRET"}"#;

/// Every secret a test puts anywhere; none may appear in an error or a rendering.
pub const SECRETS: &[&str] = &[
    PASSPHRASE,
    SECRET_ACCESS_KEY,
    "postgres://vault-secret-db",
    "sk_live_vault_quoted",
    "second-wins",
    "TLS-SECRET-BYTES",
    "OTHER-TLS-SECRET",
    "SA-SECRET",
];

pub fn config(iterations: u32) -> RuntimeConfig {
    RuntimeConfig {
        v: 1,
        endpoint: ENDPOINT.into(),
        region: "us-east-1".into(),
        bucket: "acme-secrets".into(),
        access_key_id: "AKIAEXAMPLE".into(),
        secret_access_key: SecretText::new(SECRET_ACCESS_KEY.into()),
        prefix: PREFIX.into(),
        env: ENV.into(),
        salt: SALT.into(),
        iterations,
        extra: Default::default(),
    }
}

/// A blob with 1 PBKDF2 iteration, so tests do not spend 600 000.
pub fn blob() -> String {
    cfg_blob::encode(&config(1)).unwrap()
}

pub fn key() -> DerivedKey {
    DerivedKey::derive_with_iterations(PASSPHRASE, SALT, 1)
}

/// A zip laid out like `vsync push` writes it: paths under `infra/vault/dev/`.
pub fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    {
        let mut zw = zip::ZipWriter::new(&mut out);
        let opts =
            SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
        zw.add_directory("infra/vault/dev/", opts).unwrap();
        for (name, body) in files {
            zw.start_file(format!("infra/vault/dev/{name}"), opts)
                .unwrap();
            zw.write_all(body).unwrap();
        }
        zw.finish().unwrap();
    }
    out.into_inner()
}

pub fn standard_zip() -> Vec<u8> {
    zip_of(&[
        (".env.dev", ENV_FILE.as_bytes()),
        ("tls/server.key", TLS_KEY),
        ("other/server.key", OTHER_TLS_KEY),
        ("gcp-sa.json", SA_JSON),
    ])
}

/// The bucket after one push of `zip` at [`TS`].
pub fn bucket_with(zip: &[u8]) -> Arc<MemoryFetcher> {
    let f = Arc::new(MemoryFetcher::new());
    let object = vsync_crypto::bundle::seal(&key(), TS, zip).unwrap();
    f.insert(format!("{PREFIX}versions/{TS}.enc"), object);
    f.insert(format!("{PREFIX}latest"), TS);
    f
}

pub fn bucket() -> Arc<MemoryFetcher> {
    bucket_with(&standard_zip())
}

/// Assert that `text` holds none of [`SECRETS`].
pub fn assert_clean(what: &str, text: &str) {
    for s in SECRETS {
        assert!(!text.contains(s), "{what} leaks {s:?}: {text}");
    }
}

/// An environment holding exactly `pairs`.
pub fn lookup(pairs: &[(&str, &str)]) -> Arc<dyn vsync_runtime::EnvLookup> {
    let map: std::collections::HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Arc::new(map)
}

/// The zip `vsync push` builds from a vault folder holding [`ENV_FILE`] and `tls/server.key`.
pub fn pushed_zip() -> impl std::ops::Deref<Target = Vec<u8>> {
    let tmp = tempfile::tempdir().unwrap();
    let vault = tmp.path().join("infra/vault/dev");
    std::fs::create_dir_all(vault.join("tls")).unwrap();
    std::fs::write(vault.join(".env.dev"), ENV_FILE).unwrap();
    std::fs::write(vault.join("tls/server.key"), TLS_KEY).unwrap();
    vsync_vault::zip_bundle::build(tmp.path(), "infra/vault/dev").unwrap()
}

/// Assert `e` is an `S3UnreachableError` for `reason`.
#[track_caller]
pub fn assert_unreachable(e: &vsync_runtime::Error, reason: vsync_runtime::Unreachable) {
    assert_eq!(e.class(), "S3UnreachableError", "{e}");
    assert!(
        matches!(e, vsync_runtime::Error::S3Unreachable { reason: r, .. } if *r == reason),
        "{e:?}"
    );
}
