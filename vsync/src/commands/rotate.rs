//! `vsync rotate-passphrase --env <env>`: re-key the vault under a new random key.
//!
//! Order of writes, chosen so a crash at any point leaves a usable state:
//! 1. the new version object, sealed under the new key (create-only; unreferenced until step 3);
//! 2. the new key in the keychain under a *pending* account (`<repo>/<env>#rotating`);
//! 3. `latest` moved to the new version (compare-and-swap on the pointer read at the start);
//! 4. the pending key promoted to the main account, the pending entry deleted;
//! 5. the generation cell bumped (compare-and-swap), then the audit row.
//!
//! Before 3 the old state is whole. After 3 the bucket needs the new key; until 4 completes,
//! every verb that fails to decrypt with the main key tries the pending key and, when it opens
//! the bundle, finishes the promotion itself (see [`crate::context::EnvContext::open_bundle`]).

use vsync_crypto::kdf::DerivedKey;
use vsync_crypto::secret::VaultKey;
use vsync_vault::store::Expected;

use crate::audit_row::{self, AuditOpts};
use crate::context::{self, EnvContext, keychain_error};
use crate::error::{CliError, ExitKind};
use crate::keychain::{self, Backend};
use crate::output;
use crate::settings::Global;
use crate::settings::verbs::RotateSettings;

/// The keychain account holding a key that is being rotated in.
pub fn pending_account(repo: &str, env: &str) -> String {
    keychain::pending_account(repo, env)
}

/// Test hook (`VSYNC_TEST_CRASH_AFTER_STEP`): stop the process right after write `step` (1–5),
/// as a crash would.
fn crash_point(step: u8, crash_after: Option<u8>) {
    if crash_after == Some(step) {
        std::process::exit(99);
    }
}

/// Run `vsync rotate-passphrase`.
pub async fn run(args: RotateSettings, g: &Global) -> Result<(), CliError> {
    let ctx = EnvContext::load(context::checkout(g.repo())?, &args.env)?;
    let env = ctx.env.clone();
    let repo = ctx.checkout.repo.clone();
    // A bad --new-passphrase is refused before anything is asked or read.
    let given_new = args
        .new_key
        .as_ref()
        .map(|k| crate::passphrase::input::vault_key_from_flag(k, "--new-passphrase"))
        .transpose()?;
    if !args.yes
        && !output::confirm(
            &format!("rotate the key of {repo}/{env}? Teammates will need a new share file"),
            false,
        )
    {
        return Err(
            CliError::new(ExitKind::Usage, "not rotating without confirmation")
                .with_hint(format!("vsync rotate-passphrase --env {env} --yes")),
        );
    }
    let backend = Backend::from_env().map_err(keychain_error)?;
    // A rolled-back `latest` would be re-sealed under the new key as the newest version.
    let memory = crate::latest::Memory::load(&ctx)?;
    let pointer = crate::latest::pointer(&ctx, &memory, false)
        .await?
        .ok_or_else(|| {
            CliError::new(
                ExitKind::NotFound,
                format!("nothing pushed yet for {repo}/{env}: nothing to re-key"),
            )
            .with_hint(format!("vsync push {env}"))
        })?;
    let object = ctx.remote.fetch_version(&pointer.ts).await?;
    let zip = match &args.old_key {
        Some(old) => {
            crate::passphrase::input::open_with_flag_key(
                old,
                "--old-passphrase",
                &ctx.config.encryption.salt,
                &object,
                &pointer.ts,
            )
            .await?
        }
        None => ctx.open_bundle(&object, &pointer.ts).await?,
    };
    let manifest = ctx.remote.read_manifest().await?;

    let new_key = given_new.unwrap_or_else(VaultKey::generate);
    let salt = ctx.config.encryption.salt.clone();
    let new_dk = {
        let text = new_key.expose().to_owned();
        tokio::task::spawn_blocking(move || DerivedKey::derive(&text, &salt))
            .await
            .map_err(|e| CliError::new(ExitKind::Failed, format!("key derivation failed: {e}")))?
    };
    // 1: the new version, unreferenced for now. A name already taken (an orphan of an interrupted
    // rotation, or a concurrent push) moves us to the next second.
    let mut ts = crate::version_name::fresh(Some(&pointer.ts)).await?;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let sealed = vsync_crypto::bundle::seal(&new_dk, &ts, &zip)
            .map_err(|e| CliError::new(ExitKind::Failed, format!("sealing failed: {e}")))?;
        match ctx
            .remote
            .bucket
            .put_create(&ctx.remote.prefix.version_key(&ts), sealed)
            .await
        {
            Ok(()) => break,
            Err(vsync_vault::StoreError::AlreadyExists { .. }) if attempts < 5 => {
                ts = crate::version_name::fresh(Some(&ts)).await?;
            }
            Err(e) => return Err(e.into()),
        }
    }
    crash_point(1, args.crash_after_step);
    // 2: the new key, pending.
    let pending = pending_account(&repo, &env);
    keychain::set(backend, &pending, new_key.expose())
        .await
        .map_err(keychain_error)?;
    crash_point(2, args.crash_after_step);
    // 3: the pointer. Losing the race means someone pushed meanwhile: undo 1 and 2.
    let swapped = ctx
        .remote
        .bucket
        .put_swap(
            &ctx.remote.prefix.latest_key(),
            ts.as_bytes().to_vec(),
            pointer
                .etag
                .clone()
                .map_or(Expected::Absent, Expected::Etag),
        )
        .await;
    if let Err(e) = swapped {
        let _ = ctx
            .remote
            .bucket
            .delete(&ctx.remote.prefix.version_key(&ts))
            .await;
        let _ = keychain::delete(backend, &pending).await;
        return Err(match e {
            vsync_vault::StoreError::Conflict { .. } | vsync_vault::StoreError::AlreadyExists { .. } => {
                CliError::new(ExitKind::Conflict, format!("remote advanced — pull first ({repo}/{env} changed during the rotation; nothing was rotated)"))
                    .with_hint(format!("vsync pull {env}, then rotate again"))
            }
            other => other.into(),
        });
    }
    crash_point(3, args.crash_after_step);
    crate::latest::record(&ctx, &ts);
    // 4: promote.
    keychain::set(backend, &keychain::account(&repo, &env), new_key.expose())
        .await
        .map_err(keychain_error)?;
    crash_point(4, args.crash_after_step);
    let _ = keychain::delete(backend, &pending).await;
    // 5: the generation cell.
    let at = vsync_vault::ts::iso_now();
    let (current, expected) = match &manifest {
        Some(cell) if cell.key == ctx.remote.prefix.manifest_key() => (
            cell.manifest.clone(),
            cell.etag.clone().map_or(Expected::Absent, Expected::Etag),
        ),
        Some(cell) => (cell.manifest.clone(), Expected::Absent),
        None => (Default::default(), Expected::Absent),
    };
    let bumped = current.bumped(&at);
    let generation = bumped.current_gen();
    if let Err(e) = ctx.remote.write_manifest(&bumped, expected).await {
        output::warn(format!(
            "rotated, but the generation cell was not updated ({e}); apps see the old generation number"
        ));
    }
    crash_point(5, args.crash_after_step);
    let mut opts = AuditOpts::default();
    opts.meta.insert("event".into(), "rotate".into());
    opts.meta.insert("gen".into(), generation.into());
    opts.meta
        .insert("prev_gen".into(), (generation.saturating_sub(1)).into());
    audit_row::append(&ctx, "rotate", &ts, &opts).await;

    output::note(format!(
        "rotated {repo}/{env}: version {ts} is sealed with a new key (generation {generation})"
    ));
    output::note("next steps:");
    output::note(format!(
        "  1. re-export share files for everyone who stays: vsync export {env}"
    ));
    output::note(format!(
        "  2. re-mint runtime tokens and update VSYNC_PASSPHRASE where apps run: vsync runtime-token --env {env}; vsync key show {env} --out FILE"
    ));
    output::note(
        "  3. if someone left or a key leaked: rotate the upstream secrets in the vault too (database passwords, API tokens)",
    );
    Ok(())
}
