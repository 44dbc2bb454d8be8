//! `vsync versions <env>`: the versions in the bucket, newest first (no key needed).

use serde_json::json;

use crate::context::EnvContext;
use crate::error::CliError;
use crate::output;
use crate::settings::Global;

/// Run `vsync versions`.
pub async fn run(env: &str, g: &Global) -> Result<(), CliError> {
    let json_out = g.json;
    let ctx = EnvContext::for_read(g.repo(), env)?;
    let (versions, skipped) = ctx.remote.list_versions_report().await?;
    if !skipped.is_empty() {
        let shown: Vec<_> = skipped.iter().take(5).map(String::as_str).collect();
        output::warn(format!(
            "skipped {} object(s) under versions/ whose names are not versions: {}{}",
            skipped.len(),
            shown.join(", "),
            if skipped.len() > 5 { ", …" } else { "" }
        ));
    }
    let latest = ctx.remote.latest().await?.map(|p| p.ts);
    if let Some(l) = &latest {
        // A listing is how a rollback gets investigated: say so, but do not refuse.
        if let Ok(memory) = crate::latest::Memory::load(&ctx)
            && let Err(e) = memory.floor().check(l)
        {
            output::warn(e.to_string());
        }
        if !versions.contains(l) {
            output::warn(format!(
                "`latest` names {l}, which is missing from the bucket"
            ));
        }
    }
    if json_out {
        let rows: Vec<_> = versions
            .iter()
            .map(|v| json!({"ts": v, "latest": Some(v) == latest.as_ref()}))
            .collect();
        output::json(
            &json!({"repo": ctx.checkout.repo, "env": ctx.env, "latest": latest, "versions": rows}),
        );
        return Ok(());
    }
    if versions.is_empty() {
        output::line(format!(
            "no versions of {}/{} in the bucket yet",
            ctx.checkout.repo, ctx.env
        ));
    }
    for v in &versions {
        let mark = if Some(v) == latest.as_ref() {
            "  <- latest"
        } else {
            ""
        };
        output::line(format!("{v}{mark}"));
    }
    Ok(())
}
