//! vsync destination `aws`: AWS Secrets Manager through `aws-sdk-secretsmanager`.
//!
//! Default mode: one secret per key, named `secret_prefix + KEY` (per-key writes). `mode=json` with
//! `secret_name=` keeps one secret holding a JSON object of all keys (bulk). Region, credentials and
//! `AWS_ENDPOINT_URL` come from the standard AWS chain. Secrets this destination creates carry the tag
//! `managed-by=vsync`. A secret scheduled for deletion is reported as `Conflict`, never restored.
//! Prune lists names under a non-empty prefix and schedules their deletion (recovery window kept).

mod core;

pub use crate::core::{AwsConfig, AwsMode, StaticCredentials};

use std::collections::{BTreeMap, BTreeSet};

use crate::core::Current;
use vsync_dest_api::{
    ApplyReport, Capabilities, Change, ChangeOp, Ctx, DestError, DestErrorKind, Destination, Plan,
    PlanOptions, RemoteName, Routing, RoutingField, RoutingSchema, SecretBytes, SecretItem,
    WriteMode, whole_map, whole_map::MapWrite,
};

pub use vsync_dest_api::EnvSource;

/// (region, endpoint, client).
type CachedClient = (
    Option<String>,
    Option<String>,
    aws_sdk_secretsmanager::Client,
);

/// The `aws` destination.
#[derive(Clone, Debug, Default)]
pub struct AwsSecretsManager {
    env: EnvSource,
    creds: Option<StaticCredentials>,
    /// One SDK client per (region, endpoint) for the whole run: loading the config chain and
    /// building the HTTPS client per request dominated vsync's CPU time.
    clients: std::sync::Arc<std::sync::Mutex<Vec<CachedClient>>>,
}

const NAME_MAX: usize = 512;
const VALUE_MAX: usize = 65_536;

impl AwsSecretsManager {
    pub fn new() -> Self {
        Self::default()
    }
    /// Fixed settings instead of the process environment, and static credentials instead of the
    /// AWS chain (tests against moto).
    pub fn with_overrides(env: EnvSource, creds: Option<StaticCredentials>) -> Self {
        Self {
            env,
            creds,
            clients: Default::default(),
        }
    }

    fn config(&self, routing: &Routing) -> Result<AwsConfig, DestError> {
        AwsConfig::from_routing(routing, &self.env)
    }

    async fn client(&self, cfg: &AwsConfig) -> Result<aws_sdk_secretsmanager::Client, DestError> {
        let cached = |cache: &[(
            Option<String>,
            Option<String>,
            aws_sdk_secretsmanager::Client,
        )]| {
            cache
                .iter()
                .find(|(r, e, _)| *r == cfg.region && *e == cfg.endpoint)
                .map(|(_, _, c)| c.clone())
        };
        if let Some(c) = cached(&self.clients.lock().expect("client cache")) {
            return Ok(c);
        }
        let c = core::client(cfg, self.creds.as_ref()).await?;
        let mut cache = self.clients.lock().expect("client cache");
        if cached(&cache).is_none() {
            cache.push((cfg.region.clone(), cfg.endpoint.clone(), c.clone()));
        }
        Ok(c)
    }
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/_+=.@-".contains(&b))
}

#[async_trait::async_trait]
impl Destination for AwsSecretsManager {
    fn id(&self) -> &str {
        "aws"
    }
    fn display_name(&self) -> &str {
        "AWS Secrets Manager"
    }
    fn capabilities(&self, routing: &Routing) -> Capabilities {
        let json = matches!(
            self.config(routing).map(|c| c.mode),
            Ok(AwsMode::Json { .. })
        );
        Capabilities {
            write_mode: if json {
                WriteMode::BulkAtomic
            } else {
                WriteMode::PerKey
            },
            can_list: true,
            can_read_values: true,
            can_delete: true,
            versioned: true,
            binary_values: false,
            max_value_bytes: Some(VALUE_MAX),
            max_concurrency: Some(6),
            requests_per_second: Some(40.0),
            case_insensitive_names: false,
        }
    }

    fn routing_schema(&self) -> RoutingSchema {
        vec![
            RoutingField::new(
                "region",
                "aws-region",
                "AWS region (else the AWS chain: AWS_REGION, profile)",
            ),
            RoutingField::new(
                "secretPrefix",
                "aws-secret-prefix",
                "Prefix for secret names, e.g. myapp/prod/",
            )
            .aliases(&["aws-prefix"]),
            RoutingField::new(
                "mode",
                "aws-mode",
                "per-key (one secret per key) or json (one JSON secret)",
            )
            .default_value("per-key"),
            RoutingField::new(
                "secret_name",
                "aws-secret-name",
                "Secret name for mode=json",
            ),
            RoutingField::new(
                "kms_key_id",
                "aws-kms-key-id",
                "KMS key for created secrets",
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
        let name = match &cfg.mode {
            AwsMode::PerKey { prefix } => format!("{prefix}{key}"),
            AwsMode::Json { .. } => {
                if key.is_empty() {
                    return Err(
                        DestError::new(DestErrorKind::InvalidName, "empty key").with_key(key)
                    );
                }
                return Ok(RemoteName(key.to_string()));
            }
        };
        if !valid_name(&name) {
            return Err(DestError::new(
                DestErrorKind::InvalidName,
                format!("{name:?} is not a valid AWS secret name (letters, digits, /_+=.@- ; at most 512)"),
            )
            .with_key(key));
        }
        Ok(RemoteName(name))
    }

    async fn preflight(&self, routing: &Routing, _ctx: &Ctx) -> Result<(), DestError> {
        let cfg = self.config(routing)?;
        let c = self.client(&cfg).await?;
        c.list_secrets()
            .max_results(1)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| core::map_sdk(e, &cfg.display(), "list"))
    }

    async fn list(
        &self,
        routing: &Routing,
        _ctx: &Ctx,
    ) -> Result<Option<Vec<RemoteName>>, DestError> {
        let cfg = self.config(routing)?;
        let c = self.client(&cfg).await?;
        match &cfg.mode {
            AwsMode::PerKey { prefix } => {
                if prefix.is_empty() {
                    // no managed scope without a prefix: never enumerate the whole account
                    return Ok(None);
                }
                Ok(Some(
                    core::list_prefix(&c, prefix)
                        .await?
                        .into_iter()
                        .map(RemoteName)
                        .collect(),
                ))
            }
            AwsMode::Json { secret_name } => match core::get_value(&c, secret_name).await? {
                Current::Missing => Ok(Some(Vec::new())),
                Current::PendingDeletion => Err(core::pending_deletion(secret_name)),
                Current::Value(s) => Ok(Some(
                    core::parse_json_map(secret_name, &s)?
                        .into_keys()
                        .map(RemoteName)
                        .collect(),
                )),
            },
        }
    }

    async fn plan(
        &self,
        routing: &Routing,
        items: &[SecretItem],
        opts: &PlanOptions,
        _ctx: &Ctx,
    ) -> Result<Plan, DestError> {
        let cfg = self.config(routing)?;
        let c = self.client(&cfg).await?;
        let mut warnings = Vec::new();
        let changes = match &cfg.mode {
            AwsMode::PerKey { prefix } => {
                if opts.prune && prefix.is_empty() {
                    return Err(DestError::new(
                        DestErrorKind::Unsupported,
                        "aws: --prune needs a non-empty secret prefix (--aws-secret-prefix), so only vsync's names can be deleted",
                    ));
                }
                let mut changes = Vec::with_capacity(items.len());
                let mut wanted = BTreeSet::new();
                for item in items {
                    let name = self.map_name(routing, &item.key)?.0;
                    let v = item.text_value(VALUE_MAX)?;
                    let op = match core::get_value(&c, &name).await? {
                        Current::Missing => ChangeOp::Create,
                        Current::PendingDeletion => {
                            warnings.push(format!(
                                "{name} is scheduled for deletion; it will fail until restored"
                            ));
                            ChangeOp::Upsert
                        }
                        Current::Value(cur) if cur == v => ChangeOp::Unchanged,
                        Current::Value(_) => ChangeOp::Update,
                    };
                    wanted.insert(name.clone());
                    changes.push(Change {
                        source_key: Some(item.key.clone()),
                        remote: RemoteName(name),
                        op,
                    });
                }
                changes
            }
            AwsMode::Json { secret_name } => {
                let remote = match core::get_value(&c, secret_name).await? {
                    Current::Missing => BTreeMap::new(),
                    Current::PendingDeletion => return Err(core::pending_deletion(secret_name)),
                    Current::Value(s) => core::parse_json_map(secret_name, &s)?,
                };
                if !opts.prune
                    && let Some(w) =
                        whole_map::kept_keys_warning(&remote, items, &format!("in {secret_name}"))
                {
                    warnings.push(w);
                }
                // deletions (prune) come from the engine: `list` + `delete_one`
                whole_map::classify(&remote, items, VALUE_MAX)?
            }
        };
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
        let c = self.client(&cfg).await?;
        let mut out = BTreeMap::new();
        match &cfg.mode {
            AwsMode::PerKey { .. } => {
                for n in names {
                    if let Current::Value(v) = core::get_value(&c, &n.0).await? {
                        out.insert(n.clone(), SecretBytes::from_str_value(&v));
                    }
                }
            }
            AwsMode::Json { secret_name } => {
                if let Current::Value(s) = core::get_value(&c, secret_name).await? {
                    let map = core::parse_json_map(secret_name, &s)?;
                    for n in names {
                        if let Some(v) = map.get(&n.0) {
                            out.insert(n.clone(), SecretBytes::from_str_value(v));
                        }
                    }
                }
            }
        }
        Ok(Some(out))
    }

    async fn delete_one(
        &self,
        routing: &Routing,
        name: &RemoteName,
        _ctx: &Ctx,
    ) -> Result<(), DestError> {
        let cfg = self.config(routing)?;
        let c = self.client(&cfg).await?;
        match &cfg.mode {
            AwsMode::PerKey { prefix } => {
                if prefix.is_empty() || !name.0.starts_with(prefix.as_str()) {
                    return Err(DestError::new(
                        DestErrorKind::Unsupported,
                        format!("refusing to delete {name}: prune needs a non-empty secret prefix and only deletes names under it"),
                    )
                    .with_key(&name.0));
                }
                core::delete(&c, &name.0).await
            }
            AwsMode::Json { secret_name } => {
                let mut map = match core::get_value(&c, secret_name).await? {
                    Current::Value(s) => core::parse_json_map(secret_name, &s)?,
                    Current::Missing => return Ok(()),
                    Current::PendingDeletion => return Err(core::pending_deletion(secret_name)),
                };
                if map.remove(&name.0).is_none() {
                    return Ok(());
                }
                let body = serde_json::to_string(&map)
                    .map_err(|e| DestError::internal(format!("encoding {secret_name}: {e}")))?;
                core::put(&c, &cfg, secret_name, &body).await.map(|_| ())
            }
        }
    }

    async fn write_one(
        &self,
        routing: &Routing,
        change: &Change,
        item: &SecretItem,
        _ctx: &Ctx,
    ) -> Result<ChangeOp, DestError> {
        let cfg = self.config(routing)?;
        if let AwsMode::Json { .. } = cfg.mode {
            return Err(DestError::new(
                DestErrorKind::Unsupported,
                "aws mode=json writes the whole map at once (apply_bulk)",
            ));
        }
        let v = item.text_value(VALUE_MAX)?;
        let c = self.client(&cfg).await?;
        let created = core::put(&c, &cfg, change.remote.as_str(), v).await?;
        Ok(ChangeOp::written(created))
    }

    async fn apply_bulk(
        &self,
        routing: &Routing,
        plan: &Plan,
        items: &[SecretItem],
        _ctx: &Ctx,
    ) -> Result<ApplyReport, DestError> {
        let cfg = self.config(routing)?;
        let AwsMode::Json { secret_name } = &cfg.mode else {
            return Err(DestError::new(
                DestErrorKind::Unsupported,
                "aws per-key mode writes one key at a time",
            ));
        };
        let c = self.client(&cfg).await?;
        let (remote, exists) = match core::get_value(&c, secret_name).await? {
            Current::Missing => (BTreeMap::new(), false),
            Current::PendingDeletion => return Err(core::pending_deletion(secret_name)),
            Current::Value(s) => (core::parse_json_map(secret_name, &s)?, true),
        };
        // Secrets Manager has no check-and-set: the ops come from a fresh read just before the
        // single write (a writer in the gap of one round trip is not detected; documented).
        let write = MapWrite::new(&remote, exists, plan, items, VALUE_MAX)?;
        if !write.changed {
            return Ok(write.report(&Ok(())));
        }
        let body = serde_json::to_string(&write.map).map_err(|e| {
            DestError::new(
                DestErrorKind::Internal,
                format!("encoding {secret_name}: {e}"),
            )
        })?;
        if body.len() > VALUE_MAX {
            return Err(DestError::new(
                DestErrorKind::InvalidValue,
                format!("the JSON for {secret_name} is larger than 64 KiB (the AWS limit)"),
            ));
        }
        let res = core::put(&c, &cfg, secret_name, &body).await.map(|_| ());
        Ok(write.report(&res))
    }
}
