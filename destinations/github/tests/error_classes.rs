//! One test per error class of the `github` destination, against tests/fakes/github_fake.py:
//! the kind (and so whether the engine retries) comes from the HTTP status and the transport
//! error's type, never from message text. (Timeouts: the unit test in src/errors.rs.)

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;

use vsync_dest_api::{Ctx, DestError, DestErrorKind, Destination, Routing};
use vsync_dest_github::{EnvSource, GitHub};
use vsync_testkit::fakes::{PythonFake, free_port};

const TOKEN: &str = "class-token";

fn start() -> Option<PythonFake> {
    let args = [
        "--token",
        TOKEN,
        "--repo",
        "acme/app:dev",
        "--repo",
        "acme/down",
    ];
    PythonFake::spawn("github_fake.py", &["nacl.public"], &args)
}

fn github(api: &str, token: &str) -> GitHub {
    let env = [("GITHUB_API_URL", api), ("GH_TOKEN", token)];
    let map: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    GitHub::with_env(EnvSource::Fixed(map))
}

/// Repository secrets of `repo`.
fn scope(repo: &str) -> Routing {
    let mut r = Routing::new();
    r.insert("repo".into(), repo.into());
    r.insert("scope".into(), "repository".into());
    r
}

/// POST a JSON body to one of the fake's control endpoints.
fn control(fake: &PythonFake, path: &str, json: &str) {
    let mut s = TcpStream::connect(("127.0.0.1", fake.port())).unwrap();
    let head = format!("POST /_fake/{path} HTTP/1.0\r\nContent-Type: application/json\r\n");
    write!(s, "{head}Content-Length: {}\r\n\r\n{json}", json.len()).unwrap();
    let mut reply = String::new();
    s.read_to_string(&mut reply).unwrap();
    assert!(
        reply.starts_with("HTTP/1.0 200") || reply.starts_with("HTTP/1.1 200"),
        "{reply}"
    );
}

async fn preflight(d: &GitHub, repo: &str) -> DestError {
    d.preflight(&scope(repo), &Ctx::new("dev", "app"))
        .await
        .unwrap_err()
}

#[tokio::test]
async fn rejected_token_is_auth_and_final() {
    let Some(f) = start() else { return };
    let e = preflight(&github(&f.url(), "not-the-token"), "acme/app").await;
    assert_eq!(e.kind, DestErrorKind::Auth, "{e}");
    assert!(!e.retryable());
    assert!(!e.message.contains("not-the-token"), "{e}");
}

#[tokio::test]
async fn forbidden_without_rate_limit_headers_is_auth() {
    let Some(f) = start() else { return };
    control(&f, "fail", r#"{"count":1,"status":403}"#);
    let e = preflight(&github(&f.url(), TOKEN), "acme/app").await;
    assert_eq!(e.kind, DestErrorKind::Auth, "{e}");
}

#[tokio::test]
async fn throttling_is_rate_limited_with_the_servers_delay() {
    let Some(f) = start() else { return };
    control(&f, "fail", r#"{"count":1,"status":429,"retry_after":7}"#);
    let e = preflight(&github(&f.url(), TOKEN), "acme/app").await;
    assert_eq!(e.kind, DestErrorKind::RateLimited, "{e}");
    assert_eq!(e.retry_after, Some(std::time::Duration::from_secs(7)));
    assert!(e.retryable());
}

#[tokio::test]
async fn server_errors_are_transient() {
    let Some(f) = start() else { return };
    control(&f, "fail", r#"{"repo":"acme/down","status":502}"#);
    let e = preflight(&github(&f.url(), TOKEN), "acme/down").await;
    assert_eq!(e.kind, DestErrorKind::Transient, "{e}");
    assert!(e.retryable());
}

#[tokio::test]
async fn unknown_repository_is_not_found() {
    let Some(f) = start() else { return };
    let e = preflight(&github(&f.url(), TOKEN), "acme/nope").await;
    assert_eq!(e.kind, DestErrorKind::NotFound, "{e}");
    assert!(!e.retryable());
}

#[tokio::test]
async fn unreachable_api_is_transient() {
    // a port nothing listens on: the connection is refused, no HTTP answer at all
    let e = preflight(
        &github(&format!("http://127.0.0.1:{}", free_port()), TOKEN),
        "acme/app",
    )
    .await;
    assert_eq!(e.kind, DestErrorKind::Transient, "{e}");
    assert!(e.message.contains("cannot reach the GitHub API"), "{e}");
}
