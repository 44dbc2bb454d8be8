//! The daily loop on `gs://` (our GCS fake, tests/fakes/gcs_fake.py: generations and
//! `x-goog-if-generation-match`, RS256 service-account JWTs checked) and `az://` (Azurite: Shared
//! Key signatures, `If-None-Match: *`, `If-Match`). Credentials live only in each machine's
//! environment, never in the config.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use vsync_testkit::fakes::PythonFake;

use crate::harness::{World, exactly_one_push_wins};
use crate::require_keychain;

/// One cloud store under test: how to init a machine on it, and what must never be written.
struct Cloud {
    /// `--store` and the kind-specific init flags.
    init_args: Vec<String>,
    /// The URL the config must record.
    recorded_url: String,
    /// The environment of a machine with good credentials.
    good_env: Vec<(String, String)>,
    /// The environment of a machine whose credentials the service refuses.
    bad_env: Vec<(String, String)>,
    /// Strings that must not appear in any config file (key material).
    never_in_config: Vec<String>,
    /// The variable the wrong-credentials hint must name.
    credential_var: &'static str,
    _fake: Option<PythonFake>,
    _dir: Option<tempfile::TempDir>,
}

fn gcs() -> Option<Cloud> {
    let dir = tempfile::tempdir().unwrap();
    let fake = vsync_testkit::fakes::gcs_fake(dir.path())?;
    let sa = dir.path().join("sa.json");
    let other = dir.path().join("other-sa.json");
    let key_body = |p: &PathBuf| {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
        v["private_key"]
            .as_str()
            .unwrap()
            .lines()
            .nth(1)
            .unwrap()
            .to_owned()
    };
    let env = |p: &PathBuf| {
        vec![(
            "GOOGLE_APPLICATION_CREDENTIALS".to_owned(),
            p.to_str().unwrap().to_owned(),
        )]
    };
    Some(Cloud {
        init_args: vec![
            "--store".into(),
            "gs://vsync-test".into(),
            "--gcs-endpoint".into(),
            fake.url(),
        ],
        recorded_url: format!("gs://vsync-test?endpoint={}", fake.url()),
        good_env: env(&sa),
        bad_env: env(&other),
        never_in_config: vec![key_body(&sa), key_body(&other), "private_key".into()],
        credential_var: "GOOGLE_APPLICATION_CREDENTIALS",
        _fake: Some(fake),
        _dir: Some(dir),
    })
}

fn azure() -> Option<Cloud> {
    let Some(az) = vsync_testkit::services::azurite() else {
        vsync_testkit::services::skip("az:// end-to-end", "VSYNC_TEST_AZURITE_*");
        return None;
    };
    let wrong: String = az
        .key
        .chars()
        .map(|c| if c.is_ascii_alphabetic() { 'Q' } else { c })
        .collect();
    let env = |k: &str| vec![("AZURE_STORAGE_ACCOUNT_KEY".to_owned(), k.to_owned())];
    Some(Cloud {
        init_args: vec![
            "--store".into(),
            format!("az://{}", az.container),
            "--azure-storage-account".into(),
            az.account.clone(),
            "--azure-endpoint".into(),
            az.endpoint.clone(),
        ],
        recorded_url: format!(
            "az://{}?account={}&endpoint={}",
            az.container, az.account, az.endpoint
        ),
        good_env: env(&az.key),
        bad_env: env(&wrong),
        never_in_config: vec![az.key.clone(), wrong],
        credential_var: "AZURE_STORAGE_ACCOUNT_KEY",
        _fake: None,
        _dir: None,
    })
}

fn first_machine(c: &Cloud) -> World {
    let mut w = World::new();
    w.extra_env = c.good_env.clone();
    let mut args = vec!["init", "prod"];
    args.extend(c.init_args.iter().map(String::as_str));
    args.push("--yes");
    // init says where credentials come from
    w.vsync(&args)
        .ok()
        .stderr_has("never written to the config");
    for s in &c.never_in_config {
        w.secret(s);
    }
    w
}

/// A teammate: own HOME and checkout, the same config, credentials in their own environment.
fn teammate(a: &World) -> World {
    let mut b = World::second_machine(a);
    b.extra_env = a.extra_env.clone();
    b
}

/// Every config file under the machine's HOME, decoded.
fn all_config_text(w: &World) -> String {
    let mut out = String::new();
    let dir = w.base().join(&w.repo);
    for e in std::fs::read_dir(&dir).unwrap().flatten() {
        let raw = std::fs::read(e.path()).unwrap();
        let mut text = String::new();
        let gz = flate2::read::GzDecoder::new(&raw[..]);
        if std::io::Read::read_to_string(&mut { gz }, &mut text).is_err() {
            text = String::from_utf8_lossy(&raw).into_owned();
        }
        out.push_str(&text);
    }
    out
}

fn daily_loop(c: &Cloud) {
    let mut a = first_machine(c);
    let cfg = a.read_config("prod");
    assert_eq!(
        cfg["store"].as_str(),
        Some(c.recorded_url.as_str()),
        "{cfg}"
    );
    assert!(
        cfg.get("s3").is_none_or(serde_json::Value::is_null),
        "{cfg}"
    );
    let text = all_config_text(&a);
    for s in &c.never_in_config {
        assert!(
            !text.contains(s.as_str()),
            "a credential reached the config"
        );
    }
    for (_, v) in &c.good_env {
        // The GCS variable is a path (harmless), the Azure one the key itself: neither belongs.
        assert!(
            !text.contains(v.as_str()),
            "a credential reached the config"
        );
    }

    a.write_env(
        "prod",
        &[("DB_PASSWORD", "pw-in-the-cloud-5b1e"), ("API", "k-77aa")],
    );
    std::fs::write(a.vault("prod").join("cert.pem"), b"-----CERT-----\n").unwrap();
    a.vsync(&["push", "prod"]).ok();
    let first = a.latest_version("prod");
    assert!(!first.is_empty());

    let b = teammate(&a);
    b.vsync(&["pull", "prod"]).ok();
    assert_eq!(b.env_text("prod"), a.env_text("prod"));
    assert_eq!(
        std::fs::read(b.vault("prod").join("cert.pem")).unwrap(),
        b"-----CERT-----\n"
    );

    // A second version; both are listed.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    a.push_env("prod", &[("DB_PASSWORD", "pw-rotated-9c3d")]);
    let json = a.vsync(&["versions", "prod", "--json"]).ok().json();
    let listed = json.to_string();
    assert!(listed.contains(&first), "{listed}");
    assert_ne!(json["latest"].as_str().unwrap(), first);

    let d = a.vsync(&["doctor", "prod"]);
    let url_scheme = &c.recorded_url[..5];
    assert!(
        d.stdout.contains("ok    prod: store") && d.stdout.contains(url_scheme),
        "{}",
        d.stdout
    );
    assert!(
        d.stdout.contains(c.credential_var) || d.stdout.contains("credentials:"),
        "{}",
        d.stdout
    );
    assert!(
        d.stdout.contains("ok    prod: bucket")
            && d.stdout.contains("ok    prod: conditional writes"),
        "{}",
        d.stdout
    );
}

fn concurrent_pushes(c: &Cloud) {
    let mut a = first_machine(c);
    a.push_env("prod", &[("K", "base-value-0000")]);
    let machines: Vec<World> = (0..6).map(|_| teammate(&a)).collect();
    exactly_one_push_wins(&a, machines, || teammate(&a));
}

fn wrong_credentials(c: &Cloud) {
    let mut a = first_machine(c);
    a.write_env("prod", &[("K", "value-never-pushed")]);
    a.extra_env = c.bad_env.clone();
    let r = a.vsync(&["push", "prod"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "one error line and one hint: {}", r.stderr);
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains("denied access"),
        "{}",
        r.stderr
    );
    assert!(lines[0].contains(c.credential_var), "{}", r.stderr);
    assert!(lines[1].starts_with("hint: "), "{}", r.stderr);
    for (_, v) in &c.bad_env {
        if c.credential_var == "AZURE_STORAGE_ACCOUNT_KEY" {
            assert!(!r.stderr.contains(v.as_str()), "the key was printed");
        }
    }
}

/// The runtime token carries the store URL, not credentials: a CI job with the blob, the key and
/// its own cloud credentials reads the vault (keyless CLI and the runtime library).
fn runtime_token(c: &Cloud) {
    let mut a = first_machine(c);
    a.push_env("prod", &[("TOKEN_K", "runtime-value-31f0")]);
    let blob = a.runtime_token("prod", &[]);
    let key = a.key_text("prod");

    let mut ci = World::keyless(&a, &blob, &key);
    ci.repo = a.repo.clone();
    ci.extra_env.extend(c.good_env.iter().cloned());
    // The harness clears VSYNC_CONFIG/VSYNC_PASSPHRASE before extra_env is applied.
    let r = ci.vsync(&[
        "run",
        "prod",
        "--",
        "sh",
        "-c",
        "test \"$TOKEN_K\" = runtime-value-31f0",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    struct MapEnv(HashMap<String, String>);
    impl vsync_runtime::EnvLookup for MapEnv {
        fn get(&self, name: &str) -> Option<String> {
            self.0.get(name).cloned()
        }
    }
    let env: HashMap<String, String> = c.good_env.iter().cloned().collect();
    let vault = vsync_runtime::Vault::options()
        .env_lookup(Arc::new(MapEnv(env)))
        .open_with_blocking(&blob, &key)
        .unwrap();
    assert_eq!(vault.env("TOKEN_K").as_deref(), Some("runtime-value-31f0"));
    // Without the cloud credentials the runtime is refused, with a class, not a panic.
    let bad: HashMap<String, String> = c.bad_env.iter().cloned().collect();
    let err = vsync_runtime::Vault::options()
        .env_lookup(Arc::new(MapEnv(bad)))
        .open_with_blocking(&blob, &key)
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("runtime-value-31f0"), "{shown}");
}

macro_rules! cloud_tests {
    ($modname:ident, $setup:path) => {
        mod $modname {
            use super::*;

            cloud_tests!(@each $setup;
                init_push_pull_versions_doctor => daily_loop,
                concurrent_pushes_exactly_one_wins => concurrent_pushes,
                wrong_credentials_one_line_with_hint => wrong_credentials,
                runtime_token_reads_with_environment_credentials => runtime_token,
            );
        }
    };
    (@each $setup:path; $($name:ident => $body:ident,)*) => {
        $(
            #[test]
            fn $name() {
                require_keychain!();
                let Some(c) = $setup() else { return };
                $body(&c);
            }
        )*
    };
}

cloud_tests!(gs, super::gcs);
cloud_tests!(az, super::azure);

#[test]
fn init_refuses_flags_of_another_store_kind_and_azure_without_account() {
    require_keychain!();
    let w = World::new();
    let init = |w: &World, store: &str, flags: &[&str]| {
        w.vsync(&[&["init", "prod", "--store", store, "--yes"], flags].concat())
    };
    init(
        &w,
        "gs://some-bucket",
        &["--azure-endpoint", "http://127.0.0.1:1"],
    )
    .code(2)
    .stderr_has("--azure-endpoint applies to az://");
    let mut w = World::new();
    w.set_env("AZURE_STORAGE_ACCOUNT_NAME", "");
    init(&w, "az://container-x", &[])
        .code(2)
        .stderr_has("--azure-storage-account");
    init(&w, "gs://Bad_Bucket", &[]).code(2).stderr_has("gs://");
}
