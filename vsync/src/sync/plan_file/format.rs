//! The plan file's typed form, and the one way to read it: bounded, digest checked before the
//! fields are trusted, every failure a [`ParseError`] (a plan file is untrusted input).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use vsync_dest_api::ChangeOp;

use super::digest;

/// The `format` field this version writes and reads.
pub const FORMAT: &str = "vsync-plan/1";

/// Plans larger than this are refused unread (a plan of 10 000 keys over 5 targets is ~3 MB).
pub const MAX_BYTES: usize = 8 << 20;

/// A whole plan file. Field order here is documentation only: the file is written with its
/// object keys sorted (the canonical form the digest covers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanFile {
    /// Always [`FORMAT`].
    pub format: String,
    /// The repo identity the plan was made for.
    pub repo: String,
    /// The env.
    pub env: String,
    /// The `latest` bundle the plan was made from.
    pub bundle_ts: String,
    /// The vault's rotation generation, when the bucket keeps one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    /// When the plan was made (ISO 8601, UTC).
    pub created_at: String,
    /// The vsync that made it.
    pub vsync_version: String,
    /// Whether deletions of managed names were planned (`--prune`).
    pub prune: bool,
    /// One entry per target, in the order given.
    pub targets: Vec<TargetPlan>,
    /// SHA-256 (hex) of the canonical JSON of everything else; empty until sealed.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
}

/// One target of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetPlan {
    /// Canonical target id.
    pub id: String,
    /// The resolved routing (keys sorted in the file).
    pub routing: serde_json::Map<String, Value>,
    /// The destination's one-line description of the routing (for people; no values).
    pub summary: String,
    /// Every planned operation, in plan order (env order, deletions last).
    pub ops: Vec<OpRecord>,
    /// What the destination and the receipt said, per remote name of `ops`.
    pub remote: Vec<RemoteRecord>,
}

/// One planned operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpRecord {
    /// The remote name.
    pub name: String,
    /// The env key it comes from (absent for deletions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The operation.
    pub op: PlanOp,
    /// Keyed fingerprint of the value written (for a deletion: of the value removed, when
    /// known).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp: Option<String>,
}

/// The remote state of one name when the plan was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteRecord {
    /// The remote name.
    pub name: String,
    /// Whether the destination listed it (absent: it cannot list).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    /// Keyed fingerprint of the value it holds (absent: write-only, or not there).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp: Option<String>,
    /// The sealed receipt's fingerprint for it (absent: no receipt entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<String>,
}

/// An operation of a plan: the engine's ops, without the catch-all a plugin may answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlanOp {
    /// New remote secret.
    Create,
    /// New value.
    Update,
    /// Same value already there.
    Unchanged,
    /// Written without knowing whether it exists or differs.
    Upsert,
    /// Removed (prune).
    Delete,
}

impl PlanOp {
    /// The engine's op; `None` for an op a plan cannot pin.
    pub fn from_change(op: ChangeOp) -> Option<Self> {
        Some(match op {
            ChangeOp::Create => Self::Create,
            ChangeOp::Update => Self::Update,
            ChangeOp::Unchanged => Self::Unchanged,
            ChangeOp::Upsert => Self::Upsert,
            ChangeOp::Delete => Self::Delete,
            ChangeOp::Unknown => return None,
        })
    }

    /// Back to the engine's op.
    pub fn to_change(self) -> ChangeOp {
        match self {
            Self::Create => ChangeOp::Create,
            Self::Update => ChangeOp::Update,
            Self::Unchanged => ChangeOp::Unchanged,
            Self::Upsert => ChangeOp::Upsert,
            Self::Delete => ChangeOp::Delete,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        self.to_change().as_str()
    }
}

/// Why a plan file was refused. Messages never quote the file's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// Over [`MAX_BYTES`].
    #[error("larger than {MAX_BYTES} bytes; not a plan vsync wrote")]
    TooLarge,
    /// Not JSON at all.
    #[error("not JSON ({0})")]
    NotJson(String),
    /// JSON, but no plan format field.
    #[error("not a vsync plan (no \"format\": \"{FORMAT}\")")]
    NotAPlan,
    /// A plan of another format version.
    #[error("a plan of another format ({0}); this vsync reads {FORMAT}")]
    OtherFormat(String),
    /// Valid JSON whose digest does not match: edited after it was written.
    #[error("its digest does not match its contents: the file was changed after vsync wrote it")]
    DigestMismatch,
    /// The digest matches but a field is wrong.
    #[error("not a valid plan: {0}")]
    Malformed(String),
}

impl ParseError {
    /// Whether the file is a plan that was tampered with (integrity), rather than not a plan.
    pub fn is_integrity(&self) -> bool {
        matches!(self, Self::DigestMismatch)
    }
}

impl PlanFile {
    /// Parse and verify a plan file's bytes: size, JSON, format, digest, then the fields.
    ///
    /// # Errors
    /// A [`ParseError`] for anything that is not an intact plan of [`FORMAT`].
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        if bytes.len() > MAX_BYTES {
            return Err(ParseError::TooLarge);
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|e| {
            // line and column only: serde's message may quote the input
            ParseError::NotJson(format!("at line {} column {}", e.line(), e.column()))
        })?;
        let Some(obj) = value.as_object() else {
            return Err(ParseError::NotAPlan);
        };
        match obj.get("format").and_then(Value::as_str) {
            Some(FORMAT) => {}
            Some(other) if other.starts_with("vsync-plan/") && other.len() <= 32 => {
                return Err(ParseError::OtherFormat(other.to_owned()));
            }
            _ => return Err(ParseError::NotAPlan),
        }
        let claimed = obj.get("digest").and_then(Value::as_str).unwrap_or("");
        if claimed.is_empty() || claimed != digest::of(&value) {
            return Err(ParseError::DigestMismatch);
        }
        let plan: Self = serde_json::from_value(value).map_err(|e| {
            ParseError::Malformed(
                match e.classify() {
                    serde_json::error::Category::Data => "a field is missing or of the wrong type",
                    _ => "unreadable",
                }
                .to_owned(),
            )
        })?;
        plan.check()?;
        Ok(plan)
    }

    /// The sealed file text: canonical JSON (sorted keys), pretty, with its digest.
    pub fn to_sealed_text(&self) -> (String, String) {
        let mut unsealed = self.clone();
        unsealed.digest.clear();
        // digest what a reader will parse back, so both sides hash the same value
        let text = serde_json::to_string(&digest::canonical(
            &serde_json::to_value(&unsealed).unwrap_or_default(),
        ))
        .unwrap_or_default();
        let reparsed: Value = serde_json::from_str(&text).unwrap_or_default();
        let d = digest::of(&reparsed);
        let mut sealed = reparsed;
        if let Some(o) = sealed.as_object_mut() {
            o.insert("digest".into(), Value::String(d.clone()));
        }
        let pretty = serde_json::to_string_pretty(&digest::canonical(&sealed)).unwrap_or_default();
        (pretty + "\n", d)
    }

    /// The first 16 hex digits of the digest, as audit rows and summaries name the plan.
    pub fn short_digest(&self) -> &str {
        self.digest.get(..16).unwrap_or(&self.digest)
    }

    /// Field rules serde cannot say: fingerprints are hex MACs, ids and names unique.
    fn check(&self) -> Result<(), ParseError> {
        let bad = |what: String| Err(ParseError::Malformed(what));
        let mut ids = std::collections::BTreeSet::new();
        for t in &self.targets {
            if t.id.is_empty() || !ids.insert(t.id.as_str()) {
                return bad("a target id is empty or repeated".into());
            }
            let mut names = std::collections::BTreeSet::new();
            for o in &t.ops {
                if !names.insert(o.name.as_str()) {
                    return bad(format!("{}: a remote name is planned twice", t.id));
                }
                if o.key.is_none() && o.op != PlanOp::Delete {
                    return bad(format!("{}: a write without its env key", t.id));
                }
                if o.op != PlanOp::Delete && o.fp.is_none() {
                    return bad(format!("{}: a write without its fingerprint", t.id));
                }
            }
            let fps = t.ops.iter().map(|o| &o.fp).chain(
                t.remote
                    .iter()
                    .flat_map(|r| [&r.fp, &r.receipt].into_iter()),
            );
            if fps.flatten().any(|f| !is_mac(f)) {
                return bad(format!("{}: a fingerprint is not 64 hex digits", t.id));
            }
        }
        if self.targets.is_empty() {
            return bad("no targets".into());
        }
        Ok(())
    }
}

fn is_mac(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> PlanFile {
        PlanFile {
            format: FORMAT.into(),
            repo: "o/r".into(),
            env: "dev".into(),
            bundle_ts: "20261206-100000".into(),
            generation: Some(3),
            created_at: "2026-12-06T10:00:00Z".into(),
            vsync_version: "0.1.0".into(),
            prune: false,
            targets: vec![TargetPlan {
                id: "hashivault".into(),
                routing: serde_json::from_str(r#"{"mount":"secret","addr":"http://x","n":1.1}"#)
                    .unwrap(),
                summary: "mount=secret".into(),
                ops: vec![OpRecord {
                    name: "API_TOKEN".into(),
                    key: Some("API_TOKEN".into()),
                    op: PlanOp::Create,
                    fp: Some("a".repeat(64)),
                }],
                remote: vec![RemoteRecord {
                    name: "API_TOKEN".into(),
                    exists: Some(false),
                    fp: None,
                    receipt: None,
                }],
            }],
            digest: String::new(),
        }
    }

    #[test]
    fn a_sealed_plan_reads_back_equal_with_sorted_keys_and_its_digest() {
        let (text, d) = plan().to_sealed_text();
        let back = PlanFile::parse(text.as_bytes()).unwrap();
        assert_eq!(back.digest, d);
        assert_eq!(
            PlanFile {
                digest: String::new(),
                ..back
            },
            plan()
        );
        // the routing's keys are written sorted
        let a = text.find("\"addr\"").unwrap();
        assert!(a < text.find("\"mount\"").unwrap() && a < text.find("\"n\"").unwrap());
        // the same plan seals to the same digest
        assert_eq!(plan().to_sealed_text().1, d);
    }

    #[test]
    fn any_edit_is_a_digest_mismatch_even_when_the_result_is_valid() {
        let (text, _) = plan().to_sealed_text();
        for (from, to) in [
            ("\"create\"", "\"unchanged\""),
            ("\"dev\"", "\"prod\""),
            ("\"exists\": false", "\"exists\": true"),
            ("\"generation\": 3,", ""),
        ] {
            assert!(text.contains(from), "{from}");
            let edited = text.replacen(from, to, 1);
            assert_eq!(
                PlanFile::parse(edited.as_bytes()),
                Err(ParseError::DigestMismatch),
                "{from}"
            );
        }
        // whitespace and key order are not content
        let v: Value = serde_json::from_str(&text).unwrap();
        let compact = serde_json::to_vec(&v).unwrap();
        assert!(PlanFile::parse(&compact).is_ok());
    }

    #[test]
    fn garbage_is_a_typed_error_never_a_panic() {
        assert!(matches!(PlanFile::parse(b""), Err(ParseError::NotJson(_))));
        assert!(matches!(
            PlanFile::parse(b"API_TOKEN=hunter2-canary\n"),
            Err(ParseError::NotJson(m)) if !m.contains("hunter2")
        ));
        assert_eq!(PlanFile::parse(b"[1,2]"), Err(ParseError::NotAPlan));
        assert_eq!(
            PlanFile::parse(br#"{"format":"other"}"#),
            Err(ParseError::NotAPlan)
        );
        assert_eq!(
            PlanFile::parse(br#"{"format":"vsync-plan/9"}"#),
            Err(ParseError::OtherFormat("vsync-plan/9".into()))
        );
        assert_eq!(
            PlanFile::parse(br#"{"format":"vsync-plan/1"}"#),
            Err(ParseError::DigestMismatch)
        );
        let big = vec![b' '; MAX_BYTES + 1];
        assert_eq!(PlanFile::parse(&big), Err(ParseError::TooLarge));
        // every prefix and every single-byte flip of a real plan: an error or the plan, no panic
        let (text, _) = plan().to_sealed_text();
        let b = text.as_bytes();
        for i in 0..b.len() {
            let _ = PlanFile::parse(&b[..i]);
            let mut flipped = b.to_vec();
            flipped[i] ^= 0x20;
            let _ = PlanFile::parse(&flipped);
        }
    }

    #[test]
    fn a_resealed_plan_with_bad_fields_is_malformed() {
        let mut p = plan();
        p.targets[0].ops[0].fp = Some("not-hex".into());
        let (text, _) = p.to_sealed_text();
        assert!(matches!(
            PlanFile::parse(text.as_bytes()),
            Err(ParseError::Malformed(m)) if m.contains("fingerprint")
        ));
        let mut v: Value = serde_json::from_str(&plan().to_sealed_text().0).unwrap();
        v["targets"][0]["ops"][0]["op"] = "explode".into();
        v["digest"] = digest::of(&v).into();
        assert!(matches!(
            PlanFile::parse(v.to_string().as_bytes()),
            Err(ParseError::Malformed(_))
        ));
    }
}
