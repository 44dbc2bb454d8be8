//! The audit controls of one invocation: `--no-audit`, `--note`, `--meta` and their environment
//! forms. Precedence per key, highest first: `--note`, `--meta k=v`, `VSYNC_AUDIT_NOTE`,
//! `VSYNC_AUDIT_META`. The config's `audit` switch is applied when the row is written.

use serde_json::{Map, Value};

use super::environment::{Environment, Var};
use crate::audit_row::AuditOpts;
use crate::cli::AuditArgs2;
use crate::error::{CliError, ExitKind};
use crate::output;

/// The audit inputs of one invocation, merged by [`AuditSettings::opts`] when the verb starts
/// (so a bad `--meta` is reported where it always was, after the verb's own checks).
#[derive(Debug, Default, Clone)]
pub struct AuditSettings {
    /// `--no-audit`.
    pub disabled: bool,
    /// `--note`.
    pub note: Option<String>,
    /// `--meta k=v`, in order.
    pub meta: Vec<String>,
    /// `VSYNC_AUDIT_META`, as given.
    pub env_meta: Option<String>,
    /// `VSYNC_AUDIT_NOTE`, when not empty.
    pub env_note: Option<String>,
}

impl AuditSettings {
    /// The flags of one verb and the environment.
    pub fn resolve(a: AuditArgs2, env: &Environment) -> Self {
        Self {
            disabled: a.no_audit,
            note: a.note,
            meta: a.meta,
            env_meta: env.text(Var::VsyncAuditMeta).map(str::to_owned),
            env_note: env.non_empty_text(Var::VsyncAuditNote).map(str::to_owned),
        }
    }

    /// The merged meta map, lowest precedence first (a malformed `--meta` is a usage error; a
    /// malformed `VSYNC_AUDIT_META` is ignored with a warning, as it may come from a CI setup
    /// the user does not control).
    pub fn opts(&self) -> Result<AuditOpts, CliError> {
        let mut meta = Map::new();
        if let Some(raw) = &self.env_meta {
            match serde_json::from_str::<Value>(raw) {
                Ok(Value::Object(o)) => {
                    for (k, v) in o {
                        let v = match v {
                            Value::String(s) => s,
                            other => other.to_string(),
                        };
                        meta.insert(k, Value::String(v));
                    }
                }
                _ => output::warn("VSYNC_AUDIT_META is not a JSON object; ignored"),
            }
        }
        if let Some(note) = &self.env_note {
            meta.insert("note".into(), Value::String(note.clone()));
        }
        for kv in &self.meta {
            match kv.split_once('=') {
                Some((k, v)) if !k.is_empty() => {
                    meta.insert(k.to_owned(), Value::String(v.to_owned()));
                }
                _ => {
                    return Err(CliError::new(
                        ExitKind::Usage,
                        format!("--meta takes key=value, not {kv:?}"),
                    ));
                }
            }
        }
        if let Some(note) = self.note.as_deref().filter(|n| !n.is_empty()) {
            meta.insert("note".into(), Value::String(note.to_owned()));
        }
        Ok(AuditOpts {
            disabled: self.disabled,
            meta,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(note: Option<&str>, meta: &[&str]) -> AuditArgs2 {
        AuditArgs2 {
            no_audit: false,
            note: note.map(str::to_owned),
            meta: meta.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    #[test]
    fn flags_beat_the_environment_per_key() {
        let env = Environment::from_pairs(&[
            (
                Var::VsyncAuditMeta,
                r#"{"ticket":"env","team":"ops","n":3}"#,
            ),
            (Var::VsyncAuditNote, "env note"),
        ]);
        let opts = AuditSettings::resolve(args(Some("flag note"), &["ticket=flag"]), &env)
            .opts()
            .unwrap();
        assert_eq!(opts.meta["note"], "flag note");
        assert_eq!(opts.meta["ticket"], "flag");
        assert_eq!(opts.meta["team"], "ops");
        assert_eq!(opts.meta["n"], "3");
    }

    #[test]
    fn the_environment_applies_when_no_flag_is_given() {
        let env = Environment::from_pairs(&[(Var::VsyncAuditNote, "env note")]);
        let opts = AuditSettings::resolve(args(None, &[]), &env)
            .opts()
            .unwrap();
        assert_eq!(opts.meta["note"], "env note");
        let none = AuditSettings::resolve(args(None, &[]), &Environment::default());
        assert!(none.opts().unwrap().meta.is_empty());
    }

    #[test]
    fn a_malformed_meta_flag_is_a_usage_error() {
        let s = AuditSettings::resolve(args(None, &["novalue"]), &Environment::default());
        assert_eq!(s.opts().err().map(|e| e.kind), Some(ExitKind::Usage));
    }
}
