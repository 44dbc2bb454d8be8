//! Resolving what a verb works on: the checkout and its repo identity, the per-env config and
//! key, the bucket. Every verb goes through here, so errors read the same everywhere.

use std::path::{Path, PathBuf};

use vsync_crypto::kdf::DerivedKey;
use vsync_crypto::secret::{SecretText, VaultKey};
use vsync_vault::layout::Prefix;
use vsync_vault::remote::Remote;
use vsync_vault::store::{Bucket, StoreSpec};

use crate::error::{CliError, ExitKind};
use crate::keychain::{self, Backend};
use crate::local::config::EnvConfig;
use crate::local::paths;

/// `^[a-z][a-z0-9_-]*$`, at most 64 characters (docs/decisions.md §2: checked on every verb, before
/// anything is written).
pub fn check_env(env: &str) -> Result<(), CliError> {
    use vsync_vault::names::{EnvNameProblem, MAX_ENV_NAME_LEN, check_env_name};
    match check_env_name(env) {
        Ok(()) => Ok(()),
        Err(EnvNameProblem::TooLong) => Err(CliError::new(
            ExitKind::Usage,
            format!(
                "env name is {} characters long; at most {MAX_ENV_NAME_LEN} are allowed",
                env.len()
            ),
        )
        .with_hint("pick a shorter name, for example: vsync init prod")),
        Err(_) => Err(CliError::new(ExitKind::Usage, format!("invalid env name {env:?}: use lower-case letters, digits, _ and -, starting with a letter"))
            .with_hint("for example: vsync init prod")),
    }
}

/// The config base folder.
pub fn base_dir() -> Result<PathBuf, CliError> {
    paths::base_dir().ok_or_else(|| {
        CliError::new(ExitKind::Failed, "cannot find the home folder")
            .with_hint("set HOME or XDG_CONFIG_HOME")
    })
}

/// The checkout a verb runs in.
#[derive(Debug, Clone)]
pub struct Checkout {
    /// The git top level of this worktree (where `.vsync` and `.gitignore` live).
    pub root: PathBuf,
    /// The vault root: the main worktree's top level (docs/formats.md §13.7).
    pub vroot: PathBuf,
    /// The resolved repo identity.
    pub repo: String,
}

/// Find the git checkout around the current folder and resolve the repo identity.
pub fn checkout(flag_repo: Option<&str>) -> Result<Checkout, CliError> {
    let cwd = std::env::current_dir().map_err(|e| {
        CliError::new(
            ExitKind::Failed,
            format!("cannot read the current folder: {e}"),
        )
    })?;
    let id = vsync_vault::identity::resolve(&cwd, flag_repo)?;
    Ok(Checkout {
        root: id.repo.root,
        vroot: id.repo.vroot,
        repo: id.name,
    })
}

/// Everything a verb needs about one (repo, env).
pub struct EnvContext {
    /// The checkout.
    pub checkout: Checkout,
    /// The env name.
    pub env: String,
    /// `<base>`.
    pub base: PathBuf,
    /// The config file path.
    pub config_path: PathBuf,
    /// The config.
    pub config: EnvConfig,
    /// The bucket and prefix.
    pub remote: Remote,
    /// Where the key comes from.
    pub key_source: KeySource,
    /// The vault folder relative to the vault root, checked ([`vsync_vault::vault_folder`]).
    vault_folder: String,
    /// The vault folder on disk.
    vault_dir: PathBuf,
    /// The derived bundle key, computed at most once per process.
    derived: tokio::sync::Mutex<Option<DerivedKey>>,
}

/// The vault folder of `env` under `vroot`, refused when it could reach outside the checkout.
fn checked_vault_folder(
    vroot: &Path,
    config: &EnvConfig,
    env: &str,
) -> Result<(String, PathBuf), CliError> {
    let raw = config.vault_folder(env);
    let dir = vsync_vault::vault_folder::resolve(vroot, &raw).map_err(|e| {
        CliError::from(e).with_hint(
            "fix files.vaultFolder: re-import a share file from a teammate, or run `vsync init` again",
        )
    })?;
    let folder = vsync_vault::vault_folder::normalize(&raw)?;
    Ok((folder, dir))
}

/// Where a verb gets the env's key.
pub enum KeySource {
    /// The OS keychain (the normal case).
    Keychain,
    /// Keyless mode: `VSYNC_PASSPHRASE` (or its `_FILE` form), stretched with the runtime token's
    /// PBKDF2 iteration count (the runtime library honours the token's count, so the CLI must too
    /// or the two disagree).
    Given {
        /// The key text.
        key: SecretText,
        /// The token's iteration count.
        iterations: u32,
    },
}

impl KeySource {
    /// PBKDF2 iterations for this key: the reference count, or what a keyless token carries.
    fn iterations(&self) -> u32 {
        match self {
            Self::Keychain => vsync_crypto::kdf::ITERATIONS,
            Self::Given { iterations, .. } => *iterations,
        }
    }
}

/// Keyless mode's inputs from the process environment ([`crate::settings::keyless::inputs`]).
pub fn keyless_inputs() -> Result<Option<crate::settings::keyless::Inputs>, CliError> {
    crate::settings::keyless::inputs(crate::settings::env())
}

impl EnvContext {
    /// For read-side verbs (pull, run, status, diff, sync): keyless mode when `VSYNC_CONFIG` and
    /// `VSYNC_PASSPHRASE` are set (no disk config, keychain or git needed), else the normal load.
    pub fn for_read(flag_repo: Option<&str>, env: &str) -> Result<Self, CliError> {
        match keyless_inputs()? {
            Some((blob, pass)) => Self::keyless(flag_repo, env, &blob, pass),
            None => Self::load(checkout(flag_repo)?, env),
        }
    }

    fn keyless(
        flag_repo: Option<&str>,
        env: &str,
        blob: &str,
        pass: zeroize::Zeroizing<String>,
    ) -> Result<Self, CliError> {
        check_env(env)?;
        let rc = vsync_crypto::cfg_blob::decode(blob).map_err(|e| {
            CliError::new(
                ExitKind::Usage,
                format!("VSYNC_CONFIG is not a usable runtime token ({})", e.class()),
            )
            .with_hint("mint a fresh one with `vsync runtime-token --env <env>`")
        })?;
        if rc.env != env {
            return Err(CliError::new(
                ExitKind::Usage,
                format!("VSYNC_CONFIG is for env {:?}, not {env:?}", rc.env),
            ));
        }
        let repo = rc
            .prefix
            .trim_end_matches('/')
            .rsplit_once('/')
            .map(|(r, _)| r.to_owned())
            .unwrap_or_else(|| rc.prefix.trim_end_matches('/').to_owned());
        let checkout = match checkout(flag_repo) {
            Ok(c) => Checkout {
                repo: repo.clone(),
                ..c
            },
            Err(_) => {
                let cwd = std::env::current_dir()
                    .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
                Checkout {
                    root: cwd.clone(),
                    vroot: cwd,
                    repo: repo.clone(),
                }
            }
        };
        let mut config = EnvConfig::new(rc.salt.clone());
        // `file://`, `gs://` and `az://` travel as their URL; gs/az credentials come from this
        // machine's environment, as on a teammate's machine.
        if is_url_store(&rc.endpoint) {
            config.store = Some(rc.endpoint.clone());
        } else {
            config.s3 = Some(crate::local::config::S3Section {
                use_ssl: !rc.endpoint.starts_with("http://"),
                endpoint: rc.endpoint.clone(),
                region: rc.region.clone(),
                bucket: rc.bucket.clone(),
                access_key_id: rc.access_key_id.clone(),
                secret_access_key: rc.secret_access_key.expose().to_owned(),
                extra: Default::default(),
            });
        }
        let vault = checked_vault_folder(&checkout.vroot, &config, env)?;
        let bucket = open_bucket(&config)?;
        let remote = Remote::new(bucket, Prefix::from_raw(&rc.prefix)?);
        let base = base_dir().unwrap_or_else(|_| std::env::temp_dir().join("vsync"));
        let key_source = KeySource::Given {
            key: SecretText::new(pass.to_string()),
            iterations: rc.iterations,
        };
        Ok(Self::assemble(
            checkout, env, base, config, vault, remote, key_source,
        ))
    }
}

impl EnvContext {
    /// Load the config of (checkout, env) and open its bucket. No key needed.
    pub fn load(checkout: Checkout, env: &str) -> Result<Self, CliError> {
        check_env(env)?;
        let base = base_dir()?;
        let config_path = paths::config_file(&base, &checkout.repo, env);
        let config = EnvConfig::load(&config_path)
            .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()).with_hint("fix or remove the file, then `vsync init` or `vsync import`"))?
            .ok_or_else(|| {
                CliError::new(
                    ExitKind::NotFound,
                    format!("no vsync config for {}/{env} on this machine ({})", checkout.repo, config_path.display()),
                )
                .with_hint(format!("run `vsync init {env}` to start, or `vsync import {env} <file.share>` to join a teammate"))
            })?;
        let vault = checked_vault_folder(&checkout.vroot, &config, env)?;
        let bucket = open_bucket(&config)?;
        let prefix = Prefix::new(&checkout.repo, env)?;
        if let Some(p) = config.prefix.as_deref()
            && !p.is_empty()
            && p != prefix.as_str()
        {
            crate::output::warn(format!(
                "the config's prefix {p:?} differs from {:?}; vsync reads and writes under {:?}",
                prefix.as_str(),
                prefix.as_str()
            ));
        }
        let remote = Remote::new(bucket, prefix);
        let keychain = KeySource::Keychain;
        Ok(Self::assemble(
            checkout, env, base, config, vault, remote, keychain,
        ))
    }

    /// The context once its config, vault folder (checked), bucket and key source are known;
    /// the config file is `<base>/…/<repo>/<env>` as [`paths::config_file`] names it.
    fn assemble(
        checkout: Checkout,
        env: &str,
        base: PathBuf,
        config: EnvConfig,
        (vault_folder, vault_dir): (String, PathBuf),
        remote: Remote,
        key_source: KeySource,
    ) -> Self {
        let config_path = paths::config_file(&base, &checkout.repo, env);
        Self {
            checkout,
            env: env.to_owned(),
            base,
            config_path,
            config,
            remote,
            key_source,
            vault_folder,
            vault_dir,
            derived: tokio::sync::Mutex::new(None),
        }
    }

    /// The vault folder on disk (checked when the context was made: inside the checkout, no
    /// symlink on the way).
    pub fn vault_dir(&self) -> PathBuf {
        self.vault_dir.clone()
    }

    /// The vault folder relative to the root, in its tidy form.
    pub fn vault_folder(&self) -> String {
        self.vault_folder.clone()
    }

    /// The ledger path.
    pub fn ledger_path(&self) -> PathBuf {
        paths::ledger_file(&self.base, &self.checkout.repo, &self.env)
    }

    /// The keychain account.
    pub fn account(&self) -> String {
        keychain::account(&self.checkout.repo, &self.env)
    }

    /// Whether this context runs in keyless mode.
    pub fn is_keyless(&self) -> bool {
        matches!(self.key_source, KeySource::Given { .. })
    }

    /// This env's key text: from the keychain, or `VSYNC_PASSPHRASE` in keyless mode.
    pub async fn key(&self) -> Result<SecretText, CliError> {
        match &self.key_source {
            KeySource::Keychain => Ok(SecretText::new(
                read_key(&self.checkout.repo, &self.env)
                    .await?
                    .expose()
                    .to_owned(),
            )),
            KeySource::Given { key, .. } => Ok(SecretText::new(key.expose().to_owned())),
        }
    }

    /// Read the key and derive the bundle key (one PBKDF2 per process, cached).
    pub async fn derived_key(&self) -> Result<DerivedKey, CliError> {
        let mut slot = self.derived.lock().await;
        if let Some(dk) = slot.as_ref() {
            return Ok(dk.clone());
        }
        let dk = derive(
            self.key().await?,
            self.config.encryption.salt.clone(),
            self.key_source.iterations(),
        )
        .await?;
        *slot = Some(dk.clone());
        Ok(dk)
    }

    /// Decrypt and verify a version object. When the main key does not open it and a rotation
    /// was interrupted after moving `latest` (a pending key exists and opens it), finish the
    /// rotation: promote the pending key, then carry on.
    pub async fn open_bundle(
        &self,
        object: &[u8],
        ts: &str,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, CliError> {
        let integrity = |e: vsync_crypto::CryptoError| crate::error::integrity(&e);
        let dk = self.derived_key().await?;
        let err = match vsync_crypto::bundle::open(&dk, object, ts) {
            Ok(zip) => return Ok(zip),
            Err(e) => e,
        };
        let wrong_key = matches!(err, vsync_crypto::CryptoError::WrongPassphrase);
        if wrong_key && self.is_keyless() {
            return Err(crate::passphrase::input::wrong_keyless_key(
                &self.checkout.repo,
                &self.env,
                ts,
            ));
        }
        if !wrong_key {
            return Err(integrity(err));
        }
        let Ok(backend) = Backend::from_env() else {
            return Err(integrity(err));
        };
        let pending = crate::commands::rotate::pending_account(&self.checkout.repo, &self.env);
        let Ok(Some(text)) = keychain::get(backend, &pending).await else {
            return Err(integrity(err));
        };
        let pending_dk = derive(
            SecretText::new(text.to_string()),
            self.config.encryption.salt.clone(),
            self.key_source.iterations(),
        )
        .await?;
        let zip =
            vsync_crypto::bundle::open(&pending_dk, object, ts).map_err(|_| integrity(err))?;
        keychain::set(backend, &self.account(), &text)
            .await
            .map_err(keychain_error)?;
        let _ = keychain::delete(backend, &pending).await;
        *self.derived.lock().await = Some(pending_dk);
        crate::output::note(format!(
            "finished an interrupted key rotation of {}: the new key is now in the keychain",
            self.account()
        ));
        Ok(zip)
    }
}

async fn derive(key: SecretText, salt: String, iterations: u32) -> Result<DerivedKey, CliError> {
    tokio::task::spawn_blocking(move || {
        DerivedKey::derive_with_iterations(key.expose(), &salt, iterations)
    })
    .await
    .map_err(|e| CliError::new(ExitKind::Failed, format!("key derivation failed: {e}")))
}

/// Read the key of (repo, env) from the keychain, with errors that say what to do.
pub async fn read_key(repo: &str, env: &str) -> Result<VaultKey, CliError> {
    let backend = Backend::from_env().map_err(keychain_error)?;
    let account = keychain::account(repo, env);
    let text = keychain::get(backend, &account)
        .await
        .map_err(keychain_error)?
        .ok_or_else(|| {
            CliError::new(
                ExitKind::NotFound,
                format!("no key for {account} in the {}", backend.name()),
            )
            .with_hint(format!(
                "ask a teammate for a share file and run `vsync import {env} <file>`"
            ))
        })?;
    VaultKey::from_text(text.to_string()).map_err(|_| {
        CliError::new(
            ExitKind::Integrity,
            format!("the keychain entry for {account} is not a vsync key"),
        )
        .with_hint(format!("re-import it with `vsync import {env} <file>`"))
    })
}

/// Map a keychain failure to a CLI error with its fix.
pub fn keychain_error(e: keychain::KeychainError) -> CliError {
    let hint = e.hint();
    CliError::new(ExitKind::Failed, format!("keychain: {e}")).with_hint(hint)
}

/// Whether a config's `store` URL describes the whole store (`file://`, `gs://`, `az://`); an
/// `s3://` store keeps its settings in the config's S3 section (upstream's fields).
pub fn is_url_store(url: &str) -> bool {
    let scheme = url.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    matches!(scheme.as_deref(), Some("file" | "gs" | "az"))
}

/// The store a config points at.
pub fn store_spec(config: &EnvConfig) -> Result<StoreSpec, CliError> {
    if let Some(url) = config.store.as_deref().filter(|u| is_url_store(u)) {
        return StoreSpec::parse_url(url)
            .map_err(|e| CliError::new(ExitKind::Usage, e.to_string()));
    }
    let Some(s3) = &config.s3 else {
        return Err(
            CliError::new(ExitKind::Failed, "the config names no bucket")
                .with_hint("run `vsync init` again"),
        );
    };
    let endpoint = s3.endpoint_url();
    Ok(StoreSpec::S3 {
        bucket: s3.bucket.clone(),
        allow_http: endpoint.starts_with("http://"),
        endpoint: Some(endpoint),
        region: s3.region.clone(),
        access_key_id: s3.access_key_id.clone(),
        secret_access_key: s3.secret_access_key.clone(),
    })
}

/// Open the bucket a config points at.
pub fn open_bucket(config: &EnvConfig) -> Result<Bucket, CliError> {
    let spec = store_spec(config)?;
    let bucket =
        Bucket::open(&spec).map_err(|e| CliError::from(vsync_vault::VaultError::from(e)))?;
    Ok(bucket.with_conditional(config.conditional_writes()))
}

/// Path relative display helper.
pub fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}
