//! Pinned plans (docs/pinned-plans.md). `--plan-out FILE` plans every target (reads only),
//! records the operations and the remote state they were planned against, and saves the plan.
//! `--apply FILE` makes the same plan again, refuses (exit 5) when anything moved, and otherwise
//! applies exactly the saved operations ([`exact`]).

mod exact;
mod file;

use std::sync::Arc;

use vsync_dest_api::{Destination, Plan, RemoteName, Routing};

use super::destinations::Destinations;
use super::items;
use super::report::{self, TargetReport};
use super::target::{self, RunInputs};
use crate::audit_row::AuditOpts;
use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::output;
use crate::settings::Global;
use crate::settings::sync::SyncSettings;
use crate::sync::plan_file::{self, PlanFile, TargetPlan, compare, record};
use crate::sync::receipt::Receipt;

/// One target planned now: what applying needs, and its record.
struct Planned {
    id: String,
    dest: Arc<dyn Destination>,
    routing: Routing,
    names: Vec<RemoteName>,
    old_receipt: Option<Receipt>,
    plan: Plan,
    record: TargetPlan,
}

/// Run `vsync sync --plan-out` or `vsync sync --apply`.
pub(super) async fn run(mut s: SyncSettings, g: &Global) -> Result<(), CliError> {
    let pinned = match s.apply_plan.clone() {
        Some(path) => Some(file::read(&path, &mut s)?),
        None => None,
    };
    // stdout carries only the JSON or the Markdown when either is asked for
    let quiet = g.json || s.markdown;
    let audit = s.audit.opts()?;
    let mut ctx = EnvContext::for_read(g.repo(), &s.env)?;
    if let Some(p) = &pinned {
        file::check_repo(p, &ctx)?;
    }
    // a pinned plan is made from, and applied with, the pushed vault only (no --from-local)
    let sent = items::sending(&ctx, &s, quiet).await?;
    let bundle_ts = sent
        .version
        .as_ref()
        .map(|v| v.ts.clone())
        .unwrap_or_default();
    let generation = ctx
        .remote
        .read_manifest()
        .await?
        .and_then(|c| c.manifest.generation);
    let dctx = super::call_ctx(&ctx, s.timeout);
    let pins = crate::commands::plugins::pins_of(&ctx);
    let mut dests = Destinations::open(&s.plugins, pins, s.timeout);
    let run = RunInputs {
        settings: &s,
        items: &sent.items,
        fingerprints: &sent.fingerprints,
        dk: &sent.dk,
        dctx: &dctx,
        json: quiet,
    };
    let mut saves = Vec::new();
    let mut planned = Vec::new();
    let mut unplanned = Vec::new();
    for id in &s.targets {
        match plan_target(&mut dests, id, &ctx, &run, &mut saves).await {
            Ok(p) => planned.push(p),
            Err(problems) => unplanned.push(TargetReport::failed(id, problems)),
        }
    }
    let now = PlanFile {
        format: plan_file::FORMAT.into(),
        repo: ctx.checkout.repo.clone(),
        env: ctx.env.clone(),
        bundle_ts,
        generation,
        created_at: vsync_vault::ts::iso_now(),
        vsync_version: env!("CARGO_PKG_VERSION").into(),
        prune: s.prune,
        targets: planned.iter().map(|p| p.record.clone()).collect(),
        digest: String::new(),
    };
    let Some(pinned) = pinned else {
        return save(&s, &ctx, &audit, now, &planned, unplanned, quiet).await;
    };
    refuse_if_moved(&s, &pinned, &now, &unplanned, g.json)?;
    let reports = exact::apply(&pinned, planned, &mut ctx, &run, &dests, &audit).await;
    super::save_routings(&ctx, saves);
    // an applied plan is a writing sync like any other (docs/provenance.md)
    let rec = super::provenance::RunRecord {
        settings: &s,
        items: &sent.items,
        fingerprints: &sent.fingerprints,
        dk: &sent.dk,
        version: sent.version.as_ref(),
        json: quiet,
    };
    let recorded = super::provenance::record(&ctx, &rec, &reports).await;
    if g.json {
        output::json(&reports);
    }
    report::outcome(&reports).and(recorded)
}

/// Routing, plan and remote state of one target; why not, when it cannot be planned.
async fn plan_target(
    dests: &mut Destinations,
    id: &str,
    ctx: &EnvContext,
    run: &RunInputs<'_>,
    saves: &mut Vec<super::SavedRouting>,
) -> Result<Planned, Vec<String>> {
    let dest = dests.get(id).map_err(|e| vec![e])?;
    let mut save = None;
    let routing =
        target::routing(dest.as_ref(), ctx, run.settings, &mut save).map_err(|p| vec![p])?;
    saves.extend(save);
    let (names, old_receipt, plan) = target::plan(dest.as_ref(), ctx, &routing, run).await?;
    let remote = record::remote_state(
        dest.as_ref(),
        &routing,
        &plan,
        old_receipt.as_ref(),
        run.dk,
        run.dctx,
    )
    .await
    .map_err(|p| vec![p])?;
    let record = record::target_plan(&routing, &plan, run.items, run.fingerprints, remote)
        .map_err(|p| vec![p])?;
    if let Some(why) = dests.failure(id) {
        return Err(vec![why]);
    }
    Ok(Planned {
        id: id.to_owned(),
        dest,
        routing,
        names,
        old_receipt,
        plan,
        record,
    })
}

/// `--plan-out`: show the plan, save it, and record it in the audit log. Nothing is saved when
/// a target could not be planned (a partial plan would apply a partial sync).
async fn save(
    s: &SyncSettings,
    ctx: &EnvContext,
    audit: &AuditOpts,
    now: PlanFile,
    planned: &[Planned],
    unplanned: Vec<TargetReport>,
    quiet: bool,
) -> Result<(), CliError> {
    let Some(path) = &s.plan_out else {
        return Ok(());
    };
    if !quiet {
        for p in planned {
            report::print_plan(p.dest.display_name(), &p.plan, true);
        }
    }
    if !unplanned.is_empty() {
        for r in &unplanned {
            r.print_summary();
        }
        return Err(CliError::new(
            ExitKind::Failed,
            format!(
                "could not plan {}; no plan was saved",
                unplanned
                    .iter()
                    .map(|r| r.target.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let plan = file::write(path, now)?;
    for t in &plan.targets {
        let mut meta = audit.meta.clone();
        meta.insert("target".into(), t.id.clone().into());
        meta.insert("dry_run".into(), true.into());
        meta.insert("plan".into(), plan.short_digest().into());
        let row = AuditOpts {
            disabled: audit.disabled,
            meta,
        };
        crate::audit_row::append(ctx, "sync", "", &row).await;
    }
    let shown = path.display();
    if s.markdown {
        output::line(plan_file::markdown::render(&plan, &shown.to_string()));
    } else if quiet {
        let reports: Vec<TargetReport> = planned
            .iter()
            .map(|p| TargetReport {
                status: "planned",
                plan: Some(p.plan.clone()),
                ..TargetReport::failed(&p.id, Vec::new())
            })
            .collect();
        output::json(&reports);
    }
    output::note(format!(
        "plan {} saved to {shown}; apply exactly it with: vsync sync --apply {shown}",
        plan.short_digest()
    ));
    Ok(())
}

/// `--apply`: exit 5, naming every move (stderr; with `--json` also `{"moved": [{at, what}]}` on
/// stdout), when the plan made now is not the pinned one.
fn refuse_if_moved(
    s: &SyncSettings,
    pinned: &PlanFile,
    now: &PlanFile,
    unplanned: &[TargetReport],
    json: bool,
) -> Result<(), CliError> {
    let mut moved: Vec<compare::Moved> = unplanned
        .iter()
        .map(|r| compare::Moved {
            at: r.target.clone(),
            what: format!("could not be planned again: {}", r.problems.join("; ")),
        })
        .collect();
    moved.extend(compare::compare(pinned, now));
    if moved.is_empty() {
        return Ok(());
    }
    for m in &moved {
        output::note(format!("  moved: {m}"));
    }
    if json {
        output::json(&serde_json::json!({ "moved": moved }));
    }
    Err(CliError::new(
        ExitKind::Conflict,
        format!(
            "the plan {} no longer holds: {} change(s) since it was made; nothing was written",
            pinned.short_digest(),
            moved.len()
        ),
    )
    .with_hint(format!(
        "review a new plan: vsync sync {} --to {}{} --plan-out FILE",
        s.env,
        s.targets.join(","),
        if s.prune { " --prune" } else { "" }
    )))
}
