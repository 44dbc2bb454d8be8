//! `--apply` once the plan holds: exactly the pinned operations per target (not the plan made
//! again), with the usual confirmation of deletions, receipts, audit rows and summaries.

use std::time::Instant;

use super::Planned;
use crate::audit_row::AuditOpts;
use crate::commands::sync::destinations::Destinations;
use crate::commands::sync::report::{self, TargetReport};
use crate::commands::sync::target::{self, RunInputs};
use crate::context::EnvContext;
use crate::output;
use crate::sync::plan_file::{PlanFile, record};
use crate::sync::receipt;

/// Apply every target of `pinned`; one report per target, in the plan's order.
pub(super) async fn apply(
    pinned: &PlanFile,
    planned: Vec<Planned>,
    ctx: &mut EnvContext,
    run: &RunInputs<'_>,
    dests: &Destinations,
    audit: &AuditOpts,
) -> Vec<TargetReport> {
    let mut reports = Vec::new();
    for p in planned {
        let Some(t) = pinned.targets.iter().find(|t| t.id == p.id) else {
            continue;
        };
        let started = Instant::now();
        let mut report = one(p, record::to_plan(t), ctx, run).await;
        report.elapsed_ms = started.elapsed().as_millis();
        if let Some(why) = dests.failure(&report.target) {
            report.status = "failed";
            report.problems.push(why);
        }
        let mut meta = report.audit_meta(&audit.meta);
        meta.insert("plan".into(), pinned.short_digest().into());
        let row = AuditOpts {
            disabled: audit.disabled,
            meta,
        };
        crate::audit_row::append(ctx, "sync", "", &row).await;
        if !run.json {
            report.print_summary();
        }
        reports.push(report);
    }
    reports
}

/// One target: confirm deletions, apply the pinned plan, record the receipt.
async fn one(
    p: Planned,
    plan: vsync_dest_api::Plan,
    ctx: &mut EnvContext,
    run: &RunInputs<'_>,
) -> TargetReport {
    let mut report = TargetReport::failed(&p.id, Vec::new());
    if !run.json {
        report::print_plan(p.dest.display_name(), &plan, false);
    }
    if let Err(problem) = target::confirm_prune(&plan, &p.id, run.settings.yes) {
        report.problems.push(problem);
        report.plan = Some(plan);
        return report;
    }
    let results = target::apply(p.dest.clone(), &p.routing, &plan, run).await;
    let rec = target::updated_receipt(p.old_receipt.unwrap_or_default(), &p.names, &results, run);
    if let Err(e) = ctx
        .remote
        .write_receipt(&p.id, receipt::seal(run.dk, &rec))
        .await
    {
        output::warn(format!("{}: could not write the sync receipt: {e}", p.id));
    }
    report.status = target::status_of(&results, run.dctx, &mut report.problems);
    report.plan = Some(plan);
    report.results = results;
    report
}
