//! Our own fake servers (Python scripts under `tests/fakes/`), each spawned per test on a free
//! loopback port and killed on drop.
//!
//! The fakes speak the real REST API of a cloud service that has no local emulator (GitHub, GCP
//! Secret Manager, Azure Key Vault), so the real SDK clients can be pointed at them. They need the
//! `.ci/venv` Python (`scripts/test-services install`); without it a test skips with a note,
//! unless `VSYNC_TEST_SERVICES=1`, where a missing interpreter is a failure.
//!
//! ```no_run
//! use vsync_testkit::fakes::PythonFake;
//!
//! let Some(fake) = PythonFake::spawn("gcp_sm_fake.py", &[], &[]) else { return };
//! assert!(fake.url().starts_with("http://127.0.0.1:"));
//! ```

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::vectors::repo_root;

/// A running fake; the process is killed when this drops.
#[derive(Debug)]
pub struct PythonFake {
    child: Child,
    port: u16,
    scheme: &'static str,
}

impl Drop for PythonFake {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `.ci/venv` interpreter when it can import every module in `modules`, else a system
/// `python3` that can.
pub fn python_with(modules: &[&str]) -> Option<PathBuf> {
    let probe = if modules.is_empty() {
        "pass".to_owned()
    } else {
        format!("import {}", modules.join(", "))
    };
    let venv = repo_root().join(".ci/venv/bin/python3");
    [venv, PathBuf::from("python3")].into_iter().find(|p| {
        Command::new(p)
            .args(["-c", &probe])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    })
}

/// A free loopback port (bound, then released: good enough for a test that binds it at once).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a loopback port")
}

impl PythonFake {
    /// Starts `tests/fakes/<script> <port> <args…>` with a python that has `modules`, waits until
    /// the port accepts connections. `None` (after a note on stderr) when no such python exists
    /// and `VSYNC_TEST_SERVICES` is not `1`.
    pub fn spawn(script: &str, modules: &[&str], args: &[&str]) -> Option<Self> {
        Self::spawn_with_scheme(script, modules, args, "http")
    }

    /// As [`PythonFake::spawn`], for a fake that serves TLS (its `url` starts with `https://`).
    pub fn spawn_tls(script: &str, modules: &[&str], args: &[&str]) -> Option<Self> {
        Self::spawn_with_scheme(script, modules, args, "https")
    }

    fn spawn_with_scheme(
        script: &str,
        modules: &[&str],
        args: &[&str],
        scheme: &'static str,
    ) -> Option<Self> {
        let Some(py) = python_with(modules) else {
            let need = format!("python3 with {modules:?}");
            if std::env::var("VSYNC_TEST_SERVICES").as_deref() == Ok("1") {
                panic!("VSYNC_TEST_SERVICES=1 but no {need} (run scripts/test-services install)");
            }
            eprintln!("note: skipped ({need} not found: run `scripts/test-services install`)");
            return None;
        };
        let port = free_port();
        let mut child = Command::new(py)
            .arg(repo_root().join("tests/fakes").join(script))
            .arg(port.to_string())
            .args(args)
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {script}: {e}"));
        let t0 = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{script} exited before listening: {status}");
            }
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "{script} did not listen on :{port} within 15 s"
            );
            std::thread::sleep(Duration::from_millis(30));
        }
        Some(Self {
            child,
            port,
            scheme,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>` (or `https://` for [`PythonFake::spawn_tls`]).
    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }
}

/// The GCS fake (`tests/fakes/gcs_fake.py`) serving bucket `vsync-test`. It writes into `dir`
/// the key file of the service account it trusts (`sa.json`) and of one it does not
/// (`other-sa.json`).
pub fn gcs_fake(dir: &Path) -> Option<PythonFake> {
    let sa = dir.join("sa.json");
    let other = dir.join("other-sa.json");
    PythonFake::spawn(
        "gcs_fake.py",
        &["cryptography"],
        &[
            "--bucket",
            "vsync-test",
            "--service-account-out",
            sa.to_str()?,
            "--untrusted-service-account-out",
            other.to_str()?,
        ],
    )
}
