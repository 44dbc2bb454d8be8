//! Before a push uploads: prove that this machine's key and salt open what the team already
//! pushed. A push under another key (a stray key in the keychain, a mistyped salt, an `init`
//! over an existing env) would otherwise succeed and lock every teammate out at their next pull.
//!
//! The proof opens the version `latest` names — one download and one AES-GCM pass; the key
//! derivation is the one push needs anyway (cached per process). A cheaper check of the
//! envelope's header alone proves nothing: RQE1 is a single AES-GCM message, and only its tag,
//! at the end of the whole ciphertext, depends on the key.
//!
//! When `latest`'s version is missing or does not open, up to [`OLDER_TRIES`] older versions are
//! tried: one that opens proves the key (`latest` itself is damaged, and pushing a good copy is
//! the repair).

use vsync_vault::VaultError;
use vsync_vault::remote::Pointer;

use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::output;

/// How many versions older than `latest` may stand in for it.
const OLDER_TRIES: usize = 2;

/// Refuse (exit 4) unless the key opens the current `latest`, or nothing was pushed yet.
/// `replace_key` skips the proof with a warning (a key lost for good).
///
/// # Errors
/// Exit 4 when no recent version opens with this key; store errors.
pub async fn ensure_key_opens_latest(
    ctx: &EnvContext,
    pointer: Option<&Pointer>,
    replace_key: bool,
) -> Result<(), CliError> {
    let Some(latest) = pointer.filter(|p| !p.is_empty()) else {
        return Ok(());
    };
    let mut candidates = vec![latest.ts.clone()];
    let mut wrong_key = false;
    let mut next = 0;
    while let Some(ts) = candidates.get(next).cloned() {
        next += 1;
        match ctx.remote.fetch_version(&ts).await {
            Ok(object) => match ctx.open_bundle(&object, &ts).await {
                Ok(_) => {
                    if ts != latest.ts {
                        output::warn(format!(
                            "version {} that `latest` names does not open, but {ts} does with your key: pushing a good copy",
                            latest.ts
                        ));
                    }
                    return Ok(());
                }
                Err(e) if e.kind == ExitKind::Integrity => wrong_key = true,
                Err(e) => return Err(e),
            },
            Err(VaultError::VersionMissing { .. }) => {}
            Err(e) => return Err(e.into()),
        }
        if next == 1 {
            let older = ctx.remote.list_versions().await?;
            candidates.extend(
                older
                    .into_iter()
                    .filter(|v| v.as_str() < latest.ts.as_str())
                    .take(OLDER_TRIES),
            );
        }
    }
    if !wrong_key {
        // Nothing readable exists under the prefix: there is no team key to prove.
        return Ok(());
    }
    if replace_key {
        output::warn(format!(
            "your key does not open {}/{} version {}: pushing anyway (--replace-key); every teammate needs a new share file (`vsync export {}`)",
            ctx.checkout.repo, ctx.env, latest.ts, ctx.env
        ));
        return Ok(());
    }
    Err(CliError::new(
        ExitKind::Integrity,
        format!(
            "refusing to push: the key in {} (with this config's salt) does not open {}/{} version {} in the bucket — a push would lock every teammate out",
            key_place(ctx),
            ctx.checkout.repo,
            ctx.env,
            latest.ts
        ),
    )
    .with_hint(format!(
        "install the team's key: `vsync import {env} <file.share>` (a teammate runs `vsync export {env}`), or copy it from a machine where `vsync pull {env}` works (`vsync key show {env} --out FILE`); if that key is lost for good, `vsync push {env} --replace-key` starts over under yours",
        env = ctx.env
    )))
}

fn key_place(ctx: &EnvContext) -> String {
    if ctx.is_keyless() {
        "VSYNC_PASSPHRASE".to_owned()
    } else {
        format!("the keychain ({})", ctx.account())
    }
}
