//! `vsync sync <env> --to a,b`: fan the vault out to secret managers (docs/sync-contract.md §15, docs/decisions.md §4).
//! Per target: resolve routing (saved to the config), map and validate every name before any
//! write, plan (create/update/unchanged/delete, names only), apply with a bounded, rate-limited,
//! retrying pool, write the receipt and one audit row. Targets run independently.
//!
//! The flags are checked and typed by [`crate::settings::sync`]; [`items`] reads what is sent,
//! [`destinations`] finds each target, [`target`] syncs one, [`report`] says how it went.

mod destinations;
pub(crate) mod items;
mod provenance;
mod report;
mod target;

use std::time::Instant;

use vsync_dest_api::{CancelFlag, Ctx};

use crate::audit_row::AuditOpts;
use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::output;
use crate::settings::Global;
use crate::settings::sync::SyncSettings;
use crate::sync::receipt;
use destinations::Destinations;
use report::TargetReport;
use target::RunInputs;

/// Run `vsync sync`.
pub async fn run(s: SyncSettings, g: &Global) -> Result<(), CliError> {
    let json = g.json;
    let audit = s.audit.opts()?;
    let mut ctx = EnvContext::for_read(g.repo(), &s.env)?;
    if !json {
        items::print_policy(&s.policy);
    }
    let items::Loaded { parsed, version } =
        items::load(&ctx, s.from_local, s.allow_rollback, &s.policy).await?;
    if !json {
        for k in &parsed.skipped {
            output::line(format!("  skipped (excluded): {k}"));
        }
    }
    let items = parsed.items;
    if items.is_empty() {
        return Err(CliError::new(ExitKind::Failed, "no secrets to sync"));
    }
    let dk = ctx.derived_key().await?;
    let fingerprints: Vec<String> = items
        .iter()
        .map(|i| receipt::fingerprint(&dk, i.value.expose()))
        .collect();
    let dctx = Ctx {
        env: ctx.env.clone(),
        repo: ctx.checkout.repo.clone(),
        cancel: cancel_on_ctrl_c(),
        deadline: Some(Instant::now() + s.timeout),
    };
    let pins = super::plugins::pins_of(&ctx);
    let mut dests = Destinations::open(&s.plugins, pins, s.timeout);
    let run = RunInputs {
        settings: &s,
        items: &items,
        fingerprints: &fingerprints,
        dk: &dk,
        dctx: &dctx,
        json,
    };
    let mut reports = Vec::new();
    let mut config_dirty = false;
    for id in &s.targets {
        let started = Instant::now();
        let mut report = match dests.get(id) {
            Ok(dest) => target::run(dest, &mut ctx, &run, &mut config_dirty).await,
            Err(e) => TargetReport::failed(id, vec![e]),
        };
        report.elapsed_ms = started.elapsed().as_millis();
        if let Some(why) = dests.failure(id) {
            // its process is gone: whatever was written stays reported, the target failed
            report.status = "failed";
            report.problems.push(why);
        }
        if !s.plan_only() {
            let row = AuditOpts {
                disabled: audit.disabled,
                meta: report.audit_meta(&audit.meta),
            };
            crate::audit_row::append(&ctx, "sync", "", &row).await;
        }
        if !json {
            report.print_summary();
        }
        reports.push(report);
    }
    // one entry per writing run, after every target reported (docs/provenance.md)
    let recorded = match s.plan_only() {
        true => Ok(()),
        false => {
            let rec = provenance::RunRecord {
                settings: &s,
                items: &items,
                fingerprints: &fingerprints,
                dk: &dk,
                version: version.as_ref(),
                json,
            };
            provenance::record(&ctx, &rec, &reports).await
        }
    };
    if config_dirty
        && !ctx.is_keyless()
        && let Err(e) = ctx.config.save(&ctx.config_path)
    {
        output::warn(format!(
            "could not save the sync routing to the config: {e}"
        ));
    }
    if json {
        output::json(&reports);
    }
    report::outcome(&reports).and(recorded)
}

/// A cancel flag raised by Ctrl-C: keys not started yet are reported not attempted.
fn cancel_on_ctrl_c() -> CancelFlag {
    let cancel = CancelFlag::default();
    let c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            c.cancel();
        }
    });
    cancel
}
