//! One function per category. Positive cases compare every expected field; negative cases
//! require the exact canonical class name.

use std::collections::HashMap;

use serde_json::Value;
use vsync_crypto::kdf::DerivedKey;
use vsync_crypto::{CryptoError, bundle, cfg_blob, rqe1, rqem0001, sls1};
use vsync_testkit::vectors::{Vector, hex};

use crate::{Outcome, runtime};

/// Derived keys by (passphrase, salt): several vectors share one.
#[derive(Default)]
pub(crate) struct KeyCache(HashMap<(String, String), DerivedKey>);

impl KeyCache {
    fn get(&mut self, pass: &str, salt: &str) -> DerivedKey {
        self.0
            .entry((pass.to_owned(), salt.to_owned()))
            .or_insert_with(|| DerivedKey::derive(pass, salt))
            .clone()
    }
}

pub(crate) fn run(v: &Vector, keys: &mut KeyCache) -> Outcome {
    let result = match v.category.as_str() {
        "rqe1-decrypt" | "rqe1-decrypt-error" => rqe1_decrypt(v, keys),
        "rqem0001-manifest" => rqem0001_manifest(v),
        "config-blob" => config_blob(v),
        "rqe1-rqem0001-bundle" => bundle_object(v, keys),
        "sls1-share" => sls1_share(v),
        "error-taxonomy" => error_taxonomy(v, keys),
        "fallback-chain" => runtime::fallback_chain(v),
        "asset-path" => runtime::asset_path(v),
        other => Err(format!(
            "unknown category {other:?}: no dispatcher (a new corpus category?)"
        )),
    };
    match result {
        Ok(None) => Outcome::Pass,
        Ok(Some(skip)) => Outcome::Skip(skip),
        Err(why) => Outcome::Fail(why),
    }
}

/// `Ok(None)` pass, `Ok(Some(reason))` skip, `Err(why)` fail.
pub(crate) type Check = Result<Option<String>, String>;

pub(crate) fn bin(v: &Vector) -> Result<&[u8], String> {
    v.bin
        .as_deref()
        .ok_or_else(|| "this category needs a .bin and there is none".to_owned())
}

pub(crate) fn input<'a>(v: &'a Vector, key: &str) -> Result<&'a str, String> {
    v.input_str(key)
        .ok_or_else(|| format!("inputs.{key} is missing or not a string"))
}

/// Fail on any expected field the category does not define: every field gets compared.
pub(crate) fn only_fields(v: &Vector, known: &[&str]) -> Result<(), String> {
    match v.expected().keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(format!(
            "expected.{k} is not a field this harness knows how to check"
        )),
        None => Ok(()),
    }
}

/// An error with a canonical class name (docs/formats.md §14.1).
pub(crate) trait Classed: std::fmt::Display {
    fn class_name(&self) -> &'static str;
}

impl Classed for CryptoError {
    fn class_name(&self) -> &'static str {
        self.class()
    }
}

impl Classed for vsync_runtime::Error {
    fn class_name(&self) -> &'static str {
        self.class()
    }
}

/// Match an operation's result against `expected.error`: `Ok(Some(value))` on an expected
/// success, `Ok(None)` on the expected error class, `Err` otherwise.
pub(crate) fn against<T, E: Classed>(v: &Vector, got: Result<T, E>) -> Result<Option<T>, String> {
    match (v.expected_error()?, got) {
        (None, Ok(x)) => Ok(Some(x)),
        (None, Err(e)) => Err(format!("expected success, got {}: {e}", e.class_name())),
        (Some(want), Ok(_)) => Err(format!("expected {want}, but the operation succeeded")),
        (Some(want), Err(e)) if e.class_name() == want => Ok(None),
        (Some(want), Err(e)) => Err(format!("expected {want}, got {}: {e}", e.class_name())),
    }
}

/// Compare `expected.<field>` with what we produced (`None` = nothing produced, i.e. null).
pub(crate) fn same(v: &Vector, field: &str, ours: Option<Value>) -> Result<(), String> {
    let want = v.expected().get(field).cloned().unwrap_or(Value::Null);
    let ours = ours.unwrap_or(Value::Null);
    if want == ours {
        Ok(())
    } else {
        Err(format!(
            "expected.{field} mismatch:\n         want {want}\n         got  {ours}"
        ))
    }
}

fn text(s: &str) -> Option<Value> {
    Some(Value::String(s.to_owned()))
}

fn rqe1_op(
    v: &Vector,
    keys: &mut KeyCache,
    bytes: &[u8],
) -> Result<Result<Vec<u8>, CryptoError>, String> {
    let pass = input(v, "passphrase")?;
    let salt = input(v, "salt")?;
    // Structure first, so a malformed envelope costs no KDF.
    if let Err(e) = rqe1::check_envelope(bytes) {
        return Ok(Err(e));
    }
    let key = keys.get(pass, salt);
    Ok(rqe1::decrypt(&key, bytes).map(|p| p.to_vec()))
}

fn rqe1_decrypt(v: &Vector, keys: &mut KeyCache) -> Check {
    only_fields(v, &["plaintext_hex", "plaintext_utf8", "error"])?;
    let got = rqe1_op(v, keys, bin(v)?)?;
    let plain = against(v, got)?;
    same(
        v,
        "plaintext_hex",
        plain.as_deref().map(|p| Value::String(hex(p))),
    )?;
    if v.expected().contains_key("plaintext_utf8") {
        let utf8 = plain
            .as_deref()
            .map(|p| std::str::from_utf8(p).map(|s| s.to_owned()));
        match utf8 {
            Some(Err(_)) => {
                return Err("expected.plaintext_utf8 is set but the plaintext is not UTF-8".into());
            }
            Some(Ok(s)) => same(v, "plaintext_utf8", text(&s))?,
            None => same(v, "plaintext_utf8", None)?,
        }
    }
    Ok(None)
}

fn rqem0001_manifest(v: &Vector) -> Check {
    only_fields(v, &["embedded_ts", "payload_hex", "error"])?;
    let bytes = bin(v)?;
    let remote = input(v, "remote_ts")?;
    let embedded = rqem0001::unwrap(bytes).ok().map(|(ts, _)| ts);
    same(v, "embedded_ts", embedded.and_then(text))?;
    let payload = against(v, rqem0001::open(bytes, remote))?;
    same(v, "payload_hex", payload.map(|p| Value::String(hex(p))))?;
    Ok(None)
}

fn config_blob(v: &Vector) -> Check {
    only_fields(v, &["config_json", "error"])?;
    let blob = String::from_utf8_lossy(bin(v)?);
    let cfg = against(v, cfg_blob::decode(&blob))?;
    let json = cfg
        .map(|c| serde_json::to_value(&c))
        .transpose()
        .map_err(|e| e.to_string())?;
    same(v, "config_json", json)?;
    Ok(None)
}

fn bundle_object(v: &Vector, keys: &mut KeyCache) -> Check {
    only_fields(v, &["embedded_ts", "payload_hex", "error"])?;
    let bytes = bin(v)?;
    let pass = input(v, "passphrase")?;
    let salt = input(v, "salt")?;
    let remote = input(v, "remote_ts")?;
    let (embedded, result) = match rqe1::check_envelope(bytes) {
        Err(e) => (None, Err(e)),
        Ok(()) => {
            let key = keys.get(pass, salt);
            let embedded = bundle::open_unverified(&key, bytes).ok().map(|(ts, _)| ts);
            (embedded, bundle::open(&key, bytes, remote))
        }
    };
    same(v, "embedded_ts", embedded.as_deref().and_then(text))?;
    let zip = against(v, result)?;
    same(v, "payload_hex", zip.map(|z| Value::String(hex(&z))))?;
    Ok(None)
}

fn sls1_share(v: &Vector) -> Check {
    only_fields(v, &["salt", "export_payload", "error"])?;
    let bytes = bin(v)?;
    let pass = input(v, "passphrase")?;
    let got = against(v, sls1::unpack(pass, bytes))?;
    let (salt, payload) = match got {
        Some((salt, p)) => {
            let json = serde_json::to_value(&p).map_err(|e| e.to_string())?;
            (text(&salt), Some(json))
        }
        None => (None, None),
    };
    same(v, "salt", salt)?;
    same(v, "export_payload", payload)?;
    Ok(None)
}

fn error_taxonomy(v: &Vector, keys: &mut KeyCache) -> Check {
    only_fields(v, &["error"])?;
    if v.expected_error()?.is_none() {
        return Err(
            "error-taxonomy vectors are always negative, but expected.error is null".into(),
        );
    }
    let inputs = v.inputs();
    if inputs.contains_key("passphrase") {
        let got = rqe1_op(v, keys, bin(v)?)?;
        against(v, got)?;
        return Ok(None);
    }
    if inputs.get("bin").and_then(Value::as_str) == Some("see-bin") {
        let blob = String::from_utf8_lossy(bin(v)?);
        against(v, cfg_blob::decode(&blob))?;
        return Ok(None);
    }
    // A bucket scenario through an injected fetcher, or the bootstrap from an empty
    // environment: both open a vault.
    runtime::error_scenario(v)
}
