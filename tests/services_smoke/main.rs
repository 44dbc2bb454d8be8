//! Do the local test servers and the keychain wrapper answer? Run by `scripts/test` (which starts
//! the servers and wraps the run in `scripts/with-keychain`); alone, it reports its checks skipped:
//!
//! ```text
//! cargo test -p vsync-tests --test services_smoke                      # all skipped
//! scripts/test -p vsync-tests --test services_smoke                    # all run
//! ```
//!
//! Under `VSYNC_TEST_SERVICES=1` a server that does not answer is a failure, never a skip.
//! The closing line is `services_smoke: N passed, M failed, K skipped`; the exit status is 1 when
//! any check failed. A first non-flag argument filters checks by name.

// Printing is allowed here: a test says on the console which server it used or skipped.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::process::{Command, ExitCode, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use vsync_testkit::services::{self, HOW_TO_RUN, http_request};

enum Outcome {
    Passed,
    Skipped(String),
}

type Check = fn() -> Result<Outcome, String>;

const CHECKS: &[(&str, Check)] = &[
    (
        "s3_answers_and_checks_signatures",
        s3_answers_and_checks_signatures,
    ),
    ("moto_answers_and_resets", moto_answers_and_resets),
    ("vault_answers_with_kv2", vault_answers_with_kv2),
    ("secret_service_round_trip", secret_service_round_trip),
    ("kernel_keyring_round_trip", kernel_keyring_round_trip),
];

fn main() -> ExitCode {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let selected: Vec<_> = CHECKS
        .iter()
        .filter(|(name, _)| filter.as_ref().is_none_or(|f| name.contains(f.as_str())))
        .collect();
    println!("\nrunning {} checks", selected.len());
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    for (name, check) in selected {
        let outcome = panic::catch_unwind(AssertUnwindSafe(check)).unwrap_or_else(|payload| {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "panicked".to_owned());
            Err(msg)
        });
        match outcome {
            Ok(Outcome::Passed) => {
                passed += 1;
                println!("check {name} ... ok");
            }
            Ok(Outcome::Skipped(why)) => {
                skipped += 1;
                println!("check {name} ... skipped: {why}");
            }
            Err(why) => {
                failed += 1;
                println!("check {name} ... FAILED: {why}");
            }
        }
    }
    println!("services_smoke: {passed} passed, {failed} failed, {skipped} skipped");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn skipped(what: &str) -> Result<Outcome, String> {
    Ok(Outcome::Skipped(format!("{what} not set; {HOW_TO_RUN}")))
}

/// GET `url` (with `headers`) and demand `status`; returns the body.
fn expect_status(url: &str, headers: &[(&str, &str)], status: u16) -> Result<String, String> {
    let response = http_request("GET", url, headers).map_err(|e| format!("GET {url}: {e}"))?;
    if response.status == status {
        Ok(response.body)
    } else {
        Err(format!(
            "GET {url}: HTTP {} (wanted {status}): {}",
            response.status,
            response.body.trim()
        ))
    }
}

fn s3_answers_and_checks_signatures() -> Result<Outcome, String> {
    let Some(s3) = services::s3() else {
        return skipped("VSYNC_TEST_S3_*");
    };
    expect_status(&format!("{}/healthz", s3.endpoint), &[], 200)?;
    // An unsigned listing of the bucket must be refused: the server checks credentials.
    let body = expect_status(&format!("{}/{}", s3.endpoint, s3.bucket), &[], 403)?;
    if !body.contains("AccessDenied") {
        return Err(format!(
            "unsigned listing refused without AccessDenied: {body}"
        ));
    }
    Ok(Outcome::Passed)
}

fn moto_answers_and_resets() -> Result<Outcome, String> {
    let Some(moto) = services::moto() else {
        return skipped("VSYNC_TEST_MOTO_ENDPOINT");
    };
    expect_status(&format!("{}/moto-api/", moto.endpoint), &[], 200)?;
    moto.reset().map_err(|e| e.to_string())?;
    Ok(Outcome::Passed)
}

fn vault_answers_with_kv2() -> Result<Outcome, String> {
    let Some(vault) = services::vault() else {
        return skipped("VSYNC_TEST_VAULT_*");
    };
    let health = expect_status(&format!("{}/v1/sys/health", vault.addr), &[], 200)?;
    if !health.contains("\"sealed\":false") {
        return Err(format!("vault is sealed: {health}"));
    }
    let mount = expect_status(
        &format!("{}/v1/sys/mounts/secret", vault.addr),
        &[("X-Vault-Token", &vault.token)],
        200,
    )?;
    if !mount.contains("\"version\":\"2\"") {
        return Err(format!("secret/ is not KV v2: {mount}"));
    }
    Ok(Outcome::Passed)
}

/// A name no other run uses at the same time.
fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("{prefix}-{}-{nanos}", std::process::id())
}

/// Runs `program args`, feeding `stdin`; returns stdout, or an error with stderr.
fn run(program: &str, args: &[&str], stdin: &str) -> Result<String, String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{program}: {e}"))?;
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin.as_bytes())
        .map_err(|e| format!("{program}: {e}"))?;
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{program}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{program} {}: {}: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn secret_service_round_trip() -> Result<Outcome, String> {
    if !services::keychain_available() {
        return skipped("VSYNC_TEST_KEYCHAIN");
    }
    let account = unique("smoke");
    let attrs = ["service", "tools.vsync.smoke", "account", account.as_str()];
    let store: Vec<&str> = ["store", "--label=vsync smoke"]
        .into_iter()
        .chain(attrs)
        .collect();
    let lookup: Vec<&str> = ["lookup"].into_iter().chain(attrs).collect();
    let clear: Vec<&str> = ["clear"].into_iter().chain(attrs).collect();
    run("secret-tool", &store, "s3cr3t value")?;
    let value = run("secret-tool", &lookup, "")?;
    if value != "s3cr3t value" {
        return Err(format!("secret-tool lookup returned {value:?}"));
    }
    run("secret-tool", &clear, "")?;
    if run("secret-tool", &lookup, "").is_ok() {
        return Err("the secret is still there after secret-tool clear".to_owned());
    }
    Ok(Outcome::Passed)
}

fn kernel_keyring_round_trip() -> Result<Outcome, String> {
    if !services::keychain_available() {
        return skipped("VSYNC_TEST_KEYCHAIN");
    }
    let name = unique("vsync-smoke");
    let id = run("keyctl", &["padd", "user", &name, "@s"], "s3cr3t")?;
    let id = id.trim();
    let value = run("keyctl", &["pipe", id], "")?;
    run("keyctl", &["unlink", id, "@s"], "")?;
    if value != "s3cr3t" {
        return Err(format!("keyctl pipe returned {value:?}"));
    }
    Ok(Outcome::Passed)
}
