//! A throwaway world for driving the real `vsync` binary: its own HOME and config base, a git
//! checkout with an origin remote, and a `file://` bucket. Every output is checked for leaked
//! secrets before a test sees it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

mod flows;
mod race;

pub use flows::{
    arg, curl, install_plugin, run_upstream, target_report, upstream_bundle_write, vault_tree,
};
pub use race::exactly_one_push_wins;

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Whether a keychain is available to these tests (`scripts/with-keychain` sets it).
pub fn keychain_available() -> bool {
    std::env::var("VSYNC_TEST_KEYCHAIN").as_deref() == Ok("1")
}

/// Whether the test may run with a keychain: true under `scripts/with-keychain`; otherwise a
/// skip note (or, under `scripts/test`, where one must be running, a panic).
pub fn keychain_ready() -> bool {
    if keychain_available() {
        return true;
    }
    if std::env::var("VSYNC_TEST_SERVICES").as_deref() == Ok("1") {
        panic!("VSYNC_TEST_SERVICES=1 but no keychain session: run under scripts/with-keychain");
    }
    eprintln!("skipped: no keychain session (run under scripts/with-keychain)");
    false
}

/// Skip (with a note) unless a keychain session is running; under `scripts/test` it always is.
/// `require_keychain!(python)` also needs python3 with `cryptography` (see [`python_ok`]).
#[macro_export]
macro_rules! require_keychain {
    () => {
        if !$crate::harness::keychain_ready() {
            return;
        }
    };
    (python) => {
        if !$crate::harness::keychain_ready() || !$crate::harness::python_ok() {
            return;
        }
    };
}

/// The result of one invocation.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn code(self, code: i32) -> Self {
        assert_eq!(
            self.code, code,
            "expected exit {code}\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// Assert stderr holds `needle`.
    #[track_caller]
    pub fn stderr_has(&self, needle: &str) -> &Self {
        assert_holds("stderr", &self.stderr, needle);
        self
    }

    /// Assert stdout holds `needle`.
    #[track_caller]
    pub fn stdout_has(&self, needle: &str) -> &Self {
        assert_holds("stdout", &self.stdout, needle);
        self
    }

    /// Stdout without its surrounding white space (what a verb printing one value prints).
    pub fn line(&self) -> String {
        self.stdout.trim().to_owned()
    }

    /// Stdout parsed as JSON.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

#[track_caller]
fn assert_holds(stream: &str, text: &str, needle: &str) {
    assert!(text.contains(needle), "{stream} lacks {needle:?}:\n{text}");
}

/// One user on one machine, in one checkout.
pub struct World {
    pub _tmp: tempfile::TempDir,
    pub home: PathBuf,
    pub repo_dir: PathBuf,
    pub bucket: PathBuf,
    pub repo: String,
    pub secrets: Vec<String>,
    pub extra_env: Vec<(String, String)>,
}

impl World {
    /// A fresh world with a unique repo identity, bucket under the temp dir.
    pub fn new() -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let repo = format!("acme_t{}_{}", std::process::id(), n);
        let bucket = tmp.path().join("bucket");
        std::fs::create_dir_all(&bucket).unwrap();
        Self::with_bucket(tmp, &repo, bucket)
    }

    /// A second machine of the same team: its own HOME, checkout and ledger, the same bucket,
    /// and `other`'s config copied over (what `vsync import` installs; the key is already in the
    /// shared test keychain under the same account).
    pub fn second_machine(other: &World) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut w = Self::with_bucket(tmp, &other.repo, other.bucket.clone());
        let from = other.base().join(&other.repo);
        let to = w.base().join(&w.repo);
        std::fs::create_dir_all(&to).unwrap();
        for e in std::fs::read_dir(&from).unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with("env_") && !name.ends_with(".ledger.json") {
                std::fs::copy(e.path(), to.join(&name)).unwrap();
            }
        }
        std::fs::write(w.repo_dir.join(".gitignore"), "infra/vault/\n").unwrap();
        w.secrets = other.secrets.clone();
        w
    }

    fn with_bucket(tmp: tempfile::TempDir, repo: &str, bucket: PathBuf) -> Self {
        let home = tmp.path().join("home");
        let repo_dir = tmp.path().join("checkout");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::create_dir_all(&repo_dir).unwrap();
        git(&repo_dir, &["init", "-q"]);
        git(
            &repo_dir,
            &[
                "remote",
                "add",
                "origin",
                &format!("file:///srv/git/{repo}"),
            ],
        );
        World {
            _tmp: tmp,
            home,
            repo_dir,
            bucket,
            repo: repo.to_owned(),
            secrets: Vec::new(),
            extra_env: Vec::new(),
        }
    }

    /// The `file://` URL of the bucket.
    pub fn store_url(&self) -> String {
        format!("file://{}", self.bucket.display())
    }

    /// Remember a value that must never appear in any output; returns it.
    pub fn secret<'a>(&mut self, v: &'a str) -> &'a str {
        self.secrets.push(v.to_owned());
        v
    }

    /// [`World::secret`] for several values at once.
    pub fn secrets<'a, const N: usize>(&mut self, vs: [&'a str; N]) -> [&'a str; N] {
        for v in vs {
            self.secret(v);
        }
        vs
    }

    /// The vault folder of `env`.
    pub fn vault(&self, env: &str) -> PathBuf {
        self.repo_dir.join("infra/vault").join(env)
    }

    /// Write `.env.<env>` in the vault.
    pub fn write_env(&mut self, env: &str, pairs: &[(&str, &str)]) {
        let mut text = String::new();
        for (k, v) in pairs {
            text.push_str(&format!("{k}={v}\n"));
            self.secret(v);
        }
        let dir = self.vault(env);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!(".env.{env}")), text).unwrap();
    }

    /// The base config folder.
    pub fn base(&self) -> PathBuf {
        self.home.join(".config/vsync")
    }

    /// Run vsync with `args` in the checkout, stdin closed.
    pub fn vsync(&self, args: &[&str]) -> Run {
        self.vsync_in(&self.repo_dir, args, None)
    }

    /// `program` set up to run as this machine's user in `dir`: its HOME, no inherited vsync
    /// variables or colours, and the world's extra environment.
    pub fn command(&self, program: impl AsRef<std::ffi::OsStr>, dir: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(dir)
            .env("HOME", &self.home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("VSYNC_CONFIG")
            .env_remove("VSYNC_PASSPHRASE")
            .env("NO_COLOR", "1");
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Set an environment variable for every later run.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.extra_env.push((name.to_owned(), value.to_owned()));
    }

    /// Assert that no registered secret appears in `out` (what vsync printed for `what`).
    #[track_caller]
    pub fn assert_no_secret(&self, what: &dyn std::fmt::Debug, stdout: &str, stderr: &str) {
        for s in &self.secrets {
            assert!(
                !stdout.contains(s.as_str()) && !stderr.contains(s.as_str()),
                "a secret value leaked into the output of vsync {what:?}"
            );
        }
    }

    /// Run vsync with `args` in `dir`, feeding `stdin`.
    pub fn vsync_in(&self, dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = self.command(env!("CARGO_BIN_EXE_vsync"), dir);
        cmd.args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn vsync");
        if let Some(input) = stdin {
            use std::io::Write;
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        let out: Output = child.wait_with_output().expect("wait vsync");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        self.assert_no_secret(&args, &run.stdout, &run.stderr);
        run
    }

    /// `vsync init <env>` non-interactively on the file bucket.
    pub fn init(&self, env: &str) -> Run {
        self.vsync(&["init", env, "--store", &self.store_url(), "--yes"])
    }
}

/// Run git in `dir`, panicking on failure.
pub fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .expect("git");
    assert!(st.success(), "git {args:?} failed");
}

/// Mode bits of a path.
#[cfg(unix)]
pub fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

impl World {
    /// Another machine of the team with a keychain of its own: its own HOME and checkout, the
    /// same bucket and repo identity, and the kernel keyring (while `self` uses the Secret
    /// Service). Nothing is installed: it joins with `vsync import` or `vsync keystore import`.
    pub fn other_machine(&self) -> World {
        let mut b = World::new();
        b.repo = self.repo.clone();
        b.bucket = self.bucket.clone();
        git(
            &b.repo_dir,
            &[
                "remote",
                "set-url",
                "origin",
                &format!("file:///srv/git/{}", self.repo),
            ],
        );
        b.set_env("VSYNC_KEYCHAIN", "keyutils");
        b.secrets = self.secrets.clone();
        b
    }

    /// The key text (`vsync key show --out`) and the config salt of `env`, as an independent
    /// reader would get them.
    pub fn key_and_salt(&self, env: &str) -> (String, String) {
        let v = self.read_config(env);
        let salt = v["encryption"]["salt"].as_str().unwrap().to_owned();
        (self.key_text(env), salt)
    }

    /// The decoded per-env config.
    pub fn read_config(&self, env: &str) -> serde_json::Value {
        use std::io::Read;
        let gz = std::fs::read(self.config_path(env)).unwrap();
        let mut json = String::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_string(&mut json)
            .unwrap();
        serde_json::from_str(&json).unwrap()
    }

    /// Rewrite the per-env config through `edit` (to simulate a changed endpoint or secret).
    pub fn edit_config(&self, env: &str, edit: impl FnOnce(&mut serde_json::Value)) {
        use std::io::Write;
        let mut v = self.read_config(env);
        edit(&mut v);
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(v.to_string().as_bytes()).unwrap();
        std::fs::write(self.config_path(env), enc.finish().unwrap()).unwrap();
    }
}

/// Whether python3 with `cryptography` (the independent implementations in tests/interop) is
/// here; under scripts/test it must be.
pub fn python_ok() -> bool {
    let ok = Command::new("python3")
        .args(["-c", "import cryptography"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var("VSYNC_TEST_SERVICES").as_deref() != Ok("1"),
            "python3 with `cryptography` is required under scripts/test"
        );
        eprintln!("skipped: python3 with the cryptography package is not available");
    }
    ok
}
