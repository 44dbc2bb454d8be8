//! After the targets ran: record what they now hold as one provenance entry in the bucket, and
//! write the `--attest` Statement. A failure to record is a warning (the sync did its work);
//! an `--attest` file that cannot be written fails the run, since the caller asked for it.

use std::collections::BTreeMap;

use vsync_crypto::kdf::DerivedKey;
use vsync_dest_api::{ChangeOp, SecretItem};

use super::items::Version;
use super::report::TargetReport;
use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::output;
use crate::settings::sync::SyncSettings;
use crate::sync::provenance::entry::{
    BundleRef, Entry, FORMAT, KeyRecord, PolicyRecord, TargetRecord,
};
use crate::sync::provenance::{attest, origin, store};

/// What the run shares with the recorder.
pub(super) struct RunRecord<'a> {
    pub(super) settings: &'a SyncSettings,
    pub(super) items: &'a [SecretItem],
    pub(super) fingerprints: &'a [String],
    pub(super) dk: &'a DerivedKey,
    pub(super) version: Option<&'a Version>,
    pub(super) json: bool,
}

/// Record the entry of a writing run; `Err` only when `--attest` could not be written.
pub(super) async fn record(
    ctx: &EnvContext,
    run: &RunRecord<'_>,
    reports: &[TargetReport],
) -> Result<(), CliError> {
    let targets: Vec<TargetRecord> = reports
        .iter()
        .filter_map(|r| target_record(r, run.items, run.fingerprints))
        .collect();
    if targets.iter().all(|t| t.keys.is_empty()) {
        output::warn("nothing was synced: no provenance entry recorded");
        return match &run.settings.attest {
            Some(p) => Err(CliError::new(
                ExitKind::Failed,
                format!("--attest: nothing was synced, {} not written", p.display()),
            )),
            None => Ok(()),
        };
    }
    let generation = match ctx.remote.read_manifest().await {
        Ok(Some(cell)) => cell.manifest.generation,
        _ => None,
    };
    let git = origin::git_state(&ctx.checkout.root);
    let s = run.settings;
    let entry = Entry {
        format: FORMAT.to_owned(),
        time: vsync_vault::ts::iso_now(),
        repo: ctx.checkout.repo.clone(),
        env: ctx.env.clone(),
        who: crate::audit_row::actor(ctx),
        release: s
            .release
            .clone()
            .or_else(|| git.as_ref().and_then(|g| g.tag.clone())),
        git,
        ci: s.ci.clone(),
        bundle: run.version.map(|v| BundleRef {
            ts: v.ts.clone(),
            generation,
            sha256: v.sha256.clone(),
        }),
        policy: PolicyRecord {
            exclude: s.policy.exclude.clone(),
            inline_suffixes: s.policy.inline_suffixes.clone(),
        },
        targets,
    };
    match store::write(&ctx.remote, run.dk, &entry, generation.unwrap_or(0)).await {
        Ok(name) if !run.json => output::note(format!(
            "provenance recorded: {name}{}",
            entry
                .release
                .as_deref()
                .map(|r| format!(" (release {})", output::untrusted(r)))
                .unwrap_or_default()
        )),
        Ok(_) => {}
        Err(e) => output::warn(format!(
            "could not record the provenance entry (the sync itself is done): {e}"
        )),
    }
    let Some(path) = &s.attest else {
        return Ok(());
    };
    let written = attest::statement(&entry)
        .ok_or_else(|| "no pushed version to name".to_owned())
        .and_then(|st| attest::write(path, &st));
    match written {
        Ok(()) => {
            if !run.json {
                output::note(format!("attestation written to {}", path.display()));
            }
            Ok(())
        }
        Err(e) => Err(CliError::new(
            ExitKind::Failed,
            format!("--attest: could not write {}: {e}", path.display()),
        )
        .with_hint("the sync itself is done; pick a writable path and run it again")),
    }
}

/// What a target holds after the run: every key it wrote or found unchanged, by vault key,
/// remote name and keyed fingerprint. `None` for a target that never got to a plan.
fn target_record(
    r: &TargetReport,
    items: &[SecretItem],
    fingerprints: &[String],
) -> Option<TargetRecord> {
    let plan = r.plan.as_ref()?;
    let fp_of: BTreeMap<&str, &str> = items
        .iter()
        .zip(fingerprints)
        .map(|(i, f)| (i.key.as_str(), f.as_str()))
        .collect();
    let key_of: BTreeMap<&str, &str> = plan
        .changes
        .iter()
        .filter_map(|c| c.source_key.as_deref().map(|k| (c.remote.as_str(), k)))
        .collect();
    let keys = r
        .results
        .iter()
        .filter(|res| res.status == "ok")
        .map(|res| {
            let key = key_of.get(res.name.as_str()).copied();
            KeyRecord {
                key: key.map(str::to_owned),
                remote: res.name.clone(),
                op: res.op.as_str().to_owned(),
                fp: (res.op != ChangeOp::Delete)
                    .then(|| key.and_then(|k| fp_of.get(k)))
                    .flatten()
                    .map(|f| (*f).to_owned()),
            }
        })
        .collect();
    Some(TargetRecord {
        target: r.target.clone(),
        routing: plan.routing_summary.clone(),
        options: r.routing.clone().unwrap_or_default(),
        status: r.status.to_owned(),
        not_written: r.results.iter().filter(|res| res.status != "ok").count(),
        keys,
    })
}
