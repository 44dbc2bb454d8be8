//! Plan and apply for one target. Value-free results; the caller prints.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tokio::sync::{Mutex, Semaphore};
use vsync_dest_api::{
    Change, ChangeOp, Ctx, DestError, DestErrorKind, Destination, ItemOutcome, Plan, PlanOptions,
    RemoteName, Routing, SecretItem, WriteMode, name_rules,
};

use super::receipt::Receipt;
use super::retry::{self, TokenBucket};

/// A target-level failure: nothing (more) was written to it.
#[derive(Debug)]
pub struct TargetAbort {
    /// Why, one line per problem.
    pub problems: Vec<String>,
}

impl TargetAbort {
    fn one(e: impl std::fmt::Display) -> Self {
        Self {
            problems: vec![e.to_string()],
        }
    }
}

/// Map and validate every name, offline. Invalid names and collisions abort the target.
pub fn map_all(
    dest: &dyn Destination,
    routing: &Routing,
    items: &[SecretItem],
) -> Result<Vec<RemoteName>, TargetAbort> {
    let caps = dest.capabilities(routing);
    let mut names = Vec::with_capacity(items.len());
    let mut problems = Vec::new();
    for it in items {
        match dest.map_name(routing, &it.key) {
            Ok(n) => names.push(n),
            Err(e) => {
                problems.push(format!("invalid name {}: {}", it.key, e.message));
                names.push(RemoteName(String::new()));
            }
        }
        if !caps.binary_values && it.value.expose_str().is_none() {
            problems.push(format!(
                "{}: binary value, but {} takes text only",
                it.key,
                dest.id()
            ));
        }
        if caps.max_value_bytes.is_some_and(|m| it.value.len() > m) {
            problems.push(format!(
                "{}: value larger than {} allows",
                it.key,
                dest.id()
            ));
        }
    }
    if problems.is_empty() {
        let pairs: Vec<(&str, &RemoteName)> = items
            .iter()
            .map(|i| i.key.as_str())
            .zip(names.iter())
            .collect();
        for (name, keys) in name_rules::collisions(pairs, caps.case_insensitive_names) {
            problems.push(format!("collision on {name}: {}", keys.join(", ")));
        }
    }
    if problems.is_empty() {
        Ok(names)
    } else {
        Err(TargetAbort { problems })
    }
}

/// What the planner knows.
pub struct PlanInputs<'a> {
    /// The destination.
    pub dest: &'a dyn Destination,
    /// Routing.
    pub routing: &'a Routing,
    /// Items in env order.
    pub items: &'a [SecretItem],
    /// Their mapped names.
    pub names: &'a [RemoteName],
    /// The last receipt, if any.
    pub receipt: Option<&'a Receipt>,
    /// MAC of each item's value (same order).
    pub fingerprints: &'a [String],
    /// Include deletions.
    pub prune: bool,
    /// `--dry-run=offline`: no network at all, every key Upsert.
    pub offline: bool,
    /// Context.
    pub ctx: &'a Ctx,
}

/// Preflight, then plan: the destination's plan refined with list / read-back / receipt.
pub async fn plan(p: PlanInputs<'_>) -> Result<Plan, TargetAbort> {
    if p.offline {
        return Ok(offline_plan(&p));
    }
    let caps = p.dest.capabilities(p.routing);
    p.dest
        .preflight(p.routing, p.ctx)
        .await
        .map_err(|e| TargetAbort::one(format!("preflight: {e}")))?;
    let mut plan = p
        .dest
        .plan(
            p.routing,
            p.items,
            &PlanOptions {
                prune: p.prune,
                offline: false,
            },
            p.ctx,
        )
        .await
        .map_err(|e| TargetAbort::one(format!("plan: {e}")))?;
    let listed: Option<BTreeSet<RemoteName>> = if caps.can_list {
        p.dest
            .list(p.routing, p.ctx)
            .await
            .map_err(|e| TargetAbort::one(format!("list: {e}")))?
            .map(|v| v.into_iter().collect())
    } else {
        None
    };
    // destinations that classify by themselves (read-back in their own plan) leave no Upsert
    let needs_refining = plan.changes.iter().any(|c| c.op == ChangeOp::Upsert);
    let values = if caps.can_read_values && needs_refining {
        p.dest
            .read_values(p.routing, p.names, p.ctx)
            .await
            .map_err(|e| TargetAbort::one(format!("read back: {e}")))?
    } else {
        None
    };
    let by_name: BTreeMap<&RemoteName, usize> =
        p.names.iter().enumerate().map(|(i, n)| (n, i)).collect();
    for c in &mut plan.changes {
        if c.op != ChangeOp::Upsert {
            continue;
        }
        let Some(&i) = by_name.get(&c.remote) else {
            continue;
        };
        let ours = &p.items[i].value;
        let exists = listed.as_ref().map(|l| l.contains(&c.remote));
        let recorded = p.receipt.and_then(|r| r.get(&c.remote.0));
        c.op = if let Some(values) = &values {
            match values.get(&c.remote) {
                Some(v) if v == ours => ChangeOp::Unchanged,
                Some(_) => ChangeOp::Update,
                None => ChangeOp::Create,
            }
        } else if exists == Some(false) {
            ChangeOp::Create
        } else if let Some(rec) = recorded {
            if rec == &p.fingerprints[i] {
                ChangeOp::Unchanged
            } else {
                ChangeOp::Update
            }
        } else if exists == Some(true) {
            ChangeOp::Update
        } else {
            ChangeOp::Upsert
        };
    }
    drift_warnings(&mut plan, &p);
    if p.prune {
        if !(caps.can_list && caps.can_delete) {
            return Err(TargetAbort::one(format!(
                "--prune: {} cannot list and delete",
                p.dest.id()
            )));
        }
        let ours: BTreeSet<&RemoteName> = p.names.iter().collect();
        for n in listed.iter().flatten() {
            if !ours.contains(n) {
                plan.changes.push(Change {
                    source_key: None,
                    remote: n.clone(),
                    op: ChangeOp::Delete,
                });
            }
        }
    }
    Ok(plan)
}

/// Drift, the same way for every destination however it classified: the receipt says we last
/// wrote exactly this value, yet the destination needs an update (it was changed behind our back)
/// or a create (it was deleted). Write-only destinations can only show the deletion kind.
fn drift_warnings(plan: &mut Plan, p: &PlanInputs<'_>) {
    let Some(receipt) = p.receipt else { return };
    let by_name: BTreeMap<&RemoteName, usize> =
        p.names.iter().enumerate().map(|(i, n)| (n, i)).collect();
    for c in &plan.changes {
        let Some(&i) = by_name.get(&c.remote) else {
            continue;
        };
        if receipt.get(&c.remote.0) != Some(&p.fingerprints[i]) {
            continue;
        }
        let what = match c.op {
            ChangeOp::Update => "was changed at the destination since the last sync",
            ChangeOp::Create => "was deleted at the destination since the last sync",
            _ => continue,
        };
        plan.warnings.push(format!("drift: {} {what}", c.remote));
    }
}

/// The plan `--dry-run=offline` shows: built here rather than by the destination, so no
/// destination (built-in or plugin) can reach the network.
fn offline_plan(p: &PlanInputs<'_>) -> Plan {
    let mut warnings =
        vec!["offline: the destination was not contacted; every key is shown as upsert".into()];
    if p.prune {
        warnings.push("offline: --prune deletions cannot be planned without listing".into());
    }
    Plan {
        target: p.dest.id().to_owned(),
        routing_summary: p.dest.routing_summary(p.routing),
        changes: p
            .items
            .iter()
            .zip(p.names)
            .map(|(it, n)| Change {
                source_key: Some(it.key.clone()),
                remote: n.clone(),
                op: ChangeOp::Upsert,
            })
            .collect(),
        warnings,
    }
}

/// Apply knobs.
#[derive(Debug, Clone)]
pub struct ApplyOpts {
    /// `--jobs`.
    pub jobs: usize,
    /// `--rate`: replaces the destination's published requests per second.
    pub rate: Option<f64>,
    /// A progress bar to tick per finished change.
    pub progress: Option<Arc<super::progress::Progress>>,
}

/// Result of one change.
#[derive(Debug, Clone, Serialize)]
pub struct KeyResult {
    /// Remote name.
    pub name: String,
    /// Planned op.
    pub op: ChangeOp,
    /// ok | failed | not_attempted
    pub status: &'static str,
    /// Why it failed (no values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Error kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<&'static str>,
}

async fn with_retry<T, F, Fut>(ctx: &Ctx, bucket: &Mutex<TokenBucket>, mut f: F) -> ItemOutcomeT<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, DestError>>,
{
    let mut attempt = 1;
    loop {
        if ctx.is_cancelled() {
            return if attempt == 1 {
                ItemOutcomeT::NotAttempted
            } else {
                ItemOutcomeT::Failed(DestError::new(DestErrorKind::Cancelled, "cancelled"))
            };
        }
        let wait = bucket.lock().await.take(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let remaining = ctx
            .deadline
            .map(|d| d.saturating_duration_since(Instant::now()))
            .unwrap_or(std::time::Duration::from_secs(3600));
        let r = match tokio::time::timeout(remaining, f()).await {
            Ok(r) => r,
            Err(_) => Err(DestError::new(DestErrorKind::Timeout, "timed out")),
        };
        match r {
            Ok(v) => return ItemOutcomeT::Ok(v),
            Err(e) => match retry::next_delay(&e, attempt, retry::jitter()) {
                Some(d) if !ctx.is_cancelled() => {
                    tokio::time::sleep(d).await;
                    attempt += 1;
                }
                _ => return ItemOutcomeT::Failed(e),
            },
        }
    }
}

enum ItemOutcomeT<T> {
    Ok(T),
    Failed(DestError),
    NotAttempted,
}

/// Apply a plan: bounded pool, token bucket, retries, cancellation. One result per change.
pub async fn apply(
    dest: Arc<dyn Destination>,
    routing: &Routing,
    plan: &Plan,
    items: &[SecretItem],
    opts: ApplyOpts,
    ctx: &Ctx,
) -> Vec<KeyResult> {
    let caps = dest.capabilities(routing);
    let rps = opts
        .rate
        .filter(|r| r.is_finite() && *r > 0.0)
        .unwrap_or_else(|| {
            caps.requests_per_second
                .filter(|r| *r > 0.0)
                .map_or(50.0, f64::from)
        });
    let jobs = opts
        .jobs
        .max(1)
        .min(caps.max_concurrency.unwrap_or(usize::MAX).max(1));
    let bucket = Arc::new(Mutex::new(TokenBucket::new(
        rps,
        jobs as f64,
        Instant::now(),
    )));
    let by_key: BTreeMap<&str, &SecretItem> = items.iter().map(|i| (i.key.as_str(), i)).collect();
    let mut results: Vec<Option<KeyResult>> = vec![None; plan.changes.len()];

    let writes: Vec<usize> = plan
        .changes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.op.is_write() && c.op != ChangeOp::Delete)
        .map(|(i, _)| i)
        .collect();
    for (i, c) in plan.changes.iter().enumerate() {
        if !c.op.is_write() {
            results[i] = Some(ok(c, c.op));
        }
    }

    if caps.write_mode == WriteMode::BulkAtomic && !writes.is_empty() {
        let sub = Plan {
            changes: writes.iter().map(|&i| plan.changes[i].clone()).collect(),
            ..plan.clone()
        };
        let sub_items: Vec<SecretItem> = sub
            .changes
            .iter()
            .filter_map(|c| {
                c.source_key
                    .as_deref()
                    .and_then(|k| by_key.get(k))
                    .map(|i| (*i).clone())
            })
            .collect();
        let out = with_retry(ctx, &bucket, || {
            dest.apply_bulk(routing, &sub, &sub_items, ctx)
        })
        .await;
        let reported: BTreeMap<RemoteName, ItemOutcome> = match &out {
            ItemOutcomeT::Ok(r) => r.outcomes.iter().cloned().collect(),
            _ => BTreeMap::new(),
        };
        for &i in &writes {
            let c = &plan.changes[i];
            results[i] = Some(match &out {
                ItemOutcomeT::Ok(_) => match reported.get(&c.remote) {
                    Some(ItemOutcome::Ok(op)) => ok(c, *op),
                    Some(ItemOutcome::Failed(e)) => failed(c, e),
                    Some(ItemOutcome::NotAttempted) => not_attempted(c),
                    None => ok(c, c.op),
                },
                ItemOutcomeT::Failed(e) => failed(c, e),
                ItemOutcomeT::NotAttempted => not_attempted(c),
            });
        }
    }

    let sem = Arc::new(Semaphore::new(jobs));
    let mut set = Vec::new();
    for (i, c) in plan.changes.iter().enumerate() {
        if results[i].is_some() {
            continue;
        }
        let item = c.source_key.as_deref().and_then(|k| by_key.get(k)).copied();
        let dest = dest.clone();
        let sem = sem.clone();
        let bucket = bucket.clone();
        let progress = opts.progress.clone();
        set.push(async move {
            let Ok(_permit) = sem.acquire().await else {
                return (i, not_attempted(c));
            };
            let out = if c.op == ChangeOp::Delete {
                with_retry(ctx, &bucket, || async {
                    dest.delete_one(routing, &c.remote, ctx)
                        .await
                        .map(|()| ChangeOp::Delete)
                })
                .await
            } else {
                with_retry(ctx, &bucket, || dest.apply_one(routing, c, item, ctx)).await
            };
            if let Some(p) = &progress {
                p.tick();
            }
            (
                i,
                match out {
                    ItemOutcomeT::Ok(op) => ok(c, if c.op == ChangeOp::Upsert { op } else { c.op }),
                    ItemOutcomeT::Failed(e) => failed(c, &e),
                    ItemOutcomeT::NotAttempted => not_attempted(c),
                },
            )
        });
    }
    for (i, r) in futures_join_all(set).await {
        results[i] = Some(r);
    }
    if let Some(p) = &opts.progress {
        p.finish();
    }
    results.into_iter().flatten().collect()
}

async fn futures_join_all<F: std::future::Future>(futs: Vec<F>) -> Vec<F::Output> {
    // small local join_all: poll all futures concurrently on this task
    let mut futs: Vec<std::pin::Pin<Box<F>>> = futs.into_iter().map(Box::pin).collect();
    let mut out: Vec<Option<F::Output>> = (0..futs.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in futs.iter_mut().enumerate() {
            if out[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => out[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.into_iter().flatten().collect()
}

fn ok(c: &Change, op: ChangeOp) -> KeyResult {
    KeyResult {
        name: c.remote.0.clone(),
        op,
        status: "ok",
        error: None,
        kind: None,
    }
}

fn failed(c: &Change, e: &DestError) -> KeyResult {
    KeyResult {
        name: c.remote.0.clone(),
        op: c.op,
        status: "failed",
        error: Some(e.message.clone()),
        kind: Some(e.kind.as_str()),
    }
}

fn not_attempted(c: &Change) -> KeyResult {
    KeyResult {
        name: c.remote.0.clone(),
        op: c.op,
        status: "not_attempted",
        error: None,
        kind: None,
    }
}
