//! Turning an `object_store` error into a [`StoreError`] that names the store, never a credential.
//!
//! Classification uses data only: the `object_store::Error` variant, what the server answered
//! ([`ServerReply`]: status and service error code), and the typed causes in the error's source
//! chain (`HttpError` kinds, `std::io::Error` kinds, [`NameNotResolved`]). No error's text is
//! searched (a test in tests/vault/error_classes.rs keeps it so).

use std::io::ErrorKind as IoKind;

use object_store::client::{HttpError, HttpErrorKind};

use super::server_reply::{NameNotResolved, ServerReply};
use crate::error::StoreError;

/// Service error codes that mean the credentials or the signature were refused.
const ACCESS_CODES: [&str; 9] = [
    "AccessDenied",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "InvalidToken",
    "ExpiredToken",
    "AuthorizationHeaderMalformed",
    "AuthenticationFailed",
    "AuthorizationFailure",
    "AuthenticationRequired",
];

/// Service error codes that mean the bucket (container) itself is missing.
fn is_bucket_missing(code: Option<&str>) -> bool {
    matches!(code, Some("NoSuchBucket" | "ContainerNotFound"))
}

/// Whether a 404 names a missing bucket rather than a missing object.
pub(super) fn bucket_missing(reply: Option<&ServerReply>) -> bool {
    is_bucket_missing(reply.and_then(|r| r.code.as_deref()))
}

/// The typed causes found in an error's source chain.
#[derive(Debug, Default)]
struct Causes {
    http: Option<HttpErrorKind>,
    io: Option<IoKind>,
    dns: bool,
}

impl Causes {
    fn of(e: &object_store::Error) -> Self {
        let mut out = Self::default();
        let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
        while let Some(s) = src {
            if let Some(h) = s.downcast_ref::<HttpError>() {
                out.http = Some(h.kind());
            }
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                // `io::Error::source` skips the error it wraps; the innermost kind is the cause
                // (rustls's InvalidData inside hyper's Other, for instance).
                let mut inner = io;
                while let Some(next) = inner
                    .get_ref()
                    .and_then(|e| e.downcast_ref::<std::io::Error>())
                {
                    inner = next;
                }
                out.io = Some(inner.kind());
                if inner.kind() == IoKind::ConnectionRefused && out.http.is_none() {
                    out.http = Some(HttpErrorKind::Connect);
                }
            }
            if s.downcast_ref::<NameNotResolved>().is_some() {
                out.dns = true;
            }
            src = s.source();
        }
        out
    }

    /// A short reason when the request never got an answer from the server.
    fn unreachable_reason(&self) -> Option<&'static str> {
        let by_kind = match self.http? {
            HttpErrorKind::Connect => "connection failed",
            HttpErrorKind::Timeout => "timed out",
            HttpErrorKind::Interrupted => "connection interrupted",
            _ => return None,
        };
        Some(if self.io == Some(IoKind::ConnectionRefused) {
            "connection refused"
        } else if self.dns {
            "DNS lookup failed"
        } else if self.io == Some(IoKind::InvalidData) {
            // rustls reports a failed handshake (bad certificate, wrong protocol) as InvalidData.
            "TLS handshake failed"
        } else {
            by_kind
        })
    }
}

/// Who is asking: the bucket's label and endpoint, and what to check on an access error.
pub(super) struct Asker<'a> {
    pub(super) label: &'a str,
    pub(super) endpoint: &'a str,
    pub(super) access_fix: &'static str,
}

pub(super) fn classify(
    asker: &Asker<'_>,
    op: &'static str,
    key: &str,
    e: object_store::Error,
    reply: Option<ServerReply>,
) -> StoreError {
    use object_store::Error as E;
    let store = asker.label.to_owned();
    let key_s = key.to_owned();
    let causes = Causes::of(&e);
    let status = reply.as_ref().map(|r| r.status);
    let code = reply.and_then(|r| r.code);
    match e {
        E::NotFound { .. } if is_bucket_missing(code.as_deref()) => {
            StoreError::BucketMissing { store }
        }
        E::NotFound { .. } => StoreError::NotFound { store, key: key_s },
        E::AlreadyExists { .. } => StoreError::AlreadyExists { store, key: key_s },
        E::Precondition { .. } => StoreError::Conflict { store, key: key_s },
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => StoreError::AccessDenied {
            store,
            code: code.unwrap_or_else(|| "HTTP 401/403".to_owned()),
            fix: asker.access_fix,
        },
        E::NotImplemented { .. } | E::NotSupported { .. } => StoreError::Unsupported {
            store,
            what: match op {
                "put" => "this write mode",
                _ => "this operation",
            },
        },
        _ => {
            if let Some(c) = code.as_deref().filter(|c| ACCESS_CODES.contains(c)) {
                return StoreError::AccessDenied {
                    store,
                    code: c.to_owned(),
                    fix: asker.access_fix,
                };
            }
            if is_bucket_missing(code.as_deref()) {
                return StoreError::BucketMissing { store };
            }
            if code.is_none()
                && status.is_none()
                && let Some(reason) = causes.unreachable_reason()
            {
                return StoreError::Unreachable {
                    endpoint: asker.endpoint.to_owned(),
                    reason: reason.to_owned(),
                };
            }
            let detail = match (code, status) {
                (Some(c), Some(s)) => format!("HTTP {s} {c}"),
                (Some(c), None) => c,
                (None, Some(s)) => format!("HTTP {s}"),
                (None, None) => match (causes.http, causes.io) {
                    (Some(k), _) => format!("request failed ({k:?})"),
                    (None, Some(k)) => format!("I/O error: {k}"),
                    (None, None) => "request failed".to_owned(),
                },
            };
            StoreError::Other {
                store,
                op,
                key: key_s,
                detail,
            }
        }
    }
}
