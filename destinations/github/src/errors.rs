//! GitHub's failures → the docs/sync-contract.md §15.7 kinds: transport failures by the type of
//! their cause, HTTP answers by their status and rate-limit headers. Messages name the scope and
//! the status (and GitHub's own error message, which never holds a value).

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use vsync_dest_api::{DestError, DestErrorKind};

/// A request that got no HTTP answer: `Timeout` when a timeout in the chain of causes says so
/// (the client's connect and read timeouts surface as `io::ErrorKind::TimedOut`), else
/// `Transient` (refused, reset, DNS, TLS).
pub(crate) fn transport_error(e: &octocrab::Error, path: &str) -> DestError {
    let kind = if timed_out(e) {
        DestErrorKind::Timeout
    } else {
        DestErrorKind::Transient
    };
    let what = path.split('?').next().unwrap_or(path);
    DestError::new(kind, format!("cannot reach the GitHub API for {what}"))
}

/// Whether `e` or one of its causes is a timeout.
pub(crate) fn timed_out(e: &(dyn StdError + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::TimedOut)
            || c.downcast_ref::<tokio::time::error::Elapsed>().is_some()
        {
            return true;
        }
        cause = c.source();
    }
    false
}

/// Maps an HTTP answer to the §15.7 kinds. `body` is GitHub's error JSON (never a value).
pub(crate) fn http_error(
    status: u16,
    headers: &http::HeaderMap,
    body: &str,
    target: &str,
    op: &str,
) -> DestError {
    let gh_msg = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_default();
    let retry_after = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let exhausted = headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        == Some("0");
    let (kind, msg) = match status {
        429 => (
            DestErrorKind::RateLimited,
            format!("GitHub rate-limited the request to {op} {target}"),
        ),
        403 if exhausted || retry_after.is_some() => (
            DestErrorKind::RateLimited,
            format!("GitHub rate-limited the request to {op} {target}"),
        ),
        401 => (
            DestErrorKind::Auth,
            format!(
                "GitHub rejected the token trying to {op} {target}: check GITHUB_TOKEN / GH_TOKEN"
            ),
        ),
        403 => (
            DestErrorKind::Auth,
            format!(
                "GitHub refused to {op} {target}: the token lacks access (needs secrets write permission)"
            ),
        ),
        404 => (
            DestErrorKind::NotFound,
            format!("{target} not found (or the token cannot see it) trying to {op} it"),
        ),
        422 => (
            DestErrorKind::InvalidValue,
            format!("GitHub rejected the request to {op} {target}"),
        ),
        s if s >= 500 => (
            DestErrorKind::Transient,
            format!("GitHub answered HTTP {s} trying to {op} {target}"),
        ),
        s => (
            DestErrorKind::Internal,
            format!("GitHub answered HTTP {s} trying to {op} {target}"),
        ),
    };
    let msg = if gh_msg.is_empty() {
        msg
    } else {
        format!("{msg}: {gh_msg}")
    };
    let mut e = DestError::new(kind, msg);
    if let (DestErrorKind::RateLimited, Some(d)) = (kind, retry_after) {
        e = e.with_retry_after(d);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error wrapping `inner` one level down, as the HTTP stack reports a failed connect.
    #[derive(Debug, thiserror::Error)]
    #[error("client error (Connect)")]
    struct Wrapped(#[source] io::Error);

    #[test]
    fn timeouts_are_found_by_type_anywhere_in_the_chain() {
        let timeout = io::Error::new(io::ErrorKind::TimedOut, "deadline has elapsed");
        assert!(timed_out(&Wrapped(timeout)));
        // text that merely mentions a timeout is not one
        let refused = io::Error::new(io::ErrorKind::ConnectionRefused, "timeout? timed out?");
        assert!(!timed_out(&Wrapped(refused)));
    }
}
