//! `vsync run <env> -- cmd …`: run a command with the vault's keys in its environment and its
//! assets in a private temporary folder (`VSYNC_ASSET_DIR`), removed when the child exits.
//! Values travel only through the child's environment, never its command line.

use std::io::Write;
use std::path::Path;

use crate::cli::RunArgs;
use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::local::fsutil;

/// Run `vsync run`; returns the child's exit code.
pub async fn run(args: RunArgs, flag_repo: Option<&str>) -> Result<u8, CliError> {
    let ctx = EnvContext::for_read(flag_repo, &args.env)?;
    let pointer = ctx.remote.latest().await?.ok_or_else(|| {
        CliError::new(
            ExitKind::NotFound,
            format!("nothing pushed yet for {}/{}", ctx.checkout.repo, ctx.env),
        )
        .with_hint(format!("vsync push {}", ctx.env))
    })?;
    let object = ctx.remote.fetch_version(&pointer.ts).await?;
    let zip = ctx.open_bundle(&object, &pointer.ts).await?;
    let bundle = vsync_vault::zip_bundle::read_bundle(&zip, &Default::default())?;
    // A value that is not UTF-8 is refused (key named), never passed on as U+FFFD.
    let text = bundle
        .env_file(&ctx.env)
        .map(vsync_vault::envfile::decode)
        .transpose()?
        .unwrap_or_default();
    let entries = vsync_vault::envfile::parse(text);

    let assets = tempfile::Builder::new()
        .prefix("vsync-assets-")
        .tempdir()
        .map_err(|e| {
            CliError::new(
                ExitKind::Failed,
                format!("cannot create the asset folder: {e}"),
            )
        })?;
    fsutil::set_mode(assets.path(), 0o700);
    for (name, data) in bundle.assets(&ctx.env) {
        write_asset(assets.path(), name, data)?;
    }

    let (program, rest) = args
        .command
        .split_first()
        .ok_or_else(|| CliError::new(ExitKind::Usage, "no command given after --"))?;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(rest);
    for (key, value) in &entries {
        if args.no_override && std::env::var_os(key).is_some() {
            continue;
        }
        cmd.env(key, value.as_str());
    }
    cmd.env("VSYNC_ASSET_DIR", assets.path());
    cmd.env_remove("VSYNC_PASSPHRASE");
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

    // The child shares our terminal's process group, so Ctrl-C reaches it directly; we wait for
    // it to finish either way and clean up after it.
    let status = loop {
        tokio::select! {
            s = child.wait() => break s,
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    .map_err(|e| CliError::new(ExitKind::Failed, format!("waiting for {program}: {e}")))?;
    drop(assets);
    Ok(exit_code(&status))
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

fn exit_code(status: &std::process::ExitStatus) -> u8 {
    if let Some(c) = status.code() {
        return u8::try_from(c & 0xff).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return u8::try_from(128 + sig).unwrap_or(1);
        }
    }
    1
}
