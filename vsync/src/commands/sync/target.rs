//! One target of `vsync sync`: resolve its routing (saved to the config when the destination
//! asks), map and validate every name before any write, plan, confirm a prune, apply, and record
//! what the destination now holds in the sealed receipt.

use std::collections::BTreeMap;
use std::sync::Arc;

use vsync_crypto::kdf::DerivedKey;
use vsync_dest_api::{
    ChangeOp, Ctx, Destination, OptionMap, Plan, RemoteName, Routing, SecretItem,
};

use super::report::{self, TargetReport};
use crate::context::EnvContext;
use crate::output;
use crate::settings::sync::SyncSettings;
use crate::sync::engine::{self, ApplyOpts, KeyResult, PlanInputs};
use crate::sync::receipt::{self, Receipt};
use crate::sync::registry::config_key;

/// What every target of one run shares.
pub(super) struct RunInputs<'a> {
    pub(super) settings: &'a SyncSettings,
    pub(super) items: &'a [SecretItem],
    pub(super) fingerprints: &'a [String],
    pub(super) dk: &'a DerivedKey,
    pub(super) dctx: &'a Ctx,
    pub(super) json: bool,
}

/// The routing a target asks to have saved in the config's `sync.<key>` block. Targets run at
/// the same time, so each hands its own back and the run saves them all once, at the end.
#[derive(Debug)]
pub(super) struct SavedRouting {
    pub(super) key: String,
    pub(super) routing: Routing,
}

/// Sync one destination; `save` is set when its routing should be added to the config.
pub(super) async fn run(
    dest: Arc<dyn Destination>,
    ctx: &EnvContext,
    run: &RunInputs<'_>,
    save: &mut Option<SavedRouting>,
) -> TargetReport {
    let id = dest.id().to_owned();
    let mut report = TargetReport::failed(&id, Vec::new());
    let routing = match routing(dest.as_ref(), ctx, run.settings, save) {
        Ok(r) => r,
        Err(problem) => {
            report.problems.push(problem);
            return report;
        }
    };
    report.routing = Some(routing.clone());
    let (names, old_receipt, plan) = match plan(dest.as_ref(), ctx, &routing, run).await {
        Ok(p) => p,
        Err(problems) => {
            report.problems = problems;
            return report;
        }
    };
    if !run.json {
        report::print_plan(dest.display_name(), &plan, run.settings.plan_only());
    }
    if run.settings.plan_only() {
        report.status = "planned";
        report.plan = Some(plan);
        return report;
    }
    let planned = ToWrite {
        dest,
        routing,
        names,
        old_receipt,
    };
    write(planned, plan, ctx, run, report).await
}

/// A target planned and ready to be written.
pub(super) struct ToWrite {
    pub(super) dest: Arc<dyn Destination>,
    pub(super) routing: Routing,
    /// The remote name of every item, in the run's item order.
    pub(super) names: Vec<RemoteName>,
    pub(super) old_receipt: Option<Receipt>,
}

/// Confirm deletions, write `plan`, seal what the destination now holds in the target's receipt,
/// and say in `report` how it went.
pub(super) async fn write(
    t: ToWrite,
    plan: Plan,
    ctx: &EnvContext,
    run: &RunInputs<'_>,
    mut report: TargetReport,
) -> TargetReport {
    let id = report.target.clone();
    report.routing = Some(t.routing.clone());
    if let Err(problem) = confirm_prune(&plan, &id, run.settings.yes) {
        report.problems.push(problem);
        report.plan = Some(plan);
        return report;
    }
    let results = apply(t.dest, &t.routing, &plan, run).await;
    let rec = updated_receipt(t.old_receipt.unwrap_or_default(), &t.names, &results, run);
    if let Err(e) = ctx
        .remote
        .write_receipt(&id, receipt::seal(run.dk, &rec))
        .await
    {
        output::warn(format!("{id}: could not write the sync receipt: {e}"));
    }
    report.status = status_of(&results, run.dctx, &mut report.problems);
    report.plan = Some(plan);
    report.results = results;
    report
}

/// The routing: the flags over the config's `sync.<id>` block, as the destination resolves them.
pub(super) fn routing(
    dest: &dyn Destination,
    ctx: &EnvContext,
    s: &SyncSettings,
    save: &mut Option<SavedRouting>,
) -> Result<Routing, String> {
    let id = dest.id();
    let given = normalise(dest, s.options.get(id).unwrap_or(&OptionMap::new()));
    let ckey = config_key(id).to_owned();
    let stored = ctx.config.sync.as_ref().and_then(|c| c.get(&ckey)).cloned();
    let resolved = dest
        .resolve_routing(stored.as_ref(), &given)
        .map_err(|e| format!("routing: {}", e.message))?;
    if resolved.persist && !s.plan_only() {
        *save = Some(SavedRouting {
            key: ckey,
            routing: resolved.routing.clone(),
        });
    }
    Ok(resolved.routing)
}

/// Translate option keys given as flag spellings to schema names.
fn normalise(dest: &dyn Destination, given: &OptionMap) -> OptionMap {
    let schema = dest.routing_schema();
    let id = dest.id();
    given
        .iter()
        .map(|(k, v)| {
            let name = schema
                .iter()
                .find(|f| {
                    &f.name == k
                        || f.flag.strip_prefix(&format!("{id}-")) == Some(k.as_str())
                        || &f.flag == k
                        || f.aliases.iter().any(|a| a == k)
                })
                .map(|f| f.name.clone())
                .unwrap_or_else(|| k.clone());
            (name, v.clone())
        })
        .collect()
}

/// Every name mapped and checked, the last receipt (not read offline), and the plan.
pub(super) async fn plan(
    dest: &dyn Destination,
    ctx: &EnvContext,
    routing: &Routing,
    run: &RunInputs<'_>,
) -> Result<(Vec<RemoteName>, Option<Receipt>, Plan), Vec<String>> {
    let names = engine::map_all(dest, routing, run.items).map_err(|a| a.problems)?;
    let old_receipt = match ctx.remote.read_receipt(dest.id()).await {
        _ if run.settings.offline() => None,
        Ok(Some(b)) => receipt::open(run.dk, &b),
        _ => None,
    };
    let plan = engine::plan(PlanInputs {
        dest,
        routing,
        items: run.items,
        names: &names,
        receipt: old_receipt.as_ref(),
        fingerprints: run.fingerprints,
        prune: run.settings.prune,
        offline: run.settings.offline(),
        ctx: run.dctx,
    })
    .await
    .map_err(|a| a.problems)?;
    Ok((names, old_receipt, plan))
}

/// Deletes go ahead only when confirmed: `--yes`, or a yes at the terminal.
pub(super) fn confirm_prune(plan: &Plan, id: &str, yes: bool) -> Result<(), String> {
    let deletes = plan
        .changes
        .iter()
        .filter(|c| c.op == ChangeOp::Delete)
        .count();
    if deletes == 0 || yes {
        return Ok(());
    }
    let go = output::interactive()
        && output::confirm(&format!("delete {deletes} name(s) from {id}?"), false);
    if go {
        return Ok(());
    }
    Err(if output::interactive() {
        "prune declined; nothing written".into()
    } else {
        "--prune deletes names: pass --yes to confirm without a terminal".into()
    })
}

pub(super) async fn apply(
    dest: Arc<dyn Destination>,
    routing: &Routing,
    plan: &Plan,
    run: &RunInputs<'_>,
) -> Vec<KeyResult> {
    let s = run.settings;
    let progress = crate::sync::progress::wanted(run.json, s.no_progress).then(|| {
        let writes = plan.changes.iter().filter(|c| c.op.is_write()).count();
        Arc::new(crate::sync::progress::Progress::new(dest.id(), writes))
    });
    let opts = ApplyOpts {
        jobs: s.jobs,
        rate: s.rate,
        progress,
    };
    engine::apply(dest.clone(), routing, plan, run.items, opts, run.dctx).await
}

/// The receipt after `results`: what the destination now holds, as far as we know.
pub(super) fn updated_receipt(
    mut rec: Receipt,
    names: &[RemoteName],
    results: &[KeyResult],
    run: &RunInputs<'_>,
) -> Receipt {
    let idx: BTreeMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.0.as_str(), i))
        .collect();
    for r in results.iter().filter(|r| r.status == "ok") {
        if r.op == ChangeOp::Delete {
            rec.remove(&r.name);
        } else if let Some(&i) = idx.get(r.name.as_str()) {
            rec.insert(r.name.clone(), run.fingerprints[i].clone());
        }
    }
    rec
}

/// ok, partial, or failed (keys left unattempted by a cancel or the deadline).
pub(super) fn status_of(
    results: &[KeyResult],
    dctx: &Ctx,
    problems: &mut Vec<String>,
) -> &'static str {
    let failed = results.iter().filter(|r| r.status == "failed").count();
    let not_attempted = results
        .iter()
        .filter(|r| r.status == "not_attempted")
        .count();
    if not_attempted > 0 && dctx.is_cancelled() {
        problems.push("cancelled or timed out".into());
        "failed"
    } else if failed + not_attempted > 0 {
        "partial"
    } else {
        "ok"
    }
}
