//! The rollback floor of the runtime: the oldest `latest` an app accepts. The check itself is
//! the CLI's ([`vsync_vault::freshness`]), so a rolled-back pointer is refused the same way by
//! every reader.
//!
//! An app has no ledger. Its floor is the newest of: the runtime token's optional `minTs`
//! (written by `vsync runtime-token` from the minting machine's high-water mark), the
//! `VSYNC_MIN_TS` variable, and [`crate::OpenOptions::min_ts`] (for an app that keeps the last
//! [`crate::Vault::bundle_ts`] it opened). With none of them — a first boot — nothing can tell
//! an old `latest` from the newest one.

use vsync_crypto::cfg_blob::RuntimeConfig;
use vsync_vault::freshness::{self, Floor};

use crate::error::Error;
use crate::lookup::EnvLookup;

/// The variable that sets a floor (`YYYYMMDD-HHMMSS`).
pub const MIN_TS_VAR: &str = freshness::MIN_TS_VAR;

const HINT_ROLLBACK: &str = "compare with `vsync versions <env>` and your team; to go back on purpose, roll forward with \
     `vsync rollback <env> <ts>` (or lower VSYNC_MIN_TS / mint a new runtime token)";

/// The floor from the token, the environment and the option.
pub(crate) fn resolve(
    cfg: &RuntimeConfig,
    env: &dyn EnvLookup,
    option: Option<&str>,
) -> Result<Floor, Error> {
    let bad = |what: &str| Error::ConfigUnsupportedVersion {
        found: format!("{what} is not a YYYYMMDD-HHMMSS timestamp; fix or unset it"),
    };
    let mut floor = freshness::blob_floor(cfg).map_err(|_| bad("the token's `minTs`"))?;
    if let Some(v) = env.get(MIN_TS_VAR) {
        floor = floor.max(&freshness::parse_floor(&v).map_err(|_| bad(MIN_TS_VAR))?);
    }
    if let Some(v) = option {
        floor = floor.max(&freshness::parse_floor(v).map_err(|_| bad("OpenOptions::min_ts"))?);
    }
    Ok(floor)
}

/// Refuse a pointer older than the floor, before any key derivation.
pub(crate) fn check(floor: &Floor, pointer_key: &str, ts: &str) -> Result<(), Error> {
    floor.check(ts).map_err(|_| Error::BundleCorrupt {
        reason: format!(
            "`{pointer_key}` names {ts}, older than the floor {} (minTs / VSYNC_MIN_TS): the pointer was rolled back",
            floor.ts().unwrap_or("-")
        ),
        hint: HINT_ROLLBACK,
    })
}
