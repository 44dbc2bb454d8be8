//! Where the token and key come from: the injected environment, the `_FILE` forms, bad configs.

use std::sync::Arc;

use vsync_runtime::{EmptyEnv, Error, OpenOptions, Source, Vault};

use crate::common::*;

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
