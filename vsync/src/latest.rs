//! The CLI's one read path for `latest`: every verb that follows the pointer (pull, run, sync,
//! diff, keyless status, runtime-token, rotate-passphrase) goes through here, so a rolled-back
//! pointer is refused the same way everywhere (exit 4, pull's message), and every bundle that
//! opens raises this machine's high-water mark.
//!
//! The floor is the newest of: the high-water file, the ledger's `max_seen_ts`/`last_sync_ts`,
//! `VSYNC_MIN_TS`, and in keyless mode the runtime token's `minTs`. Explicit versions
//! (`pull --version`, `diff --from/--to`, `rollback <ts>`) are choices, not rollbacks, and are
//! not held to it.

use vsync_vault::freshness::{self, Floor};
use vsync_vault::highwater::{self, HighWater};
use vsync_vault::ledger::Ledger;
use vsync_vault::remote::Pointer;
use zeroize::Zeroizing;

use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::output;

/// What this machine knows about how new `latest` must be.
pub struct Memory {
    high_water: HighWater,
    floor: Floor,
}

impl Memory {
    /// The floor for `ctx`.
    ///
    /// # Errors
    /// A malformed ledger or high-water file, or a `VSYNC_MIN_TS`/`minTs` that is not a
    /// timestamp.
    pub fn load(ctx: &EnvContext) -> Result<Self, CliError> {
        let ledger = Ledger::read(&ctx.ledger_path())?;
        let high_water = HighWater::load(&high_water_path(ctx), ledger.as_ref())?;
        let mut floor = high_water.floor().clone().max(&env_floor()?);
        if ctx.is_keyless() {
            floor = floor.max(&blob_floor()?);
        }
        Ok(Self { high_water, floor })
    }

    /// The floor.
    pub fn floor(&self) -> &Floor {
        &self.floor
    }

    /// Record that version `ts` of `ctx` opened (raises the high-water mark only). Keyless mode
    /// records only on a machine that already keeps state for the repo: a CI runner gets no
    /// new folders.
    pub fn record(&mut self, ctx: &EnvContext, ts: &str) {
        if ctx.is_keyless()
            && !crate::local::paths::repo_dir(&ctx.base, &ctx.checkout.repo).is_dir()
        {
            return;
        }
        if let Err(e) = self.high_water.record(ts)
            && !ctx.is_keyless()
        {
            output::warn(format!(
                "could not record the newest version seen ({e}); rollback protection falls back to the ledger"
            ));
        }
        self.floor.raise(ts);
    }
}

/// `<base>/<repo>/highwater_<env>.json`.
pub fn high_water_path(ctx: &EnvContext) -> std::path::PathBuf {
    highwater::path(&ctx.base, &ctx.checkout.repo, &ctx.env)
}

fn env_floor() -> Result<Floor, CliError> {
    match crate::settings::machine::min_ts(crate::settings::env()) {
        Some(v) => freshness::parse_floor(v).map_err(|_| {
            CliError::new(
                ExitKind::Usage,
                format!(
                    "{} is not a version timestamp (YYYYMMDD-HHMMSS)",
                    freshness::MIN_TS_VAR
                ),
            )
        }),
        None => Ok(Floor::none()),
    }
}

fn blob_floor() -> Result<Floor, CliError> {
    let Some((blob, _)) = crate::settings::keyless::inputs(crate::settings::env())? else {
        return Ok(Floor::none());
    };
    let Ok(rc) = vsync_crypto::cfg_blob::decode(&blob) else {
        // The context decoded it already; an error here cannot happen, and is not a floor.
        return Ok(Floor::none());
    };
    freshness::blob_floor(&rc).map_err(|_| {
        CliError::new(
            ExitKind::Usage,
            format!(
                "VSYNC_CONFIG's `{}` is not a version timestamp",
                freshness::BLOB_FIELD
            ),
        )
        .with_hint("mint a fresh one with `vsync runtime-token --env <env>`")
    })
}

/// Read `latest` held to the floor; `Ok(None)` when nothing was pushed.
///
/// # Errors
/// Exit 4 ([`vsync_vault::VaultError::Rollback`]) for a pointer older than the floor unless
/// `allow_rollback`; store errors.
pub async fn pointer(
    ctx: &EnvContext,
    memory: &Memory,
    allow_rollback: bool,
) -> Result<Option<Pointer>, CliError> {
    let p = freshness::read_latest(&ctx.remote, memory.floor(), allow_rollback).await?;
    if allow_rollback
        && let Some(p) = &p
        && memory.floor().check(&p.ts).is_err()
    {
        output::warn(format!(
            "`latest` ({}) is older than {} seen before; using it because of --allow-rollback",
            p.ts,
            memory.floor().ts().unwrap_or("-")
        ));
    }
    Ok(p)
}

/// [`pointer`], with "nothing pushed yet" as an error.
///
/// # Errors
/// As [`pointer`]; exit 3 when nothing was pushed.
pub async fn require(
    ctx: &EnvContext,
    memory: &Memory,
    allow_rollback: bool,
) -> Result<Pointer, CliError> {
    pointer(ctx, memory, allow_rollback)
        .await?
        .ok_or_else(|| nothing_pushed(ctx))
}

/// The error for an env with no `latest`.
pub fn nothing_pushed(ctx: &EnvContext) -> CliError {
    CliError::new(
        ExitKind::NotFound,
        format!("nothing pushed yet for {}/{}", ctx.checkout.repo, ctx.env),
    )
    .with_hint(format!("push first: vsync push {}", ctx.env))
}

/// The latest bundle, opened: the pointer held to the floor, the version downloaded,
/// decrypted and checked against its seal; the high-water mark raised.
///
/// # Errors
/// As [`require`], and integrity errors of the bundle.
pub async fn open(
    ctx: &EnvContext,
    allow_rollback: bool,
) -> Result<(Pointer, Zeroizing<Vec<u8>>), CliError> {
    open_if_pushed(ctx, allow_rollback)
        .await?
        .ok_or_else(|| nothing_pushed(ctx))
}

/// [`open`], with `Ok(None)` when nothing was pushed.
///
/// # Errors
/// As [`open`], except "nothing pushed".
pub async fn open_if_pushed(
    ctx: &EnvContext,
    allow_rollback: bool,
) -> Result<Option<(Pointer, Zeroizing<Vec<u8>>)>, CliError> {
    Ok(open_object_if_pushed(ctx, allow_rollback)
        .await?
        .map(|o| (o.pointer, o.zip)))
}

/// The latest version, opened, with the digest of its object as stored.
pub struct Opened {
    /// `latest`, as followed.
    pub pointer: Pointer,
    /// The verified zip.
    pub zip: Zeroizing<Vec<u8>>,
    /// Hex SHA-256 of the version object's bytes (the ciphertext), what an attestation names.
    pub object_sha256: String,
}

/// [`open_if_pushed`], keeping the digest of the object that was opened.
///
/// # Errors
/// As [`open_if_pushed`].
pub async fn open_object_if_pushed(
    ctx: &EnvContext,
    allow_rollback: bool,
) -> Result<Option<Opened>, CliError> {
    use sha2::Digest;
    let mut memory = Memory::load(ctx)?;
    let Some(p) = pointer(ctx, &memory, allow_rollback).await? else {
        return Ok(None);
    };
    let object = ctx.remote.fetch_version(&p.ts).await?;
    let object_sha256 = crate::plugins::discover::hex(&sha2::Sha256::digest(&object));
    let zip = ctx.open_bundle(&object, &p.ts).await?;
    memory.record(ctx, &p.ts);
    Ok(Some(Opened {
        pointer: p,
        zip,
        object_sha256,
    }))
}

/// Record that `ts` was opened or published by this machine (push, explicit pulls, rotate).
pub fn record(ctx: &EnvContext, ts: &str) {
    match Memory::load(ctx) {
        Ok(mut m) => m.record(ctx, ts),
        Err(e) => output::warn(format!(
            "could not record the newest version seen ({})",
            e.message
        )),
    }
}
