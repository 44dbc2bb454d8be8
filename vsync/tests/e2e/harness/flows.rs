//! The steps the tests take again and again, named once: a pushed env, its env file, key,
//! runtime token and bucket folder, shares and keytrees, a keyless CI machine, and a plugin
//! installed the way a user installs one.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::{Run, World};

/// A path as a command-line argument.
pub fn arg(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 test path")
}

fn set_mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Copy `built` into the private plugin folder as `file_name` (0755), as a user installs it.
pub fn install_plugin(w: &World, built: &Path, file_name: &str) -> PathBuf {
    let p = w.plugin_dir().join(file_name);
    std::fs::copy(built, &p).unwrap();
    set_mode(&p, 0o755);
    p
}

impl World {
    /// A fresh world with `env` set up by `vsync init` (nothing pushed).
    pub fn with_env(env: &str) -> World {
        let w = World::new();
        w.init(env).ok();
        w
    }

    /// A fresh world with `env` set up and `pairs` pushed.
    pub fn pushed(env: &str, pairs: &[(&str, &str)]) -> World {
        let mut w = World::with_env(env);
        w.push_env(env, pairs);
        w
    }

    /// `vsync init <env>`, then `pairs` written and pushed.
    pub fn init_push(&mut self, env: &str, pairs: &[(&str, &str)]) {
        self.init(env).ok();
        self.push_env(env, pairs);
    }

    /// `.env.<env>` rewritten to `pairs`, then `vsync push <env>`.
    pub fn push_env(&mut self, env: &str, pairs: &[(&str, &str)]) {
        self.write_env(env, pairs);
        self.vsync(&["push", env]).ok();
    }

    /// The text of `.env.<env>` in the vault.
    pub fn env_text(&self, env: &str) -> String {
        std::fs::read_to_string(self.vault(env).join(format!(".env.{env}"))).unwrap()
    }

    /// Delete the local `.env.<env>`, `vsync pull <env> --force` it back and return its text:
    /// what the bucket's latest holds, as this machine's key opens it.
    pub fn env_from_bucket(&self, env: &str) -> String {
        std::fs::remove_file(self.vault(env).join(format!(".env.{env}"))).unwrap();
        self.vsync(&["pull", env, "--force"]).ok();
        self.env_text(env)
    }

    /// The key text of `env`, through `vsync key show --out`.
    pub fn key_text(&self, env: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("k");
        self.vsync(&["key", "show", env, "--out", arg(&f)]).ok();
        std::fs::read_to_string(&f).unwrap().trim().to_owned()
    }

    /// The key text of `env`, registered as a secret that no output may show.
    pub fn secret_key(&mut self, env: &str) -> String {
        let key = self.key_text(env);
        self.secret(&key);
        key
    }

    /// `vsync runtime-token --env <env> <extra…>`: the blob it prints.
    pub fn runtime_token(&self, env: &str, extra: &[&str]) -> String {
        let mut args = vec!["runtime-token", "--env", env];
        args.extend_from_slice(extra);
        self.vsync(&args).ok().line()
    }

    /// The bucket folder of `env` (`file://` bucket).
    pub fn prefix(&self, env: &str) -> PathBuf {
        self.bucket.join(&self.repo).join(env)
    }

    /// The version the bucket's `latest` pointer names.
    pub fn latest(&self, env: &str) -> String {
        std::fs::read_to_string(self.prefix(env).join("latest")).unwrap()
    }

    /// The latest version as `vsync versions --json` reports it ("" when there is none).
    pub fn latest_version(&self, env: &str) -> String {
        let v = self.vsync(&["versions", env, "--json"]).ok().json();
        v["latest"].as_str().unwrap_or_default().to_owned()
    }

    /// This machine's config file of `env`.
    pub fn config_path(&self, env: &str) -> PathBuf {
        self.base().join(&self.repo).join(format!("env_{env}"))
    }

    /// `pass.txt` under HOME holding `text` and a line break.
    pub fn pass_file(&self, text: &str) -> PathBuf {
        let p = self.home.join("pass.txt");
        std::fs::write(&p, format!("{text}\n")).unwrap();
        p
    }

    /// `vsync export <env> --out <share> --passphrase-file <pass>`.
    pub fn export_share(&self, env: &str, share: &Path, pass: &Path) -> Run {
        self.vsync(&[
            "export",
            env,
            "--out",
            arg(share),
            "--passphrase-file",
            arg(pass),
        ])
    }

    /// `vsync import <env> <share> --passphrase-file <pass>`.
    pub fn import_share(&self, env: &str, share: &Path, pass: &Path) -> Run {
        self.vsync(&["import", env, arg(share), "--passphrase-file", arg(pass)])
    }

    /// `vsync keystore export --all --out <tree> --passphrase-file <pass>`.
    pub fn keystore_export_all(&self, tree: &Path, pass: &Path) -> Run {
        self.vsync(&[
            "keystore",
            "export",
            "--all",
            "--out",
            arg(tree),
            "--passphrase-file",
            arg(pass),
        ])
    }

    /// `vsync keystore import <tree> --passphrase-file <pass>`.
    pub fn keystore_import(&self, tree: &Path, pass: &Path) -> Run {
        self.vsync(&[
            "keystore",
            "import",
            arg(tree),
            "--passphrase-file",
            arg(pass),
        ])
    }

    /// A CI machine in keyless mode: the runtime token and key in its environment, nothing
    /// else of its own, and `from`'s secrets guarded in its output.
    pub fn keyless(from: &World, config: &str, passphrase: &str) -> World {
        let mut ci = World::new();
        ci.secrets = from.secrets.clone();
        ci.set_env("VSYNC_CONFIG", config);
        ci.set_env("VSYNC_PASSPHRASE", passphrase);
        ci
    }

    /// Point the keychain at a backend that does not exist, so any keychain use fails.
    pub fn without_keychain(&mut self) {
        self.set_env("VSYNC_KEYCHAIN", "nonexistent-backend");
    }

    /// The private plugin folder under HOME (0700), created on first use.
    pub fn plugin_dir(&self) -> PathBuf {
        let dir = self.home.join("plugins");
        std::fs::create_dir_all(&dir).unwrap();
        set_mode(&dir, 0o700);
        dir
    }
}

/// A throwaway checkout holding `infra/vault/<env>` with `files` (path in the vault, bytes), as
/// another tool would publish or back it up.
pub fn vault_tree(env: &str, files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let src = tempfile::tempdir().unwrap();
    let vf = src.path().join("infra/vault").join(env);
    for (name, body) in files {
        let p = vf.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    src
}

/// The independent writer (`tests/interop/upstream_bundle.py write`), set to publish the vault
/// of `dev` in `src` into `w`'s bucket as version `ts`, sealed with `key` and `salt`.
pub fn upstream_bundle_write(
    w: &World,
    key: &str,
    salt: &str,
    ts: &str,
    src: &Path,
) -> std::process::Command {
    let mut cmd = std::process::Command::new("python3");
    cmd.arg(upstream_script("upstream_bundle.py")).args([
        "write",
        arg(&w.bucket),
        &format!("{}/dev", w.repo),
        key,
        salt,
        ts,
        arg(src),
        "infra/vault/dev",
    ]);
    cmd
}

/// Run the independent implementation's `script` (in `tests/interop`) with `args`: its stdout;
/// the test fails with its stderr when it does not succeed.
#[track_caller]
pub fn run_upstream(script: &str, args: &[&str]) -> Vec<u8> {
    let out = std::process::Command::new("python3")
        .arg(upstream_script(script))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{script} {:?}: {}",
        args.first(),
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A script of the independent implementation in `tests/interop`.
pub fn upstream_script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/interop")
        .join(name)
}

/// One request to a fake's control endpoint with curl (trusting `ca` when the fake speaks TLS):
/// the status and the body.
pub fn curl(method: &str, url: &str, body: &[u8], ca: Option<&Path>) -> (u16, Vec<u8>) {
    use std::io::Write;
    use std::process::Stdio;
    let mut cmd = std::process::Command::new("curl");
    cmd.args(["-s", "-X", method, "-w", "\n%{http_code}"]);
    if let Some(ca) = ca {
        cmd.args(["--cacert", arg(ca)]);
    }
    if !body.is_empty() {
        cmd.args(["--data-binary", "@-"]);
    }
    let mut child = cmd
        .arg(url)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl");
    child.stdin.take().unwrap().write_all(body).unwrap();
    let out = child.wait_with_output().expect("curl");
    assert!(out.status.success(), "curl {method} {url}");
    let split = out.stdout.iter().rposition(|b| *b == b'\n').unwrap();
    let status = std::str::from_utf8(&out.stdout[split + 1..]).unwrap();
    (status.parse().unwrap(), out.stdout[..split].to_vec())
}

/// The report of `target` in the JSON a `vsync sync --json` run prints.
#[track_caller]
pub fn target_report<'a>(reports: &'a serde_json::Value, target: &str) -> &'a serde_json::Value {
    reports
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == target)
        .unwrap_or_else(|| panic!("no report for {target}: {reports}"))
}
