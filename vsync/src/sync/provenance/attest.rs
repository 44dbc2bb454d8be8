//! `vsync sync --attest FILE`: an in-toto Statement v1 whose subject is the synced bundle (its
//! object's SHA-256 as stored) and whose predicate is the provenance entry without the person
//! (docs/attestation.md documents every field).

use serde_json::{Value, json};

use super::entry::Entry;

/// The in-toto Statement type.
pub const STATEMENT_TYPE: &str = "https://in-toto.io/Statement/v1";

/// Our predicate type (versioned with [`super::entry::FORMAT`]).
pub const PREDICATE_TYPE: &str = "https://github.com/vsync-rs/vsync/attestation/sync-provenance/v1";

/// The Statement of `e`; `None` when the entry names no bundle (`--from-local`).
pub fn statement(e: &Entry) -> Option<Value> {
    let b = e.bundle.as_ref()?;
    // `who` is left out: a Statement is often published (a transparency log), the entry in
    // the bucket keeps it.
    let predicate = json!({
        "format": e.format,
        "time": e.time,
        "repo": e.repo,
        "env": e.env,
        "release": e.release,
        "git": e.git,
        "ci": e.ci,
        "bundle": b,
        "policy": e.policy,
        "targets": e.targets,
    });
    Some(json!({
        "_type": STATEMENT_TYPE,
        "subject": [{
            "name": format!("vsync-bundle:{}/{}@{}", e.repo, e.env, b.ts),
            "digest": {"sha256": b.sha256},
        }],
        "predicateType": PREDICATE_TYPE,
        "predicate": predicate,
    }))
}

/// Write the Statement to `path` atomically, 0600.
pub fn write(path: &std::path::Path, statement: &Value) -> Result<(), String> {
    let mut text = serde_json::to_vec_pretty(statement).map_err(|e| e.to_string())?;
    text.push(b'\n');
    crate::local::fsutil::write_atomic(path, &text, 0o600).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::entry::{BundleRef, FORMAT};
    use super::*;

    #[test]
    fn statement_names_the_bundle_and_leaves_the_person_out() {
        let mut e = Entry {
            format: FORMAT.into(),
            repo: "acme".into(),
            env: "dev".into(),
            ..Default::default()
        };
        assert!(statement(&e).is_none(), "no bundle, no subject");
        e.who.git_email = "someone@example.com".into();
        e.bundle = Some(BundleRef {
            ts: "20261206-110000".into(),
            generation: None,
            sha256: "ab".repeat(32),
        });
        let s = statement(&e).unwrap();
        assert_eq!(s["_type"], STATEMENT_TYPE);
        assert_eq!(
            s["subject"][0]["name"],
            "vsync-bundle:acme/dev@20261206-110000"
        );
        assert_eq!(s["subject"][0]["digest"]["sha256"], "ab".repeat(32));
        assert_eq!(s["predicateType"], PREDICATE_TYPE);
        assert!(!s.to_string().contains("someone@example.com"));
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("a.json");
        write(&p, &s).unwrap();
        let back: Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        assert_eq!(back, s);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
    }
}
