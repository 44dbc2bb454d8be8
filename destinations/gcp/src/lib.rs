//! vsync destination `gcp`: GCP Secret Manager through `google-cloud-secretmanager-v1` (REST/JSON).
//!
//! One secret per key, id `prefix + KEY`, ids `[A-Za-z0-9_-]{1,255}` checked at plan time
//! (`map_name`, before any network call). Routing (`sync.gcp`): `project` (`--gcp-project`,
//! required), `prefix`, `replication` (`automatic`, the default, or a comma list of regions),
//! `labels` (`k1=v1,k2=v2`), `destroy_old_versions` (`true` destroys every older version after a
//! write; off by default, history is kept). The options without an own flag go through
//! `--opt gcp.prefix=app_` and are remembered in the config like the project.
//!
//! Writes: a missing secret is created with the label `managed-by=vsync` (plus `labels`) and the
//! replication asked for; a version is added only when the value differs from what `latest`
//! holds (read back at plan time). Prune deletes only secrets that carry `managed-by=vsync`
//! and whose id starts with the prefix, each conditionally on the etag just read.
//!
//! Credentials: the standard Google chain (Application Default Credentials):
//! `GOOGLE_APPLICATION_CREDENTIALS`, then `gcloud auth application-default login`'s file, then
//! the metadata server. For a local emulator or test server, two variables, honoured only when
//! set: `VSYNC_GCP_ENDPOINT=http://127.0.0.1:8085` sends every request there instead of
//! `https://secretmanager.googleapis.com`, and `VSYNC_GCP_ANONYMOUS=1` (only together with
//! `VSYNC_GCP_ENDPOINT`) sends no credentials at all.
//!
//! Retries are the engine's: the client's own retry policy is off, and errors carry kinds
//! (`RESOURCE_EXHAUSTED` → `RateLimited` with the `Retry-After` the service sent).

mod api;
mod config;
mod error;

pub use crate::api::{ANONYMOUS_VAR, ENDPOINT_VAR};
pub use crate::config::{GcpConfig, Replication};
pub use google_cloud_auth::credentials::Credentials;
pub use vsync_dest_api::EnvSource;

use std::collections::BTreeMap;
use std::sync::Arc;

use google_cloud_secretmanager_v1::client::SecretManagerService;
use tokio::sync::OnceCell;
use vsync_dest_api::{
    Capabilities, Change, ChangeOp, Ctx, DestError, DestErrorKind, Destination, Plan, PlanOptions,
    RemoteName, Routing, RoutingField, RoutingSchema, SecretBytes, SecretItem, WriteMode,
};

use crate::api::Current;
use crate::config::SECRET_ID;

/// The id users pass to `vsync sync --to`.
pub const ID: &str = "gcp";

/// Secret Manager's payload limit.
const VALUE_MAX: usize = 65_536;

/// The `gcp` destination.
#[derive(Clone, Debug, Default)]
pub struct GcpSecretManager {
    env: EnvSource,
    creds: Option<Credentials>,
    /// One client per destination: it holds the token cache and the connection pool.
    client: Arc<OnceCell<SecretManagerService>>,
}

impl GcpSecretManager {
    /// Settings from the process environment, credentials from the Google chain.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fixed variables instead of the process environment (`VSYNC_GCP_ENDPOINT`, …) and, when
    /// given, these credentials instead of the chain (tests against a local fake).
    pub fn with_overrides(env: EnvSource, creds: Option<Credentials>) -> Self {
        Self {
            env,
            creds,
            client: Arc::default(),
        }
    }

    fn config(&self, routing: &Routing) -> Result<GcpConfig, DestError> {
        GcpConfig::from_routing(routing)
    }

    async fn client(&self) -> Result<&SecretManagerService, DestError> {
        self.client
            .get_or_try_init(|| api::client(&self.env, self.creds.as_ref()))
            .await
    }
}

/// The op for `ours` given what `latest` holds.
fn classify(cur: &Current, ours: &[u8]) -> ChangeOp {
    match cur {
        Current::Missing => ChangeOp::Create,
        Current::NoValue => ChangeOp::Update,
        Current::Value(v) if v.as_slice() == ours => ChangeOp::Unchanged,
        Current::Value(_) => ChangeOp::Update,
    }
}

#[async_trait::async_trait]
impl Destination for GcpSecretManager {
    fn id(&self) -> &str {
        ID
    }

    fn display_name(&self) -> &str {
        "GCP Secret Manager"
    }

    fn capabilities(&self, _routing: &Routing) -> Capabilities {
        Capabilities {
            write_mode: WriteMode::PerKey,
            can_list: true,
            can_read_values: true,
            can_delete: true,
            versioned: true,
            binary_values: true,
            max_value_bytes: Some(VALUE_MAX),
            max_concurrency: Some(6),
            // the default write quota is 600 requests per minute per project
            requests_per_second: Some(10.0),
            case_insensitive_names: false,
        }
    }

    fn routing_schema(&self) -> RoutingSchema {
        vec![
            RoutingField::new("project", "gcp-project", "GCP project ID for sync").required(),
            RoutingField::new(
                "prefix",
                "gcp-prefix",
                "Prefix for secret ids, e.g. myapp_prod_",
            ),
            RoutingField::new(
                "replication",
                "gcp-replication",
                "automatic, or a comma-separated list of regions (for created secrets)",
            ),
            RoutingField::new(
                "labels",
                "gcp-labels",
                "Extra labels for created secrets, k1=v1,k2=v2",
            ),
            RoutingField::new(
                "destroy_old_versions",
                "gcp-destroy-old-versions",
                "true: destroy older versions after each write",
            ),
        ]
    }

    fn routing_summary(&self, routing: &Routing) -> String {
        self.config(routing)
            .map(|c| c.display())
            .unwrap_or_else(|e| e.message)
    }

    fn map_name(&self, routing: &Routing, key: &str) -> Result<RemoteName, DestError> {
        let cfg = self.config(routing)?;
        // An empty key would name the prefix itself (conformance case map_name).
        if key.is_empty() {
            return Err(DestError::invalid_name(key, "empty key"));
        }
        let id = format!("{}{key}", cfg.prefix);
        SECRET_ID.check(key, &id).map_err(|e| {
            DestError::invalid_name(
                key,
                format!(
                    "{id:?} is not a valid Secret Manager id ([A-Za-z0-9_-]{{1,255}}): {}",
                    e.message
                ),
            )
        })?;
        Ok(RemoteName(id))
    }

    async fn preflight(&self, routing: &Routing, _ctx: &Ctx) -> Result<(), DestError> {
        let cfg = self.config(routing)?;
        api::probe(self.client().await?, &cfg).await
    }

    async fn list(
        &self,
        routing: &Routing,
        _ctx: &Ctx,
    ) -> Result<Option<Vec<RemoteName>>, DestError> {
        let cfg = self.config(routing)?;
        let ids = api::list_managed(self.client().await?, &cfg).await?;
        Ok(Some(ids.into_iter().map(RemoteName).collect()))
    }

    async fn read_values(
        &self,
        routing: &Routing,
        names: &[RemoteName],
        _ctx: &Ctx,
    ) -> Result<Option<BTreeMap<RemoteName, SecretBytes>>, DestError> {
        let cfg = self.config(routing)?;
        let c = self.client().await?;
        let mut out = BTreeMap::new();
        for n in names {
            if let Current::Value(v) = api::current(c, &cfg, &n.0).await? {
                out.insert(n.clone(), SecretBytes::new(v));
            }
        }
        Ok(Some(out))
    }

    async fn plan(
        &self,
        routing: &Routing,
        items: &[SecretItem],
        opts: &PlanOptions,
        _ctx: &Ctx,
    ) -> Result<Plan, DestError> {
        let cfg = self.config(routing)?;
        let mut changes = Vec::with_capacity(items.len());
        let mut warnings = Vec::new();
        // names and values first: a bad one aborts before any network call
        let mut named = Vec::with_capacity(items.len());
        for item in items {
            let id = self.map_name(routing, &item.key)?.0;
            item.non_empty_value(VALUE_MAX)?;
            named.push((item, id));
        }
        let c = if opts.offline {
            None
        } else {
            Some(self.client().await?)
        };
        for (item, id) in named {
            let op = match c {
                None => ChangeOp::Upsert,
                Some(c) => {
                    let cur = api::current(c, &cfg, &id).await?;
                    if matches!(cur, Current::NoValue) {
                        warnings.push(format!(
                            "{id} exists but its latest version is disabled, destroyed or absent; a new version will be added"
                        ));
                    }
                    classify(&cur, item.value.expose())
                }
            };
            changes.push(Change {
                source_key: Some(item.key.clone()),
                remote: RemoteName(id),
                op,
            });
        }
        // deletions (prune) come from the engine: `list` (managed only) + `delete_one`
        Ok(Plan {
            target: ID.to_owned(),
            routing_summary: cfg.display(),
            changes,
            warnings,
        })
    }

    async fn write_one(
        &self,
        routing: &Routing,
        change: &Change,
        item: &SecretItem,
        _ctx: &Ctx,
    ) -> Result<ChangeOp, DestError> {
        let cfg = self.config(routing)?;
        let id = change.remote.as_str();
        // the id was validated by map_name; re-check in case a caller built the change itself
        SECRET_ID.check(&item.key, id)?;
        let value = item.non_empty_value(VALUE_MAX)?;
        let c = self.client().await?;
        let mut created = false;
        match change.op {
            ChangeOp::Create => created = api::create(c, &cfg, id).await?,
            ChangeOp::Upsert => match api::current(c, &cfg, id).await? {
                Current::Value(v) if v.as_slice() == value => return Ok(ChangeOp::Unchanged),
                Current::Missing => created = api::create(c, &cfg, id).await?,
                _ => {}
            },
            _ => {}
        }
        let version = match api::add_version(c, &cfg, id, value).await {
            Ok(v) => v,
            // planned as an update but deleted since: create it, then write
            Err(e) if e.kind == DestErrorKind::NotFound && !created => {
                created = api::create(c, &cfg, id).await?;
                api::add_version(c, &cfg, id, value).await?
            }
            Err(e) => return Err(e),
        };
        if cfg.destroy_old_versions && !created {
            api::destroy_older(c, &cfg, id, &version).await?;
        }
        Ok(ChangeOp::written(created))
    }

    async fn delete_one(
        &self,
        routing: &Routing,
        name: &RemoteName,
        _ctx: &Ctx,
    ) -> Result<(), DestError> {
        let cfg = self.config(routing)?;
        if !name.0.starts_with(cfg.prefix.as_str()) || SECRET_ID.check(&name.0, &name.0).is_err() {
            return Err(DestError::new(
                DestErrorKind::Unsupported,
                format!(
                    "refusing to delete {name}: outside the managed prefix {:?}",
                    cfg.prefix
                ),
            )
            .with_key(&name.0));
        }
        api::delete_managed(self.client().await?, &cfg, &name.0).await
    }
}
