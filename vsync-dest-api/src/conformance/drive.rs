//! The engine's plan → apply → prune loop (docs/sync-contract.md §15.5), as the suite and the
//! destination tests drive a destination: map every name first, the destination's plan refined
//! by read-back, listing and a receipt, writes per key or in one bulk call, deletions through
//! `delete_one`. No pool, rate limit or retry: a case sees each answer as the service gave it.

use std::collections::{BTreeMap, BTreeSet};

use crate::{
    Change, ChangeOp, Ctx, DestError, Destination, ItemOutcome, Plan, PlanOptions, RemoteName,
    Routing, SecretBytes, SecretItem, WriteMode,
};

/// The result of one planned change.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The remote name.
    pub name: RemoteName,
    /// The env key (None for a deletion).
    pub key: Option<String>,
    /// What the plan said.
    pub planned: ChangeOp,
    /// What the destination answered: the op it performed, or its error.
    pub result: Result<ChangeOp, DestError>,
}

/// A destination, a routing and what was last written there, as the engine holds them across
/// runs. The receipt keeps values in memory only (the real one keeps a MAC of each).
pub struct Engine<'a> {
    d: &'a dyn Destination,
    routing: Routing,
    ctx: Ctx,
    receipt: BTreeMap<RemoteName, SecretBytes>,
}

impl<'a> Engine<'a> {
    /// No receipt yet: a first run.
    pub fn new(d: &'a dyn Destination, routing: &Routing, ctx: &Ctx) -> Self {
        Self {
            d,
            routing: routing.clone(),
            ctx: ctx.clone(),
            receipt: BTreeMap::new(),
        }
    }

    /// Every key's remote name, or the first refusal.
    pub fn map_all(&self, items: &[SecretItem]) -> Result<Vec<RemoteName>, DestError> {
        items
            .iter()
            .map(|i| self.d.map_name(&self.routing, &i.key))
            .collect()
    }

    /// The destination's plan, with each `Upsert` classified as the engine does (read-back,
    /// else listing and receipt) and, with `prune`, a deletion per listed name not in `items`.
    pub async fn plan(&self, items: &[SecretItem], prune: bool) -> Result<Plan, DestError> {
        let names = self.map_all(items)?;
        let caps = self.d.capabilities(&self.routing);
        let opts = PlanOptions {
            prune,
            offline: false,
        };
        let mut plan = self.d.plan(&self.routing, items, &opts, &self.ctx).await?;
        let listed: Option<BTreeSet<RemoteName>> = if caps.can_list {
            self.d
                .list(&self.routing, &self.ctx)
                .await?
                .map(|v| v.into_iter().collect())
        } else {
            None
        };
        let values =
            if caps.can_read_values && plan.changes.iter().any(|c| c.op == ChangeOp::Upsert) {
                self.d.read_values(&self.routing, &names, &self.ctx).await?
            } else {
                None
            };
        for c in plan.changes.iter_mut().filter(|c| c.op == ChangeOp::Upsert) {
            let Some(i) = names.iter().position(|n| *n == c.remote) else {
                continue;
            };
            let ours = &items[i].value;
            let exists = listed.as_ref().map(|l| l.contains(&c.remote));
            c.op = match (&values, exists, self.receipt.get(&c.remote)) {
                (Some(v), _, _) => match v.get(&c.remote) {
                    Some(v) if v == ours => ChangeOp::Unchanged,
                    Some(_) => ChangeOp::Update,
                    None => ChangeOp::Create,
                },
                (None, Some(false), _) => ChangeOp::Create,
                (None, _, Some(last)) if last == ours => ChangeOp::Unchanged,
                (None, _, Some(_)) | (None, Some(true), None) => ChangeOp::Update,
                (None, None, None) => ChangeOp::Upsert,
            };
        }
        if prune {
            let ours: BTreeSet<&RemoteName> = names.iter().collect();
            for n in listed.iter().flatten().filter(|n| !ours.contains(n)) {
                plan.changes.push(Change {
                    source_key: None,
                    remote: n.clone(),
                    op: ChangeOp::Delete,
                });
            }
        }
        Ok(plan)
    }

    /// Applies `plan`: nothing for `Unchanged` (the engine never sends it), `delete_one` per
    /// deletion, the writes one by one or in one `apply_bulk`. One outcome per change, in order;
    /// what was written goes into the receipt.
    pub async fn apply(&mut self, plan: &Plan, items: &[SecretItem]) -> Vec<Outcome> {
        let by_key: BTreeMap<&str, &SecretItem> =
            items.iter().map(|i| (i.key.as_str(), i)).collect();
        let item = |c: &Change| c.source_key.as_deref().and_then(|k| by_key.get(k)).copied();
        let is_write = |c: &Change| c.op.is_write() && c.op != ChangeOp::Delete;
        let bulk = self.d.capabilities(&self.routing).write_mode == WriteMode::BulkAtomic;
        let mut bulk_report: Option<Result<BTreeMap<RemoteName, ItemOutcome>, DestError>> = None;
        if bulk && plan.changes.iter().any(is_write) {
            let sub = Plan {
                changes: plan
                    .changes
                    .iter()
                    .filter(|c| is_write(c))
                    .cloned()
                    .collect(),
                ..plan.clone()
            };
            let sub_items: Vec<SecretItem> = sub.changes.iter().filter_map(item).cloned().collect();
            let r = self
                .d
                .apply_bulk(&self.routing, &sub, &sub_items, &self.ctx)
                .await;
            bulk_report = Some(r.map(|rep| rep.outcomes.into_iter().collect()));
        }
        let mut out = Vec::with_capacity(plan.changes.len());
        for c in &plan.changes {
            let result = if !c.op.is_write() {
                Ok(c.op)
            } else if c.op == ChangeOp::Delete {
                self.d
                    .delete_one(&self.routing, &c.remote, &self.ctx)
                    .await
                    .map(|()| ChangeOp::Delete)
            } else if let Some(report) = &bulk_report {
                match report {
                    Err(e) => Err(e.clone()),
                    Ok(m) => match m.get(&c.remote) {
                        Some(ItemOutcome::Ok(op)) => Ok(*op),
                        Some(ItemOutcome::Failed(e)) => Err(e.clone()),
                        Some(ItemOutcome::NotAttempted) => Err(DestError::internal(
                            "the bulk write did not attempt this name",
                        )),
                        None => Ok(c.op),
                    },
                }
            } else {
                self.d.apply_one(&self.routing, c, item(c), &self.ctx).await
            };
            match (&result, item(c)) {
                (Ok(ChangeOp::Delete), _) => {
                    self.receipt.remove(&c.remote);
                }
                (Ok(_), Some(it)) => {
                    self.receipt.insert(c.remote.clone(), it.value.clone());
                }
                _ => {}
            }
            out.push(Outcome {
                name: c.remote.clone(),
                key: c.source_key.clone(),
                planned: c.op,
                result,
            });
        }
        out
    }

    /// [`Engine::plan`] then [`Engine::apply`].
    pub async fn sync(
        &mut self,
        items: &[SecretItem],
        prune: bool,
    ) -> Result<(Plan, Vec<Outcome>), DestError> {
        let plan = self.plan(items, prune).await?;
        let out = self.apply(&plan, items).await;
        Ok((plan, out))
    }
}
