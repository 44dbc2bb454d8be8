//! `template`: a complete vsync destination plugin, written to be copied.
//!
//! It writes each secret as one file (`<dir>/<prefix><KEY>`, mode 0600, atomically) — the layout
//! Docker and systemd use for file-mounted secrets — and remembers which files it created in
//! `<dir>/.vsync-managed`, so `--prune` only ever deletes what vsync wrote.
//!
//! To make your own destination:
//! 1. copy this crate; rename the package, the `[lib]` name (`vsync_dest_<id>`) and [`ID`];
//! 2. replace [`backend::Backend`] with a client for your API (keep its four operations);
//! 3. map your API's failures with [`errors::from_http_status`] (or your own mapping), so the
//!    engine retries what is retryable and reports the rest;
//! 4. adjust [`Destination::capabilities`] and the name rule to what your API accepts;
//! 5. `cargo build --release`, then `vsync plugins check target/release/libvsync_dest_<id>.so`.
//!
//! See docs/plugins.md for the ABI, versioning and the threat model.

pub mod backend;
pub mod errors;

use std::collections::BTreeMap;

use vsync_dest_api::{
    Capabilities, Change, ChangeOp, Ctx, DestError, DestErrorKind, Destination, RemoteName,
    Routing, RoutingField, RoutingSchema, SecretBytes, SecretItem, WriteMode, name_rules,
    routing_str,
};

use crate::backend::Backend;

/// The id users pass to `vsync sync --to`; also the prefix of the routing flags.
pub const ID: &str = "template";

/// What a name may look like here: the env-key alphabet, as file names.
const NAME_RULE: name_rules::NameRule = name_rules::NameRule {
    allowed: name_rules::is_word,
    first: Some(name_rules::is_word_start),
    min_len: 1,
    max_len: 200,
    forbidden_prefixes: &[],
};

/// The largest value it stores.
const MAX_VALUE_BYTES: usize = 1024 * 1024;

/// The destination. It holds no state: every call gets its routing.
#[derive(Debug, Default)]
pub struct Template;

fn backend(routing: &Routing) -> Result<Backend, DestError> {
    let dir = routing_str(routing, "dir")
        .filter(|d| !d.is_empty())
        .ok_or_else(|| DestError::config(format!("{ID} needs --{ID}-dir <folder>")))?;
    Ok(Backend::new(dir))
}

fn prefix(routing: &Routing) -> &str {
    routing_str(routing, "prefix").unwrap_or("")
}

#[async_trait::async_trait]
impl Destination for Template {
    fn id(&self) -> &str {
        ID
    }

    fn display_name(&self) -> &str {
        "Secrets folder (template plugin)"
    }

    fn capabilities(&self, _routing: &Routing) -> Capabilities {
        Capabilities {
            write_mode: WriteMode::PerKey,
            can_list: true,
            can_read_values: true,
            can_delete: true,
            versioned: false,
            binary_values: true,
            max_value_bytes: Some(MAX_VALUE_BYTES),
            // What your API tolerates; the engine never exceeds either.
            max_concurrency: Some(4),
            requests_per_second: Some(100.0),
            case_insensitive_names: false,
        }
    }

    fn routing_schema(&self) -> RoutingSchema {
        vec![
            RoutingField {
                name: "dir".into(),
                required: true,
                flag: format!("{ID}-dir"),
                prompt: "folder that receives one file per secret".into(),
                ..RoutingField::default()
            },
            RoutingField {
                name: "prefix".into(),
                flag: format!("{ID}-prefix"),
                prompt: "prefix of every file name (also the managed scope)".into(),
                ..RoutingField::default()
            },
        ]
    }

    fn routing_summary(&self, routing: &Routing) -> String {
        format!(
            "dir={}, prefix={:?}",
            routing_str(routing, "dir").unwrap_or("?"),
            prefix(routing)
        )
    }

    fn map_name(&self, routing: &Routing, key: &str) -> Result<RemoteName, DestError> {
        let name = format!("{}{key}", prefix(routing));
        NAME_RULE.check(key, &name)?;
        Ok(RemoteName(name))
    }

    async fn preflight(&self, routing: &Routing, _ctx: &Ctx) -> Result<(), DestError> {
        backend(routing)?.check_reachable()
    }

    async fn list(
        &self,
        routing: &Routing,
        _ctx: &Ctx,
    ) -> Result<Option<Vec<RemoteName>>, DestError> {
        let p = prefix(routing);
        let names = backend(routing)?
            .list_managed()?
            .into_iter()
            .filter(|n| n.starts_with(p))
            .map(RemoteName)
            .collect();
        Ok(Some(names))
    }

    async fn read_values(
        &self,
        routing: &Routing,
        names: &[RemoteName],
        _ctx: &Ctx,
    ) -> Result<Option<BTreeMap<RemoteName, SecretBytes>>, DestError> {
        let b = backend(routing)?;
        let mut out = BTreeMap::new();
        for n in names {
            if let Some(v) = b.get(&n.0)? {
                out.insert(n.clone(), v);
            }
        }
        Ok(Some(out))
    }

    // `apply_one` (provided) answers `unchanged` and routes deletions to `delete_one`; only
    // writes reach this.
    async fn write_one(
        &self,
        routing: &Routing,
        change: &Change,
        item: &SecretItem,
        ctx: &Ctx,
    ) -> Result<ChangeOp, DestError> {
        if ctx.is_cancelled() {
            return Err(DestError::new(DestErrorKind::Cancelled, "cancelled"));
        }
        let value = item.bytes_value(MAX_VALUE_BYTES)?;
        let existed = backend(routing)?
            .put(&change.remote.0, value)
            .map_err(|e| e.with_key(&item.key))?;
        Ok(ChangeOp::written(!existed))
    }

    async fn delete_one(
        &self,
        routing: &Routing,
        name: &RemoteName,
        _ctx: &Ctx,
    ) -> Result<(), DestError> {
        backend(routing)?.delete_managed(&name.0)
    }
}

// The five C symbols vsync loads (ABI version, manifest, call, free, cancel).
vsync_dest_api::export_destination!(Template, Template);
