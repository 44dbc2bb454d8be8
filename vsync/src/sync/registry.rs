//! Destination registry: built-ins (one cfg-gated line per feature) plus loaded plugins.

use std::collections::BTreeMap;
use std::sync::Arc;

use vsync_dest_api::Destination;

/// id → destination.
#[derive(Debug, Default)]
pub struct Registry {
    dests: BTreeMap<String, Arc<dyn Destination>>,
}

/// Canonical id for a user-given target name (`gh` → `github`, `vault` → `hashivault`).
pub fn canonical(id: &str) -> String {
    match id.trim().to_ascii_lowercase().as_str() {
        "gh" => "github".into(),
        "vault" => "hashivault".into(),
        other => other.into(),
    }
}

/// Key of the target's block in the config's `sync` map (upstream keys for built-ins).
pub fn config_key(id: &str) -> &str {
    match id {
        "github" => "gh",
        "hashivault" => "vault",
        other => other,
    }
}

impl Registry {
    /// The destinations compiled in.
    pub fn builtin() -> Self {
        #[allow(unused_mut)]
        let mut r = Self::default();
        // One line per destination feature.
        #[cfg(feature = "github")]
        r.add(Arc::new(vsync_dest_github::GitHub::new())).ok();
        #[cfg(feature = "gcp")]
        r.add(Arc::new(vsync_dest_gcp::GcpSecretManager::new()))
            .ok();
        #[cfg(feature = "aws")]
        r.add(Arc::new(vsync_dest_aws::AwsSecretsManager::new()))
            .ok();
        #[cfg(feature = "azure")]
        r.add(Arc::new(vsync_dest_azure::AzureKeyVault::new())).ok();
        #[cfg(feature = "hashivault")]
        r.add(Arc::new(vsync_dest_hashivault::HashiVault::new()))
            .ok();
        r
    }

    /// Add one; an id that is already taken is an error (plugins come from users).
    pub fn add(&mut self, d: Arc<dyn Destination>) -> Result<(), String> {
        let id = d.id().to_owned();
        if self.dests.contains_key(&id) || id == "gh" || id == "vault" {
            return Err(format!("destination id {id:?} is already taken"));
        }
        self.dests.insert(id, d);
        Ok(())
    }

    /// Look up by canonical id.
    pub fn get(&self, id: &str) -> Option<Arc<dyn Destination>> {
        self.dests.get(id).cloned()
    }

    /// Ids known.
    pub fn ids(&self) -> Vec<String> {
        self.dests.keys().cloned().collect()
    }
}
