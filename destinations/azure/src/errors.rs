//! azure_core errors → the docs/sync-contract.md §15.7 kinds. Messages name the secret and the status, never a value
//! (Key Vault's error messages carry names, not values).

use std::error::Error as StdError;
use std::fmt;
use std::io;
use std::time::Duration;

use azure_core::error::ErrorKind;
use azure_core::http::headers::{HeaderName, RETRY_AFTER};
use vsync_dest_api::{DestError, DestErrorKind};

use crate::config::AzureConfig;

/// What a failed request was doing; a request without a body can only be refused for its URL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    Read,
    Write,
    Delete,
    List,
}

impl Op {
    fn has_body(self) -> bool {
        self == Self::Write
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Read => "read",
            Self::Write => "write",
            Self::Delete => "delete",
            Self::List => "list",
        })
    }
}

/// Whether the chain of causes holds rustls' refusal of the server's certificate. The TLS layer
/// reports it inside `io::Error`s (nested), whose `source` skips the error they wrap, so the
/// walk steps into them.
pub(crate) fn untrusted_certificate(e: &(dyn StdError + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if let Some(rustls::Error::InvalidCertificate(_)) = c.downcast_ref::<rustls::Error>() {
            return true;
        }
        cause = match c.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => c.source(),
        };
    }
    false
}

/// What the HTTP status and Key Vault error code of a failure were, if it was a response.
pub(crate) fn status_code(e: &azure_core::Error) -> (Option<u16>, Option<String>) {
    match e.kind() {
        ErrorKind::HttpResponse {
            status, error_code, ..
        } => (Some(u16::from(*status)), error_code.clone()),
        _ => (None, None),
    }
}

fn retry_after(e: &azure_core::Error) -> Option<Duration> {
    let ErrorKind::HttpResponse {
        raw_response: Some(raw),
        ..
    } = e.kind()
    else {
        return None;
    };
    let h = raw.headers();
    let ms = |n: &'static str| {
        h.get_optional_str(&HeaderName::from_static(n))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_millis)
    };
    ms("retry-after-ms")
        .or_else(|| ms("x-ms-retry-after-ms"))
        .or_else(|| {
            h.get_optional_str(&RETRY_AFTER)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs)
        })
}

/// The error for a name that is soft-deleted: Key Vault keeps it reserved until recovered or purged.
pub(crate) fn soft_deleted(cfg: &AzureConfig, name: &str) -> DestError {
    let (recover, purge) = cfg.recover_purge_commands(name);
    DestError::new(
        DestErrorKind::Conflict,
        format!(
            "Key Vault secret {name} is deleted but recoverable, so its name cannot be reused; \
             recover it (`{recover}`) and sync again, or purge it for good (`{purge}`)"
        ),
    )
    .with_key(name)
}

/// The error and its causes on one line (reqwest's top-level message hides the TLS reason).
fn chain(e: &azure_core::Error) -> String {
    let mut out = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    // one line: identity errors append a troubleshooting link on a new line
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Maps an SDK failure of `op` on the secret `key` (None: the vault as a whole, e.g. a list).
pub(crate) fn map(
    e: &azure_core::Error,
    cfg: &AzureConfig,
    key: Option<&str>,
    op: Op,
) -> DestError {
    let err = map_kind(e, cfg, key.unwrap_or("the secrets"), op);
    match key {
        Some(k) => err.with_key(k),
        None => err,
    }
}

fn map_kind(e: &azure_core::Error, cfg: &AzureConfig, name: &str, op: Op) -> DestError {
    let vault = &cfg.vault_url;
    let (status, code) = status_code(e);
    let (kind, msg) = match (e.kind(), status, code.as_deref()) {
        (ErrorKind::Credential, _, _) => (
            DestErrorKind::Auth,
            format!("azure: could not get a token for {vault}: {}", chain(e)),
        ),
        (_, Some(401), _) => (
            DestErrorKind::Auth,
            format!(
                "Key Vault {vault} refused the {op} of {name} (401 {}): the token was not accepted; check the tenant and credentials",
                code.as_deref().unwrap_or("Unauthorized")
            ),
        ),
        (_, Some(403), _) => (
            DestErrorKind::Auth,
            format!(
                "Key Vault {vault} forbids the {op} of {name} (403): the identity needs secret get/list/set/delete rights (e.g. the Key Vault Secrets Officer role): {e}"
            ),
        ),
        (_, Some(404), _) => (
            DestErrorKind::NotFound,
            format!("Key Vault secret {name} not found in {vault}"),
        ),
        (_, Some(409), _) => return soft_deleted(cfg, name),
        (_, Some(429), _) => {
            let err = DestError::new(
                DestErrorKind::RateLimited,
                format!("Key Vault {vault} throttled the {op} of {name} (429)"),
            );
            return match retry_after(e) {
                Some(d) => err.with_retry_after(d),
                None => err,
            };
        }
        // a request without a body (read, delete) can only be refused for its name
        (_, Some(400), Some("BadParameter")) if !op.has_body() => (
            DestErrorKind::InvalidName,
            format!("Key Vault rejected the name {name}: {e}"),
        ),
        (_, Some(400), _) => (
            DestErrorKind::InvalidValue,
            format!("Key Vault rejected the {op} of {name} (400): {e}"),
        ),
        (_, Some(s), _) if s >= 500 => (
            DestErrorKind::Transient,
            format!("Key Vault {vault}: the {op} of {name} failed with HTTP {s}"),
        ),
        // not transient: retrying cannot make an untrusted certificate trusted
        (ErrorKind::Connection | ErrorKind::Io, _, _) if untrusted_certificate(e) => (
            DestErrorKind::Config,
            format!(
                "Key Vault {vault}: TLS certificate not trusted ({}); a private CA can be added with VSYNC_AZURE_CA_FILE",
                chain(e)
            ),
        ),
        (ErrorKind::Connection | ErrorKind::Io, _, _) => (
            DestErrorKind::Transient,
            format!(
                "cannot reach Key Vault {vault} for the {op} of {name}: {}",
                chain(e)
            ),
        ),
        (_, Some(s), _) => (
            DestErrorKind::Internal,
            format!(
                "Key Vault {vault}: the {op} of {name} failed with HTTP {s} ({})",
                code.as_deref().unwrap_or("no error code")
            ),
        ),
        // The SDK's own refusals before an answer counts (the 401 challenge's scope or
        // audience does not fit the vault URL): how the vault is addressed, not a bug.
        (ErrorKind::Other | ErrorKind::DataConversion, None, _) => {
            (DestErrorKind::Config, format!("Key Vault {vault}: {e}"))
        }
        _ => (
            DestErrorKind::Internal,
            format!("Key Vault {vault}: the {op} of {name} failed: {e}"),
        ),
    };
    DestError::new(kind, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_certificate_is_found_inside_nested_io_errors() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let nested = io::Error::other(io::Error::new(io::ErrorKind::InvalidData, tls));
        assert!(untrusted_certificate(&nested));
        // a message that only mentions a certificate is not one
        let text = io::Error::other("certificate? invalid peer certificate");
        assert!(!untrusted_certificate(&text));
    }
}
