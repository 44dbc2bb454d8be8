//! The `meta` cell (docs/formats.md §12.3): the sources in priority order, JavaScript's
//! `JSON.stringify` number form, the 2048-byte cap, and the `rotate` row's merged map.

use serde_json::Value;

use super::{META_CAP, META_TRUNCATED};

/// A warning produced while building the meta cell (printed by the caller on stderr).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetaWarning {
    /// `$VSYNC_AUDIT_META` is not a JSON object; ignored.
    EnvMetaInvalid,
    /// The cell exceeded 2048 bytes and was replaced by `{"_truncated":true}`.
    Truncated {
        /// The size it would have had.
        bytes: usize,
    },
}

impl std::fmt::Display for MetaWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::EnvMetaInvalid => {
                f.write_str("VSYNC_AUDIT_META is not a JSON object; ignoring it")
            }
            Self::Truncated { bytes } => write!(
                f,
                "audit meta is {bytes} bytes (max {META_CAP}); recorded as {META_TRUNCATED}"
            ),
        }
    }
}

/// A `--meta` argument without `=` or with an empty key (a usage error, exit before anything).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--meta expects key=value with a non-empty key")]
pub struct MetaUsageError;

/// Builds the meta cell: an insertion-ordered map where setting an existing key replaces its
/// value in place.
#[derive(Debug, Clone, Default)]
pub struct MetaBuilder {
    map: Vec<(String, Value)>,
    warnings: Vec<MetaWarning>,
}

/// JavaScript `JSON.stringify` of a value, compact (integral floats without a fraction).
pub fn js_stringify(v: &Value) -> String {
    fn fix(v: &Value) -> Value {
        match v {
            Value::Number(n) if !n.is_i64() && !n.is_u64() => match n.as_f64() {
                Some(f) if f.fract() == 0.0 && f.abs() < 1e21 && f.abs() < 9.2e18 => {
                    Value::from(f as i64)
                }
                _ => v.clone(),
            },
            Value::Array(a) => Value::Array(a.iter().map(fix).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), fix(v))).collect()),
            other => other.clone(),
        }
    }
    serde_json::to_string(&fix(v)).unwrap_or_default()
}

impl MetaBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// Set `key` (in place if present).
    pub fn set(&mut self, key: &str, value: Value) -> &mut Self {
        match self.map.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.map.push((key.to_owned(), value)),
        }
        self
    }

    /// Source 1: `$VSYNC_AUDIT_META` text. Non-string values become their JSON text; invalid
    /// JSON or a non-object is ignored with a warning.
    pub fn env_meta(&mut self, text: &str) -> &mut Self {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Object(o)) => {
                for (k, v) in o {
                    let v = match v {
                        Value::String(s) => Value::String(s),
                        other => Value::String(js_stringify(&other)),
                    };
                    self.set(&k, v);
                }
            }
            _ => self.warnings.push(MetaWarning::EnvMetaInvalid),
        }
        self
    }

    /// Sources 2 and 4: a non-empty note (`$VSYNC_AUDIT_NOTE`, `--note`).
    pub fn note(&mut self, note: &str) -> &mut Self {
        if !note.is_empty() {
            self.set("note", Value::String(note.to_owned()));
        }
        self
    }

    /// Source 3: one `--meta key=value`.
    pub fn pair(&mut self, arg: &str) -> Result<&mut Self, MetaUsageError> {
        match arg.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok(self.set(k, Value::String(v.to_owned()))),
            _ => Err(MetaUsageError),
        }
    }

    /// Collect the standard sources in priority order: `$VSYNC_AUDIT_META`, `$VSYNC_AUDIT_NOTE`,
    /// the `--meta` pairs, `--note`.
    pub fn from_sources(
        env_meta: Option<&str>,
        env_note: Option<&str>,
        pairs: &[String],
        note: Option<&str>,
    ) -> Result<Self, MetaUsageError> {
        let mut b = Self::new();
        // Validate pairs first: a usage error must happen before anything else.
        for p in pairs {
            if !matches!(p.split_once('='), Some((k, _)) if !k.is_empty()) {
                return Err(MetaUsageError);
            }
        }
        if let Some(m) = env_meta {
            b.env_meta(m);
        }
        if let Some(n) = env_note {
            b.note(n);
        }
        for p in pairs {
            b.pair(p)?;
        }
        if let Some(n) = note {
            b.note(n);
        }
        Ok(b)
    }

    /// Warnings so far.
    pub fn warnings(&self) -> &[MetaWarning] {
        &self.warnings
    }

    fn json(map: &[(String, Value)]) -> String {
        let obj: serde_json::Map<String, Value> = map.iter().cloned().collect();
        js_stringify(&Value::Object(obj))
    }

    /// The cell: empty when nothing was supplied, else compact JSON, capped at 2048 bytes.
    pub fn build(&mut self) -> String {
        if self.map.is_empty() {
            return String::new();
        }
        let s = Self::json(&self.map);
        if s.len() > META_CAP {
            self.warnings
                .push(MetaWarning::Truncated { bytes: s.len() });
            return META_TRUNCATED.to_owned();
        }
        s
    }

    /// The cell of a `rotate` row: the user map with `event:"rotate"`, `gen`, `prev_gen` merged
    /// on top (in place); the cap is not re-applied to the merged map (docs/formats.md §12.3).
    pub fn build_rotate(&mut self, gen_: u64, prev_gen: u64) -> String {
        let user = self.build();
        let mut map: Vec<(String, Value)> = if user == META_TRUNCATED {
            vec![("_truncated".to_owned(), Value::Bool(true))]
        } else {
            self.map.clone()
        };
        for (k, v) in [
            ("event", Value::from("rotate")),
            ("gen", Value::from(gen_)),
            ("prev_gen", Value::from(prev_gen)),
        ] {
            match map.iter_mut().find(|(mk, _)| mk == k) {
                Some(slot) => slot.1 = v,
                None => map.push((k.to_owned(), v)),
            }
        }
        Self::json(&map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_cell() {
        let mut b = MetaBuilder::from_sources(
            Some(r#"{"note":"env","n":1,"f":2.0,"o":{"k":[1,"x"]},"b":true,"z":null}"#),
            Some("from env note"),
            &[
                "ticket=OPS-1".to_owned(),
                "note=from pair".to_owned(),
                "eq=a=b".to_owned(),
            ],
            Some("final note"),
        )
        .unwrap();
        assert_eq!(
            b.build(),
            r#"{"note":"final note","n":"1","f":"2","o":"{\"k\":[1,\"x\"]}","b":"true","z":"null","ticket":"OPS-1","eq":"a=b"}"#
        );
        assert!(b.warnings().is_empty());
        assert_eq!(MetaBuilder::new().build(), "");
        let mut b = MetaBuilder::from_sources(Some("[1]"), None, &[], None).unwrap();
        assert_eq!(b.build(), "");
        assert_eq!(b.warnings(), &[MetaWarning::EnvMetaInvalid]);
        assert!(MetaBuilder::from_sources(None, None, &["noequals".to_owned()], None).is_err());
        assert!(MetaBuilder::from_sources(None, None, &["=v".to_owned()], None).is_err());
        // Empty notes are ignored.
        assert_eq!(
            MetaBuilder::from_sources(None, Some(""), &[], Some(""))
                .unwrap()
                .build(),
            ""
        );
    }

    #[test]
    fn meta_cap() {
        // {"note":"<x>"} is 11 bytes of overhead.
        let exact = "x".repeat(META_CAP - 11);
        let mut b = MetaBuilder::new();
        b.note(&exact);
        assert_eq!(b.build().len(), META_CAP);
        let mut b = MetaBuilder::new();
        b.note(&format!("{exact}y"));
        assert_eq!(b.build(), META_TRUNCATED);
        assert_eq!(
            b.warnings(),
            &[MetaWarning::Truncated {
                bytes: META_CAP + 1
            }]
        );
        // Multi-byte characters count in bytes.
        let mut b = MetaBuilder::new();
        b.note(&"é".repeat(1100));
        assert_eq!(b.build(), META_TRUNCATED);
    }

    #[test]
    fn rotate_meta() {
        let mut b = MetaBuilder::new();
        b.note("n").set("gen", Value::from("user"));
        assert_eq!(
            b.build_rotate(4, 3),
            r#"{"note":"n","gen":4,"event":"rotate","prev_gen":3}"#
        );
        assert_eq!(
            MetaBuilder::new().build_rotate(1, 0),
            r#"{"event":"rotate","gen":1,"prev_gen":0}"#
        );
    }
}
