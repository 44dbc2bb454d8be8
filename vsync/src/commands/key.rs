//! `vsync key show <env>`: reveal the key — to the terminal after confirmation, or to a 0600 file.

use crate::context::{self, check_env};
use crate::error::{CliError, ExitKind};
use crate::local::fsutil;
use crate::output;
use crate::settings::Global;

/// Run `vsync key show`.
pub async fn show(
    env: &str,
    out: Option<std::path::PathBuf>,
    yes: bool,
    g: &Global,
) -> Result<(), CliError> {
    check_env(env)?;
    let checkout = context::checkout(g.repo())?;
    let key = context::read_key(&checkout.repo, env).await?;
    if let Some(path) = out {
        if path.exists() {
            return Err(CliError::new(
                ExitKind::Conflict,
                format!("{} already exists; not overwriting", path.display()),
            ));
        }
        let mut text = zeroize::Zeroizing::new(key.expose().to_owned());
        text.push('\n');
        fsutil::write_atomic(&path, text.as_bytes(), 0o600)
            .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
        output::note(format!(
            "key for {}/{env} written to {} (0600)",
            checkout.repo,
            path.display()
        ));
        return Ok(());
    }
    if !output::interactive() {
        return Err(CliError::new(
            ExitKind::Usage,
            "refusing to print a key when not on a terminal",
        )
        .with_hint(format!("vsync key show {env} --out FILE (written 0600)")));
    }
    if !yes
        && !output::confirm(
            &format!("show the key of {}/{env} on screen?", checkout.repo),
            false,
        )
    {
        return Err(CliError::new(ExitKind::Failed, "not shown"));
    }
    output::reveal_on_terminal(&format!("{}/{env}", checkout.repo), key.expose());
    Ok(())
}
