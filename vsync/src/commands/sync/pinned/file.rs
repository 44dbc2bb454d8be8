//! The plan file at the CLI edge: read (bounded, typed errors mapped to exit codes), reconciled
//! with the flags given alongside `--apply`, and written (atomic, 0600).

use std::collections::BTreeSet;
use std::io::Read;
use std::path::Path;

use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::settings::sync::SyncSettings;
use crate::sync::plan_file::PlanFile;
use crate::sync::plan_file::format::MAX_BYTES;

/// Read and verify the plan at `path`, and take its env, targets and prune into `s`.
///
/// Exit 4 for a plan edited after it was written; exit 2 for a file that is not a plan and for
/// flags that contradict it; exit 3 when the file does not exist.
pub(super) fn read(path: &Path, s: &mut SyncSettings) -> Result<PlanFile, CliError> {
    let shown = path.display();
    let bytes = read_bounded(path).map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            ExitKind::NotFound
        } else {
            ExitKind::Failed
        };
        CliError::new(kind, format!("could not read the plan {shown}: {e}"))
    })?;
    let plan = PlanFile::parse(&bytes).map_err(|e| {
        if e.is_integrity() {
            CliError::new(ExitKind::Integrity, format!("the plan {shown}: {e}"))
                .with_hint("review and apply only the plan file the plan job wrote; make a new plan with --plan-out")
        } else {
            CliError::new(ExitKind::Usage, format!("{shown} is not a usable plan: {e}"))
                .with_hint("pass the file `vsync sync <env> --to … --plan-out FILE` wrote")
        }
    })?;
    let usage = |m: String| {
        Err(CliError::new(ExitKind::Usage, m).with_hint(format!(
            "vsync sync --apply {shown} (env and targets come from the plan)"
        )))
    };
    if !s.env.is_empty() && s.env != plan.env {
        return usage(format!("the plan is for env {}, not {}", plan.env, s.env));
    }
    let ids: Vec<String> = plan.targets.iter().map(|t| t.id.clone()).collect();
    if !s.targets.is_empty() {
        let given: BTreeSet<&String> = s.targets.iter().collect();
        if given != ids.iter().collect() {
            return usage(format!(
                "the plan is for targets {}, not {}",
                ids.join(","),
                s.targets.join(",")
            ));
        }
    }
    if s.prune && !plan.prune {
        return usage("--prune: the plan was made without --prune; plan again with it".into());
    }
    s.env.clone_from(&plan.env);
    s.targets = ids;
    s.prune = plan.prune;
    Ok(plan)
}

/// A plan made for another repo is not applied here.
pub(super) fn check_repo(plan: &PlanFile, ctx: &EnvContext) -> Result<(), CliError> {
    if plan.repo == ctx.checkout.repo {
        return Ok(());
    }
    Err(CliError::new(
        ExitKind::Usage,
        format!(
            "the plan is for repo {}, this checkout is {}",
            plan.repo, ctx.checkout.repo
        ),
    )
    .with_hint("apply it in a checkout of that repo, or pass --repo"))
}

/// Seal `plan` and write it to `path` atomically, 0600. Returns the sealed plan (with digest).
pub(super) fn write(path: &Path, mut plan: PlanFile) -> Result<PlanFile, CliError> {
    let (text, digest) = plan.to_sealed_text();
    // the folder is the user's: written into, never created or re-moded
    vsync_vault::fsutil::write_atomic(path, text.as_bytes(), 0o600).map_err(|e| {
        CliError::new(ExitKind::Failed, format!("could not write the plan: {e}"))
            .with_hint("--plan-out names a file in an existing folder")
    })?;
    plan.digest = digest;
    Ok(plan)
}

/// At most [`MAX_BYTES`] + 1 bytes, so an oversized file is refused without reading it all.
fn read_bounded(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_BYTES as u64 + 1)
        .read_to_end(&mut buf)?;
    Ok(buf)
}
