//! `vsync sync <env> --to a,b`: fan the vault out to secret managers (docs/sync-contract.md §15, docs/decisions.md §4).
//! Per target: resolve routing (saved to the config), map and validate every name before any
//! write, plan (create/update/unchanged/delete, names only), apply with a bounded, rate-limited,
//! retrying pool, write the receipt and one audit row. Targets run independently.
//!
//! Targets run at the same time (at most `--targets-at-once`, see [`fanout`]): each keeps its
//! own pool and rate limit, and everything a target prints is kept in its own block and printed
//! in one piece, in `--to` order. What targets share is done once or one at a time: audit rows
//! are appended one at a time, prompts ask one at a time, and the routings targets ask to keep
//! are saved to the config once, after all of them.
//!
//! The flags are checked and typed by [`crate::settings::sync`]; [`items`] reads what is sent,
//! [`destinations`] finds each target, [`target`] syncs one, [`report`] says how it went.

mod destinations;
mod fanout;
pub(crate) mod items;
mod pinned;
mod provenance;
mod report;
mod target;

use std::sync::Arc;
use std::time::Instant;

use vsync_crypto::kdf::DerivedKey;
use vsync_dest_api::{CancelFlag, Ctx, Destination, SecretItem};

use crate::audit_row::AuditOpts;
use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::output::{self, Block};
use crate::settings::Global;
use crate::settings::sync::SyncSettings;
use crate::sync::receipt;
use destinations::Destinations;
use report::TargetReport;
use target::{RunInputs, SavedRouting};

/// Run `vsync sync`.
pub async fn run(s: SyncSettings, g: &Global) -> Result<(), CliError> {
    if s.plan_out.is_some() || s.apply_plan.is_some() {
        return pinned::run(s, g).await;
    }
    let json = g.json;
    let audit = s.audit.opts()?;
    let ctx = EnvContext::for_read(g.repo(), &s.env)?;
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
    // plugins named by id start here, one after another, before any target runs
    let found: Vec<_> = s.targets.iter().map(|id| dests.get(id)).collect();
    let targets = s.targets.clone();
    let at_once = s.at_once(targets.len());
    let shared = Arc::new(Shared {
        settings: s,
        items,
        fingerprints,
        dk,
        dctx,
        json,
        audit,
        ctx,
        dests,
        audit_turn: tokio::sync::Mutex::new(()),
    });
    let jobs: Vec<fanout::Job<Done>> = targets
        .iter()
        .zip(found)
        .map(|(id, dest)| {
            let (shared, id) = (shared.clone(), id.clone());
            Box::pin(async move {
                let block = Block::new();
                let (report, save) = block.capture(one_target(&shared, &id, dest)).await;
                Done {
                    report,
                    save,
                    block,
                }
            }) as fanout::Job<Done>
        })
        .collect();
    let lost_ids = targets.clone();
    let mut runs = fanout::InOrder::new(jobs, at_once, move |i| Done {
        report: TargetReport::failed(
            &lost_ids[i],
            vec!["internal error: the target stopped".into()],
        ),
        save: None,
        block: Block::new(),
    });
    let mut reports = Vec::new();
    let mut saves = Vec::new();
    while let Some(done) = runs.next().await {
        done.block.print();
        reports.push(done.report);
        saves.extend(done.save);
    }
    save_routings(&shared.ctx, saves);
    // one entry per writing run, after every target reported (docs/provenance.md)
    let recorded = match shared.settings.plan_only() {
        true => Ok(()),
        false => {
            let rec = provenance::RunRecord {
                settings: &shared.settings,
                items: &shared.items,
                fingerprints: &shared.fingerprints,
                dk: &shared.dk,
                version: version.as_ref(),
                json,
            };
            provenance::record(&shared.ctx, &rec, &reports).await
        }
    };
    if json {
        output::json(&reports);
    }
    report::outcome(&reports).and(recorded)
}

/// What every target of one run shares; targets only read it.
struct Shared {
    settings: SyncSettings,
    items: Vec<SecretItem>,
    fingerprints: Vec<String>,
    dk: DerivedKey,
    dctx: Ctx,
    json: bool,
    audit: AuditOpts,
    ctx: EnvContext,
    dests: Destinations,
    /// Appending a row rewrites `audit.csv` (read, add, conditional put): one target at a time.
    audit_turn: tokio::sync::Mutex<()>,
}

/// One target, finished: its report, the routing it asks to keep, and what it printed.
struct Done {
    report: TargetReport,
    save: Option<SavedRouting>,
    block: Block,
}

/// Sync one target, write its audit row and say how it went (into its block).
async fn one_target(
    sh: &Shared,
    id: &str,
    dest: Result<Arc<dyn Destination>, String>,
) -> (TargetReport, Option<SavedRouting>) {
    let s = &sh.settings;
    let run = RunInputs {
        settings: s,
        items: &sh.items,
        fingerprints: &sh.fingerprints,
        dk: &sh.dk,
        dctx: &sh.dctx,
        json: sh.json,
    };
    let started = Instant::now();
    let mut save = None;
    let mut report = match dest {
        Ok(dest) => target::run(dest, &sh.ctx, &run, &mut save).await,
        Err(e) => TargetReport::failed(id, vec![e]),
    };
    report.elapsed_ms = started.elapsed().as_millis();
    if let Some(why) = sh.dests.failure(id) {
        // its process is gone: whatever was written stays reported, the target failed
        report.status = "failed";
        report.problems.push(why);
    }
    if !s.plan_only() {
        let row = AuditOpts {
            disabled: sh.audit.disabled,
            meta: report.audit_meta(&sh.audit.meta),
        };
        let _turn = sh.audit_turn.lock().await;
        crate::audit_row::append(&sh.ctx, "sync", "", &row).await;
    }
    if !sh.json {
        report.print_summary();
    }
    (report, save)
}

/// Add every routing the targets asked to keep to the config, and save it once.
fn save_routings(ctx: &EnvContext, saves: Vec<SavedRouting>) {
    if saves.is_empty() || ctx.is_keyless() {
        return;
    }
    let mut config = ctx.config.clone();
    let block = config.sync.get_or_insert_with(Default::default);
    for r in saves {
        block.insert(r.key, serde_json::Value::Object(r.routing));
    }
    if let Err(e) = config.save(&ctx.config_path) {
        output::warn(format!(
            "could not save the sync routing to the config: {e}"
        ));
    }
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
