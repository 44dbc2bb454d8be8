//! Opening a vault: the one read chain shared with the CLI (docs/decisions.md §2).
//!
//! ```text
//! blob → <prefix>latest           ┐ round trip 1  (held to the floor: minTs, VSYNC_MIN_TS, min_ts)  → <prefix>versions/<ts>.enc  ┐ round trip 2
//!        <prefix>latest.manifest  ┘ (gen)            (<prefix>latest.meta    ┘ only without a manifest)
//!        → RQE1 → RQEM0001 verify against <ts> → zip → .env.<env> keys + other files as assets
//! ```
//!
//! Two round trips on the success path, no retries, nothing after open. The key is derived once,
//! on a blocking thread, while the version object downloads; a missing or unreadable pointer
//! costs no key derivation, and a malformed object is refused before the key is awaited.

use std::collections::HashMap;
use std::sync::Arc;

use vsync_crypto::cfg_blob::{self, RuntimeConfig};
use vsync_crypto::kdf::DerivedKey;
use vsync_crypto::{bundle, rqe1};
use vsync_vault::envfile;
use vsync_vault::freshness::Floor;
use vsync_vault::zip_bundle::{self, ZipLimits};
use zeroize::Zeroizing;

use crate::error::{self, Error};
use crate::fetch::Fetcher;
use crate::lookup::EnvLookup;
use crate::remote::{Remote, parse_generation, parse_pointer};
use crate::vault::{Parts, Vault, process_env};
use crate::{blocking, bootstrap, floor};

/// How to open a [`Vault`]: where the environment comes from, which fetcher reads the bucket,
/// and the defaults of the fallback chain. [`Vault::open`] and friends are shortcuts for
/// `OpenOptions::new()`.
///
/// ```no_run
/// # async fn f() -> Result<(), vsync_runtime::Error> {
/// use vsync_runtime::OpenOptions;
/// let vault = OpenOptions::new()
///     .defaults([("PORT", "8080")])
///     .open() // VSYNC_CONFIG(_FILE) + VSYNC_PASSPHRASE(_FILE)
///     .await?;
/// let port = vault.env("PORT");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OpenOptions {
    env: Arc<dyn EnvLookup>,
    fetcher: Option<Arc<dyn Fetcher>>,
    defaults: HashMap<String, Zeroizing<String>>,
    limits: ZipLimits,
    min_ts: Option<String>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for OpenOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenOptions")
            .field("fetcher", &self.fetcher.as_ref().map(|_| "<injected>"))
            .field("defaults", &self.defaults.len())
            .field("limits", &self.limits)
            .field("min_ts", &self.min_ts)
            .finish_non_exhaustive()
    }
}

impl OpenOptions {
    /// The real process environment, the bucket named in the blob, no defaults.
    #[must_use]
    pub fn new() -> Self {
        Self {
            env: process_env(),
            fetcher: None,
            defaults: HashMap::new(),
            limits: ZipLimits::default(),
            min_ts: None,
        }
    }

    /// Read the bootstrap variables and the chain's environment step from `env` instead of the
    /// process environment.
    #[must_use]
    pub fn env_lookup(mut self, env: Arc<dyn EnvLookup>) -> Self {
        self.env = env;
        self
    }

    /// Read objects through `fetcher` instead of the bucket named in the config blob.
    #[must_use]
    pub fn fetcher(mut self, fetcher: Arc<dyn Fetcher>) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// Defaults for the fallback chain (step 3).
    #[must_use]
    pub fn defaults<I, K, V>(mut self, defaults: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        for (k, v) in defaults {
            self.defaults.insert(k.into(), Zeroizing::new(v.into()));
        }
        self
    }

    /// Caps on the bundle zip (entry count, total size); the defaults suit any real vault.
    #[must_use]
    pub fn zip_limits(mut self, limits: ZipLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Refuse a `latest` older than `ts` (`YYYYMMDD-HHMMSS`) with [`Error::BundleCorrupt`],
    /// before any key derivation. Keep [`Vault::bundle_ts`] from the last successful open and
    /// pass it here to refuse a rolled-back bucket; the token's `minTs` and `VSYNC_MIN_TS` are
    /// floors too, and the newest of the three applies.
    #[must_use]
    pub fn min_ts(mut self, ts: impl Into<String>) -> Self {
        self.min_ts = Some(ts.into());
        self
    }

    /// Open from `VSYNC_CONFIG` / `VSYNC_CONFIG_FILE` and `VSYNC_PASSPHRASE` /
    /// `VSYNC_PASSPHRASE_FILE`, read once from the configured environment.
    ///
    /// # Errors
    /// Any [`Error`] class; [`Error::ConfigMissing`] when an input is unset or empty.
    pub async fn open(self) -> Result<Vault, Error> {
        let inputs = bootstrap::resolve(self.env.as_ref())?;
        self.open_inner(inputs.config, inputs.passphrase).await
    }

    /// Open from a config blob and a passphrase given as strings; reads no bootstrap variable.
    ///
    /// # Errors
    /// Any [`Error`] class; [`Error::ConfigMissing`] when either argument is empty.
    pub async fn open_with(self, config_blob: &str, passphrase: &str) -> Result<Vault, Error> {
        self.open_inner(
            Zeroizing::new(config_blob.to_owned()),
            Zeroizing::new(passphrase.to_owned()),
        )
        .await
    }

    /// [`OpenOptions::open`] for synchronous callers (see [`Vault::open_blocking`]).
    ///
    /// # Errors
    /// As [`OpenOptions::open`].
    pub fn open_blocking(self) -> Result<Vault, Error> {
        let inputs = bootstrap::resolve(self.env.as_ref())?;
        blocking::run(self.open_inner(inputs.config, inputs.passphrase))
    }

    /// [`OpenOptions::open_with`] for synchronous callers.
    ///
    /// # Errors
    /// As [`OpenOptions::open_with`].
    pub fn open_with_blocking(self, config_blob: &str, passphrase: &str) -> Result<Vault, Error> {
        let config = Zeroizing::new(config_blob.to_owned());
        let passphrase = Zeroizing::new(passphrase.to_owned());
        blocking::run(self.open_inner(config, passphrase))
    }

    async fn open_inner(
        self,
        config: Zeroizing<String>,
        passphrase: Zeroizing<String>,
    ) -> Result<Vault, Error> {
        if config.trim().is_empty() {
            return Err(Error::missing("the config blob is empty"));
        }
        if passphrase.is_empty() {
            return Err(Error::missing("the passphrase is empty"));
        }
        let cfg = cfg_blob::decode(&config)?;
        let floor = floor::resolve(&cfg, self.env.as_ref(), self.min_ts.as_deref())?;
        let fetcher = match self.fetcher {
            Some(f) => f,
            None => crate::store::default_fetcher(&cfg, self.env.as_ref())?,
        };
        let remote = Arc::new(Remote::new(&cfg, fetcher)?);
        let loaded = load(&remote, &cfg, &floor, passphrase, &self.limits).await?;
        Ok(Vault::assemble(Parts {
            env_name: printable(&cfg.env),
            bundle_ts: loaded.ts,
            generation: loaded.generation,
            entries: loaded.entries,
            assets: loaded.assets,
            defaults: self.defaults,
            env: self.env,
            remote,
        }))
    }
}

struct Loaded {
    ts: String,
    generation: u64,
    entries: Vec<(String, Zeroizing<String>)>,
    assets: Vec<(String, Zeroizing<Vec<u8>>)>,
}

async fn load(
    remote: &Remote,
    cfg: &RuntimeConfig,
    floor: &Floor,
    passphrase: Zeroizing<String>,
    limits: &ZipLimits,
) -> Result<Loaded, Error> {
    // Round trip 1: the pointer and the generation cell, in parallel.
    let pointer_key = remote.pointer_key();
    let manifest_key = remote.manifest_key();
    let (pointer, manifest) = tokio::join!(remote.get(&pointer_key), remote.get(&manifest_key));
    let not_found = || Error::ManifestNotFound {
        location: remote.location().to_owned(),
        key: pointer_key.clone(),
    };
    let ts = match pointer? {
        None => return Err(not_found()),
        Some(body) => parse_pointer(&pointer_key, &body)?.ok_or_else(not_found)?,
    };
    floor::check(floor, &pointer_key, &ts)?;
    let manifest = manifest?;

    // The key derivation runs on a blocking thread during round trip 2.
    let salt = cfg.salt.clone();
    let iterations = cfg.iterations;
    let kdf = tokio::task::spawn_blocking(move || {
        DerivedKey::derive_with_iterations(&passphrase, &salt, iterations)
    });

    // Round trip 2: the version object, and (like the CLI) the legacy `latest.meta` cell when
    // there is no `latest.manifest`.
    let version_key = remote.version_key(&ts);
    let meta_key = remote.legacy_meta_key();
    let (object, generation) = match manifest {
        Some(body) => (
            remote.get(&version_key).await,
            parse_generation(&manifest_key, &body),
        ),
        None => {
            let (object, meta) = tokio::join!(remote.get(&version_key), remote.get(&meta_key));
            let generation = match meta {
                Ok(Some(body)) => parse_generation(&meta_key, &body),
                Ok(None) => Ok(0),
                Err(e) => Err(e),
            };
            (object, generation)
        }
    };
    let object = object?.ok_or_else(|| Error::torn(&version_key))?;
    let generation = generation?;
    rqe1::check_envelope(&object)?;
    let key = match kdf.await {
        Ok(key) => key,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(_) => return Err(Error::corrupt("key derivation was cancelled")),
    };
    let zip = bundle::open(&key, &object, &ts)?;
    drop(key);

    let bundle = zip_bundle::read_bundle(&zip, limits).map_err(|e| error::from_bundle(&e))?;
    let entries = match bundle.env_file(&cfg.env) {
        Some(bytes) => envfile::parse_bytes(bytes).map_err(|e| error::from_bundle(&e))?,
        None => Vec::new(),
    };
    let assets = bundle
        .assets(&cfg.env)
        .map(|(name, data)| (name.to_owned(), Zeroizing::new(data.to_vec())))
        .collect();
    Ok(Loaded {
        ts,
        generation,
        entries,
        assets,
    })
}

/// The env name as shown by `Display` (no control characters, bounded).
fn printable(s: &str) -> String {
    s.chars().filter(|c| !c.is_control()).take(64).collect()
}

impl Vault {
    /// An [`OpenOptions`] to configure.
    #[must_use]
    pub fn options() -> OpenOptions {
        OpenOptions::new()
    }

    /// Open from the environment (`VSYNC_CONFIG` or `VSYNC_CONFIG_FILE`, `VSYNC_PASSPHRASE` or
    /// `VSYNC_PASSPHRASE_FILE`).
    ///
    /// # Errors
    /// Any [`Error`] class.
    pub async fn open() -> Result<Self, Error> {
        OpenOptions::new().open().await
    }

    /// Open from a config blob and a passphrase (the keychain value text); reads no
    /// bootstrap variable.
    ///
    /// # Errors
    /// Any [`Error`] class.
    pub async fn open_with(config_blob: &str, passphrase: &str) -> Result<Self, Error> {
        OpenOptions::new().open_with(config_blob, passphrase).await
    }

    /// [`Vault::open_with`], reading objects through `fetcher`.
    ///
    /// # Errors
    /// Any [`Error`] class.
    pub async fn open_with_fetcher(
        config_blob: &str,
        passphrase: &str,
        fetcher: Arc<dyn Fetcher>,
    ) -> Result<Self, Error> {
        OpenOptions::new()
            .fetcher(fetcher)
            .open_with(config_blob, passphrase)
            .await
    }

    /// [`Vault::open`] for synchronous callers. Runs on a private current-thread runtime with
    /// its own I/O thread; callable from any thread, including one inside an async runtime
    /// (which it then blocks).
    ///
    /// # Errors
    /// Any [`Error`] class.
    pub fn open_blocking() -> Result<Self, Error> {
        OpenOptions::new().open_blocking()
    }

    /// [`Vault::open_with`] for synchronous callers.
    ///
    /// # Errors
    /// Any [`Error`] class.
    pub fn open_with_blocking(config_blob: &str, passphrase: &str) -> Result<Self, Error> {
        OpenOptions::new().open_with_blocking(config_blob, passphrase)
    }

    /// [`Vault::open_with_fetcher`] for synchronous callers.
    ///
    /// # Errors
    /// Any [`Error`] class.
    pub fn open_with_fetcher_blocking(
        config_blob: &str,
        passphrase: &str,
        fetcher: Arc<dyn Fetcher>,
    ) -> Result<Self, Error> {
        OpenOptions::new()
            .fetcher(fetcher)
            .open_with_blocking(config_blob, passphrase)
    }
}
