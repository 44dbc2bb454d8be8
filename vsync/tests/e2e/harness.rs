//! A throwaway world for driving the real `vsync` binary: its own HOME and config base, a git
//! checkout with an origin remote, and a `file://` bucket. Every output is checked for leaked
//! secrets before a test sees it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Whether a keychain is available to these tests (`scripts/with-keychain` sets it).
pub fn keychain_available() -> bool {
    std::env::var("VSYNC_TEST_KEYCHAIN").as_deref() == Ok("1")
}

/// Skip (with a note) unless a keychain session is running; under `scripts/test` it always is.
#[macro_export]
macro_rules! require_keychain {
    () => {
        if !$crate::harness::keychain_available() {
            if std::env::var("VSYNC_TEST_SERVICES").as_deref() == Ok("1") {
                panic!(
                    "VSYNC_TEST_SERVICES=1 but no keychain session: run under scripts/with-keychain"
                );
            }
            eprintln!("skipped: no keychain session (run under scripts/with-keychain)");
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
        let w = Self::with_bucket(tmp, &repo, bucket);
        w
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

    /// Remember a value that must never appear in any output.
    pub fn secret(&mut self, v: &str) {
        self.secrets.push(v.to_owned());
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

    /// Run vsync with `args` in `dir`, feeding `stdin`.
    pub fn vsync_in(&self, dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vsync"));
        cmd.args(args)
            .current_dir(dir)
            .env("HOME", &self.home)
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("VSYNC_CONFIG")
            .env_remove("VSYNC_PASSPHRASE")
            .env("NO_COLOR", "1")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
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
        for s in &self.secrets {
            assert!(
                !run.stdout.contains(s.as_str()) && !run.stderr.contains(s.as_str()),
                "a secret value leaked into the output of vsync {args:?}"
            );
        }
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
        b.extra_env
            .push(("VSYNC_KEYCHAIN".into(), "keyutils".into()));
        b.secrets = self.secrets.clone();
        b
    }

    /// The key text (`vsync key show --out`) and the config salt of `env`, as an independent
    /// reader would get them.
    pub fn key_and_salt(&self, env: &str) -> (String, String) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("key");
        self.vsync(&["key", "show", env, "--out", f.to_str().unwrap()])
            .ok();
        let key = std::fs::read_to_string(&f).unwrap().trim().to_owned();
        let v = self.read_config(env);
        (key, v["encryption"]["salt"].as_str().unwrap().to_owned())
    }

    /// The decoded per-env config.
    pub fn read_config(&self, env: &str) -> serde_json::Value {
        use std::io::Read;
        let gz = std::fs::read(self.base().join(&self.repo).join(format!("env_{env}"))).unwrap();
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
        std::fs::write(
            self.base().join(&self.repo).join(format!("env_{env}")),
            enc.finish().unwrap(),
        )
        .unwrap();
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
