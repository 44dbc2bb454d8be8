//! `--apply` once the plan holds: exactly the pinned operations per target (not the plan made
//! again), with the usual confirmation of deletions, receipts, audit rows and summaries.

use std::time::Instant;

use super::Planned;
use crate::audit_row::AuditOpts;
use crate::commands::sync::destinations::Destinations;
use crate::commands::sync::report::{self, TargetReport};
use crate::commands::sync::target::{self, RunInputs};
use crate::context::EnvContext;
use crate::sync::plan_file::{PlanFile, record};

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
    ctx: &EnvContext,
    run: &RunInputs<'_>,
) -> TargetReport {
    let report = TargetReport::failed(&p.id, Vec::new());
    if !run.json {
        report::print_plan(p.dest.display_name(), &plan, false);
    }
    let planned = target::ToWrite {
        dest: p.dest,
        routing: p.routing,
        names: p.names,
        old_receipt: p.old_receipt,
    };
    target::write(planned, plan, ctx, run, report).await
}
