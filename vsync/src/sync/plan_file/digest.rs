//! The canonical JSON a plan's digest covers: every object's keys sorted by their UTF-8 bytes,
//! no whitespace, strings escaped as serde_json escapes them, the top-level `digest` field left
//! out. The digest is SHA-256 of those bytes, lower-case hex: it names the plan (audit rows,
//! the Markdown summary) and shows an edit of the file.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `v` with every object's keys sorted (serde_json keeps insertion order in this workspace).
pub fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::with_capacity(m.len());
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

/// The canonical bytes of `v` without its top-level `digest` field.
pub fn canonical_bytes(v: &Value) -> Vec<u8> {
    let mut without = v.clone();
    if let Some(o) = without.as_object_mut() {
        // before sorting: removing from an insertion-ordered map may reorder it
        o.remove("digest");
    }
    serde_json::to_vec(&canonical(&without)).unwrap_or_default()
}

/// SHA-256 (hex) of [`canonical_bytes`].
pub fn of(v: &Value) -> String {
    crate::plugins::discover::hex(&Sha256::digest(canonical_bytes(v)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn canonical_form_sorts_keys_at_every_depth_and_has_no_whitespace() {
        let v = json!({"b": 1, "a": {"z": [{"y": 1, "x": "é\n"}], "c": null}});
        assert_eq!(
            String::from_utf8(canonical_bytes(&v)).unwrap(),
            r#"{"a":{"c":null,"z":[{"x":"é\n","y":1}]},"b":1}"#
        );
    }

    #[test]
    fn digest_ignores_key_order_and_the_digest_field_but_not_content() {
        let a = json!({"format": "f", "env": "dev", "targets": []});
        let b = json!({"targets": [], "digest": "whatever", "env": "dev", "format": "f"});
        assert_eq!(of(&a), of(&b));
        assert_eq!(of(&a).len(), 64);
        let c = json!({"format": "f", "env": "prod", "targets": []});
        assert_ne!(of(&a), of(&c));
        // a nested digest field is content, not the seal
        let d = json!({"format": "f", "env": "dev", "targets": [{"digest": "x"}]});
        assert_ne!(of(&a), of(&d));
    }

    #[test]
    fn digest_is_sha256_of_the_canonical_bytes() {
        // pinned: changing the canonical form breaks every plan already written
        let v = json!({"b": "2", "a": 1});
        assert_eq!(
            of(&v),
            crate::plugins::discover::hex(&Sha256::digest(br#"{"a":1,"b":"2"}"#))
        );
    }
}
