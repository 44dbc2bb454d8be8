//! `vsync pull <env>`: download, decrypt, verify and unpack into a staging folder next to the
//! vault, then swap it into place in one rename. A failure at any step leaves the vault as it was.

use std::path::{Path, PathBuf};

use vsync_vault::ledger::{self, Ledger, SyncOp};
use vsync_vault::{walk, zip_bundle};

use crate::audit_row;
use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::local::fsutil;
use crate::output;
use crate::settings::Global;
use crate::settings::verbs::PullSettings;
use crate::staging::{self, Staging};

/// Run `vsync pull`.
pub async fn run(args: PullSettings, g: &Global) -> Result<(), CliError> {
    if args.force && args.backup {
        return Err(CliError::new(
            ExitKind::Usage,
            "--force and --backup are mutually exclusive",
        ));
    }
    let audit = args.audit.opts()?;
    let ctx = EnvContext::for_read(g.repo(), &args.env)?;
    let env = ctx.env.clone();
    let vault_dir = ctx.vault_dir();
    let ledger_path = ctx.ledger_path();
    let ledger = Ledger::read(&ledger_path)?;

    // Local edits never pushed would be lost: refuse unless told what to do with them.
    let vault_exists = vault_dir.is_dir();
    if vault_exists && !args.force && !args.backup {
        match &ledger {
            Some(l) => {
                let dirty = ledger::changes(l, &walk::walk(&vault_dir)?);
                if !dirty.is_empty() {
                    return Err(local_dirty(&env, &vault_dir, l, &dirty));
                }
            }
            None => {
                if !walk::walk(&vault_dir)?.iter().all(|f| f.size == 0) {
                    output::warn(
                        "no ledger for this vault yet: local files not in the bundle are kept, files in it are replaced",
                    );
                }
            }
        }
    }

    let ts = match &args.version {
        Some(ts) => {
            if !vsync_crypto::rqem0001::is_bundle_ts(ts) {
                return Err(CliError::new(
                    ExitKind::Usage,
                    format!("--version {ts:?} is not a version timestamp (YYYYMMDD-HHMMSS)"),
                )
                .with_hint(format!("list them with `vsync versions {env}`")));
            }
            ts.clone()
        }
        None => {
            let memory = crate::latest::Memory::load(&ctx)?;
            crate::latest::require(&ctx, &memory, args.allow_rollback)
                .await?
                .ts
        }
    };

    let object = ctx.remote.fetch_version(&ts).await?;
    let zip = ctx.open_bundle(&object, &ts).await?;
    crate::latest::record(&ctx, &ts);

    let (staged, report) = stage_beside_vault(&ctx, &zip, &vault_dir, "pull")?;
    if let Some(folder) = report.folder.as_deref()
        && folder != ctx.vault_folder()
    {
        output::warn(format!(
            "the bundle was pushed from {folder}; unpacked into this machine's vault folder {}",
            ctx.vault_folder()
        ));
    }

    // Formats §9.8: an encrypted copy of the vault about to be replaced; no copy, no pull.
    crate::commands::restore_backup::backup_current_vault(&ctx, true).await?;

    let mut kept = Vec::new();
    if vault_exists && !args.force && !args.backup {
        kept = keep_local_only(&vault_dir, staged.path())?;
    }
    let backup_dir = if args.backup && vault_exists {
        Some(backup(&ctx, &vault_dir)?)
    } else {
        None
    };

    swap_into_place(staged.path(), &vault_dir)?;
    drop(staged);

    let files = walk::walk(&vault_dir)?;
    let new_ledger = Ledger::record(
        ledger.as_ref(),
        SyncOp::Pull,
        &ts,
        &vsync_vault::ts::iso_now(),
        &files,
    );
    if let Err(e) = new_ledger.write(&ledger_path) {
        output::warn(format!("pulled, but the ledger could not be written ({e})"));
    }
    audit_row::append(&ctx, "pull", &ts, &audit).await;
    if !kept.is_empty() {
        output::note(format!(
            "kept {} local file(s) that are not in version {ts}: {}",
            kept.len(),
            kept.join(", ")
        ));
    }
    if let Some(dir) = backup_dir {
        output::line(format!("prior state preserved at {}", dir.display()));
    }
    output::line(format!(
        "pulled {}/{env} version {ts} ({} files)",
        ctx.checkout.repo,
        report.files.len()
    ));
    Ok(())
}

fn local_dirty(env: &str, vault_dir: &Path, l: &Ledger, d: &ledger::Changes) -> CliError {
    let list = |name: &str, v: &[String]| -> Option<String> {
        if v.is_empty() {
            return None;
        }
        let shown: Vec<_> = v.iter().take(20).cloned().collect();
        let more = if v.len() > 20 {
            format!(" … and {} more", v.len() - 20)
        } else {
            String::new()
        };
        Some(format!("{name} ({}): {}{more}", v.len(), shown.join(", ")))
    };
    let parts: Vec<String> = [
        list("modified", &d.modified),
        list("added", &d.added),
        list("deleted", &d.deleted),
    ]
    .into_iter()
    .flatten()
    .collect();
    CliError::new(
        ExitKind::Conflict,
        format!(
            "refusing to overwrite local edits in {} since your last {} ({}): {}",
            vault_dir.display(),
            l.last_sync_op.as_str(),
            l.last_sync_ts,
            parts.join("; ")
        ),
    )
    .with_hint(format!(
        "`vsync push {env}` if these edits are the truth, `vsync pull {env} --backup` to keep a copy, or `vsync pull {env} --force` to discard them"
    ))
}

/// The folder holding the vault folder: staging folders go there, so the swap is one rename.
fn vault_parent(ctx: &EnvContext, vault_dir: &Path) -> PathBuf {
    vault_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| ctx.checkout.vroot.clone())
}

/// Unpack `zip` into a fresh private staging folder `.vsync-<kind>-<env>-<pid>` next to
/// `vault_dir` (pull and restore-backup), so the vault is replaced whole by
/// [`swap_into_place`] or not at all; the guard removes the folder if the caller stops early.
/// First sweeps the staging folders killed runs left there (plaintext on disk), sparing live ones.
pub(crate) fn stage_beside_vault(
    ctx: &EnvContext,
    zip: &[u8],
    vault_dir: &Path,
    kind: &str,
) -> Result<(Staging, zip_bundle::ExtractReport), CliError> {
    let parent = vault_parent(ctx, vault_dir);
    fsutil::ensure_private_dir(&parent)
        .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
    staging::sweep(&parent, &staging::VAULT_STAGING_PREFIXES);
    let name = format!(".vsync-{kind}-{}-{}", ctx.env, std::process::id());
    let staged = Staging::claim(&parent, &name)
        .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
    let report = zip_bundle::extract_vault(zip, staged.path(), &zip_bundle::ZipLimits::default())?;
    Ok((staged, report))
}

/// Upstream semantics: files present locally but absent from the bundle are kept.
fn keep_local_only(vault_dir: &Path, staging: &Path) -> Result<Vec<String>, CliError> {
    let mut kept = Vec::new();
    for f in walk::walk(vault_dir)? {
        let dest = staging.join(&f.path);
        if dest.exists() {
            continue;
        }
        if let Some(p) = dest.parent() {
            fsutil::ensure_private_dir(p)
                .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
        }
        std::fs::copy(vault_dir.join(&f.path), &dest)
            .map_err(|e| CliError::new(ExitKind::Failed, format!("copy {}: {e}", f.path)))?;
        kept.push(f.path);
    }
    Ok(kept)
}

fn backup(ctx: &EnvContext, vault_dir: &Path) -> Result<PathBuf, CliError> {
    let stamp = vsync_vault::ts::format_backup_dir_ts(time::OffsetDateTime::now_utc());
    let dir = crate::local::paths::backups_dir(&ctx.base, &ctx.checkout.repo)
        .join(format!("{}.backup-{stamp}", ctx.env));
    fsutil::ensure_private_dir(&dir).map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
    for f in walk::walk(vault_dir)? {
        let dest = dir.join(&f.path);
        if let Some(p) = dest.parent() {
            fsutil::ensure_private_dir(p)
                .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
        }
        std::fs::copy(vault_dir.join(&f.path), &dest)
            .map_err(|e| CliError::new(ExitKind::Failed, format!("backup of {}: {e}", f.path)))?;
        fsutil::set_mode(&dest, 0o600);
    }
    Ok(dir)
}

/// Put the staged vault in place. On Linux the two folders are exchanged in one atomic rename,
/// so at every instant the vault path holds either the old vault or the new one.
pub(crate) fn swap_into_place(staging: &Path, vault_dir: &Path) -> Result<(), CliError> {
    let fail = |e: std::io::Error| {
        CliError::new(
            ExitKind::Failed,
            format!(
                "cannot put the pulled vault in place at {}: {e}",
                vault_dir.display()
            ),
        )
    };
    if !vault_dir.exists() {
        return std::fs::rename(staging, vault_dir).map_err(fail);
    }
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        renameat_with(CWD, staging, CWD, vault_dir, RenameFlags::EXCHANGE)
            .map_err(|e| fail(e.into()))?;
        // `staging` now holds the old vault; the Staging guard removes it.
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        let old = staging::parked(staging);
        std::fs::rename(vault_dir, &old).map_err(fail)?;
        if let Err(e) = std::fs::rename(staging, vault_dir) {
            let _ = std::fs::rename(&old, vault_dir);
            return Err(fail(e));
        }
        let _ = std::fs::remove_dir_all(&old);
        Ok(())
    }
}
