//! Maps the client's errors to the docs/sync-contract.md §15.7 kinds. Messages name the secret and quote the
//! service's status message (Secret Manager never echoes payloads), never a value.

use std::time::Duration;

use google_cloud_gax::error::Error;
use google_cloud_gax::error::rpc::{Code, StatusDetails};
use vsync_dest_api::{DestError, DestErrorKind};

/// `op` is a verb (`read`, `create`, …), `name` the secret id or project concerned.
pub(crate) fn map(e: &Error, name: &str, op: &str) -> DestError {
    let what = |k: DestErrorKind, m: String| DestError::new(k, m).with_key(name);
    if e.is_authentication() {
        // no usable credentials, or the token exchange was refused
        let src = std::error::Error::source(e)
            .map(|s| format!(": {s}"))
            .unwrap_or_default();
        return what(
            DestErrorKind::Auth,
            format!(
                "GCP {op} of {name}: could not get credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud application-default login, or the metadata server){src}"
            ),
        );
    }
    if e.is_timeout() {
        return what(
            DestErrorKind::Timeout,
            format!("GCP {op} of {name} timed out"),
        );
    }
    if e.is_binding() {
        return what(
            DestErrorKind::InvalidName,
            format!("{name:?} does not fit a Secret Manager resource name"),
        );
    }
    let http = e.http_status_code();
    let retry_after = retry_after(e);
    let (code, msg) = match e.status() {
        Some(s) => (Some(s.code), s.message.clone()),
        None => (None, String::new()),
    };
    let detail = if msg.is_empty() {
        String::new()
    } else {
        format!(": {msg}")
    };
    let (kind, text) = match (code, http) {
        (Some(Code::NotFound), _) | (None, Some(404)) => (
            DestErrorKind::NotFound,
            format!("GCP {op} of {name}: not found{detail}"),
        ),
        (Some(Code::AlreadyExists), _) | (None, Some(409)) => (
            DestErrorKind::Conflict,
            format!("GCP {op} of {name}: already exists{detail}"),
        ),
        (Some(Code::Unauthenticated), _) | (None, Some(401)) => (
            DestErrorKind::Auth,
            format!("GCP refused the credentials for the {op} of {name} (UNAUTHENTICATED){detail}"),
        ),
        (Some(Code::PermissionDenied), _) | (None, Some(403)) => (
            DestErrorKind::Auth,
            format!(
                "GCP denied the {op} of {name} (PERMISSION_DENIED: check the project id and the roles of the credentials){detail}"
            ),
        ),
        (Some(Code::ResourceExhausted), _) | (None, Some(429)) => (
            DestErrorKind::RateLimited,
            format!("GCP throttled the {op} of {name} (RESOURCE_EXHAUSTED){detail}"),
        ),
        (Some(Code::DeadlineExceeded), _) => (
            DestErrorKind::Timeout,
            format!("GCP {op} of {name} timed out{detail}"),
        ),
        (Some(Code::Unavailable | Code::Internal | Code::Unknown | Code::Aborted), _) => (
            DestErrorKind::Transient,
            format!(
                "GCP {op} of {name} failed (HTTP {}){detail}",
                http_text(http)
            ),
        ),
        (Some(Code::FailedPrecondition), _) => (
            DestErrorKind::Conflict,
            format!("GCP {op} of {name}: failed precondition{detail}"),
        ),
        (Some(Code::InvalidArgument | Code::OutOfRange), _) => (
            DestErrorKind::InvalidValue,
            format!("GCP rejected the {op} of {name} (INVALID_ARGUMENT){detail}"),
        ),
        (_, Some(s)) if s >= 500 => (
            DestErrorKind::Transient,
            format!("GCP {op} of {name} failed (HTTP {s}){detail}"),
        ),
        (None, None) if e.is_io() || e.is_connect() || e.is_transport() => (
            DestErrorKind::Transient,
            format!("cannot reach GCP Secret Manager for the {op} of {name}"),
        ),
        (c, s) => (
            DestErrorKind::Internal,
            format!(
                "GCP {op} of {name} failed ({}, HTTP {}){detail}",
                c.map(|c| c.name()).unwrap_or("no status"),
                http_text(s)
            ),
        ),
    };
    let mut err = what(kind, text);
    if kind == DestErrorKind::RateLimited
        && let Some(d) = retry_after
    {
        err = err.with_retry_after(d);
    }
    err
}

fn http_text(s: Option<u16>) -> String {
    s.map(|s| s.to_string()).unwrap_or_else(|| "-".into())
}

/// The wait the service asked for: a `Retry-After: <seconds>` header, or a `RetryInfo` detail.
fn retry_after(e: &Error) -> Option<Duration> {
    let header = e
        .http_headers()
        .and_then(|h| h.get("retry-after"))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    header.or_else(|| {
        e.status()?.details.iter().find_map(|d| match d {
            StatusDetails::RetryInfo(ri) => ri.retry_delay.as_ref().map(|d| {
                Duration::from_secs(u64::try_from(d.seconds()).unwrap_or(0))
                    + Duration::from_nanos(u64::try_from(d.nanos()).unwrap_or(0))
            }),
            _ => None,
        })
    })
}
