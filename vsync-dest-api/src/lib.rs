//! The contract between the vsync sync engine and its destinations (docs/sync-contract.md §15).
//!
//! Which type for which job:
//! - [`Destination`]: implement it for a secret manager; the engine owns pools, rate limits,
//!   retries, receipts and output.
//! - [`SecretItem`] / [`SecretBytes`]: the values (redacted `Debug`, zeroized, no `Serialize`).
//! - [`Plan`], [`Change`], [`ChangeOp`], [`ApplyReport`]: value-free planning and results.
//! - [`DestError`] / [`DestErrorKind`]: typed failures; the engine branches on `retryable()`.
//! - [`name_rules`]: regex-free validation and collision helpers.
//! - [`SecretItem::text_value`] and friends: the value checks ([`ValueError`]).
//! - [`whole_map`]: for destinations keeping a target's keys in one map secret.
//! - `abi` (feature `plugin`): the C ABI wire types and [`export_destination!`] for cdylibs, and
//!   the host's frame and reply parsers.
//! - `conformance` (feature `conformance`): the destination conformance suite.

// `unsafe` is allowed in one module only: `abi::ffi` (raw buffers at the C boundary).
#![deny(unsafe_code)]

mod env_source;
mod error;
pub mod name_rules;
mod secret;
mod types;
mod value_rule;
pub mod whole_map;

#[cfg(feature = "plugin")]
pub mod abi;

#[cfg(feature = "conformance")]
pub mod conformance;

use std::collections::BTreeMap;
use std::fmt::Debug;

pub use env_source::EnvSource;
pub use error::{DestError, DestErrorKind};
pub use secret::SecretBytes;
pub use types::{
    ApplyReport, CancelFlag, Capabilities, Change, ChangeOp, Ctx, ItemOrigin, ItemOutcome,
    OptionMap, Plan, PlanOptions, RemoteName, Resolved, Routing, RoutingField, RoutingSchema,
    SecretItem, WriteMode, resolve_by_schema, routing_str,
};
pub use value_rule::ValueError;

/// The plugin ABI version this crate speaks (docs/sync-contract.md §15.8).
pub const ABI_VERSION: u32 = 1;

/// A secret manager vsync can sync to. Object-safe; used as `Arc<dyn Destination>`.
///
/// The engine calls, per target: `resolve_routing` → `map_name` for every key (offline, before
/// any write) → `preflight` → `list` / `read_values` / `plan` → `apply_one` per write (or
/// `apply_bulk` once) → `delete_one` for pruned names. It never sends `apply_one` an
/// `Unchanged` change; see [`Destination::apply_one`].
#[async_trait::async_trait]
pub trait Destination: Send + Sync + Debug {
    /// Canonical id (`github`, `aws`, `jsonfile`, …).
    fn id(&self) -> &str;

    /// Human name for banners.
    fn display_name(&self) -> &str;

    /// What it can do with this routing.
    fn capabilities(&self, routing: &Routing) -> Capabilities;

    /// The routing options it takes.
    fn routing_schema(&self) -> RoutingSchema;

    /// Flag → stored config → default → `Config` error. The default follows the schema.
    fn resolve_routing(
        &self,
        stored: Option<&serde_json::Value>,
        opts: &OptionMap,
    ) -> Result<Resolved, DestError> {
        resolve_by_schema(&self.routing_schema(), stored, opts)
    }

    /// One line describing where secrets go (no values), e.g. `repo=o/r, environment=prod`.
    fn routing_summary(&self, routing: &Routing) -> String {
        routing
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|s| format!("{k}={s}")))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Pure, offline: env key → remote name, or `InvalidName`.
    fn map_name(&self, routing: &Routing, key: &str) -> Result<RemoteName, DestError>;

    /// Cheap auth/reachability check, no writes.
    async fn preflight(&self, routing: &Routing, ctx: &Ctx) -> Result<(), DestError>;

    /// Remote names in the managed scope, or None when the API cannot list.
    async fn list(
        &self,
        routing: &Routing,
        ctx: &Ctx,
    ) -> Result<Option<Vec<RemoteName>>, DestError>;

    /// Current values of the given names where the API can read them back (for unchanged
    /// detection). None when it cannot; absent names are simply missing from the map.
    async fn read_values(
        &self,
        _routing: &Routing,
        _names: &[RemoteName],
        _ctx: &Ctx,
    ) -> Result<Option<BTreeMap<RemoteName, SecretBytes>>, DestError> {
        Ok(None)
    }

    /// Read-only plan. Default: Upsert for every item; the engine refines it with `list`,
    /// `read_values` and its receipt.
    async fn plan(
        &self,
        routing: &Routing,
        items: &[SecretItem],
        _opts: &PlanOptions,
        _ctx: &Ctx,
    ) -> Result<Plan, DestError> {
        let mut changes = Vec::with_capacity(items.len());
        for it in items {
            changes.push(Change {
                source_key: Some(it.key.clone()),
                remote: self.map_name(routing, &it.key)?,
                op: ChangeOp::Upsert,
            });
        }
        Ok(Plan {
            target: self.id().to_owned(),
            routing_summary: self.routing_summary(routing),
            changes,
            warnings: Vec::new(),
        })
    }

    /// Apply one change (PerKey destinations). Returns the op actually performed.
    ///
    /// The engine calls it only for writes (`Create`, `Update`, `Upsert`): it answers
    /// `Unchanged` itself and prunes through [`Self::delete_one`]. This provided method also
    /// takes the other ops, for callers that hand it a whole plan: `Unchanged` (and an op this
    /// version does not know) is answered without a call, `Delete` goes to `delete_one`, and a
    /// write goes to [`Self::write_one`] with its item. Implement `write_one`; override this
    /// only to forward the change unchanged (the plugin host does).
    async fn apply_one(
        &self,
        routing: &Routing,
        change: &Change,
        item: Option<&SecretItem>,
        ctx: &Ctx,
    ) -> Result<ChangeOp, DestError> {
        let name = change.remote.as_str();
        match change.op {
            ChangeOp::Unchanged | ChangeOp::Unknown => Ok(change.op),
            ChangeOp::Delete => self
                .delete_one(routing, &change.remote, ctx)
                .await
                .map(|()| ChangeOp::Delete),
            ChangeOp::Create | ChangeOp::Update | ChangeOp::Upsert => {
                let item = item.ok_or_else(|| {
                    DestError::internal(format!("no value given for {name}")).with_key(name)
                })?;
                self.write_one(routing, change, item, ctx).await
            }
        }
    }

    /// Write one item under `change.remote` (PerKey destinations); `change.op` is `Create`,
    /// `Update` or `Upsert`. Returns the op actually performed (`Upsert` is refined to `Create`
    /// or `Update` where the service says which, or `Unchanged` where it found the same value).
    async fn write_one(
        &self,
        _routing: &Routing,
        _change: &Change,
        _item: &SecretItem,
        _ctx: &Ctx,
    ) -> Result<ChangeOp, DestError> {
        Err(DestError::unsupported("this destination writes in bulk"))
    }

    /// Apply the whole plan (BulkAtomic destinations).
    async fn apply_bulk(
        &self,
        _routing: &Routing,
        _plan: &Plan,
        _items: &[SecretItem],
        _ctx: &Ctx,
    ) -> Result<ApplyReport, DestError> {
        Err(DestError::unsupported("this destination writes per key"))
    }

    /// Delete one managed remote name (prune).
    async fn delete_one(
        &self,
        _routing: &Routing,
        name: &RemoteName,
        _ctx: &Ctx,
    ) -> Result<(), DestError> {
        Err(DestError::unsupported(format!("cannot delete {name}")))
    }
}
