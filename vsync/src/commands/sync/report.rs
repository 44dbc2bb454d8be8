//! What `vsync sync` says about each target: the report (also the `--json` output), the plan and
//! summary lines, the audit row, and the run's exit status.

use serde::Serialize;
use serde_json::{Map, Value};
use vsync_dest_api::{ChangeOp, Plan};

use crate::error::{CliError, ExitKind};
use crate::output;
use crate::sync::engine::KeyResult;

/// One target's outcome.
#[derive(Debug, Serialize)]
pub(super) struct TargetReport {
    pub(super) target: String,
    /// ok | partial | failed | planned
    pub(super) status: &'static str,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) problems: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) plan: Option<Plan>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(super) results: Vec<KeyResult>,
    /// Wall time of this target (plan and apply), for scripts and the benchmark.
    pub(super) elapsed_ms: u128,
    /// The resolved routing (what identifies the destination in provenance entries).
    #[serde(skip)]
    pub(super) routing: Option<vsync_dest_api::Routing>,
}

impl TargetReport {
    /// A target that failed before anything was planned (nothing written).
    pub(super) fn failed(target: &str, problems: Vec<String>) -> Self {
        Self {
            target: target.to_owned(),
            status: "failed",
            problems,
            plan: None,
            results: Vec::new(),
            elapsed_ms: 0,
            routing: None,
        }
    }

    fn count(&self, status: &str) -> usize {
        self.results.iter().filter(|r| r.status == status).count()
    }

    /// The audit row's meta for this target: the invocation's, plus the counts.
    pub(super) fn audit_meta(&self, base: &Map<String, Value>) -> Map<String, Value> {
        let mut meta = base.clone();
        meta.insert("target".into(), self.target.clone().into());
        meta.insert("ok".into(), self.count("ok").into());
        meta.insert("failed".into(), self.count("failed").into());
        meta.insert("not_attempted".into(), self.count("not_attempted").into());
        meta.insert("dry_run".into(), false.into());
        let pruned = self
            .results
            .iter()
            .filter(|r| r.status == "ok" && r.op == ChangeOp::Delete)
            .count();
        meta.insert("pruned".into(), pruned.into());
        meta
    }

    /// The lines a person reads after the target ran.
    pub(super) fn print_summary(&self) {
        for p in &self.problems {
            output::warn(format!("{}: {p}", self.target));
        }
        for k in self.results.iter().filter(|k| k.status == "failed") {
            output::warn(format!(
                "skipping {}: {} ({})",
                k.name,
                k.error.as_deref().unwrap_or(""),
                k.kind.unwrap_or("")
            ));
        }
        let ok = self.count("ok");
        let failed: Vec<&str> = self
            .results
            .iter()
            .filter(|k| k.status == "failed")
            .map(|k| k.name.as_str())
            .collect();
        let na = self.count("not_attempted");
        match self.status {
            "planned" => {}
            "ok" => output::line(format!("✅ {ok} secrets synced to {}.", self.target)),
            _ => {
                let mut s = format!("{}: {ok} ok, {} failed", self.target, failed.len());
                if !failed.is_empty() {
                    s.push_str(&format!(" ({})", failed.join(", ")));
                }
                if na > 0 {
                    s.push_str(&format!(", not attempted: {na}"));
                }
                if self.status == "failed" && self.results.is_empty() {
                    s = format!("{}: failed, nothing written", self.target);
                }
                output::line(s);
            }
        }
    }
}

/// The plan's counts, and with `plan_only` every change by name.
pub(super) fn print_plan(display: &str, plan: &Plan, plan_only: bool) {
    let count = |op: ChangeOp| plan.changes.iter().filter(|c| c.op == op).count();
    output::line(format!(
        "\n{} {} ({}): {} create, {} update, {} unchanged, {} upsert, {} delete",
        if plan_only { "Plan for" } else { "Syncing to" },
        display,
        plan.routing_summary,
        count(ChangeOp::Create),
        count(ChangeOp::Update),
        count(ChangeOp::Unchanged),
        count(ChangeOp::Upsert),
        count(ChangeOp::Delete),
    ));
    if plan_only {
        for c in &plan.changes {
            output::line(format!("  {:<9} {}", c.op.as_str(), c.remote));
        }
    }
    for w in &plan.warnings {
        output::warn(w);
    }
}

/// The run's exit status: 1 when nothing was written anywhere and something failed; 6 when some
/// targets (or keys) made it and others not.
pub(super) fn outcome(reports: &[TargetReport]) -> Result<(), CliError> {
    let wrote_any = reports
        .iter()
        .any(|r| r.results.iter().any(|k| k.status == "ok"));
    if reports
        .iter()
        .any(|r| r.status == "failed" || r.status == "partial")
        && !wrote_any
    {
        return Err(CliError::new(
            ExitKind::Failed,
            "sync failed for some targets (see above)",
        ));
    }
    if reports.iter().any(|r| r.status == "failed") {
        return Err(CliError::new(
            ExitKind::Partial,
            "sync failed for some targets; the others were synced (see above)",
        ));
    }
    if reports.iter().any(|r| r.status == "partial") {
        return Err(CliError::new(
            ExitKind::Partial,
            "some keys were not synced (see above)",
        ));
    }
    Ok(())
}
