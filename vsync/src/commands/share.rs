//! `vsync export <env>` and `vsync import <env> <file>`: onboarding a teammate with a
//! passphrase-sealed `.share` file (SLS1, ExportPayload v2). The file and the passphrase travel
//! on different channels; the passphrase only ever reaches the terminal.

use std::path::{Path, PathBuf};

use serde_json::Value;
use vsync_crypto::secret::SecretText;
use vsync_crypto::sls1::{self, ExportPayload};

use crate::audit_row::{self, AuditOpts};
use crate::context::{self, EnvContext, check_env, keychain_error};
use crate::error::{CliError, ExitKind};
use crate::keychain::{self, Backend};
use crate::local::config::EnvConfig;
use crate::local::{fsutil, paths};
use crate::output;
use crate::passphrase::{self, input as passphrase_input};
use crate::settings::Global;
use crate::settings::verbs::{ExportSettings, ImportSettings};

fn crypto_err(e: &vsync_crypto::CryptoError) -> CliError {
    crypto_err_from(e, None)
}

/// As [`crypto_err`]; a wrong passphrase names the input it came from.
fn crypto_err_from(
    e: &vsync_crypto::CryptoError,
    source: Option<&passphrase_input::Source>,
) -> CliError {
    use vsync_crypto::CryptoError as C;
    let kind = match e {
        C::WrongPassphrase | C::BundleCorrupt { .. } | C::UnsupportedSpecVersion { .. } => {
            ExitKind::Integrity
        }
        _ => ExitKind::Failed,
    };
    let msg = match e {
        C::WrongPassphrase => match source {
            Some(s) => format!(
                "{} does not open this share file: wrong passphrase, or the file is damaged",
                s.describe("share passphrase")
            ),
            None => "wrong passphrase, or the share file is damaged".to_owned(),
        },
        _ => format!("not a usable share file: {e}"),
    };
    CliError::new(kind, msg)
        .with_hint("check you have the right file and passphrase; nothing was written")
}

/// Run `vsync export`.
pub async fn export(args: ExportSettings, g: &Global) -> Result<(), CliError> {
    let ctx = EnvContext::load(context::checkout(g.repo())?, &args.env)?;
    let key = ctx.key().await?;
    let (given, generated) = args
        .passphrase
        .for_sealing("pass --passphrase-file FILE (and send that passphrase on another channel)")?;
    let pass = given.text;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("{}-{}.share", ctx.checkout.repo, ctx.env)));
    if out.exists() && !args.force {
        return Err(CliError::new(
            ExitKind::Conflict,
            format!("{} already exists", out.display()),
        )
        .with_hint("pass --force to replace it, or --out another path"));
    }
    let config = match serde_json::to_value(&ctx.config) {
        Ok(Value::Object(m)) => m,
        _ => {
            return Err(CliError::new(
                ExitKind::Failed,
                "cannot serialise the config",
            ));
        }
    };
    let payload = ExportPayload::new(
        ctx.checkout.repo.clone(),
        ctx.env.clone(),
        config,
        SecretText::new(key.expose().to_owned()),
    );
    let bytes = tokio::task::spawn_blocking({
        let pass = pass.clone();
        move || sls1::pack(&pass, &payload)
    })
    .await
    .map_err(|e| CliError::new(ExitKind::Failed, format!("sealing failed: {e}")))?
    .map_err(|e| crypto_err(&e))?;
    fsutil::write_atomic(&out, &bytes, 0o600)
        .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
    warn_if_tracked(&ctx.checkout.root, &out);
    audit_row::append(&ctx, "export", "", &AuditOpts::default()).await;
    output::line(format!(
        "wrote {} (0600) for {}/{}",
        out.display(),
        ctx.checkout.repo,
        ctx.env
    ));
    if let Some(bits) = generated {
        output::reveal_on_terminal(
            "passphrase (send it on another channel than the file)",
            &pass,
        );
        output::note(format!(
            "strength: {} words from a 7,776-word list, about {bits:.0} bits",
            passphrase::WORDS
        ));
    }
    output::line(format!(
        "your teammate runs: vsync import {} {}",
        ctx.env,
        out.display()
    ));
    Ok(())
}

/// A share written inside the checkout but not ignored could be committed.
fn warn_if_tracked(root: &Path, out: &Path) {
    let abs = std::env::current_dir()
        .map(|d| d.join(out))
        .unwrap_or_else(|_| out.to_path_buf());
    if !abs.starts_with(root) {
        return;
    }
    let ignored = std::process::Command::new("git")
        .args(["check-ignore", "-q"])
        .arg(&abs)
        .current_dir(root)
        .status()
        .is_ok_and(|s| s.success());
    if !ignored {
        output::warn(format!(
            "{} is inside the repository and not ignored: do not commit it",
            out.display()
        ));
    }
}

/// Run `vsync import`.
pub async fn import(args: ImportSettings, g: &Global) -> Result<(), CliError> {
    let flag_repo = g.repo();
    check_env(&args.env)?;
    let bytes = std::fs::read(&args.file).map_err(|e| {
        CliError::new(
            ExitKind::NotFound,
            format!("cannot read {}: {e}", args.file.display()),
        )
    })?;
    // Reject a malformed frame before asking for anything.
    sls1::parse_frame(&bytes).map_err(|e| crypto_err(&e))?;
    let given = args.passphrase.for_opening(None, "share passphrase: ")?;
    let source = given.source.clone();
    let pass = given.text;
    let (_, payload) = tokio::task::spawn_blocking(move || sls1::unpack(&pass, &bytes))
        .await
        .map_err(|e| CliError::new(ExitKind::Failed, format!("opening failed: {e}")))?
        .map_err(|e| crypto_err_from(&e, Some(&source)))?;
    if payload.env != args.env {
        return Err(CliError::new(
            ExitKind::Usage,
            format!(
                "this share file is for env {:?}, not {:?}",
                payload.env, args.env
            ),
        )
        .with_hint(format!(
            "vsync import {} {}",
            payload.env,
            args.file.display()
        )));
    }
    let cwd =
        std::env::current_dir().map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
    let id = vsync_vault::identity::resolve_for_import(&cwd, flag_repo, &payload.repo)?;
    let repo = id.name.clone();
    let mut config: EnvConfig = serde_json::from_value(Value::Object(payload.config.clone()))
        .map_err(|_| {
            CliError::new(
                ExitKind::Integrity,
                "the share file's config is not a vsync config",
            )
        })?;
    // The same checks as a config read from disk (vault folder included), before anything is
    // written.
    config.validate().map_err(|reason| {
        CliError::new(
            ExitKind::Integrity,
            format!("the share file's config is refused: {reason}"),
        )
        .with_hint("nothing was written; ask your teammate for a fresh share file")
    })?;
    // The share's prefix names the sharer's identity; keep it consistent with ours.
    config.prefix = Some(
        vsync_vault::layout::Prefix::new(&repo, &args.env)?
            .as_str()
            .to_owned(),
    );

    let backend = Backend::from_env().map_err(keychain_error)?;
    let account = keychain::account(&repo, &args.env);
    let existing = keychain::get(backend, &account)
        .await
        .map_err(keychain_error)?;
    if let Some(old) = &existing
        && old.as_str() != payload.key.expose()
    {
        let ok = output::interactive()
            && output::confirm(
                &format!("replace the different key already stored for {account}?"),
                false,
            );
        if !ok {
            return Err(CliError::new(
                ExitKind::Conflict,
                format!("a different key for {account} is already in the keychain"),
            )
            .with_hint(
                "run import on a terminal to confirm replacing it (check with your team first)",
            ));
        }
    }
    let base = context::base_dir()?;
    let config_path = paths::config_file(&base, &repo, &args.env);
    keychain::set(backend, &account, payload.key.expose())
        .await
        .map_err(keychain_error)?;
    if let Err(e) = config.save(&config_path) {
        // Put the keychain back as it was.
        match &existing {
            Some(old) => {
                let _ = keychain::set(backend, &account, old).await;
            }
            None => {
                let _ = keychain::delete(backend, &account).await;
            }
        }
        return Err(CliError::new(ExitKind::Failed, e.to_string()));
    }
    if vsync_vault::identity::write_pin(&id.repo.root, &repo)?
        == vsync_vault::identity::PinWrite::Written
    {
        output::note("identity pin written to .vsync — commit it");
    }
    let checkout = context::Checkout {
        root: id.repo.root.clone(),
        vroot: id.repo.vroot.clone(),
        repo: repo.clone(),
    };
    if let Ok(ctx) = EnvContext::load(checkout, &args.env) {
        audit_row::append(&ctx, "import", "", &AuditOpts::default()).await;
    }
    output::line(format!(
        "imported {repo}/{}: config {} (0600), key in the {}",
        args.env,
        config_path.display(),
        backend.name()
    ));
    output::line(format!("next: vsync pull {}", args.env));
    Ok(())
}
