//! Naming a new version (push, rollback, rotate-passphrase): the current second, never a later
//! one. When `latest` already holds this second (or a later one, left by a clock ahead of ours),
//! wait for the clock to pass it.
//!
//! Naming the future breaks mixed teams: upstream vsync names versions by its clock, so its
//! push in the same real second overwrote our future-named version and moved `latest`
//! backwards.

use std::time::Duration;

use vsync_vault::ts::{self, NextName};

use crate::error::{CliError, ExitKind};

/// The longest we wait for the clock to pass `latest`; beyond that the clocks disagree.
const MAX_WAIT: Duration = Duration::from_secs(5);

/// A name for a new version that sorts after `after` and is not later than now.
///
/// # Errors
/// Exit 5 when `after` is more than [`MAX_WAIT`] ahead of this machine's clock.
pub async fn fresh(after: Option<&str>) -> Result<String, CliError> {
    let mut waited = Duration::ZERO;
    loop {
        match ts::next_bundle_ts(after, time::OffsetDateTime::now_utc()) {
            NextName::Now(name) => return Ok(name),
            NextName::Wait(d) => {
                let d = Duration::try_from(d).unwrap_or(Duration::MAX);
                if waited.checked_add(d).is_none_or(|total| total > MAX_WAIT) {
                    return Err(clock_behind(after.unwrap_or("-")));
                }
                tokio::time::sleep(d).await;
                waited += d;
            }
        }
    }
}

fn clock_behind(latest: &str) -> CliError {
    CliError::new(
        ExitKind::Conflict,
        format!(
            "the newest version in the bucket ({latest}) is later than this machine's clock ({}); refusing to name a new version in the future",
            ts::bundle_ts_now()
        ),
    )
    .with_hint("check this machine's clock (and the clock of whoever pushed it), then retry")
}
