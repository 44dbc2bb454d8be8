//! The opened handle: pure-memory accessors, the fallback chain, redaction.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use zeroize::Zeroizing;

use crate::assets::Materialised;
use crate::error::Error;
use crate::lookup::{EnvLookup, ProcessEnv, Source};
use crate::remote::Remote;

/// A decrypted vault for one (repo, env), read once at open.
///
/// Every accessor works in memory and never logs. `Debug`, `Display` and `Serialize` print
/// `<vsync:redacted gen=N env=E>` and nothing else. Values live in zeroize-on-drop buffers;
/// materialised asset files are removed when the handle is dropped.
///
/// Lookups ([`Vault::env`], [`Vault::has`], [`Vault::source`]) walk a fixed chain: the vault's
/// `.env.<env>` → the process environment (read at lookup time) → the defaults → missing.
pub struct Vault {
    env_name: String,
    bundle_ts: String,
    generation: u64,
    /// Unique keys in file order of first appearance; the last value wins.
    values: Vec<(String, Zeroizing<String>)>,
    value_index: HashMap<String, usize>,
    /// Vault-relative names, in archive order.
    assets: Vec<(String, Zeroizing<Vec<u8>>)>,
    asset_index: HashMap<String, usize>,
    defaults: HashMap<String, Zeroizing<String>>,
    env: Arc<dyn EnvLookup>,
    remote: Arc<Remote>,
    files: Mutex<Materialised>,
}

/// What the open path hands to [`Vault::assemble`].
pub(crate) struct Parts {
    pub(crate) env_name: String,
    pub(crate) bundle_ts: String,
    pub(crate) generation: u64,
    pub(crate) entries: Vec<(String, Zeroizing<String>)>,
    pub(crate) assets: Vec<(String, Zeroizing<Vec<u8>>)>,
    pub(crate) defaults: HashMap<String, Zeroizing<String>>,
    pub(crate) env: Arc<dyn EnvLookup>,
    pub(crate) remote: Arc<Remote>,
}

impl Vault {
    pub(crate) fn assemble(p: Parts) -> Self {
        let mut values: Vec<(String, Zeroizing<String>)> = Vec::with_capacity(p.entries.len());
        let mut value_index: HashMap<String, usize> = HashMap::with_capacity(p.entries.len());
        for (k, v) in p.entries {
            match value_index.get(&k) {
                Some(&i) => values[i].1 = v,
                None => {
                    value_index.insert(k.clone(), values.len());
                    values.push((k, v));
                }
            }
        }
        let mut assets = Vec::with_capacity(p.assets.len());
        let mut asset_index: HashMap<String, usize> = HashMap::with_capacity(p.assets.len());
        for (name, data) in p.assets {
            if !asset_index.contains_key(&name) {
                asset_index.insert(name.clone(), assets.len());
                assets.push((name, data));
            }
        }
        Self {
            env_name: p.env_name,
            bundle_ts: p.bundle_ts,
            generation: p.generation,
            values,
            value_index,
            assets,
            asset_index,
            defaults: p.defaults,
            env: p.env,
            remote: p.remote,
            files: Mutex::new(Materialised::default()),
        }
    }

    // ----- builders -------------------------------------------------------------------------

    /// Add defaults (step 3 of the chain), replacing any with the same name.
    #[must_use]
    pub fn with_defaults<I, K, V>(mut self, defaults: I) -> Self
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

    /// Replace the process-environment step of the chain (default: [`ProcessEnv`]).
    #[must_use]
    pub fn with_env_lookup(mut self, env: Arc<dyn EnvLookup>) -> Self {
        self.env = env;
        self
    }

    // ----- lookups --------------------------------------------------------------------------

    /// The value of `name`: from the vault, else the process environment, else the defaults.
    /// Borrowed for vault and default values; owned when read from the environment.
    #[must_use]
    pub fn env(&self, name: &str) -> Option<Cow<'_, str>> {
        self.resolve(name).1
    }

    /// The vault's own value of `name`, without the fallback chain.
    #[must_use]
    pub fn vault_env(&self, name: &str) -> Option<&str> {
        self.value_index
            .get(name)
            .map(|&i| self.values[i].1.as_str())
    }

    /// True when any step of the chain has `name` (an empty string counts).
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.source(name) != Source::Missing
    }

    /// Which step of the chain answers for `name`. Safe to log.
    #[must_use]
    pub fn source(&self, name: &str) -> Source {
        if self.value_index.contains_key(name) {
            Source::Vault
        } else if self.env.get(name).map(Zeroizing::new).is_some() {
            Source::Env
        } else if self.defaults.contains_key(name) {
            Source::Default
        } else {
            Source::Missing
        }
    }

    fn resolve(&self, name: &str) -> (Source, Option<Cow<'_, str>>) {
        if let Some(v) = self.vault_env(name) {
            return (Source::Vault, Some(Cow::Borrowed(v)));
        }
        if let Some(v) = self.env.get(name) {
            return (Source::Env, Some(Cow::Owned(v)));
        }
        if let Some(v) = self.defaults.get(name) {
            return (Source::Default, Some(Cow::Borrowed(v.as_str())));
        }
        (Source::Missing, None)
    }

    /// The vault's key names, in the order of `.env.<env>` (duplicates once).
    pub fn keys(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.values.iter().map(|(k, _)| k.as_str())
    }

    // ----- assets ---------------------------------------------------------------------------

    /// The bytes of asset `name` (a vault-relative path such as `tls/server.key`).
    #[must_use]
    pub fn asset_bytes(&self, name: &str) -> Option<&[u8]> {
        self.asset_index
            .get(name)
            .map(|&i| self.assets[i].1.as_slice())
    }

    /// Asset `name` as UTF-8 text.
    ///
    /// # Errors
    /// When the asset is not valid UTF-8.
    pub fn asset_str(&self, name: &str) -> Result<Option<&str>, std::str::Utf8Error> {
        self.asset_bytes(name).map(std::str::from_utf8).transpose()
    }

    /// The asset names (vault-relative), in archive order.
    pub fn asset_names(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        self.assets.iter().map(|(n, _)| n.as_str())
    }

    /// A file holding asset `name`: mode 0600 in a private 0700 directory, written on the first
    /// call, the same path on later calls, removed when the handle is dropped or closed.
    /// Prefer [`Vault::asset_bytes`] when the consumer can take bytes.
    ///
    /// # Errors
    /// [`std::io::ErrorKind::NotFound`] when there is no such asset; any error creating the
    /// directory or the file.
    pub fn asset_path(&self, name: &str) -> std::io::Result<PathBuf> {
        let Some(&i) = self.asset_index.get(name) else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("the vault has no asset named `{name}`"),
            ));
        };
        let (name, data) = &self.assets[i];
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .path(i, name, data)
    }

    // ----- metadata -------------------------------------------------------------------------

    /// The generation recorded in `latest.manifest` (else `latest.meta`) when the handle was
    /// opened; 0 when there is neither (nothing was rotated yet).
    #[must_use]
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// The timestamp of the version that was opened (`YYYYMMDD-HHMMSS`).
    #[must_use]
    pub fn bundle_ts(&self) -> &str {
        &self.bundle_ts
    }

    /// The env this handle reads (from the config blob).
    #[must_use]
    pub fn env_name(&self) -> &str {
        &self.env_name
    }

    /// Read the current generation from the bucket: a GET of `latest.manifest` (and of the
    /// legacy `latest.meta` when there is none); no passphrase, no key derivation. The handle
    /// itself never changes: restart to pick up a new version.
    ///
    /// # Errors
    /// [`Error::S3Unreachable`], or [`Error::BundleCorrupt`] for a malformed generation cell.
    pub async fn remote_generation(&self) -> Result<u64, Error> {
        self.remote.generation().await
    }

    /// True when [`Vault::remote_generation`] is newer than [`Vault::generation`].
    ///
    /// # Errors
    /// Those of [`Vault::remote_generation`].
    pub async fn has_new_version(&self) -> Result<bool, Error> {
        Ok(self.remote_generation().await? > self.generation)
    }

    /// [`Vault::remote_generation`] for synchronous callers.
    ///
    /// # Errors
    /// Those of [`Vault::remote_generation`].
    pub fn remote_generation_blocking(&self) -> Result<u64, Error> {
        let remote = Arc::clone(&self.remote);
        crate::blocking::run(async move { remote.generation().await })
    }

    /// Drop the handle now, reporting whether the materialised files could be removed.
    ///
    /// # Errors
    /// When the asset directory cannot be removed.
    pub fn close(self) -> std::io::Result<()> {
        self.files
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .close()
    }

    // ----- aliases (generation B names) -----------------------------------------------------

    /// Alias of [`Vault::env`].
    #[must_use]
    pub fn get_env(&self, name: &str) -> Option<Cow<'_, str>> {
        self.env(name)
    }

    /// Alias of [`Vault::has`].
    #[must_use]
    pub fn has_env(&self, name: &str) -> bool {
        self.has(name)
    }

    /// Alias of [`Vault::source`].
    #[must_use]
    pub fn env_source(&self, name: &str) -> Source {
        self.source(name)
    }

    /// Alias of [`Vault::asset_bytes`].
    #[must_use]
    pub fn get_as_content(&self, name: &str) -> Option<&[u8]> {
        self.asset_bytes(name)
    }
}

impl fmt::Display for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "<vsync:redacted gen={} env={}>",
            self.generation, self.env_name
        )
    }
}

impl fmt::Debug for Vault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Serialises as the redacted string, so a handle that ends up in a log record or a JSON dump
/// leaks nothing.
impl serde::Serialize for Vault {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// The default for [`Parts::env`].
pub(crate) fn process_env() -> Arc<dyn EnvLookup> {
    Arc::new(ProcessEnv)
}
