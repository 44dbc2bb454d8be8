//! vsync destination `azure`: Azure Key Vault secrets through `azure_security_keyvault_secrets`.
//!
//! One secret per env key in the vault given by `--azure-vault` (a vault name, which becomes
//! `https://NAME.vault.azure.net`, or a full `https://` URL). Key Vault names must match
//! `^[0-9A-Za-z-]{1,127}$` and compare case-insensitively: by default a key with `_` is refused
//! before any write, with the fix; `nameMap=dash` (`--opt azure.name-map=dash`) maps `_` to `-`,
//! and colliding names (`A_B` and `A-B`) are then refused. An optional `prefix` is prepended to
//! every name.
//!
//! Secrets this destination creates carry the tag `managed-by=vsync`; updates keep the tags a
//! secret already has (Key Vault stores tags per version). Prune lists only names with that tag
//! under the prefix, and deletes softly (recoverable for the vault's retention period). A name
//! that is soft-deleted is reported as `Conflict` with the `az keyvault secret recover` / `purge`
//! commands; it is never recovered, purged or overwritten here.
//!
//! Credentials (`credential` routing field, default `auto`):
//! - `AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`: a service principal
//!   (`auto` picks it when `AZURE_CLIENT_SECRET` is set); `AZURE_AUTHORITY_HOST` overrides the
//!   Entra ID host (sovereign clouds).
//! - otherwise the Azure CLI / azd login, then the host's managed identity (`AZURE_CLIENT_ID`
//!   selects a user-assigned one); `credential=cli` or `managed-identity` picks one of them.
//!
//! TLS: the SDK's transport verifies against the OS trust store, which `SSL_CERT_FILE` /
//! `SSL_CERT_DIR` replace when set (rustls-native-certs). `VSYNC_AZURE_CA_FILE` names a PEM
//! bundle of *extra* roots, trusted in addition to the OS ones for Key Vault and token requests
//! (a private CA, or the test fake); verification is never turned off. Only for a loopback vault
//! URL (`https://127.0.0.1:PORT`, `localhost`) is the SDK's check that the 401 challenge's
//! resource is a parent domain of the vault host skipped, since an IP address has no parent domain.
//!
//! The SDK's own retries are off: the engine retries `RateLimited` (honouring `Retry-After`),
//! `Transient` and `Timeout`.

mod client;
mod config;
mod errors;
mod kv;

pub use crate::client::CA_FILE_VAR;
pub use crate::config::{AzureConfig, CredentialChoice, NameMap};
pub use vsync_dest_api::EnvSource;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex};

use azure_security_keyvault_secrets::SecretClient;
use vsync_dest_api::{
    Capabilities, Change, ChangeOp, Ctx, DestError, DestErrorKind, Destination, Plan, PlanOptions,
    RemoteName, Routing, RoutingField, RoutingSchema, SecretBytes, SecretItem, WriteMode,
    name_rules,
};

use crate::kv::Current;

/// Key Vault's limit on a secret value (25 KB).
const VALUE_MAX: usize = 25 * 1024;

/// The `azure` destination.
#[derive(Clone, Default)]
pub struct AzureKeyVault {
    env: EnvSource,
    /// One client per vault and credential, so the challenge and the token are fetched once.
    clients: Arc<Mutex<HashMap<String, Arc<SecretClient>>>>,
}

impl fmt::Debug for AzureKeyVault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // not the env: a fixed one may hold AZURE_CLIENT_SECRET
        f.debug_struct("AzureKeyVault").finish_non_exhaustive()
    }
}

impl AzureKeyVault {
    pub fn new() -> Self {
        Self::default()
    }

    /// Fixed variables instead of the process environment (tests: credentials, authority host,
    /// `VSYNC_AZURE_CA_FILE`).
    pub fn with_env(env: EnvSource) -> Self {
        Self {
            env,
            clients: Arc::default(),
        }
    }

    fn config(&self, routing: &Routing) -> Result<AzureConfig, DestError> {
        AzureConfig::from_routing(routing)
    }

    fn client(&self, cfg: &AzureConfig) -> Result<Arc<SecretClient>, DestError> {
        let key = format!("{}|{:?}", cfg.vault_url, cfg.credential);
        let mut cache = self
            .clients
            .lock()
            .map_err(|_| DestError::internal("azure client cache poisoned"))?;
        if let Some(c) = cache.get(&key) {
            return Ok(c.clone());
        }
        let c = Arc::new(client::secret_client(cfg, &self.env)?);
        cache.insert(key, c.clone());
        Ok(c)
    }
}

fn managed_tags() -> HashMap<String, String> {
    HashMap::from([(
        kv::MANAGED_TAG_KEY.to_string(),
        kv::MANAGED_TAG_VALUE.to_string(),
    )])
}

#[async_trait::async_trait]
impl Destination for AzureKeyVault {
    fn id(&self) -> &str {
        "azure"
    }
    fn display_name(&self) -> &str {
        "Azure Key Vault"
    }
    fn capabilities(&self, _routing: &Routing) -> Capabilities {
        Capabilities {
            write_mode: WriteMode::PerKey,
            can_list: true,
            can_read_values: true,
            can_delete: true,
            versioned: true,
            binary_values: false,
            max_value_bytes: Some(VALUE_MAX),
            max_concurrency: Some(6),
            // secrets: 4,000 transactions per 10 s per vault; stay well below
            requests_per_second: Some(50.0),
            case_insensitive_names: true,
        }
    }

    fn routing_schema(&self) -> RoutingSchema {
        vec![
            RoutingField::new(
                "vaultName",
                "azure-vault",
                "Key Vault name, or its https:// URL",
            )
            .required(),
            RoutingField::new(
                "nameMap",
                "azure-name-map",
                "none (keys with '_' are refused) or dash ('_' becomes '-')",
            )
            .default_value("none"),
            RoutingField::new(
                "prefix",
                "azure-prefix",
                "Prefix for secret names (letters, digits, '-'), e.g. myapp-prod-",
            ),
            RoutingField::new(
                "credential",
                "azure-credential",
                "auto, client-secret, managed-identity or cli",
            )
            .default_value("auto"),
        ]
    }

    fn routing_summary(&self, routing: &Routing) -> String {
        self.config(routing)
            .map(|c| c.display())
            .unwrap_or_else(|e| e.message)
    }

    fn map_name(&self, routing: &Routing, key: &str) -> Result<RemoteName, DestError> {
        self.config(routing)?.map_name(key)
    }

    async fn preflight(&self, routing: &Routing, _ctx: &Ctx) -> Result<(), DestError> {
        let cfg = self.config(routing)?;
        let c = self.client(&cfg)?;
        kv::probe(&c, &cfg).await
    }

    async fn list(
        &self,
        routing: &Routing,
        _ctx: &Ctx,
    ) -> Result<Option<Vec<RemoteName>>, DestError> {
        let cfg = self.config(routing)?;
        let c = self.client(&cfg)?;
        Ok(Some(
            kv::list_managed(&c, &cfg)
                .await?
                .into_iter()
                .map(RemoteName)
                .collect(),
        ))
    }

    async fn plan(
        &self,
        routing: &Routing,
        items: &[SecretItem],
        _opts: &PlanOptions,
        _ctx: &Ctx,
    ) -> Result<Plan, DestError> {
        let cfg = self.config(routing)?;
        // every name first, offline: a bad or colliding name aborts before any request
        let mut mapped = Vec::with_capacity(items.len());
        for item in items {
            mapped.push((item, cfg.map_name(&item.key)?));
            item.text_value(VALUE_MAX)?;
        }
        let groups = name_rules::collisions(mapped.iter().map(|(i, n)| (i.key.as_str(), n)), true);
        if let Some((name, keys)) = groups.first() {
            return Err(DestError::invalid_name(
                &keys[0],
                format!(
                    "keys {} all become the Key Vault name {name} (names are case-insensitive); rename one of them",
                    keys.join(", ")
                ),
            ));
        }
        let c = self.client(&cfg)?;
        let mut warnings = Vec::new();
        let mut changes = Vec::with_capacity(items.len());
        for (item, name) in mapped {
            let v = item.text_value(VALUE_MAX)?;
            let op = match kv::get(&c, &cfg, &name.0, true).await? {
                Current::Missing => ChangeOp::Create,
                Current::SoftDeleted => {
                    warnings.push(errors::soft_deleted(&cfg, &name.0).message);
                    ChangeOp::Upsert
                }
                Current::Value { value, .. } if value == v => ChangeOp::Unchanged,
                Current::Value { .. } => ChangeOp::Update,
            };
            changes.push(Change {
                source_key: Some(item.key.clone()),
                remote: name,
                op,
            });
        }
        Ok(Plan {
            target: self.id().to_string(),
            routing_summary: cfg.display(),
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
        let cfg = self.config(routing)?;
        let c = self.client(&cfg)?;
        let mut out = BTreeMap::new();
        for n in names {
            if let Current::Value { value, .. } = kv::get(&c, &cfg, &n.0, false).await? {
                out.insert(n.clone(), SecretBytes::from_str_value(&value));
            }
        }
        Ok(Some(out))
    }

    async fn write_one(
        &self,
        routing: &Routing,
        change: &Change,
        item: &SecretItem,
        _ctx: &Ctx,
    ) -> Result<ChangeOp, DestError> {
        let name = change.remote.as_str();
        let cfg = self.config(routing)?;
        let v = item.text_value(VALUE_MAX)?;
        let c = self.client(&cfg)?;
        // read just before writing: the op reported, and the tags to carry into the new version
        let (tags, op) = match kv::get(&c, &cfg, name, false).await? {
            Current::Value { tags, .. } => (tags, ChangeOp::Update),
            Current::Missing | Current::SoftDeleted => (managed_tags(), ChangeOp::Create),
        };
        // a soft-deleted name answers 409, which becomes the Conflict with the commands
        kv::set(&c, &cfg, name, v, tags).await?;
        Ok(op)
    }

    async fn delete_one(
        &self,
        routing: &Routing,
        name: &RemoteName,
        _ctx: &Ctx,
    ) -> Result<(), DestError> {
        let cfg = self.config(routing)?;
        if !cfg.in_scope(&name.0) {
            return Err(DestError::new(
                DestErrorKind::Unsupported,
                format!(
                    "refusing to delete {name}: it is outside the prefix {}",
                    cfg.prefix
                ),
            )
            .with_key(&name.0));
        }
        let c = self.client(&cfg)?;
        match kv::get(&c, &cfg, &name.0, false).await? {
            Current::Missing | Current::SoftDeleted => Ok(()),
            Current::Value { tags, .. } if !kv::is_managed(&tags) => Err(DestError::new(
                DestErrorKind::Unsupported,
                format!(
                    "refusing to delete {name}: it has no {}={} tag, so vsync did not create it",
                    kv::MANAGED_TAG_KEY,
                    kv::MANAGED_TAG_VALUE
                ),
            )
            .with_key(&name.0)),
            Current::Value { .. } => kv::delete(&c, &cfg, &name.0).await,
        }
    }
}
