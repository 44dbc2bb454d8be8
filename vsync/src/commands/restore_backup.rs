//! `vsync restore-backup <env> [<ts>|<file>] [<target-dir>] [--list]`: list the encrypted
//! rolling backups that pulls leave (docs/formats.md §9.8, [`crate::local::backups`]), or put one back.
//!
//! A restore decrypts and unpacks the backup into a staging folder next to the vault first —
//! with every check of the bundle reader (names, sizes, entry counts) — and only then swaps it
//! into place in one rename, as pull does; what was there is backed up first, so a restore can
//! itself be undone. The ledger is left alone: the restored vault shows up as local edits, to be
//! pushed if it is the truth.

use std::path::{Path, PathBuf};

use vsync_vault::zip_bundle::{self, ZipLimits};

use crate::commands::pull::{stage_beside_vault, swap_into_place};
use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::local::backups::{self, Entry, Origin};
use crate::output;
use crate::settings::verbs::RestoreBackupSettings;
use crate::settings::{Global, env, keyless};
use crate::staging::{self, Staging};

/// Run `vsync restore-backup`.
pub async fn run(args: RestoreBackupSettings, g: &Global) -> Result<(), CliError> {
    let json = g.json;
    let ctx = EnvContext::for_read(g.repo(), &args.env)?;
    let entries = backups::list(&ctx.base, &ctx.checkout.repo, &ctx.env);
    if args.list {
        print_list(&ctx, &entries, json);
        return Ok(());
    }
    let chosen = choose(&ctx, &entries, args.backup.as_deref())?;
    let bytes = backups::read(&chosen)?;
    let key = ctx.derived_key().await?;
    let zip = backups::open(&chosen, &key, &bytes).map_err(|e| {
        let keyless = ctx.is_keyless() && matches!(e, backups::BackupError::WrongKey { .. });
        let mut err = CliError::from(e);
        if keyless {
            err.message = format!(
                "{} (the key came from {})",
                err.message,
                keyless::key_input(env())
            );
        }
        err
    })?;
    match &args.target_dir {
        Some(target) => {
            restore_into_new_folder(&zip, target)?;
            output::line(format!(
                "restored {} into {}",
                chosen.display(),
                target.display()
            ));
        }
        None => {
            let vault_dir = ctx.vault_dir();
            restore_into_vault(&ctx, &zip, &vault_dir).await?;
            output::line(format!(
                "restored {} into {}",
                chosen.display(),
                vault_dir.display()
            ));
            output::note(format!(
                "the vault now differs from the last push: `vsync diff {0}` shows how, `vsync push {0}` publishes it",
                ctx.env
            ));
        }
    }
    Ok(())
}

fn print_list(ctx: &EnvContext, entries: &[Entry], json: bool) {
    if json {
        output::json(entries);
        return;
    }
    if entries.is_empty() {
        output::line(format!(
            "no backups of {}/{} on this machine (every pull that replaces a vault writes one)",
            ctx.checkout.repo, ctx.env
        ));
        return;
    }
    for e in entries {
        let origin = match e.origin {
            Origin::Vsync => "vsync",
            Origin::Upstream => "upstream",
            Origin::UpstreamLegacy => "upstream-legacy",
        };
        output::line(format!(
            "{}  {origin:<15}  {:>9} bytes  {}",
            e.ts,
            e.size,
            e.path.display()
        ));
    }
}

/// The newest backup, the one with timestamp `which`, or the file `which` names.
fn choose(ctx: &EnvContext, entries: &[Entry], which: Option<&str>) -> Result<PathBuf, CliError> {
    let list_hint = format!("vsync restore-backup {} --list", ctx.env);
    match which {
        None => entries.first().map(|e| e.path.clone()).ok_or_else(|| {
            CliError::new(
                ExitKind::NotFound,
                format!(
                    "no backups of {}/{} on this machine",
                    ctx.checkout.repo, ctx.env
                ),
            )
            .with_hint("every `vsync pull` that replaces a vault writes one first")
        }),
        Some(ts) if vsync_crypto::rqem0001::is_bundle_ts(ts) => entries
            .iter()
            .find(|e| e.ts == ts)
            .map(|e| e.path.clone())
            .ok_or_else(|| {
                CliError::new(
                    ExitKind::NotFound,
                    format!(
                        "no backup of {}/{} taken at {ts}",
                        ctx.checkout.repo, ctx.env
                    ),
                )
                .with_hint(list_hint)
            }),
        Some(path) => Ok(PathBuf::from(path)),
    }
}

/// Back up the vault folder of `ctx` if it exists (encrypted, docs/formats.md §9.8); the note names the
/// file. `prune` drops the oldest beyond the configured number afterwards.
pub async fn backup_current_vault(
    ctx: &EnvContext,
    prune: bool,
) -> Result<Option<PathBuf>, CliError> {
    let vault_dir = ctx.vault_dir();
    if !vault_dir.is_dir() {
        return Ok(None);
    }
    let keep = backups::keep()?;
    let key = ctx.derived_key().await?;
    let vroot = ctx.checkout.vroot.clone();
    let folder = ctx.vault_folder();
    let zip = tokio::task::spawn_blocking(move || zip_bundle::build(&vroot, &folder))
        .await
        .map_err(|e| CliError::new(ExitKind::Failed, format!("zipping the vault failed: {e}")))??;
    let dir = backups::repo_dir(&ctx.base, &ctx.checkout.repo);
    let path = backups::write(&dir, &ctx.env, &key, &zip).map_err(|e| {
        let mut err = CliError::from(e);
        err.message = format!(
            "cannot back up the vault before replacing it: {}",
            err.message
        );
        err.with_hint(
            "nothing was changed; fix the backup folder (or set VSYNC_BACKUP_DIR) and retry",
        )
    })?;
    if prune {
        backups::prune(&dir, &ctx.env, keep);
    }
    output::note(format!("encrypted backup of the vault: {}", path.display()));
    Ok(Some(path))
}

async fn restore_into_vault(
    ctx: &EnvContext,
    zip: &[u8],
    vault_dir: &Path,
) -> Result<(), CliError> {
    let (staged, report) = stage_beside_vault(ctx, zip, vault_dir, "restore")?;
    if let Some(folder) = report.folder.as_deref()
        && folder != ctx.vault_folder()
    {
        output::warn(format!(
            "the backup was taken of {folder}; restored into this machine's vault folder {}",
            ctx.vault_folder()
        ));
    }
    // Not pruned: the backup being restored may be the oldest one kept.
    backup_current_vault(ctx, false).await?;
    swap_into_place(staged.path(), vault_dir)?;
    drop(staged);
    Ok(())
}

/// Unpack into `target`, which must be new or empty: staged next to it, then renamed.
fn restore_into_new_folder(zip: &[u8], target: &Path) -> Result<(), CliError> {
    if let Ok(mut rd) = std::fs::read_dir(target) {
        if rd.next().is_some() {
            return Err(CliError::new(
                ExitKind::Conflict,
                format!("{} is not empty", target.display()),
            )
            .with_hint(
                "name a new or empty folder, or leave it out to restore into the vault folder",
            ));
        }
    } else if target.exists() {
        return Err(CliError::new(
            ExitKind::Conflict,
            format!("{} exists and is not a folder", target.display()),
        ));
    }
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "restore".into());
    let parent = target
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    // a killed restore into this same target left its plaintext staging folder here
    let prefix = format!(".{name}.vsync-restore-");
    staging::sweep(parent, &[prefix.as_str()]);
    let staged = Staging::claim(parent, &format!("{prefix}{}", std::process::id()))
        .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
    zip_bundle::extract_vault(zip, staged.path(), &ZipLimits::default())?;
    let _ = std::fs::remove_dir(target);
    std::fs::rename(staged.path(), target).map_err(|e| {
        CliError::new(
            ExitKind::Failed,
            format!(
                "cannot put the backup in place at {}: {e}",
                target.display()
            ),
        )
    })?;
    drop(staged);
    Ok(())
}
