//! The categories that need the runtime library: `fallback-chain`, `asset-path`, and the
//! bootstrap and bucket scenarios of `error-taxonomy`.
//!
//! Nothing here builds a handle by hand: every vector opens a real [`Vault`] through the whole
//! read chain, against an in-memory bucket filled the way `vsync push` fills one (the vault
//! folder zipped by `vsync_vault::zip_bundle::build`, sealed under the pointer's timestamp), with
//! an injected environment instead of the process one.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use vsync_crypto::cfg_blob::{self, RuntimeConfig};
use vsync_crypto::kdf::DerivedKey;
use vsync_crypto::secret::SecretText;
use vsync_runtime::{EnvLookup, FetchError, MemoryFetcher, OpenOptions, Vault};
use vsync_testkit::vectors::{Vector, hex};

use crate::dispatch::{Check, against, bin, input, only_fields, same};

const ENV: &str = "test";
const PREFIX: &str = "p/";
const TS: &str = "20260523-114201";
/// The fixture passphrase: a keychain value text (44 characters of base64).
const PASSPHRASE: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

/// The synthetic config of docs/runtime-contract.md §9.6, at `iterations` rounds.
fn config(iterations: u32) -> RuntimeConfig {
    RuntimeConfig {
        v: 1,
        endpoint: "https://s3.example.com".into(),
        region: "us-east-1".into(),
        bucket: "b".into(),
        access_key_id: "k".into(),
        secret_access_key: SecretText::new("s".into()),
        prefix: PREFIX.into(),
        env: ENV.into(),
        salt: "AAAAAAAAAAAAAAAAAAAAAA==".into(),
        iterations,
        extra: Default::default(),
    }
}

fn blob(iterations: u32) -> Result<String, String> {
    cfg_blob::encode(&config(iterations)).map_err(|e| e.to_string())
}

/// A bucket holding one push of a vault folder with `files` (vault-relative names).
/// Fixtures use one PBKDF2 round: the runtime takes the count from the blob.
fn pushed(files: &[(&str, &[u8])]) -> Result<Arc<MemoryFetcher>, String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let folder = format!("infra/vault/{ENV}");
    let root = tmp.path().join(&folder);
    std::fs::create_dir_all(&root).map_err(|e| e.to_string())?;
    for (name, body) in files {
        let path = root.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| e.to_string())?;
        }
        std::fs::write(path, body).map_err(|e| e.to_string())?;
    }
    let zip = vsync_vault::zip_bundle::build(tmp.path(), &folder).map_err(|e| e.to_string())?;
    let cfg = config(1);
    let key = DerivedKey::derive_with_iterations(PASSPHRASE, &cfg.salt, cfg.iterations);
    let object = vsync_crypto::bundle::seal(&key, TS, &zip).map_err(|e| e.to_string())?;
    let bucket = Arc::new(MemoryFetcher::new());
    bucket.insert(format!("{PREFIX}versions/{TS}.enc"), object);
    bucket.insert(format!("{PREFIX}latest"), TS);
    Ok(bucket)
}

/// `inputs.<field>` as a map of strings (absent = empty).
fn string_map(v: &Vector, field: &str) -> Result<HashMap<String, String>, String> {
    match v.inputs().get(field) {
        None | Some(Value::Null) => Ok(HashMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, val)| match val {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(format!("inputs.{field}.{k} is not a string")),
            })
            .collect(),
        Some(_) => Err(format!("inputs.{field} is not an object")),
    }
}

/// An env file that parses back to exactly `vault` (one quoted value per line).
fn env_file(vault: &HashMap<String, String>) -> Result<String, String> {
    let mut keys: Vec<_> = vault.keys().collect();
    keys.sort();
    let mut out = String::new();
    for k in keys {
        let val = &vault[k];
        if k.is_empty() || k.contains(['=', '\n', '\r']) || k.trim() != k || k.starts_with('#') {
            return Err(format!("vault key {k:?} cannot be written to an env file"));
        }
        if val.contains(['\n', '\r']) {
            return Err(format!(
                "the value of {k} spans lines; env files cannot hold it"
            ));
        }
        out.push_str(&format!("{k}=\"{val}\"\n"));
    }
    Ok(out)
}

pub(crate) fn fallback_chain(v: &Vector) -> Check {
    only_fields(v, &["results", "error"])?;
    if v.expected_error()?.is_some() {
        return Err("fallback-chain vectors are positive, but expected.error is set".into());
    }
    let vault = string_map(v, "vault")?;
    let env = string_map(v, "env")?;
    let defaults = string_map(v, "defaults")?;
    let queries: Vec<&str> = match v.inputs().get("queries") {
        Some(Value::Array(q)) => q
            .iter()
            .map(|k| k.as_str().ok_or("inputs.queries holds a non-string"))
            .collect::<Result<_, _>>()?,
        _ => return Err("inputs.queries is missing or not an array".into()),
    };
    let env_name = format!(".env.{ENV}");
    let bucket = pushed(&[(env_name.as_str(), env_file(&vault)?.as_bytes())])?;
    let handle = OpenOptions::new()
        .env_lookup(Arc::new(env) as Arc<dyn EnvLookup>)
        .fetcher(bucket)
        .defaults(defaults)
        .open_with_blocking(&blob(1)?, PASSPHRASE)
        .map_err(|e| format!("open failed: {}: {e}", e.class()))?;
    let results: Vec<Value> = queries
        .iter()
        .map(|k| {
            serde_json::json!({
                "key": k,
                "value": handle.env(k).map(|c| c.into_owned()),
                "source": handle.source(k).as_str(),
                "has": handle.has(k),
            })
        })
        .collect();
    same(v, "results", Some(Value::Array(results)))?;
    Ok(None)
}

pub(crate) fn asset_path(v: &Vector) -> Check {
    only_fields(v, &["bytes_hex", "mode_octal", "error"])?;
    if v.expected_error()?.is_some() {
        return Err("asset-path vectors are positive, but expected.error is set".into());
    }
    let bytes = bin(v)?;
    let key = input(v, "key")?;
    let env_name = format!(".env.{ENV}");
    let bucket = pushed(&[(env_name.as_str(), b""), (key, bytes)])?;
    let handle = Vault::open_with_fetcher_blocking(&blob(1)?, PASSPHRASE, bucket)
        .map_err(|e| format!("open failed: {}: {e}", e.class()))?;

    let in_memory = handle
        .asset_bytes(key)
        .ok_or_else(|| format!("asset {key} is missing from the opened vault"))?;
    same(v, "bytes_hex", Some(Value::String(hex(in_memory))))?;
    if in_memory != bytes {
        return Err("asset bytes differ from the .bin".into());
    }

    let path = handle
        .asset_path(key)
        .map_err(|e| format!("asset_path failed: {e}"))?;
    let on_disk =
        std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    same(v, "bytes_hex", Some(Value::String(hex(&on_disk))))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |p: &std::path::Path| {
            std::fs::metadata(p)
                .map(|m| format!("{:04o}", m.permissions().mode() & 0o777))
                .map_err(|e| e.to_string())
        };
        same(v, "mode_octal", Some(Value::String(mode(&path)?)))?;
        let dir = path
            .parent()
            .ok_or("the asset file has no parent directory")?;
        if mode(dir)? != "0700" {
            return Err(format!("asset directory mode is {}, want 0700", mode(dir)?));
        }
    }
    #[cfg(not(unix))]
    if !v.expected().contains_key("mode_octal") {
        return Err("expected.mode_octal is missing".into());
    }
    let again = handle
        .asset_path(key)
        .map_err(|e| format!("second asset_path failed: {e}"))?;
    if again != path {
        return Err("a second asset_path call returned another path".into());
    }
    let dir = path.parent().map(std::path::Path::to_path_buf);
    handle
        .close()
        .map_err(|e| format!("close could not remove the files: {e}"))?;
    if path.exists() || dir.is_some_and(|d| d.exists()) {
        return Err("the materialised file outlived the handle".into());
    }
    Ok(None)
}

/// `error-taxonomy` vectors that open a vault: a `scenario`, or the empty bootstrap.
pub(crate) fn error_scenario(v: &Vector) -> Check {
    let inputs = v.inputs();
    let Some(scenario) = inputs.get("scenario") else {
        // Bootstrap from the vector's environment (empty): no config, no passphrase.
        let env = string_map(v, "env")?;
        let got = OpenOptions::new()
            .env_lookup(Arc::new(env) as Arc<dyn EnvLookup>)
            .fetcher(Arc::new(MemoryFetcher::new()))
            .open_blocking();
        against(v, got)?;
        return Ok(None);
    };
    let fetchers: Vec<(&str, Arc<MemoryFetcher>)> = match scenario.as_str() {
        Some("network-error-or-iam-403") => {
            let network = Arc::new(MemoryFetcher::new());
            network.fail_with(Some(FetchError::network("connection refused")));
            let denied = Arc::new(MemoryFetcher::new());
            denied.fail_with(Some(FetchError::access_denied("403 AccessDenied")));
            vec![("network error", network), ("HTTP 403", denied)]
        }
        Some("manifest-404") => vec![("pointer 404", Arc::new(MemoryFetcher::new()))],
        _ => return Err(format!("unknown scenario {scenario}: no fixture for it")),
    };
    // The synthetic config at its full iteration count: these fail before any key derivation.
    let cfg = blob(600_000)?;
    for (what, fetcher) in fetchers {
        let got = Vault::open_with_fetcher_blocking(&cfg, "passphrase", fetcher);
        against(v, got).map_err(|e| format!("{what}: {e}"))?;
    }
    Ok(None)
}
