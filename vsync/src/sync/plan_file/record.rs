//! Recording a target's plan: the operations with keyed fingerprints of their values, and the
//! remote state they were planned against. The Destination API exposes no version ids or ETags,
//! so the remote state is what can be observed through it: whether each name is listed, a keyed
//! fingerprint of the value read back (destinations that can read), and the sealed receipt's
//! fingerprint (what vsync last wrote there).

use std::collections::{BTreeMap, BTreeSet};

use vsync_crypto::kdf::DerivedKey;
use vsync_dest_api::{ChangeOp, Ctx, Destination, Plan, RemoteName, Routing, SecretItem};

use super::digest;
use super::format::{OpRecord, PlanOp, RemoteRecord, TargetPlan};
use crate::sync::receipt::{self, Receipt};

/// The remote state of every name of `plan`, observed now (reads only).
///
/// # Errors
/// The destination's list or read-back failed (one line, no values).
pub async fn remote_state(
    dest: &dyn Destination,
    routing: &Routing,
    plan: &Plan,
    old_receipt: Option<&Receipt>,
    dk: &DerivedKey,
    ctx: &Ctx,
) -> Result<Vec<RemoteRecord>, String> {
    let caps = dest.capabilities(routing);
    let names: Vec<RemoteName> = plan.changes.iter().map(|c| c.remote.clone()).collect();
    let listed: Option<BTreeSet<RemoteName>> = if caps.can_list {
        dest.list(routing, ctx)
            .await
            .map_err(|e| format!("list: {e}"))?
            .map(|v| v.into_iter().collect())
    } else {
        None
    };
    let read: Option<BTreeMap<RemoteName, String>> = if caps.can_read_values {
        dest.read_values(routing, &names, ctx)
            .await
            .map_err(|e| format!("read back: {e}"))?
            .map(|m| {
                m.into_iter()
                    .map(|(n, v)| (n, receipt::fingerprint(dk, v.expose())))
                    .collect()
            })
    } else {
        None
    };
    Ok(names
        .iter()
        .map(|n| RemoteRecord {
            name: n.0.clone(),
            exists: listed
                .as_ref()
                .map(|l| l.contains(n))
                .or_else(|| read.as_ref().map(|r| r.contains_key(n))),
            fp: read.as_ref().and_then(|r| r.get(n).cloned()),
            receipt: old_receipt.and_then(|r| r.get(&n.0).cloned()),
        })
        .collect())
}

/// One target's record. `fingerprints` are the items' keyed fingerprints, in item order.
///
/// # Errors
/// An op the plan cannot pin (a plugin's op this vsync does not know), named.
pub fn target_plan(
    routing: &Routing,
    plan: &Plan,
    items: &[SecretItem],
    fingerprints: &[String],
    remote: Vec<RemoteRecord>,
) -> Result<TargetPlan, String> {
    let by_key: BTreeMap<&str, &String> = items
        .iter()
        .map(|i| i.key.as_str())
        .zip(fingerprints)
        .collect();
    let removed: BTreeMap<&str, &RemoteRecord> =
        remote.iter().map(|r| (r.name.as_str(), r)).collect();
    let mut ops = Vec::with_capacity(plan.changes.len());
    for c in &plan.changes {
        let op = PlanOp::from_change(c.op)
            .ok_or_else(|| format!("{}: op {} cannot be pinned", c.remote, c.op.as_str()))?;
        let fp = match &c.source_key {
            Some(k) => by_key.get(k.as_str()).map(|f| (*f).clone()),
            None if c.op == ChangeOp::Delete => removed
                .get(c.remote.as_str())
                .and_then(|r| r.fp.clone().or_else(|| r.receipt.clone())),
            None => None,
        };
        ops.push(OpRecord {
            name: c.remote.0.clone(),
            key: c.source_key.clone(),
            op,
            fp,
        });
    }
    let routing = match digest::canonical(&serde_json::Value::Object(routing.clone())) {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    Ok(TargetPlan {
        id: plan.target.clone(),
        routing,
        summary: plan.routing_summary.clone(),
        ops,
        remote,
    })
}

/// The plan to apply for one target: exactly the pinned operations, nothing re-planned.
pub fn to_plan(t: &TargetPlan) -> Plan {
    Plan {
        target: t.id.clone(),
        routing_summary: t.summary.clone(),
        changes: t
            .ops
            .iter()
            .map(|o| vsync_dest_api::Change {
                source_key: o.key.clone(),
                remote: RemoteName(o.name.clone()),
                op: o.op.to_change(),
            })
            .collect(),
        warnings: Vec::new(),
    }
}
