//! The opened handle: assets on disk, redacted renderings, errors without secrets, blocking use.

use std::sync::Arc;

use vsync_runtime::{EmptyEnv, Error, FetchError, MemoryFetcher, OpenOptions, Vault};

use crate::common::*;
use crate::{object_key, open, sealed};

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
