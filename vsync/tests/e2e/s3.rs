//! The same loop against a real S3 server (SeaweedFS from scripts/test-services): conditional
//! writes under a real race, a connection cut in the middle of a push, a pull killed mid-download.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::harness::{World, exactly_one_push_wins};

pub(crate) struct S3 {
    pub(crate) endpoint: String,
    pub(crate) bucket: String,
    pub(crate) access: String,
    pub(crate) secret: String,
}

fn s3() -> Option<S3> {
    let get = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    match (
        get("VSYNC_TEST_S3_ENDPOINT"),
        get("VSYNC_TEST_S3_BUCKET"),
        get("VSYNC_TEST_S3_ACCESS_KEY"),
        get("VSYNC_TEST_S3_SECRET_KEY"),
    ) {
        (Some(endpoint), Some(bucket), Some(access), Some(secret)) => Some(S3 {
            endpoint,
            bucket,
            access,
            secret,
        }),
        _ => {
            assert!(
                std::env::var("VSYNC_TEST_SERVICES").as_deref() != Ok("1"),
                "VSYNC_TEST_SERVICES=1 but no S3 variables"
            );
            eprintln!("skipped: no S3 server (eval $(scripts/test-services env))");
            None
        }
    }
}

/// The S3 server and a machine set up on it (`prod`), when the server and a keychain session
/// are there (else the test skips, with a note).
pub(crate) fn s3_setup() -> Option<(S3, World)> {
    if !crate::harness::keychain_ready() {
        return None;
    }
    let s3 = s3()?;
    let w = s3_world(&s3, &s3.endpoint);
    Some((s3, w))
}

fn s3_world(s3: &S3, endpoint: &str) -> World {
    let mut w = World::new();
    w.set_env("AWS_ACCESS_KEY_ID", &s3.access);
    w.set_env("AWS_SECRET_ACCESS_KEY", &s3.secret);
    w.secret(&s3.secret);
    w.vsync(&[
        "init",
        "prod",
        "--store",
        &format!("s3://{}", s3.bucket),
        "--s3-endpoint",
        endpoint,
        "--s3-region",
        "us-east-1",
        "--yes",
    ])
    .ok();
    w
}

#[test]
fn s3_push_pull_versions_audit() {
    let Some((_, mut a)) = s3_setup() else {
        return;
    };
    a.write_env("prod", &[("DB_PASSWORD", "pw-on-s3-9f8e7d")]);
    std::fs::write(a.vault("prod").join("blob.bin"), vec![7u8; 5 << 20]).unwrap();
    a.vsync(&["push", "prod"]).ok();
    let b = World::second_machine(&a);
    b.vsync(&["pull", "prod"]).ok();
    let blob = std::fs::read(b.vault("prod").join("blob.bin")).unwrap();
    assert_eq!(blob.len(), 5 << 20);
    assert_eq!(b.env_text("prod"), a.env_text("prod"));
    let audit = a.vsync(&["audit", "prod", "--csv"]).ok();
    assert!(audit.stdout.starts_with(
        "ts,action,version_ts,hostname,local_ip,os_user,git_email,vsync_version,bun_version,meta\n"
    ));
    for action in [",push,", ",pull,"] {
        let rows = audit.stdout.lines().filter(|l| l.contains(action));
        assert_eq!(rows.count(), 1, "{action}");
    }
    a.vsync(&["doctor", "prod"])
        .ok()
        .stdout_has("ok    prod: conditional writes");
}

#[test]
fn s3_eight_concurrent_pushes_exactly_one_wins() {
    let Some((_, mut a)) = s3_setup() else {
        return;
    };
    a.push_env("prod", &[("K", "base-value-0000")]);
    let machines: Vec<World> = (0..8).map(|_| World::second_machine(&a)).collect();
    exactly_one_push_wins(&a, machines, || World::second_machine(&a));
}

/// A TCP proxy in front of the S3 server that misbehaves on one kind of request.
fn proxy(upstream: &str, cut_when: fn(&str) -> bool, stall: bool) -> (String, Arc<AtomicBool>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let up = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let tripped = Arc::new(AtomicBool::new(false));
    let t = tripped.clone();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let up = up.clone();
            let t = t.clone();
            std::thread::spawn(move || pipe(client, &up, cut_when, stall, &t));
        }
    });
    (format!("http://{addr}"), tripped)
}

fn pipe(
    mut client: TcpStream,
    upstream: &str,
    cut_when: fn(&str) -> bool,
    stall: bool,
    tripped: &AtomicBool,
) {
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return;
    };
    let mut c2 = client.try_clone().unwrap();
    let mut s2 = server.try_clone().unwrap();
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut s2, &mut c2);
        let _ = c2.shutdown(std::net::Shutdown::Both);
    });
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match client.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let head = String::from_utf8_lossy(&buf[..n.min(256)]).into_owned();
        let first_line = head.lines().next().unwrap_or("").to_owned();
        if first_line.contains(" HTTP/1") && cut_when(&first_line) {
            tripped.store(true, Ordering::SeqCst);
            if stall {
                std::thread::sleep(Duration::from_secs(3600));
            }
            let _ = client.shutdown(std::net::Shutdown::Both);
            let _ = server.shutdown(std::net::Shutdown::Both);
            return;
        }
        if server.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = server.shutdown(std::net::Shutdown::Write);
}

fn config_endpoint(w: &World, endpoint: &str) {
    // Point this machine's config at another endpoint (the proxy), keeping everything else.
    w.edit_config("prod", |v| {
        v["s3"]["endpoint"] = serde_json::Value::String(endpoint.to_owned())
    });
}

#[test]
fn s3_connection_cut_before_pointer_update_keeps_latest_complete() {
    let Some((s3, mut a)) = s3_setup() else {
        return;
    };
    a.push_env("prod", &[("K", "first-good-value")]);
    let good = a.latest_version("prod");
    let (proxied, tripped) = proxy(
        &s3.endpoint,
        |line| line.starts_with("PUT ") && line.contains("/latest "),
        false,
    );
    config_endpoint(&a, &proxied);
    a.write_env("prod", &[("K", "second-never-landed")]);
    let r = a.vsync(&["push", "prod"]);
    assert!(
        tripped.load(Ordering::SeqCst),
        "the proxy saw the pointer update"
    );
    assert_ne!(r.code, 0, "{}", r.stderr);
    config_endpoint(&a, &s3.endpoint);
    assert_eq!(
        a.latest_version("prod"),
        good,
        "latest still names the previous complete bundle"
    );
    let b = World::second_machine(&a);
    b.vsync(&["pull", "prod"]).ok();
    assert_eq!(b.env_text("prod"), "K=first-good-value\n");
}

#[test]
fn s3_pull_killed_mid_download_leaves_vault_byte_for_byte() {
    let Some((s3, mut a)) = s3_setup() else {
        return;
    };
    a.push_env("prod", &[("K", "remote-value-1")]);
    let mut b = World::second_machine(&a);
    b.vsync(&["pull", "prod"]).ok();
    a.push_env("prod", &[("K", "remote-value-2")]);
    let before = std::fs::read(b.vault("prod").join(".env.prod")).unwrap();
    let (proxied, tripped) = proxy(
        &s3.endpoint,
        |line| line.starts_with("GET ") && line.contains("/versions/"),
        true,
    );
    config_endpoint(&b, &proxied);
    b.secret("remote-value-2");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vsync"))
        .args(["pull", "prod"])
        .current_dir(&b.repo_dir)
        .env("HOME", &b.home)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !tripped.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(tripped.load(Ordering::SeqCst), "pull reached the download");
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(
        std::fs::read(b.vault("prod").join(".env.prod")).unwrap(),
        before
    );
    let entries: Vec<_> = std::fs::read_dir(b.vault("prod"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
}

#[test]
fn s3_unreachable_endpoint_and_wrong_credentials_fail_fast_and_clearly() {
    let Some((s3, mut w)) = s3_setup() else {
        return;
    };
    w.write_env("prod", &[("K", "value-unreach")]);
    // a closed port
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    config_endpoint(&w, &format!("http://{closed}"));
    let start = std::time::Instant::now();
    let r = w.vsync(&["push", "prod"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("unreachable") || r.stderr.contains("cannot reach"),
        "{}",
        r.stderr
    );
    assert!(
        start.elapsed() < Duration::from_secs(60),
        "took {:?}",
        start.elapsed()
    );
    // wrong secret key
    config_endpoint(&w, &s3.endpoint);
    w.edit_config("prod", |v| {
        v["s3"]["secretAccessKey"] = serde_json::Value::String("definitely-wrong-secret".into())
    });
    w.secret("definitely-wrong-secret");
    let r = w.vsync(&["push", "prod"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.to_lowercase().contains("denied") || r.stderr.contains("credentials"),
        "{}",
        r.stderr
    );
}
