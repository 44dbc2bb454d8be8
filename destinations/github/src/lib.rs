//! vsync destination `github`: GitHub Actions secrets through `octocrab`.
//!
//! Environment secrets by default, in the GitHub environment named like the vsync env (upstream
//! behaviour; `--github-environment NAME` picks another), or repository secrets with
//! `--github-scope repository`. Values
//! are sealed with the scope's public key (libsodium sealed box via `crypto_box`). Secrets are
//! write-only: no read-back, the engine's receipt detects unchanged values. Names follow GitHub's
//! rules (`^[A-Za-z_][A-Za-z0-9_]*$`, no `GITHUB_` prefix) and are upper-cased, as GitHub stores them.
//! Token from `GITHUB_TOKEN` or `GH_TOKEN`; `GITHUB_API_URL` for GitHub Enterprise and tests.
//!
//! Modules: [`scope`] (routing → where, and the name rule), `api` (the REST calls), `errors`
//! (failures → error kinds), `seal` (the encryption); this file is the [`Destination`].

mod api;
mod errors;
pub mod scope;
mod seal;

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

use octocrab::Octocrab;
use vsync_dest_api::{
    Capabilities, Change, ChangeOp, Ctx, DestError, Destination, Plan, PlanOptions, RemoteName,
    Routing, RoutingField, RoutingSchema, SecretItem, WriteMode,
};

use crate::api::{Method, call};
use crate::errors::http_error;
use crate::seal::PublicKey;

pub use crate::scope::{Scope, check_name};
pub use vsync_dest_api::EnvSource;

/// GitHub's limit for one secret value.
pub const MAX_VALUE_BYTES: usize = 48 * 1024;

/// The `github` destination.
#[derive(Debug, Default)]
pub struct GitHub {
    env: EnvSource,
    /// Public key per scope path, fetched once per run.
    keys: Mutex<HashMap<String, PublicKey>>,
    /// The client, built once: building it (TLS roots included) per request dominated the CPU.
    client: Mutex<Option<Octocrab>>,
}

impl GitHub {
    pub fn new() -> Self {
        Self::default()
    }
    /// Reads `GITHUB_TOKEN`/`GH_TOKEN`/`GITHUB_API_URL` from `env` instead of the process.
    pub fn with_env(env: EnvSource) -> Self {
        Self {
            env,
            keys: Mutex::default(),
            client: Mutex::default(),
        }
    }

    fn client(&self) -> Result<Octocrab, DestError> {
        if let Some(c) = self.client.lock().expect("client cache").as_ref() {
            return Ok(c.clone());
        }
        let c = api::build_client(&self.env)?;
        *self.client.lock().expect("client cache") = Some(c.clone());
        Ok(c)
    }

    /// The scope's public key, from the cache unless `refresh`.
    async fn public_key(
        &self,
        gh: &Octocrab,
        scope: &Scope,
        refresh: bool,
    ) -> Result<PublicKey, DestError> {
        let path = scope.base();
        if !refresh && let Some(k) = self.keys.lock().expect("key cache").get(&path) {
            return Ok(k.clone());
        }
        let k = api::public_key(gh, scope).await?;
        self.keys.lock().expect("key cache").insert(path, k.clone());
        Ok(k)
    }
}

#[async_trait::async_trait]
impl Destination for GitHub {
    fn id(&self) -> &str {
        "github"
    }
    fn display_name(&self) -> &str {
        "GitHub Actions"
    }
    fn capabilities(&self, _routing: &Routing) -> Capabilities {
        Capabilities {
            write_mode: WriteMode::PerKey,
            can_list: true,
            can_read_values: false,
            can_delete: true,
            versioned: false,
            binary_values: false,
            max_value_bytes: Some(MAX_VALUE_BYTES),
            max_concurrency: Some(4),
            requests_per_second: Some(10.0),
            case_insensitive_names: true,
        }
    }

    fn routing_schema(&self) -> RoutingSchema {
        vec![
            RoutingField::new("repo", "github-repo", "GitHub repository (owner/name)")
                .aliases(&["gh-repo"])
                .required(),
            RoutingField::new(
                "environment",
                "github-environment",
                "GitHub environment (environment secrets)",
            )
            .aliases(&["gh-environment"]),
            RoutingField::new(
                "scope",
                "github-scope",
                "environment (default: the GitHub environment named like the vsync env) or repository",
            ),
        ]
    }

    fn routing_summary(&self, routing: &Routing) -> String {
        Scope::from_routing(routing, None)
            .map(|s| s.display())
            .unwrap_or_else(|e| e.message)
    }

    fn map_name(&self, _routing: &Routing, key: &str) -> Result<RemoteName, DestError> {
        check_name(key).map(RemoteName)
    }

    async fn preflight(&self, routing: &Routing, ctx: &Ctx) -> Result<(), DestError> {
        let scope = Scope::from_routing(routing, Some(ctx))?;
        let gh = self.client()?;
        self.public_key(&gh, &scope, true).await.map(|_| ())
    }

    async fn list(
        &self,
        routing: &Routing,
        ctx: &Ctx,
    ) -> Result<Option<Vec<RemoteName>>, DestError> {
        let scope = Scope::from_routing(routing, Some(ctx))?;
        let gh = self.client()?;
        Ok(Some(
            api::list_names(&gh, &scope)
                .await?
                .into_iter()
                .map(RemoteName)
                .collect(),
        ))
    }

    /// Create for names GitHub does not have, Upsert for the others (values cannot be read back;
    /// the engine's receipt refines Upsert into Unchanged/Update). Deletions (prune) are added by
    /// the engine from `list` and applied with `delete_one`.
    async fn plan(
        &self,
        routing: &Routing,
        items: &[SecretItem],
        opts: &PlanOptions,
        ctx: &Ctx,
    ) -> Result<Plan, DestError> {
        let scope = Scope::from_routing(routing, Some(ctx))?;
        let mut changes = Vec::with_capacity(items.len());
        let existing: BTreeSet<String> = if opts.offline {
            BTreeSet::new()
        } else {
            let gh = self.client()?;
            api::list_names(&gh, &scope).await?.into_iter().collect()
        };
        for it in items {
            let name = check_name(&it.key)?;
            let op = if opts.offline || existing.contains(&name) {
                ChangeOp::Upsert
            } else {
                ChangeOp::Create
            };
            changes.push(Change {
                source_key: Some(it.key.clone()),
                remote: RemoteName(name),
                op,
            });
        }
        Ok(Plan {
            target: self.id().to_string(),
            routing_summary: scope.display(),
            changes,
            warnings: Vec::new(),
        })
    }

    async fn write_one(
        &self,
        routing: &Routing,
        change: &Change,
        item: &SecretItem,
        ctx: &Ctx,
    ) -> Result<ChangeOp, DestError> {
        let name = change.remote.as_str();
        let scope = Scope::from_routing(routing, Some(ctx))?;
        let value = item.text_value(MAX_VALUE_BYTES)?;
        let gh = self.client()?;
        let path = format!("{}/{}", scope.base(), name);
        let target = format!("secret {name} in {}", scope.display());
        let mut refreshed = false;
        loop {
            let (key_id, pk) = self
                .public_key(&gh, &scope, refreshed)
                .await
                .map_err(|e| e.with_key(name))?;
            let sealed = seal::seal(&pk, value.as_bytes(), name)?;
            let body = serde_json::json!({ "encrypted_value": sealed, "key_id": key_id });
            let (status, headers, text) = call(&gh, Method::Put, &path, Some(&body))
                .await
                .map_err(|e| e.with_key(name))?;
            match status {
                201 => return Ok(ChangeOp::Create),
                204 | 200 => return Ok(ChangeOp::Update),
                // the key may have rotated since we cached it: fetch it again once
                422 if !refreshed => refreshed = true,
                _ => {
                    return Err(
                        http_error(status, &headers, &text, &target, "write").with_key(name)
                    );
                }
            }
        }
    }

    async fn delete_one(
        &self,
        routing: &Routing,
        name: &RemoteName,
        ctx: &Ctx,
    ) -> Result<(), DestError> {
        let scope = Scope::from_routing(routing, Some(ctx))?;
        let gh = self.client()?;
        let path = format!("{}/{}", scope.base(), name.0);
        let (status, headers, text) = call(&gh, Method::Delete, &path, None)
            .await
            .map_err(|e| e.with_key(&name.0))?;
        match status {
            204 | 200 | 404 => Ok(()), // 404: already gone
            _ => Err(http_error(
                status,
                &headers,
                &text,
                &format!("secret {name} in {}", scope.display()),
                "delete",
            )
            .with_key(&name.0)),
        }
    }
}
