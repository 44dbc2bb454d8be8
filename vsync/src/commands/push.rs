//! `vsync push <env>`: zip, seal, encrypt, upload a create-only version, then move `latest` with
//! compare-and-swap (docs/formats.md §11.4 with docs/decisions.md §2).

use vsync_vault::ledger::{Ledger, SyncOp};
use vsync_vault::{VaultError, walk, zip_bundle};

use crate::audit_row;
use crate::context::{self, EnvContext};
use crate::error::{CliError, ExitKind};
use crate::output;
use crate::settings::Global;
use crate::settings::verbs::PushSettings;

/// Run `vsync push`.
pub async fn run(args: PushSettings, g: &Global) -> Result<(), CliError> {
    let audit = args.audit.opts()?;
    let checkout = context::checkout(g.repo())?;
    let ctx = EnvContext::load(checkout, &args.env)?;
    let env = ctx.env.clone();
    let vault_dir = ctx.vault_dir();
    if !vault_dir.is_dir() {
        return Err(CliError::new(
            ExitKind::NotFound,
            format!("vault folder not found: {}", vault_dir.display()),
        )
        .with_hint(format!(
            "create it and put .env.{env} inside, or pull first"
        )));
    }
    if !vault_dir.join(format!(".env.{env}")).is_file() {
        return Err(CliError::new(
            ExitKind::NotFound,
            format!("{}/.env.{env} is missing", vault_dir.display()),
        )
        .with_hint(
            "create it (even empty) before pushing; refusing to push a vault without its env file",
        ));
    }
    // Nothing un-syncable is pushed: a value that is not UTF-8 is refused here, key named.
    let env_path = vault_dir.join(format!(".env.{env}"));
    let env_bytes = zeroize::Zeroizing::new(
        std::fs::read(&env_path).map_err(|e| VaultError::io("read", &env_path, e))?,
    );
    vsync_vault::envfile::decode(&env_bytes)?;
    drop(env_bytes);
    // Walk first: a symlink anywhere aborts before anything is read or sent.
    let files = walk::walk(&vault_dir)?;

    let ledger_path = ctx.ledger_path();
    let ledger = Ledger::read(&ledger_path)?;
    let pointer = ctx.remote.latest().await?;
    if !args.force {
        guard_lost_update(&ctx, ledger.as_ref(), pointer.as_ref())?;
    }

    if !ctx.remote.bucket.supports_conditional() {
        output::warn(
            "this store ignores conditional writes: a push racing with another one could overwrite it; only the ledger guard protects you",
        );
    }
    crate::key_proof::ensure_key_opens_latest(&ctx, pointer.as_ref(), args.replace_key).await?;
    let dk = ctx.derived_key().await?;
    // The audit chain head as it stands now, sealed inside the bundle (docs/audit-chain.md).
    let head = audit_row::sealed_head_comment(&ctx).await;
    let build = || {
        zip_bundle::build_with_comment(&ctx.checkout.vroot, &ctx.vault_folder(), head.as_deref())
    };
    let mut zip = Some(build()?);
    let mut ts = crate::version_name::fresh(pointer.as_ref().map(|p| p.ts.as_str())).await?;
    let mut attempts = 0;
    let (new_pointer, size) = loop {
        attempts += 1;
        // Sealed in place, so the bundle is in memory once; a retry under the next second's
        // name (rare) zips the vault again.
        let plain = match zip.take() {
            Some(z) => z,
            None => build()?,
        };
        let sealed = vsync_crypto::bundle::seal_owned(&dk, &ts, plain).map_err(|e| {
            CliError::new(ExitKind::Failed, format!("sealing the bundle failed: {e}"))
        })?;
        let size = sealed.len();
        match ctx.remote.publish(&ts, sealed, pointer.as_ref()).await {
            Ok(p) => break (p, size),
            // Another push took this second's version name; the pointer swap decides who wins,
            // so wait for the next second (bounded).
            Err(VaultError::VersionExists { .. }) if attempts < 5 => {
                ts = crate::version_name::fresh(Some(&ts)).await?;
            }
            Err(VaultError::RemoteAdvanced { remote_ts, .. }) => {
                return Err(remote_advanced(&env, &remote_ts));
            }
            Err(VaultError::VersionExists { .. }) => {
                let now = ctx
                    .remote
                    .latest()
                    .await?
                    .map(|p| p.ts)
                    .unwrap_or_else(|| "-".to_owned());
                return Err(remote_advanced(&env, &now));
            }
            Err(e) => return Err(e.into()),
        }
    };

    let new_ledger = Ledger::record(
        ledger.as_ref(),
        SyncOp::Push,
        &new_pointer.ts,
        &vsync_vault::ts::iso_now(),
        &files,
    );
    if let Err(e) = new_ledger.write(&ledger_path) {
        output::warn(format!(
            "pushed, but the ledger could not be written ({e}); the next pull may report local edits"
        ));
    }
    crate::latest::record(&ctx, &new_pointer.ts);
    audit_row::append(&ctx, "push", &new_pointer.ts, &audit).await;
    output::line(format!(
        "pushed {}/{env} version {} ({size} bytes)",
        ctx.checkout.repo, new_pointer.ts
    ));
    Ok(())
}

fn remote_advanced(env: &str, remote_ts: &str) -> CliError {
    CliError::new(ExitKind::Conflict, format!("remote advanced — pull first (latest is now {remote_ts}; your push of {env} did not land)"))
        .with_hint(format!("vsync pull {env}, then push again"))
}

/// Refuse to push over versions this machine never saw (the ledger guard).
fn guard_lost_update(
    ctx: &EnvContext,
    ledger: Option<&Ledger>,
    pointer: Option<&vsync_vault::remote::Pointer>,
) -> Result<(), CliError> {
    let Some(pointer) = pointer else {
        return Ok(());
    };
    let env = &ctx.env;
    match ledger {
        Some(l) if pointer.ts.as_str() > l.last_sync_ts.as_str() => Err(CliError::new(
            ExitKind::Conflict,
            format!(
                "remote advanced — pull first: {env} is at {} in the bucket, your last {} was {}",
                pointer.ts,
                l.last_sync_op.as_str(),
                l.last_sync_ts
            ),
        )
        .with_hint(format!(
            "vsync pull {env} (or `vsync push {env} --force` to overwrite their work)"
        ))),
        Some(_) => Ok(()),
        None => Err(CliError::new(
            ExitKind::Conflict,
            format!(
                "the bucket already holds {env} version {} that this machine never pulled",
                pointer.ts
            ),
        )
        .with_hint(format!(
            "vsync pull {env} first (or `vsync push {env} --force` to overwrite it)"
        ))),
    }
}
