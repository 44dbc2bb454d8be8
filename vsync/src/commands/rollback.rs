//! `vsync rollback <env> <ts>`: roll forward to an old version's content as a new version.

use crate::audit_row::{self, AuditOpts};
use crate::context::{self, EnvContext};
use crate::error::{CliError, ExitKind};
use crate::output;
use crate::settings::Global;

/// Run `vsync rollback`.
pub async fn run(env: &str, ts: &str, g: &Global) -> Result<(), CliError> {
    let ctx = EnvContext::load(context::checkout(g.repo())?, env)?;
    if !vsync_crypto::rqem0001::is_bundle_ts(ts) {
        return Err(CliError::new(
            ExitKind::Usage,
            format!("{:?} is not a version timestamp", ts),
        )
        .with_hint(format!("list them with `vsync versions {}`", ctx.env)));
    }
    let pointer = ctx.remote.latest().await?;
    let object = ctx.remote.fetch_version(ts).await?;
    let zip = ctx.open_bundle(&object, ts).await?;
    let ts = crate::version_name::fresh(pointer.as_ref().map(|p| p.ts.as_str())).await?;
    let dk = ctx.derived_key().await?;
    let sealed = vsync_crypto::bundle::seal(&dk, &ts, &zip)
        .map_err(|e| CliError::new(ExitKind::Failed, format!("sealing failed: {e}")))?;
    let new = ctx.remote.publish(&ts, sealed, pointer.as_ref()).await?;
    crate::latest::record(&ctx, &new.ts);
    let mut opts = AuditOpts::default();
    opts.meta.insert(
        "rollback_of".into(),
        serde_json::Value::String(ts.to_owned()),
    );
    audit_row::append(&ctx, "push", &new.ts, &opts).await;
    output::line(format!(
        "{}/{}: new version {} has the content of {}",
        ctx.checkout.repo, ctx.env, new.ts, ts
    ));
    output::line(format!(
        "run `vsync pull {}` to bring it into your vault folder",
        ctx.env
    ));
    Ok(())
}
