//! `vsync runtime-token --env <env>`: the `vsync-cfg-v1:` blob an app needs (with
//! `VSYNC_PASSPHRASE`) to read the vault at boot. Only the blob goes to stdout.

use serde_json::Value;
use vsync_crypto::cfg_blob::{self, RuntimeConfig};
use vsync_crypto::secret::SecretText;

use crate::context::{self, EnvContext};
use crate::error::{CliError, ExitKind};
use crate::output;
use crate::settings::Global;

/// The blob's view of a config: S3 fields, or the `file://` URL as the endpoint.
pub fn runtime_config(ctx: &EnvContext) -> RuntimeConfig {
    let mut extra = vsync_crypto::UnknownFields::default();
    let (endpoint, region, bucket, key_id, secret) = match (&ctx.config.s3, &ctx.config.store) {
        (Some(s3), _) => (
            s3.endpoint_url(),
            s3.region.clone(),
            s3.bucket.clone(),
            s3.access_key_id.clone(),
            s3.secret_access_key.clone(),
        ),
        (None, Some(store)) => {
            extra.insert("store".into(), Value::String(store.clone()));
            (
                store.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            )
        }
        (None, None) => Default::default(),
    };
    RuntimeConfig {
        v: cfg_blob::VERSION,
        endpoint,
        region,
        bucket,
        access_key_id: key_id,
        secret_access_key: SecretText::new(secret),
        prefix: ctx.remote.prefix.as_str().to_owned(),
        env: ctx.env.clone(),
        salt: ctx.config.encryption.salt.clone(),
        iterations: vsync_crypto::kdf::ITERATIONS,
        extra,
    }
}

/// Run `vsync runtime-token`.
pub async fn run(
    env: &str,
    no_validate: bool,
    allow_rollback: bool,
    g: &Global,
) -> Result<(), CliError> {
    let ctx = EnvContext::load(context::checkout(g.repo())?, env)?;
    let memory = crate::latest::Memory::load(&ctx)?;
    if !no_validate {
        match crate::latest::pointer(&ctx, &memory, allow_rollback).await? {
            Some(p) => output::note(format!(
                "validated: {}/{} has version {} in the bucket",
                ctx.checkout.repo, ctx.env, p.ts
            )),
            None => {
                return Err(CliError::new(
                    ExitKind::NotFound,
                    format!("nothing pushed yet for {}/{}", ctx.checkout.repo, ctx.env),
                )
                .with_hint(format!(
                    "vsync push {} first, or pass --no-validate",
                    ctx.env
                )));
            }
        }
    }
    let mut rc = runtime_config(&ctx);
    // The app refuses a `latest` older than what this machine has seen (upstream runtimes
    // ignore the field). Not after --allow-rollback: the accepted pointer is older than it.
    if !allow_rollback {
        vsync_vault::freshness::set_blob_floor(&mut rc, memory.floor());
    }
    let blob = cfg_blob::encode(&rc).map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
    output::line(&blob);
    output::note(format!(
        "set VSYNC_CONFIG to the line above and VSYNC_PASSPHRASE to the env's key (`vsync key show {} --out FILE`), in different secret stores",
        ctx.env
    ));
    Ok(())
}
