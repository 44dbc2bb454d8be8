//! Routing for `gcp`: project, id prefix, replication, labels, version clean-up.

use std::collections::BTreeMap;

use vsync_dest_api::name_rules::{NameRule, is_word_or_dash};
use vsync_dest_api::{DestError, DestErrorKind, Routing, routing_str};

/// The label every secret this destination creates carries; prune only touches those.
pub(crate) const MANAGED_LABEL: (&str, &str) = ("managed-by", "vsync");

/// Secret ids as Secret Manager accepts them.
pub(crate) const SECRET_ID: NameRule = NameRule {
    allowed: is_word_or_dash,
    first: None,
    min_len: 1,
    max_len: 255,
    forbidden_prefixes: &[],
};

/// Where replicas of created secrets live. Only used on create: existing secrets keep theirs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Replication {
    /// Google picks the locations.
    Automatic,
    /// User-managed, in these regions.
    Regions(Vec<String>),
}

/// The parsed routing.
#[derive(Clone, Debug)]
pub struct GcpConfig {
    /// Project id (or number).
    pub project: String,
    /// Prepended to every key to form the secret id (may be empty).
    pub prefix: String,
    /// For created secrets.
    pub replication: Replication,
    /// Extra labels for created secrets (`managed-by=vsync` is always added).
    pub labels: BTreeMap<String, String>,
    /// After a new version is added, destroy every older version of that secret.
    pub destroy_old_versions: bool,
}

fn cfg_err(msg: impl Into<String>) -> DestError {
    DestError::new(DestErrorKind::Config, msg)
}

/// A routing field that may be stored as a string or (labels, replication) as JSON.
fn text(routing: &Routing, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| routing_str(routing, n))
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

fn label_key_ok(k: &str) -> bool {
    let mut c = k.chars();
    k.len() <= 63
        && c.next().is_some_and(|f| f.is_ascii_lowercase())
        && c.all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '-')
}

fn label_value_ok(v: &str) -> bool {
    v.len() <= 63
        && v.chars()
            .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_' || ch == '-')
}

fn parse_labels(routing: &Routing) -> Result<BTreeMap<String, String>, DestError> {
    let mut out = BTreeMap::new();
    match routing.get("labels") {
        None | Some(serde_json::Value::Null) => {}
        Some(serde_json::Value::Object(m)) => {
            for (k, v) in m {
                let v = v.as_str().ok_or_else(|| {
                    cfg_err(format!("gcp label {k:?}: the value must be a string"))
                })?;
                out.insert(k.clone(), v.to_owned());
            }
        }
        Some(serde_json::Value::String(s)) => {
            for pair in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (k, v) = pair.split_once('=').ok_or_else(|| {
                    cfg_err(format!(
                        "gcp labels: {pair:?} is not key=value (labels=k1=v1,k2=v2)"
                    ))
                })?;
                out.insert(k.trim().to_owned(), v.trim().to_owned());
            }
        }
        Some(_) => return Err(cfg_err("gcp labels must be k1=v1,k2=v2 or a JSON object")),
    }
    for (k, v) in &out {
        if !label_key_ok(k) || !label_value_ok(v) {
            return Err(cfg_err(format!(
                "gcp label {k}={v} is invalid: keys [a-z][a-z0-9_-]{{0,62}}, values [a-z0-9_-]{{0,63}}"
            )));
        }
        if k == MANAGED_LABEL.0 {
            return Err(cfg_err(format!(
                "gcp label {k} is reserved: vsync sets {}={} itself",
                MANAGED_LABEL.0, MANAGED_LABEL.1
            )));
        }
    }
    if out.len() >= 64 {
        return Err(cfg_err("gcp: at most 63 labels (vsync adds managed-by)"));
    }
    Ok(out)
}

fn parse_replication(routing: &Routing) -> Result<Replication, DestError> {
    let regions: Vec<String> = match routing.get("replication") {
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| cfg_err("gcp replication: regions must be strings"))?,
        _ => match text(routing, &["replication"]).as_deref() {
            None | Some("automatic") => return Ok(Replication::Automatic),
            Some(list) => list
                .split(',')
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty())
                .collect(),
        },
    };
    let bad = regions.iter().find(|r| {
        !r.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    });
    if regions.is_empty() || bad.is_some() {
        return Err(cfg_err(format!(
            "gcp replication must be \"automatic\" or a comma-separated list of regions (e.g. europe-west1,us-east1){}",
            bad.map(|b| format!("; {b:?} is not a region name"))
                .unwrap_or_default()
        )));
    }
    Ok(Replication::Regions(regions))
}

fn parse_bool(routing: &Routing, name: &str) -> Result<bool, DestError> {
    match routing.get(name) {
        None | Some(serde_json::Value::Null) => Ok(false),
        Some(serde_json::Value::Bool(b)) => Ok(*b),
        Some(serde_json::Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "" | "false" | "no" | "0" => Ok(false),
            "true" | "yes" | "1" => Ok(true),
            other => Err(cfg_err(format!(
                "gcp {name} must be true or false, not {other:?}"
            ))),
        },
        Some(_) => Err(cfg_err(format!("gcp {name} must be true or false"))),
    }
}

impl GcpConfig {
    /// From the resolved routing (`project`, `prefix`, `replication`, `labels`, `destroy_old_versions`).
    pub fn from_routing(routing: &Routing) -> Result<Self, DestError> {
        let project = text(routing, &["project", "project_id", "projectId"])
            .ok_or_else(|| cfg_err("gcp needs a project: pass --gcp-project"))?;
        // ids, numbers and the legacy domain-scoped form (example.com:proj)
        if !project
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':'))
        {
            return Err(cfg_err(format!("{project:?} is not a GCP project id")));
        }
        let prefix = text(routing, &["prefix"]).unwrap_or_default();
        if !prefix.chars().all(is_word_or_dash) || prefix.len() >= 255 {
            return Err(cfg_err(format!(
                "gcp prefix {prefix:?} may only use letters, digits, _ and - (secret ids are [A-Za-z0-9_-]{{1,255}})"
            )));
        }
        Ok(Self {
            project,
            prefix,
            replication: parse_replication(routing)?,
            labels: parse_labels(routing)?,
            destroy_old_versions: parse_bool(routing, "destroy_old_versions")?,
        })
    }

    /// `projects/{project}`.
    pub(crate) fn parent(&self) -> String {
        format!("projects/{}", self.project)
    }

    /// `projects/{project}/secrets/{id}`.
    pub(crate) fn secret_name(&self, id: &str) -> String {
        format!("projects/{}/secrets/{id}", self.project)
    }

    /// One line for banners (no values).
    pub fn display(&self) -> String {
        let mut s = format!("project={}", self.project);
        if !self.prefix.is_empty() {
            s.push_str(&format!(", prefix={}", self.prefix));
        }
        if let Replication::Regions(r) = &self.replication {
            s.push_str(&format!(", replication={}", r.join(",")));
        }
        if self.destroy_old_versions {
            s.push_str(", destroying older versions");
        }
        s
    }

    /// Labels for a created secret.
    pub(crate) fn create_labels(&self) -> Vec<(String, String)> {
        let mut l: Vec<(String, String)> = self
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        l.push((MANAGED_LABEL.0.into(), MANAGED_LABEL.1.into()));
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(pairs: &[(&str, serde_json::Value)]) -> Routing {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn parses_all_fields() {
        let c = GcpConfig::from_routing(&r(&[
            ("project", "my-proj".into()),
            ("prefix", "app_".into()),
            ("replication", "europe-west1, us-east1".into()),
            ("labels", "team=core,env=prod".into()),
            ("destroy_old_versions", "true".into()),
        ]))
        .unwrap();
        assert_eq!(c.prefix, "app_");
        assert_eq!(
            c.replication,
            Replication::Regions(vec!["europe-west1".into(), "us-east1".into()])
        );
        assert_eq!(c.labels.get("team").map(String::as_str), Some("core"));
        assert!(c.destroy_old_versions);
        assert!(
            c.create_labels()
                .contains(&("managed-by".into(), "vsync".into()))
        );
        assert_eq!(c.secret_name("X"), "projects/my-proj/secrets/X");
    }

    #[test]
    fn rejects_bad_routing() {
        let base = |k: &str, v: &str| r(&[("project", "p".into()), (k, v.into())]);
        assert!(GcpConfig::from_routing(&Routing::new()).is_err());
        assert!(GcpConfig::from_routing(&r(&[("project", "a/b".into())])).is_err());
        assert!(GcpConfig::from_routing(&base("prefix", "a/")).is_err());
        assert!(GcpConfig::from_routing(&base("labels", "Team=x")).is_err());
        assert!(GcpConfig::from_routing(&base("labels", "managed-by=me")).is_err());
        assert!(GcpConfig::from_routing(&base("labels", "novalue")).is_err());
        assert!(GcpConfig::from_routing(&base("replication", "EU West")).is_err());
        assert!(GcpConfig::from_routing(&base("destroy_old_versions", "maybe")).is_err());
        let c = GcpConfig::from_routing(&base("replication", "automatic")).unwrap();
        assert_eq!(c.replication, Replication::Automatic);
        assert!(!c.destroy_old_versions);
    }
}
