//! The host's reading of what a plugin said (it lives here, beside the wire types, so the fuzz
//! target can reach it without the CLI): the manifest and each call's reply. Nothing here
//! trusts the plugin; every malformation is an `Internal` error for its target.

use super::{
    MIN_SUPPORTED_ABI, Manifest, RC_ERROR, RC_MISUSE, RC_OK, RC_PANIC, VSYNC_DEST_ABI_VERSION,
    WIRE_SCHEMA, WireError,
};
use crate::DestError;

/// Largest reply (and manifest) accepted from a plugin.
pub const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;

/// Why an ABI version is refused.
pub fn abi_message(v: u32) -> String {
    format!(
        "ABI version {v} is not supported (this vsync speaks {MIN_SUPPORTED_ABI}..={VSYNC_DEST_ABI_VERSION}); rebuild the plugin"
    )
}

/// The error for an over-size reply.
pub fn too_large() -> DestError {
    DestError::internal("plugin reply too large or malformed (over 16 MiB)")
}

/// Check the ABI version the child read and the manifest text it sent.
pub fn manifest(abi: u32, text: &[u8]) -> Result<Manifest, String> {
    if !(MIN_SUPPORTED_ABI..=VSYNC_DEST_ABI_VERSION).contains(&abi) {
        return Err(abi_message(abi));
    }
    if text.len() > MAX_REPLY_BYTES {
        return Err("manifest too large".into());
    }
    let m: Manifest =
        serde_json::from_slice(text).map_err(|e| format!("malformed manifest: {e}"))?;
    if m.schema != WIRE_SCHEMA {
        return Err(format!("manifest schema {} is not supported", m.schema));
    }
    if m.abi != abi {
        return Err("manifest abi differs from vsync_dest_abi_version".into());
    }
    if !valid_id(&m.id) {
        return Err(format!("invalid plugin id {:?}", m.id));
    }
    Ok(m)
}

/// `[a-z][a-z0-9-]{0,31}`.
pub fn valid_id(id: &str) -> bool {
    let mut c = id.chars();
    matches!(c.next(), Some(f) if f.is_ascii_lowercase())
        && id.len() <= 32
        && c.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// One reply: `{"ok":…}` (rc 0) → the value; `{"error":…}` (rc 1) → its typed error; anything
/// else → `Internal`.
pub fn interpret(rc: i32, reply: Option<&[u8]>) -> Result<serde_json::Value, DestError> {
    match rc {
        RC_OK | RC_ERROR => {}
        RC_PANIC => return Err(DestError::internal("the plugin panicked")),
        RC_MISUSE => return Err(DestError::internal("the plugin reported ABI misuse")),
        other => {
            return Err(DestError::internal(format!(
                "the plugin returned rc {other}"
            )));
        }
    }
    let reply = reply.ok_or_else(|| DestError::internal("the plugin returned no reply"))?;
    let mut v: serde_json::Value = serde_json::from_slice(reply)
        .map_err(|_| DestError::internal("the plugin returned malformed JSON"))?;
    if rc == RC_OK {
        v.get_mut("ok")
            .map(serde_json::Value::take)
            .ok_or_else(|| DestError::internal("the plugin reply has no \"ok\""))
    } else {
        let e = v
            .get_mut("error")
            .map(serde_json::Value::take)
            .ok_or_else(|| DestError::internal("the plugin error reply has no \"error\""))?;
        let w: WireError = serde_json::from_value(e)
            .map_err(|_| DestError::internal("the plugin returned a malformed error"))?;
        Err(w.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        assert!(valid_id("jsonfile") && valid_id("a-1"));
        assert!(!valid_id("1a") && !valid_id("A") && !valid_id("") && !valid_id(&"a".repeat(33)));
    }

    #[test]
    fn manifests_are_checked_on_the_host_side() {
        let good = br#"{"schema":1,"id":"x","name":"X","version":"1","abi":1}"#;
        assert_eq!(manifest(1, good).unwrap().id, "x");
        assert!(manifest(2, good).unwrap_err().contains("not supported"));
        let bad_id = br#"{"schema":1,"id":"X!","name":"X","version":"1","abi":1}"#;
        assert!(
            manifest(1, bad_id)
                .unwrap_err()
                .contains("invalid plugin id")
        );
        assert!(manifest(1, b"{").unwrap_err().contains("malformed"));
    }
}
