//! vsync destination `hashivault`: HashiCorp Vault / OpenBao KV (v2 by default, v1 on request).
//!
//! The whole env map is one secret at `mount`/`path`. KV v2 writes are check-and-set: the current
//! version is read, the plan is re-checked against it, and the new map is written with `cas` = that
//! version, so a concurrent writer is reported as `Conflict` instead of being overwritten.
//! Keys removed from the env file stay in the secret unless the run prunes (then the full-map write
//! drops them).

mod core;

pub use crate::core::{KvVersion, VaultConfig};

use std::collections::BTreeMap;

use crate::core::VaultBackend;
use vsync_dest_api::{
    ApplyReport, Capabilities, Ctx, DestError, DestErrorKind, Destination, Plan, PlanOptions,
    RemoteName, Routing, RoutingField, RoutingSchema, SecretBytes, SecretItem, WriteMode,
    whole_map, whole_map::MapWrite,
};

pub use vsync_dest_api::EnvSource;

/// The `hashivault` destination.
#[derive(Clone, Debug, Default)]
pub struct HashiVault {
    env: EnvSource,
}

impl HashiVault {
    pub fn new() -> Self {
        Self::default()
    }
    /// Reads `VAULT_ADDR`, `VAULT_TOKEN`, `VAULT_NAMESPACE` from `env` instead of the process.
    pub fn with_env(env: EnvSource) -> Self {
        Self { env }
    }

    fn backend(&self, routing: &Routing) -> Result<VaultBackend, DestError> {
        let cfg = VaultConfig::from_routing(routing, &self.env)?;
        VaultBackend::new(cfg)
    }
}

const VERSION_TAG: &str = " (version ";

/// The KV version a plan made by [`HashiVault::plan`] saw, from its routing summary.
fn plan_version(plan: &Plan) -> Option<u64> {
    let s = plan.routing_summary.strip_suffix(')')?;
    let i = s.rfind(VERSION_TAG)?;
    s[i + VERSION_TAG.len()..].parse().ok()
}

#[async_trait::async_trait]
impl Destination for HashiVault {
    fn id(&self) -> &str {
        "hashivault"
    }
    fn display_name(&self) -> &str {
        "HashiCorp Vault"
    }
    fn capabilities(&self, routing: &Routing) -> Capabilities {
        let v2 = VaultConfig::from_routing(routing, &self.env)
            .map(|c| c.kv == KvVersion::V2)
            .unwrap_or(true);
        Capabilities {
            write_mode: WriteMode::BulkAtomic,
            can_list: true,
            can_read_values: true,
            can_delete: true,
            versioned: v2,
            binary_values: false,
            max_value_bytes: None,
            max_concurrency: Some(1),
            requests_per_second: None,
            case_insensitive_names: false,
        }
    }

    fn routing_schema(&self) -> RoutingSchema {
        vec![
            RoutingField::new("addr", "vault-addr", "Vault address (else VAULT_ADDR)")
                .aliases(&["hashivault-addr"]),
            RoutingField::new("mount", "vault-mount", "KV mount")
                .aliases(&["hashivault-mount"])
                .default_value("secret"),
            RoutingField::new("secretPath", "vault-path", "Secret path inside the mount")
                .aliases(&["hashivault-path"])
                .required(),
            RoutingField::new(
                "kv_version",
                "hashivault-kv-version",
                "KV engine version (2 or 1)",
            )
            .default_value("2"),
            RoutingField::new(
                "namespace",
                "hashivault-namespace",
                "Vault namespace (else VAULT_NAMESPACE)",
            ),
        ]
    }

    fn routing_summary(&self, routing: &Routing) -> String {
        VaultConfig::from_routing(routing, &self.env)
            .map(|c| c.display())
            .unwrap_or_else(|e| e.message)
    }

    fn map_name(&self, _routing: &Routing, key: &str) -> Result<RemoteName, DestError> {
        if key.is_empty() {
            return Err(DestError::new(DestErrorKind::InvalidName, "empty key").with_key(key));
        }
        Ok(RemoteName(key.to_string()))
    }

    async fn preflight(&self, routing: &Routing, _ctx: &Ctx) -> Result<(), DestError> {
        self.backend(routing)?.read().await.map(|_| ())
    }

    async fn list(
        &self,
        routing: &Routing,
        _ctx: &Ctx,
    ) -> Result<Option<Vec<RemoteName>>, DestError> {
        let remote = self.backend(routing)?.read().await?;
        Ok(Some(remote.map.keys().cloned().map(RemoteName).collect()))
    }

    async fn plan(
        &self,
        routing: &Routing,
        items: &[SecretItem],
        opts: &PlanOptions,
        _ctx: &Ctx,
    ) -> Result<Plan, DestError> {
        let backend = self.backend(routing)?;
        let remote = backend.read().await?;
        // Deletions (prune) are added by the engine from `list` and applied with `delete_one`.
        let changes = whole_map::classify(&remote.map, items, usize::MAX)?;
        let mut warnings = Vec::new();
        if !opts.prune
            && let Some(w) = whole_map::kept_keys_warning(
                &remote.map,
                items,
                &format!("at {}", backend.cfg.display()),
            )
        {
            warnings.push(w);
        }
        Ok(Plan {
            target: self.id().to_string(),
            // apply_bulk writes with check-and-set against this version (see plan_version)
            routing_summary: format!("{}{VERSION_TAG}{})", backend.cfg.display(), remote.version),
            changes,
            warnings,
        })
    }

    async fn read_values(
        &self,
        routing: &Routing,
        names: &[RemoteName],
        _ctx: &Ctx,
    ) -> Result<Option<BTreeMap<RemoteName, SecretBytes>>, DestError> {
        let remote = self.backend(routing)?.read().await?;
        Ok(Some(
            names
                .iter()
                .filter_map(|n| {
                    remote
                        .map
                        .get(&n.0)
                        .map(|v| (n.clone(), SecretBytes::from_str_value(v)))
                })
                .collect(),
        ))
    }

    async fn apply_bulk(
        &self,
        routing: &Routing,
        plan: &Plan,
        items: &[SecretItem],
        _ctx: &Ctx,
    ) -> Result<ApplyReport, DestError> {
        let backend = self.backend(routing)?;
        // Fresh read: its map decides each key's op; the version the plan saw is the
        // check-and-set guard, so a write between plan and apply is a Conflict, not overwritten.
        let remote = backend.read().await?;
        if let Some(planned) = plan_version(plan)
            && planned != remote.version
        {
            let e = DestError::new(
                DestErrorKind::Conflict,
                format!(
                    "{} was written by someone else since the plan (version {planned} -> {}); nothing written, run the sync again",
                    backend.cfg.display(),
                    remote.version
                ),
            );
            return Ok(ApplyReport::all_failed(plan, &e));
        }
        let write = MapWrite::new(&remote.map, remote.exists, plan, items, usize::MAX)?;
        let res = if write.changed {
            backend.write(&write.map, remote.version).await
        } else {
            Ok(()) // nothing to write: no new version
        };
        Ok(write.report(&res))
    }

    async fn delete_one(
        &self,
        routing: &Routing,
        name: &RemoteName,
        _ctx: &Ctx,
    ) -> Result<(), DestError> {
        let backend = self.backend(routing)?;
        let remote = backend.read().await?;
        if !remote.map.contains_key(&name.0) {
            return Ok(());
        }
        let mut map = remote.map.clone();
        map.remove(&name.0);
        backend
            .write(&map, remote.version)
            .await
            .map_err(|e| e.with_key(&name.0))
    }
}
