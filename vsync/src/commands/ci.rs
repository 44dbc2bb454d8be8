//! `vsync ci mask <env>`, and what `vsync run` does about CI logs before its child starts:
//! GitHub Actions masks (see [`crate::run::masks`]) and the `--redact` filter patterns.

use std::io::IsTerminal;
use std::sync::Arc;

use vsync_vault::envfile::Entry;

use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::run::masks;
use crate::run::redact::{Patterns, Secret};
use crate::settings::{Global, env, machine};

/// Before `vsync run` starts its child: print the GitHub masks when running as a GitHub Actions
/// step, point GitLab users at `--redact`, and build the redaction patterns when asked for.
pub fn prepare_output(entries: &[Entry], redact: bool) -> Result<Option<Arc<Patterns>>, CliError> {
    if machine::in_github_actions(env()) {
        masks::emit_github_masks(entries.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|e| CliError::new(ExitKind::Failed, format!("writing the masks: {e}")))?;
    } else if machine::in_gitlab_ci(env()) && !redact {
        crate::output::note(
            "GitLab CI cannot mask values at runtime: add --redact to keep them out of the job log",
        );
    }
    if !redact {
        return Ok(None);
    }
    let patterns = Patterns::new(entries.iter().map(|(k, v)| Secret {
        key: k,
        value: v.as_str(),
    }));
    if patterns.failed() {
        return Err(CliError::new(
            ExitKind::Failed,
            "cannot build the redaction filter for these values",
        )
        .with_hint("run without --redact, or split the env"));
    }
    Ok(Some(Arc::new(patterns)))
}

/// Run `vsync ci mask`: print the `::add-mask::` lines for every value of the latest version of
/// `env_name`.
pub async fn mask(env_name: &str, g: &Global) -> Result<(), CliError> {
    if !machine::in_github_actions(env()) && std::io::stdout().is_terminal() {
        // The mask commands carry the values: outside a GitHub runner they would just be shown.
        return Err(CliError::new(
            ExitKind::Usage,
            "refusing to print masks to a terminal outside GitHub Actions (they contain the values)",
        )
        .with_hint("run it as a GitHub Actions step, or redirect stdout"));
    }
    let ctx = EnvContext::for_read(g.repo(), env_name)?;
    let bundle = super::run_cmd::latest_bundle(&ctx, false).await?;
    let entries = super::run_cmd::env_entries(&bundle, &ctx.env)?;
    masks::emit_github_masks(entries.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| CliError::new(ExitKind::Failed, format!("writing the masks: {e}")))
}
