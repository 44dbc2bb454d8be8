//! Opening against an in-memory bucket: the read chain, the fallback chain, assets, errors and
//! redaction.

mod common;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use vsync_runtime::{
    EmptyEnv, EnvLookup, Error, FetchError, Fetcher, MemoryFetcher, OpenOptions, Source,
    Unreachable, Vault,
};

fn lookup(pairs: &[(&str, &str)]) -> Arc<dyn EnvLookup> {
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Arc::new(map)
}

async fn open(fetcher: Arc<MemoryFetcher>) -> Result<Vault, Error> {
    Vault::open_with_fetcher(&blob(), PASSPHRASE, fetcher).await
}

async fn open_err(fetcher: Arc<MemoryFetcher>) -> Error {
    match open(fetcher).await {
        Ok(v) => panic!("expected an error, opened {v}"),
        Err(e) => e,
    }
}

#[tokio::test]
async fn reads_keys_and_assets_with_one_round_trip_pair() {
    let f = bucket();
    let v = open(Arc::clone(&f)).await.unwrap();
    assert_eq!(
        v.keys().collect::<Vec<_>>(),
        ["DATABASE_URL", "API_KEY", "EMPTY", "DUP"]
    );
    assert_eq!(
        v.vault_env("DATABASE_URL"),
        Some("postgres://vault-secret-db")
    );
    assert_eq!(v.vault_env("API_KEY"), Some("sk_live_vault_quoted"));
    assert_eq!(v.vault_env("EMPTY"), Some(""));
    assert_eq!(v.vault_env("DUP"), Some("second-wins"));
    assert_eq!(
        v.asset_names().collect::<Vec<_>>(),
        ["tls/server.key", "other/server.key", "gcp-sa.json"]
    );
    assert_eq!(v.asset_bytes("tls/server.key"), Some(TLS_KEY));
    assert_eq!(v.get_as_content("gcp-sa.json"), Some(SA_JSON));
    assert_eq!(
        v.asset_str("gcp-sa.json").unwrap(),
        std::str::from_utf8(SA_JSON).ok()
    );
    assert_eq!(
        v.asset_bytes(".env.dev"),
        None,
        "the env file is not an asset"
    );
    assert_eq!(v.asset_bytes("nope"), None);
    assert_eq!(v.generation(), 0, "no latest.manifest means generation 0");
    assert_eq!(v.bundle_ts(), TS);
    assert_eq!(v.env_name(), ENV);

    // Round trip 1: pointer and generation cell; round trip 2: the version object and, with
    // no `latest.manifest`, the legacy `latest.meta`. Nothing else, and nothing after open.
    let reqs = f.requests();
    let mut first: Vec<_> = reqs[..2].to_vec();
    let mut second: Vec<_> = reqs[2..].to_vec();
    first.sort();
    second.sort();
    assert_eq!(
        first,
        [
            format!("{PREFIX}latest"),
            format!("{PREFIX}latest.manifest")
        ]
    );
    assert_eq!(
        second,
        [
            format!("{PREFIX}latest.meta"),
            format!("{PREFIX}versions/{TS}.enc")
        ]
    );
    let _ = (
        v.env("DATABASE_URL"),
        v.has("X"),
        v.source("Y"),
        v.asset_bytes("gcp-sa.json"),
    );
    assert_eq!(f.requests().len(), 4);
}

#[tokio::test]
async fn generation_cell_like_the_cli_reads_it() {
    // latest.manifest wins; the legacy latest.meta is read only when it is absent.
    let f = bucket();
    f.insert(format!("{PREFIX}latest.meta"), r#"{"gen":9}"#);
    let v = open(Arc::clone(&f)).await.unwrap();
    assert_eq!(v.generation(), 9);
    f.insert(format!("{PREFIX}latest.manifest"), r#"{"gen":3}"#);
    let before = f.requests().len();
    let v = open(Arc::clone(&f)).await.unwrap();
    assert_eq!(v.generation(), 3);
    assert_eq!(
        f.requests().len() - before,
        3,
        "no latest.meta read with a manifest"
    );
    assert_eq!(v.remote_generation().await.unwrap(), 3);
    f.remove(&format!("{PREFIX}latest.manifest"));
    assert_eq!(v.remote_generation().await.unwrap(), 9);
    f.remove(&format!("{PREFIX}latest.meta"));
    assert_eq!(v.remote_generation().await.unwrap(), 0);
    // Upstream's JavaScript writes integral floats.
    f.insert(format!("{PREFIX}latest.manifest"), r#"{"gen":4.0}"#);
    assert_eq!(v.remote_generation().await.unwrap(), 4);
}

#[tokio::test]
async fn fallback_chain_vault_env_default_missing() {
    let v = open(bucket())
        .await
        .unwrap()
        .with_env_lookup(lookup(&[
            ("DATABASE_URL", "postgres://env"),
            ("STRIPE_KEY", "sk_env"),
            ("BLANK", ""),
        ]))
        .with_defaults([
            ("STRIPE_KEY", "sk_default"),
            ("PORT", "8080"),
            ("DATABASE_URL", "d"),
        ]);

    let cases = [
        (
            "DATABASE_URL",
            Some("postgres://vault-secret-db"),
            Source::Vault,
        ),
        ("EMPTY", Some(""), Source::Vault),
        ("STRIPE_KEY", Some("sk_env"), Source::Env),
        ("BLANK", Some(""), Source::Env),
        ("PORT", Some("8080"), Source::Default),
        ("NOWHERE", None, Source::Missing),
    ];
    for (key, value, source) in cases {
        assert_eq!(v.env(key).as_deref(), value, "{key}");
        assert_eq!(v.get_env(key).as_deref(), value, "{key}");
        assert_eq!(v.source(key), source, "{key}");
        assert_eq!(v.env_source(key), source, "{key}");
        assert_eq!(v.has(key), source != Source::Missing, "{key}");
        assert_eq!(v.has_env(key), v.has(key), "{key}");
    }
    assert_eq!(v.vault_env("STRIPE_KEY"), None, "vault_env skips the chain");
    assert_eq!(Source::Default.to_string(), "default");
    // Assets are a separate namespace.
    assert_eq!(v.source("gcp-sa.json"), Source::Missing);
}

#[tokio::test]
async fn process_env_is_read_at_lookup_time() {
    use std::sync::Mutex;
    let value = Arc::new(Mutex::new(None::<String>));
    let seen = Arc::clone(&value);
    let env = move |name: &str| {
        (name == "LATE")
            .then(|| seen.lock().unwrap().clone())
            .flatten()
    };
    let v = OpenOptions::new()
        .env_lookup(Arc::new(env))
        .fetcher(bucket())
        .defaults([("LATE", "fallback")])
        .open_with(&blob(), PASSPHRASE)
        .await
        .unwrap();
    assert_eq!(v.source("LATE"), Source::Default);
    *value.lock().unwrap() = Some("now".into());
    assert_eq!(v.env("LATE").as_deref(), Some("now"));
    assert_eq!(v.source("LATE"), Source::Env);
}

#[tokio::test]
async fn generation_and_remote_generation() {
    let f = bucket();
    f.insert(
        format!("{PREFIX}latest.manifest"),
        r#"{"gen":2,"prev_gen":1,"rotated_at":"2026-05-23T11:42:01.234Z"}"#,
    );
    let v = open(Arc::clone(&f)).await.unwrap();
    assert_eq!(v.generation(), 2);
    assert_eq!(v.remote_generation().await.unwrap(), 2);
    assert!(!v.has_new_version().await.unwrap());

    f.insert(
        format!("{PREFIX}latest.manifest"),
        r#"{"gen":3,"prev_gen":2}"#,
    );
    let before = f.requests().len();
    assert_eq!(v.remote_generation().await.unwrap(), 3);
    assert!(v.has_new_version().await.unwrap());
    assert_eq!(v.generation(), 2, "the handle never changes");
    // Polling reads only the generation cell.
    let manifest = format!("{PREFIX}latest.manifest");
    assert_eq!(f.requests()[before..], [manifest.clone(), manifest]);

    f.fail_with(Some(FetchError::network("connection refused")));
    assert_eq!(
        v.remote_generation().await.unwrap_err().class(),
        "S3UnreachableError"
    );
    f.fail_with(None);
    f.insert(format!("{PREFIX}latest.manifest"), "not json");
    assert_eq!(
        v.remote_generation().await.unwrap_err().class(),
        "BundleCorruptError"
    );
}

#[tokio::test]
async fn malformed_generation_cell_refuses_to_open() {
    let f = bucket();
    f.insert(format!("{PREFIX}latest.manifest"), r#"{"gen":-1}"#);
    assert_eq!(open_err(f).await.class(), "BundleCorruptError");
    let f = bucket();
    f.insert(format!("{PREFIX}latest.meta"), "[]");
    assert_eq!(open_err(f).await.class(), "BundleCorruptError");
    let f = bucket();
    f.insert(format!("{PREFIX}latest.manifest"), "");
    assert_eq!(open(f).await.unwrap().generation(), 0);
}

// ----- integrity ------------------------------------------------------------------------------

fn object_key(ts: &str) -> String {
    format!("{PREFIX}versions/{ts}.enc")
}

fn sealed(ts: &str) -> Vec<u8> {
    vsync_crypto::bundle::seal(&key(), ts, &standard_zip()).unwrap()
}

#[tokio::test]
async fn tampered_objects() {
    // A flipped ciphertext or tag byte: the GCM tag rejects it.
    for at in [40usize, usize::MAX] {
        let f = bucket();
        let mut obj = sealed(TS);
        let i = if at == usize::MAX { obj.len() - 1 } else { at };
        obj[i] ^= 0x01;
        f.insert(object_key(TS), obj);
        assert_eq!(open_err(f).await.class(), "WrongPassphraseError");
    }
    // A flipped magic, a truncated envelope, an empty object: not an envelope.
    let mut bad_magic = sealed(TS);
    bad_magic[0] = b'X';
    for obj in [bad_magic, sealed(TS)[..31].to_vec(), Vec::new()] {
        let f = bucket();
        f.insert(object_key(TS), obj);
        assert_eq!(open_err(f).await.class(), "BundleCorruptError");
    }
    // A newer envelope family.
    let mut rqe2 = sealed(TS);
    rqe2[3] = b'2';
    let f = bucket();
    f.insert(object_key(TS), rqe2);
    assert_eq!(open_err(f).await.class(), "UnsupportedSpecVersionError");
}

#[tokio::test]
async fn wrong_passphrase() {
    let e = Vault::open_with_fetcher(&blob(), "not-the-keychain-value", bucket())
        .await
        .unwrap_err();
    assert_eq!(e.class(), "WrongPassphraseError");
    assert!(e.to_string().contains("vsync key show"), "{e}");
    // The passphrase is used byte for byte: a trailing newline is a different passphrase.
    let e = Vault::open_with_fetcher(&blob(), &format!("{PASSPHRASE}\n"), bucket())
        .await
        .unwrap_err();
    assert_eq!(e.class(), "WrongPassphraseError");
}

#[tokio::test]
async fn rolled_back_pointer_is_refused() {
    // The pointer names TS, but the object there was sealed under an older timestamp (an old
    // bundle copied over the new name).
    let f = bucket();
    f.insert(object_key(TS), sealed(TS_OLD));
    let e = open_err(f).await;
    assert_eq!(e.class(), "BundleCorruptError");
    assert!(
        e.to_string().contains("seal timestamp does not match"),
        "{e}"
    );

    // The pointer moved back to an old, genuine version: it opens that version (its seal
    // matches); refusing rollbacks needs state the runtime does not keep.
    let f = bucket();
    f.insert(object_key(TS_OLD), sealed(TS_OLD));
    f.insert(format!("{PREFIX}latest"), TS_OLD);
    assert_eq!(open(f).await.unwrap().bundle_ts(), TS_OLD);
}

#[tokio::test]
async fn pointer_problems() {
    // 404 on the pointer: nothing pushed.
    let f = Arc::new(MemoryFetcher::new());
    let e = open_err(Arc::clone(&f)).await;
    assert_eq!(e.class(), "ManifestNotFoundError");
    assert!(e.to_string().contains("vsync push"), "{e}");
    assert!(e.to_string().contains("acme_web/dev/latest"), "{e}");
    assert_eq!(f.requests().len(), 2, "no version fetch without a pointer");
    // An empty pointer is the same.
    let f = bucket();
    f.insert(format!("{PREFIX}latest"), " \n");
    assert_eq!(open_err(f).await.class(), "ManifestNotFoundError");
    // A pointer that is not a timestamp is never used as an object key.
    let f = bucket();
    f.insert(format!("{PREFIX}latest"), "../../other/versions/x");
    assert_eq!(open_err(Arc::clone(&f)).await.class(), "BundleCorruptError");
    assert_eq!(f.requests().len(), 2);
    // A trailing newline in the pointer is fine.
    let f = bucket();
    f.insert(format!("{PREFIX}latest"), format!("{TS}\n"));
    assert!(open(f).await.is_ok());
    // The pointer names a version that does not exist: torn state.
    let f = bucket();
    f.remove(&object_key(TS));
    let e = open_err(f).await;
    assert_eq!(e.class(), "BundleCorruptError");
    assert!(e.to_string().contains("torn state"), "{e}");
}

#[tokio::test]
async fn fetcher_failures_are_s3_unreachable() {
    for (err, reason, words) in [
        (
            FetchError::network("connection refused"),
            Unreachable::Network,
            "cannot reach",
        ),
        (
            FetchError::access_denied("403 AccessDenied"),
            Unreachable::AccessDenied,
            "denied access",
        ),
        (
            FetchError::other("500 InternalError"),
            Unreachable::Other,
            "failed",
        ),
    ] {
        let f = bucket();
        f.fail_with(Some(err));
        let e = open_err(f).await;
        assert_eq!(e.class(), "S3UnreachableError");
        assert!(
            matches!(e, Error::S3Unreachable { reason: r, .. } if r == reason),
            "{e:?}"
        );
        let msg = e.to_string();
        assert!(msg.contains(words), "{msg}");
        assert!(
            msg.contains("bucket `acme-secrets` at https://s3.example.com"),
            "{msg}"
        );
    }
}

/// A fetcher that answers the pointer and fails the version object.
struct FailSecond(Arc<MemoryFetcher>);

#[vsync_runtime::async_trait]
impl Fetcher for FailSecond {
    async fn get(&self, key: &str) -> Result<Option<vsync_runtime::Bytes>, FetchError> {
        if key.contains("/versions/") {
            return Err(FetchError::access_denied("403 AccessDenied"));
        }
        self.0.get(key).await
    }
}

#[tokio::test]
async fn failure_on_the_version_object() {
    let e = Vault::open_with_fetcher(&blob(), PASSPHRASE, Arc::new(FailSecond(bucket())))
        .await
        .unwrap_err();
    assert_eq!(e.class(), "S3UnreachableError");
    assert!(
        e.to_string().contains("versions/20260523-114201.enc"),
        "{e}"
    );
}

#[tokio::test]
async fn bad_payloads_are_corrupt() {
    // Not a zip.
    let f = bucket_with(b"PK\x03\x04 definitely not a zip");
    assert_eq!(open_err(f).await.class(), "BundleCorruptError");
    // An env file that is not UTF-8.
    let f = bucket_with(&zip_of(&[(".env.dev", b"A=\xff\xfe\n")]));
    let e = open_err(f).await;
    assert_eq!(e.class(), "BundleCorruptError");
    assert!(e.to_string().contains("line 1"), "{e}");
    // An entry that would escape the vault.
    let f = bucket_with(&zip_of(&[
        (".env.dev", b"A=1\n"),
        ("../../etc/passwd", b"x"),
    ]));
    assert_eq!(open_err(f).await.class(), "BundleCorruptError");
    // A zip bomb is capped.
    let big = vec![0u8; 4096];
    let f = bucket_with(&zip_of(&[(".env.dev", b"A=1\n"), ("big.bin", &big)]));
    let e = OpenOptions::new()
        .fetcher(f)
        .zip_limits(vsync_runtime::ZipLimits {
            max_entries: 100,
            max_total_bytes: 1024,
        })
        .open_with(&blob(), PASSPHRASE)
        .await
        .unwrap_err();
    assert_eq!(e.class(), "BundleCorruptError");
}

#[tokio::test]
async fn a_vault_without_env_file_has_only_assets() {
    let f = bucket_with(&zip_of(&[("tls/server.key", TLS_KEY)]));
    let v = open(f).await.unwrap();
    assert_eq!(v.keys().count(), 0);
    assert_eq!(v.asset_bytes("tls/server.key"), Some(TLS_KEY));
    // Another env's file is an asset too, never keys.
    let f = bucket_with(&zip_of(&[(".env.prod", b"A=1\n")]));
    let v = open(f).await.unwrap();
    assert_eq!(v.keys().count(), 0);
    assert!(v.asset_bytes(".env.prod").is_some());
}

#[tokio::test]
async fn reads_a_zip_built_like_push_builds_it() {
    let tmp = tempfile::tempdir().unwrap();
    let vault = tmp.path().join("infra/vault/dev");
    std::fs::create_dir_all(vault.join("tls")).unwrap();
    std::fs::write(vault.join(".env.dev"), ENV_FILE).unwrap();
    std::fs::write(vault.join("tls/server.key"), TLS_KEY).unwrap();
    let zip = vsync_vault::zip_bundle::build(tmp.path(), "infra/vault/dev").unwrap();
    let v = open(bucket_with(&zip)).await.unwrap();
    assert_eq!(v.vault_env("DUP"), Some("second-wins"));
    assert_eq!(v.asset_names().collect::<Vec<_>>(), ["tls/server.key"]);
    assert_eq!(v.asset_bytes("tls/server.key"), Some(TLS_KEY));
}

// ----- bootstrap ------------------------------------------------------------------------------

#[tokio::test]
async fn bootstrap_from_an_injected_environment() {
    let e = OpenOptions::new()
        .env_lookup(Arc::new(EmptyEnv))
        .fetcher(bucket())
        .open()
        .await
        .unwrap_err();
    assert_eq!(e.class(), "ConfigMissingError");
    assert!(e.to_string().contains("VSYNC_CONFIG"), "{e}");

    let blob = blob();
    let v = OpenOptions::new()
        .env_lookup(lookup(&[
            ("VSYNC_CONFIG", &blob),
            ("VSYNC_PASSPHRASE", PASSPHRASE),
            ("FROM_ENV", "yes"),
        ]))
        .fetcher(bucket())
        .open()
        .await
        .unwrap();
    assert_eq!(
        v.source("FROM_ENV"),
        Source::Env,
        "the same lookup serves the chain"
    );
    assert_eq!(v.vault_env("DUP"), Some("second-wins"));

    // The _FILE forms, with the trailing newline of the passphrase file removed.
    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("cfg");
    let pass_path = dir.path().join("pass");
    std::fs::write(&cfg_path, format!("{blob}\n")).unwrap();
    std::fs::write(&pass_path, format!("{PASSPHRASE}\n")).unwrap();
    #[cfg(unix)]
    for p in [&cfg_path, &pass_path] {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let v = OpenOptions::new()
        .env_lookup(lookup(&[
            ("VSYNC_CONFIG_FILE", cfg_path.to_str().unwrap()),
            ("VSYNC_PASSPHRASE_FILE", pass_path.to_str().unwrap()),
        ]))
        .fetcher(bucket())
        .open()
        .await
        .unwrap();
    assert_eq!(v.keys().count(), 4);
}

#[tokio::test]
async fn config_problems() {
    let class = |r: Result<Vault, Error>| r.unwrap_err().class();
    assert_eq!(
        class(Vault::open_with_fetcher("", PASSPHRASE, bucket()).await),
        "ConfigMissingError"
    );
    assert_eq!(
        class(Vault::open_with_fetcher(&blob(), "", bucket()).await),
        "ConfigMissingError"
    );
    assert_eq!(
        class(Vault::open_with_fetcher("{\"v\":1}", PASSPHRASE, bucket()).await),
        "ConfigMissingError"
    );
    let mut cfg = config(1);
    cfg.v = 1;
    let mut json = serde_json::to_value(&cfg).unwrap();
    json["v"] = 99.into();
    let v99 = {
        use base64::Engine as _;
        use std::io::Write as _;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(json.to_string().as_bytes()).unwrap();
        format!(
            "vsync-cfg-v1:{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(gz.finish().unwrap())
        )
    };
    assert_eq!(
        class(Vault::open_with_fetcher(&v99, PASSPHRASE, bucket()).await),
        "ConfigUnsupportedVersionError"
    );
}

// ----- assets on disk -------------------------------------------------------------------------

#[cfg(unix)]
#[tokio::test]
async fn asset_path_is_private_stable_and_removed_on_drop() {
    use std::os::unix::fs::PermissionsExt as _;
    let v = open(bucket()).await.unwrap();
    let p = v.asset_path("tls/server.key").unwrap();
    let dir = p.parent().unwrap().to_path_buf();
    assert_eq!(std::fs::read(&p).unwrap(), TLS_KEY);
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&p), 0o600);
    assert_eq!(mode(&dir), 0o700);
    let dir_name = dir.file_name().unwrap().to_str().unwrap();
    assert!(
        dir_name.starts_with(&format!("vsync-{}-", std::process::id())),
        "{dir_name}"
    );
    assert_eq!(
        v.asset_path("tls/server.key").unwrap(),
        p,
        "same path again"
    );
    // Same basename, different asset: no clobbering.
    let q = v.asset_path("other/server.key").unwrap();
    assert_ne!(p, q);
    assert_eq!(q.parent(), Some(dir.as_path()));
    assert_eq!(std::fs::read(&q).unwrap(), OTHER_TLS_KEY);
    assert_eq!(std::fs::read(&p).unwrap(), TLS_KEY);
    let e = v.asset_path("missing.pem").unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
    drop(v);
    assert!(!p.exists() && !dir.exists(), "removed on drop");

    let v = open(bucket()).await.unwrap();
    let p = v.asset_path("gcp-sa.json").unwrap();
    v.close().unwrap();
    assert!(
        !p.exists() && !p.parent().unwrap().exists(),
        "removed on close"
    );
}

// ----- redaction ------------------------------------------------------------------------------

#[tokio::test]
async fn handle_renders_redacted() {
    let f = bucket();
    f.insert(format!("{PREFIX}latest.manifest"), r#"{"gen":7}"#);
    let v = open(f)
        .await
        .unwrap()
        .with_defaults([("D", "default-secret")]);
    let want = "<vsync:redacted gen=7 env=dev>";
    assert_eq!(format!("{v}"), want);
    assert_eq!(format!("{v:?}"), want);
    assert_eq!(format!("{v:#?}"), want);
    assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{want}\""));
    #[derive(serde::Serialize)]
    struct AppState<'a> {
        vault: &'a Vault,
    }
    let dumped = serde_json::to_string(&AppState { vault: &v }).unwrap();
    assert_eq!(dumped, format!("{{\"vault\":\"{want}\"}}"));
    for text in [format!("{v:?}"), dumped] {
        assert_clean("rendering", &text);
        assert!(!text.contains("default-secret") && !text.contains("s3.example.com"));
    }
}

#[tokio::test]
async fn no_secret_in_any_error() {
    let mut errors = Vec::new();
    let mut push = |r: Result<Vault, Error>| errors.push(r.unwrap_err());
    push(Vault::open_with_fetcher(&blob(), "wrong", bucket()).await);
    push(Vault::open_with_fetcher(&blob(), PASSPHRASE, Arc::new(MemoryFetcher::new())).await);
    for err in [
        FetchError::network("refused"),
        FetchError::access_denied("403"),
    ] {
        let f = bucket();
        f.fail_with(Some(err));
        push(Vault::open_with_fetcher(&blob(), PASSPHRASE, f).await);
    }
    let f = bucket();
    f.insert(object_key(TS), sealed(TS_OLD));
    push(Vault::open_with_fetcher(&blob(), PASSPHRASE, f).await);
    push(Vault::open_with_fetcher(&blob(), PASSPHRASE, bucket_with(b"not a zip")).await);
    push(
        Vault::open_with_fetcher(
            &blob(),
            PASSPHRASE,
            bucket_with(&zip_of(&[(
                ".env.dev",
                b"SECRET=sk_live_vault_quoted\xff\n",
            )])),
        )
        .await,
    );
    push(
        OpenOptions::new()
            .env_lookup(Arc::new(EmptyEnv))
            .open()
            .await,
    );
    push(Vault::open_with_fetcher(PASSPHRASE, SECRET_ACCESS_KEY, bucket()).await);
    assert_eq!(errors.len(), 9);
    for e in &errors {
        assert_clean("error Display", &e.to_string());
        assert_clean("error Debug", &format!("{e:?}"));
    }
}

// ----- blocking -------------------------------------------------------------------------------

#[test]
fn blocking_from_a_plain_thread() {
    let f = bucket();
    f.insert(format!("{PREFIX}latest.manifest"), r#"{"gen":1}"#);
    let v = Vault::open_with_fetcher_blocking(&blob(), PASSPHRASE, Arc::clone(&f) as _).unwrap();
    assert_eq!(v.vault_env("DUP"), Some("second-wins"));
    f.insert(format!("{PREFIX}latest.manifest"), r#"{"gen":5}"#);
    assert_eq!(v.remote_generation_blocking().unwrap(), 5);
    let e = OpenOptions::new()
        .env_lookup(Arc::new(EmptyEnv))
        .open_blocking()
        .unwrap_err();
    assert_eq!(e.class(), "ConfigMissingError");
    // From several threads at once.
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let v = Vault::open_with_fetcher_blocking(&blob(), PASSPHRASE, bucket()).unwrap();
                assert_eq!(v.keys().count(), 4);
            });
        }
    });
}

#[tokio::test(flavor = "current_thread")]
async fn blocking_inside_an_async_runtime_does_not_panic() {
    let v = Vault::open_with_fetcher_blocking(&blob(), PASSPHRASE, bucket()).unwrap();
    assert_eq!(v.keys().count(), 4);
    assert_eq!(v.remote_generation().await.unwrap(), 0);
}

#[test]
fn handle_is_send_and_sync() {
    fn check<T: Send + Sync + 'static>() {}
    check::<Vault>();
    check::<OpenOptions>();
    check::<Error>();
}
