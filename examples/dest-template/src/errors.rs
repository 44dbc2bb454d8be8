//! Turning a backend's failures into the error kinds the engine acts on: `RateLimited`,
//! `Transient` and `Timeout` are retried (honouring `retry_after`), everything else is final and
//! shown to the user. Messages name what failed and how to fix it, never a value.

use std::time::Duration;

use vsync_dest_api::{DestError, DestErrorKind};

/// The error for an HTTP answer `status` to the request described by `what`. `retry_after` is
/// the raw `Retry-After` header (seconds; an HTTP date is treated as absent).
pub fn from_http_status(status: u16, retry_after: Option<&str>, what: &str) -> DestError {
    let kind = match status {
        401 | 403 => DestErrorKind::Auth,
        404 => DestErrorKind::NotFound,
        409 | 412 => DestErrorKind::Conflict,
        400 | 422 => DestErrorKind::InvalidValue,
        408 => DestErrorKind::Timeout,
        429 => DestErrorKind::RateLimited,
        500..=599 => DestErrorKind::Transient,
        _ => DestErrorKind::Internal,
    };
    let hint = match kind {
        DestErrorKind::Auth => ": check the credentials and their permissions",
        DestErrorKind::NotFound => ": check the routing options",
        _ => "",
    };
    let mut err = DestError::new(kind, format!("{what}: HTTP {status}{hint}"));
    if let Some(secs) = retry_after.and_then(|v| v.trim().parse::<u64>().ok()) {
        err = err.with_retry_after(Duration::from_secs(secs));
    }
    err
}

/// The error for a failed file operation `what` (the template's backend is a folder).
pub fn from_io(what: &str, e: &std::io::Error) -> DestError {
    use std::io::ErrorKind as K;
    let kind = match e.kind() {
        K::PermissionDenied | K::ReadOnlyFilesystem => DestErrorKind::Auth,
        K::NotFound => DestErrorKind::NotFound,
        K::TimedOut => DestErrorKind::Timeout,
        K::Interrupted | K::WouldBlock => DestErrorKind::Transient,
        _ => DestErrorKind::Internal,
    };
    DestError::new(kind, format!("{what}: {}", e.kind()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_the_kinds_the_engine_retries_or_reports() {
        let cases = [
            (401, DestErrorKind::Auth, false),
            (403, DestErrorKind::Auth, false),
            (404, DestErrorKind::NotFound, false),
            (409, DestErrorKind::Conflict, false),
            (422, DestErrorKind::InvalidValue, false),
            (429, DestErrorKind::RateLimited, true),
            (500, DestErrorKind::Transient, true),
            (503, DestErrorKind::Transient, true),
            (408, DestErrorKind::Timeout, true),
        ];
        for (status, kind, retryable) in cases {
            let e = from_http_status(status, None, "PUT secret");
            assert_eq!(e.kind, kind, "{status}");
            assert_eq!(e.retryable(), retryable, "{status}");
            assert!(e.message.contains(&status.to_string()));
        }
    }

    #[test]
    fn retry_after_seconds_are_kept_and_dates_ignored() {
        let e = from_http_status(429, Some(" 7 "), "PUT");
        assert_eq!(e.retry_after, Some(Duration::from_secs(7)));
        let e = from_http_status(429, Some("Wed, 21 Oct 2015 07:28:00 GMT"), "PUT");
        assert_eq!(e.retry_after, None);
    }

    #[test]
    fn io_permission_is_an_auth_error() {
        let e = from_io(
            "write",
            &std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        );
        assert_eq!(e.kind, DestErrorKind::Auth);
    }
}
