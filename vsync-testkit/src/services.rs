//! Where the local test servers are.
//!
//! `scripts/test-services up` starts them on 127.0.0.1 and `scripts/test-services env` prints the
//! `VSYNC_TEST_*` variables this module reads; `scripts/test` does both, and runs every test inside
//! `scripts/with-keychain`, which sets `VSYNC_TEST_KEYCHAIN=1`.
//!
//! | need | call | outside `scripts/test` | under `scripts/test` (`VSYNC_TEST_SERVICES=1`) |
//! |---|---|---|---|
//! | a test that may skip | [`s3`], [`moto`], [`vault`], [`azurite`] | `None`: print [`skip`] and return | `Some`, or a panic if a variable is missing |
//! | a test that must run | [`require_s3`], [`require_moto`], [`require_vault`], [`require_azurite`] | panic with the fix | the service |
//! | the OS keychain | [`keychain_available`], [`require_keychain`] | `false` / panic | `true` |
//!
//! So under `scripts/test` nothing skips silently: a missing service is a failure.
//!
//! ```no_run
//! use vsync_testkit::services;
//!
//! let Some(s3) = services::s3() else {
//!     return services::skip("s3 round trip", "VSYNC_TEST_S3_*");
//! };
//! assert!(s3.endpoint.starts_with("http://"));
//! ```

use std::env;
use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// What to run to get the servers; part of every panic message here.
pub const HOW_TO_RUN: &str = "run under scripts/test (or eval $(scripts/test-services env))";

/// The S3 server (SeaweedFS): checks SigV4 signatures, honours `If-None-Match: *` and `If-Match`.
/// Use path-style requests and allow plain http.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Service {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// A bucket that exists when the server starts.
    pub bucket: String,
    /// The admin identity's access key.
    pub access_key: String,
    /// The admin identity's secret key.
    pub secret_key: String,
    /// The region to sign for.
    pub region: String,
}

/// The moto server: AWS Secrets Manager (every AWS service, on one port). It checks no
/// signatures, so any credentials work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MotoService {
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    /// The region to use.
    pub region: String,
}

impl MotoService {
    /// Wipes every secret (and every other moto resource) in the server.
    pub fn reset(&self) -> io::Result<()> {
        let response = http_request("POST", &format!("{}/moto-api/reset", self.endpoint), &[])?;
        if response.status == 200 {
            Ok(())
        } else {
            Err(io::Error::other(format!(
                "moto reset answered HTTP {}",
                response.status
            )))
        }
    }
}

/// The Vault server (an OpenBao dev server): KV v2 mounted at `secret/`, unsealed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultService {
    /// `http://127.0.0.1:PORT`
    pub addr: String,
    /// A root token.
    pub token: String,
}

/// The Azure Blob Storage emulator (Azurite): checks Shared Key signatures, honours
/// `If-None-Match: *` and `If-Match`. Path-style: the account URL ends in `/<account>`.
#[derive(Clone, PartialEq, Eq)]
pub struct AzuriteService {
    /// The account URL, `http://127.0.0.1:PORT/devstoreaccount1`.
    pub endpoint: String,
    /// The storage account name.
    pub account: String,
    /// The account key (Azurite's published well-known key; `Debug` hides it all the same).
    pub key: String,
    /// A container that exists when the server starts.
    pub container: String,
}

impl std::fmt::Debug for AzuriteService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzuriteService")
            .field("endpoint", &self.endpoint)
            .field("account", &self.account)
            .field("container", &self.container)
            .finish_non_exhaustive()
    }
}

/// True when `scripts/test` (or `scripts/test-services env`) set `VSYNC_TEST_SERVICES=1`: every
/// service must then be reachable, and the accessors panic instead of returning `None`.
pub fn services_required() -> bool {
    env::var("VSYNC_TEST_SERVICES").is_ok_and(|v| v == "1")
}

/// The S3 server, or `None` when it is not configured outside `scripts/test`.
///
/// # Panics
/// When `VSYNC_TEST_SERVICES=1` but a `VSYNC_TEST_S3_*` variable is missing.
pub fn s3() -> Option<S3Service> {
    optional(read_s3(), services_required())
}

/// The S3 server, which this test cannot do without.
///
/// # Panics
/// When a `VSYNC_TEST_S3_*` variable is missing, with the command that provides it.
pub fn require_s3() -> S3Service {
    required(read_s3())
}

/// The moto server, or `None` when it is not configured outside `scripts/test`.
///
/// # Panics
/// When `VSYNC_TEST_SERVICES=1` but `VSYNC_TEST_MOTO_ENDPOINT` is missing.
pub fn moto() -> Option<MotoService> {
    optional(read_moto(), services_required())
}

/// The moto server, which this test cannot do without.
///
/// # Panics
/// When `VSYNC_TEST_MOTO_ENDPOINT` is missing, with the command that provides it.
pub fn require_moto() -> MotoService {
    required(read_moto())
}

/// The Vault server, or `None` when it is not configured outside `scripts/test`.
///
/// # Panics
/// When `VSYNC_TEST_SERVICES=1` but a `VSYNC_TEST_VAULT_*` variable is missing.
pub fn vault() -> Option<VaultService> {
    optional(read_vault(), services_required())
}

/// The Vault server, which this test cannot do without.
///
/// # Panics
/// When a `VSYNC_TEST_VAULT_*` variable is missing, with the command that provides it.
pub fn require_vault() -> VaultService {
    required(read_vault())
}

/// The Azurite server, or `None` when it is not configured outside `scripts/test`.
///
/// # Panics
/// When `VSYNC_TEST_SERVICES=1` but a `VSYNC_TEST_AZURITE_*` variable is missing.
pub fn azurite() -> Option<AzuriteService> {
    optional(read_azurite(), services_required())
}

/// The Azurite server, which this test cannot do without.
///
/// # Panics
/// When a `VSYNC_TEST_AZURITE_*` variable is missing, with the command that provides it.
pub fn require_azurite() -> AzuriteService {
    required(read_azurite())
}

/// True inside `scripts/with-keychain` (which `scripts/test` uses for every test): an unlocked
/// Secret Service on a private D-Bus session, and a private kernel session keyring.
pub fn keychain_available() -> bool {
    env::var("VSYNC_TEST_KEYCHAIN").is_ok_and(|v| v == "1")
}

/// Asserts that the OS keychain is usable.
///
/// # Panics
/// Outside `scripts/with-keychain`.
pub fn require_keychain() {
    assert!(
        keychain_available(),
        "this test needs the OS keychain (VSYNC_TEST_KEYCHAIN=1): run under scripts/test, \
         or wrap the command in scripts/with-keychain"
    );
}

/// Says on stderr that a test skipped itself, and why. Use only on the `None` branch of
/// [`s3`], [`moto`], [`vault`], [`azurite`] or a `false` [`keychain_available`].
pub fn skip(test: &str, missing: &str) {
    eprintln!("skipped: {test}: {missing} not set; {HOW_TO_RUN}");
}

/// A variable was missing: its name.
#[derive(Debug)]
struct Missing(&'static str);

fn var(name: &'static str) -> Result<String, Missing> {
    match env::var(name) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(Missing(name)),
    }
}

fn read_s3() -> Result<S3Service, Missing> {
    Ok(S3Service {
        endpoint: var("VSYNC_TEST_S3_ENDPOINT")?,
        bucket: var("VSYNC_TEST_S3_BUCKET")?,
        access_key: var("VSYNC_TEST_S3_ACCESS_KEY")?,
        secret_key: var("VSYNC_TEST_S3_SECRET_KEY")?,
        region: var("VSYNC_TEST_S3_REGION")?,
    })
}

fn read_moto() -> Result<MotoService, Missing> {
    Ok(MotoService {
        endpoint: var("VSYNC_TEST_MOTO_ENDPOINT")?,
        region: var("VSYNC_TEST_S3_REGION").unwrap_or_else(|_| "us-east-1".to_owned()),
    })
}

fn read_vault() -> Result<VaultService, Missing> {
    Ok(VaultService {
        addr: var("VSYNC_TEST_VAULT_ADDR")?,
        token: var("VSYNC_TEST_VAULT_TOKEN")?,
    })
}

fn read_azurite() -> Result<AzuriteService, Missing> {
    Ok(AzuriteService {
        endpoint: var("VSYNC_TEST_AZURITE_ENDPOINT")?,
        account: var("VSYNC_TEST_AZURITE_ACCOUNT")?,
        key: var("VSYNC_TEST_AZURITE_KEY")?,
        container: var("VSYNC_TEST_AZURITE_CONTAINER")?,
    })
}

fn optional<T>(read: Result<T, Missing>, services_required: bool) -> Option<T> {
    match read {
        Ok(service) => Some(service),
        Err(_) if !services_required => None,
        Err(Missing(name)) => {
            panic!("VSYNC_TEST_SERVICES=1 but {name} is not set: {HOW_TO_RUN}")
        }
    }
}

fn required<T>(read: Result<T, Missing>) -> T {
    match read {
        Ok(service) => service,
        Err(Missing(name)) => panic!("this test needs {name}: {HOW_TO_RUN}"),
    }
}

/// What [`http_request`] got back.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: u16,
    /// The body, lossily decoded as UTF-8.
    pub body: String,
}

/// A minimal HTTP/1.0 request over std's `TcpStream`, for health checks and resets against the
/// local servers. `http://host:port/path` URLs only; 5 s timeouts; no redirects, no TLS.
pub fn http_request(method: &str, url: &str, headers: &[(&str, &str)]) -> io::Result<HttpResponse> {
    http_send(method, url, headers, b"")
}

/// [`http_request`] with a request body (the fakes' `/_fake/` control endpoints take JSON).
pub fn http_send(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> io::Result<HttpResponse> {
    let invalid = |why: &str| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {why}"));
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid("not an http:// URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    let timeout = Some(Duration::from_secs(5));
    let mut stream = TcpStream::connect(authority)?;
    stream.set_read_timeout(timeout)?;
    stream.set_write_timeout(timeout)?;
    let mut request = format!(
        "{method} {path} HTTP/1.0\r\nHost: {authority}\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{url}: no HTTP status line"),
            )
        })?;
    Ok(HttpResponse {
        status,
        body: body.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_request_rejects_other_schemes() {
        let err = http_request("GET", "https://127.0.0.1:1/", &[]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn http_request_reads_status_and_body() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/health", listener.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            let mut buf = [0u8; 1024];
            let n = conn.read(&mut buf).unwrap();
            let request = String::from_utf8_lossy(&buf[..n]).into_owned();
            conn.write_all(b"HTTP/1.1 204 No Content\r\nX: y\r\n\r\nok")
                .unwrap();
            request
        });
        let response = http_request("GET", &url, &[("X-Vault-Token", "root")]).unwrap();
        assert_eq!(response.status, 204);
        assert_eq!(response.body, "ok");
        let request = server.join().unwrap();
        assert!(request.starts_with("GET /health HTTP/1.0\r\n"), "{request}");
        assert!(request.contains("X-Vault-Token: root\r\n"), "{request}");
    }

    #[test]
    fn optional_skips_only_when_services_are_not_required() {
        assert_eq!(optional::<()>(Err(Missing("VSYNC_TEST_X")), false), None);
        assert_eq!(optional(Ok(7), true), Some(7));
        let err = std::panic::catch_unwind(|| optional::<()>(Err(Missing("VSYNC_TEST_X")), true))
            .unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(
            msg.contains("VSYNC_TEST_SERVICES=1 but VSYNC_TEST_X") && msg.contains("scripts/test"),
            "{msg}"
        );
    }

    #[test]
    fn required_panics_with_the_fix() {
        let err =
            std::panic::catch_unwind(|| required::<()>(Err(Missing("VSYNC_TEST_X")))).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(
            msg.contains("VSYNC_TEST_X") && msg.contains("scripts/test"),
            "{msg}"
        );
    }
}
