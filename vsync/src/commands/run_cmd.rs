//! `vsync run <env> -- cmd …`: run a command with the vault's keys in its environment and its
//! assets in a private folder (`VSYNC_ASSET_DIR`, see [`crate::run`]), removed when the run ends.
//! Values travel only through the child's environment, never its command line.

use std::io::Write;
use std::path::Path;

use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::local::fsutil;
use crate::settings::Global;
use crate::settings::verbs::RunSettings;

/// The latest pushed version of `ctx`'s env, decrypted and unpacked, through the one read path
/// (a rolled-back `latest` is refused unless `allow_rollback`).
pub(crate) async fn latest_bundle(
    ctx: &EnvContext,
    allow_rollback: bool,
) -> Result<vsync_vault::zip_bundle::Bundle, CliError> {
    let (_, zip) = crate::latest::open(ctx, allow_rollback).await?;
    Ok(vsync_vault::zip_bundle::read_bundle(
        &zip,
        &Default::default(),
    )?)
}

/// The env file's entries of `bundle`. A value that is not UTF-8 is refused (key named), never
/// passed on as U+FFFD; `run` injects and `ci mask` masks exactly these.
pub(crate) fn env_entries(
    bundle: &vsync_vault::zip_bundle::Bundle,
    env: &str,
) -> Result<Vec<vsync_vault::envfile::Entry>, CliError> {
    let text = bundle
        .env_file(env)
        .map(vsync_vault::envfile::decode)
        .transpose()?
        .unwrap_or_default();
    Ok(vsync_vault::envfile::parse(text))
}

/// Run `vsync run`; returns the child's exit code.
pub async fn run(args: RunSettings, g: &Global) -> Result<u8, CliError> {
    let ctx = EnvContext::for_read(g.repo(), &args.env)?;
    let bundle = latest_bundle(&ctx, args.allow_rollback).await?;
    let entries = env_entries(&bundle, &ctx.env)?;

    // Caught from here on, so a signal can no longer kill us with the assets on disk.
    #[cfg(unix)]
    let forwarder = crate::run::signals::Forwarder::install()
        .map_err(|e| CliError::new(ExitKind::Failed, format!("cannot catch signals: {e}")))?;
    let assets = crate::run::assets::AssetDir::create()?;
    for (name, data) in bundle.assets(&ctx.env) {
        write_asset(assets.path(), name, data)?;
    }

    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| CliError::new(ExitKind::Usage, "no command given after --"))?;
    let patterns = crate::commands::ci::prepare_output(&entries, args.redact)?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(rest);
    crate::run::child_env::strip_credentials(&mut cmd);
    for (key, value) in &entries {
        // Late read, on purpose: the keys are the vault's, known only now (allow-listed).
        if args.no_override && std::env::var_os(key).is_some() {
            continue;
        }
        cmd.env(key, value.as_str());
    }
    cmd.env("VSYNC_ASSET_DIR", assets.path());
    if patterns.is_some() {
        cmd.stdout(std::process::Stdio::piped());
        cmd.stderr(std::process::Stdio::piped());
    }
    let mut child = cmd.spawn().map_err(|e| {
        CliError::new(
            if e.kind() == std::io::ErrorKind::NotFound {
                ExitKind::NotFound
            } else {
                ExitKind::Failed
            },
            format!("cannot start {program}: {e}"),
        )
    })?;
    drop(entries);
    let pumps = patterns
        .map(|p| crate::run::filtered::Pumps::start(&mut child, p))
        .transpose()
        .map_err(|e| CliError::new(ExitKind::Failed, format!("filtering the output: {e}")))?;

    #[cfg(unix)]
    let waited = crate::run::supervise(child, forwarder).await;
    #[cfg(not(unix))]
    let waited = crate::run::supervise(child).await;
    if let Some(pumps) = pumps {
        pumps.finish().await;
    }
    let code = waited
        .map_err(|e| CliError::new(ExitKind::Failed, format!("waiting for {program}: {e}")))?;
    drop(assets);
    Ok(code)
}

fn write_asset(dir: &Path, name: &str, data: &[u8]) -> Result<(), CliError> {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fsutil::ensure_private_dir(parent)
            .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&path)
        .map_err(|e| CliError::new(ExitKind::Failed, format!("asset {name}: {e}")))?;
    f.write_all(data)
        .map_err(|e| CliError::new(ExitKind::Failed, format!("asset {name}: {e}")))?;
    Ok(())
}
