//! The per-(repo, env) config: gzipped compact JSON at `<base>/<repo>/env_<env_lc>` (docs/formats.md §9.3).
//! Fields are written in upstream's order and unknown fields round-trip untouched.

use std::fmt;
use std::io::{Read, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::fsutil::{self, FsError};

/// Largest config we accept after gunzip; a config is a few hundred bytes.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The per-env config.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnvConfig {
    /// Always 1.
    pub version: u64,
    /// Upstream's S3 connection (absent for `file://` stores).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub s3: Option<S3Section>,
    /// The PBKDF2 salt text.
    pub encryption: Encryption,
    /// Vault folder location.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<Files>,
    /// Per-target sync routing, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<Map<String, Value>>,
    /// Audit switch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditSection>,
    /// Profile used by init.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_profile: Option<String>,
    /// Key prefix in the bucket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Our addition: the bucket as a URL (`file:///…`, `s3://…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// Fields we do not know, kept as read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `s3` section.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct S3Section {
    /// URL or bare host.
    pub endpoint: String,
    /// SigV4 region.
    pub region: String,
    /// Bucket name.
    pub bucket: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key (plaintext at rest; the file is 0600).
    pub secret_access_key: String,
    /// TLS when the endpoint has no scheme.
    #[serde(default = "yes")]
    pub use_ssl: bool,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn yes() -> bool {
    true
}

impl fmt::Debug for S3Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = [&self.endpoint, &self.region, &self.bucket];
        debug_s3_credentials(f, "S3Section", location, &self.access_key_id)
    }
}

/// The `Debug` of a set of S3 credentials (a config's `s3` section, a profile): where they
/// point (endpoint, region, bucket) and whose they are; the secret key shows as `<redacted>`.
pub(crate) fn debug_s3_credentials(
    f: &mut fmt::Formatter<'_>,
    name: &str,
    [endpoint, region, bucket]: [&String; 3],
    access_key_id: &str,
) -> fmt::Result {
    f.debug_struct(name)
        .field("endpoint", endpoint)
        .field("region", region)
        .field("bucket", bucket)
        .field("access_key_id", &access_key_id)
        .field("secret_access_key", &"<redacted>")
        .finish_non_exhaustive()
}

impl S3Section {
    /// The endpoint as a URL: verbatim when it has a scheme, else `https://` or `http://` per `useSsl`.
    pub fn endpoint_url(&self) -> String {
        if self.endpoint.starts_with("http") {
            self.endpoint.clone()
        } else if self.use_ssl {
            format!("https://{}", self.endpoint)
        } else {
            format!("http://{}", self.endpoint)
        }
    }
}

/// `encryption` section.
#[derive(Clone, Serialize, Deserialize)]
pub struct Encryption {
    /// PBKDF2 salt text (opaque; never base64-decoded).
    pub salt: String,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `files` section.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Files {
    /// Vault folder relative to the vault root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vault_folder: Option<String>,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `audit` section.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditSection {
    /// Whether verbs append audit rows.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for EnvConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EnvConfig")
            .field("version", &self.version)
            .field("s3", &self.s3)
            .field("store", &self.store)
            .field("files", &self.files)
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Why a config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Reading or writing failed.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// Not gzip, not JSON, or a required field is missing.
    #[error("the config {path} is malformed: {reason}")]
    Malformed {
        /// The file.
        path: String,
        /// What is wrong (never a value).
        reason: String,
    },
}

impl EnvConfig {
    /// A fresh config for a new (repo, env).
    pub fn new(salt: String) -> Self {
        EnvConfig {
            version: 1,
            s3: None,
            encryption: Encryption {
                salt,
                extra: Map::new(),
            },
            files: None,
            sync: None,
            audit: None,
            init_profile: None,
            prefix: None,
            store: None,
            extra: Map::new(),
        }
    }

    /// Read the config at `path`; `Ok(None)` when the file does not exist.
    pub fn load(path: &Path) -> Result<Option<Self>, ConfigError> {
        let Some(raw) = fsutil::read_optional(path)? else {
            return Ok(None);
        };
        Self::decode(&raw, path).map(Some)
    }

    fn decode(raw: &[u8], path: &Path) -> Result<Self, ConfigError> {
        let malformed = |reason: String| ConfigError::Malformed {
            path: path.display().to_string(),
            reason,
        };
        let mut json = Vec::new();
        flate2::read::GzDecoder::new(raw)
            .take(MAX_CONFIG_BYTES)
            .read_to_end(&mut json)
            .map_err(|e| malformed(format!("not gzip ({e})")))?;
        let cfg: EnvConfig = serde_json::from_slice(&json).map_err(|e| {
            // serde_json errors name positions and field names, never values.
            malformed(format!("not a vsync config ({})", e.classify_message()))
        })?;
        cfg.validate().map_err(malformed)?;
        Ok(cfg)
    }

    /// The checks every config passes, wherever it comes from (this machine's file, a share
    /// file, a keytree): the reason names the field, never a value.
    pub fn validate(&self) -> Result<(), String> {
        if self.version != 1 {
            return Err("version must be 1".into());
        }
        if self.encryption.salt.is_empty() {
            return Err("encryption.salt is missing".into());
        }
        if let Some(s3) = &self.s3 {
            if s3.endpoint.is_empty() || s3.region.is_empty() || s3.bucket.is_empty() {
                return Err("s3.endpoint, s3.region and s3.bucket must be set".into());
            }
        } else if self.store.as_deref().is_none_or(str::is_empty) {
            return Err("neither a store URL nor an s3 section".into());
        }
        if let Some(vf) = self.files.as_ref().and_then(|f| f.vault_folder.as_deref()) {
            // Empty means "the default" (upstream writes it so); anything else obeys the rule.
            if !vf.is_empty() {
                vsync_vault::vault_folder::check(vf).map_err(|r| {
                    format!(
                        "files.vaultFolder `{}` is refused ({})",
                        vsync_vault::display::escape_short(vf),
                        r.as_str()
                    )
                })?;
            }
        }
        Ok(())
    }

    /// gzip(compact JSON), written atomically 0600 in a 0700 folder.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let json = serde_json::to_vec(self).map_err(|e| ConfigError::Malformed {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&json)
            .and_then(|()| gz.finish().map(|bytes| (bytes,)))
            .map_err(|e| ConfigError::Fs(FsError::new("compress", path, e)))
            .and_then(|(bytes,)| fsutil::write_private(path, &bytes).map_err(ConfigError::from))
    }

    /// The vault folder relative to the vault root (default `infra/vault/<env_lc>`).
    pub fn vault_folder(&self, env: &str) -> String {
        self.files
            .as_ref()
            .and_then(|f| f.vault_folder.clone())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| format!("infra/vault/{}", env.to_lowercase()))
    }

    /// Whether the store honours conditional writes (`conditionalWrites`, recorded by `init`
    /// after probing; absent means yes).
    pub fn conditional_writes(&self) -> bool {
        self.extra
            .get("conditionalWrites")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(true)
    }

    /// Record the probe result of `init`.
    pub fn set_conditional_writes(&mut self, supported: bool) {
        if supported {
            self.extra.remove("conditionalWrites");
        } else {
            self.extra
                .insert("conditionalWrites".into(), serde_json::Value::Bool(false));
        }
    }

    /// Whether verbs append audit rows.
    pub fn audit_enabled(&self) -> bool {
        self.audit.as_ref().is_none_or(|a| a.enabled)
    }
}

trait ClassifyMessage {
    fn classify_message(&self) -> String;
}

impl ClassifyMessage for serde_json::Error {
    fn classify_message(&self) -> String {
        format!(
            "{:?} error at line {} column {}",
            self.classify(),
            self.line(),
            self.column()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upstream_config_round_trips_unknown_fields_in_order() {
        let json = r#"{"version":1,"s3":{"endpoint":"s3.example.com","region":"eu-central-1","bucket":"b","accessKeyId":"AK","secretAccessKey":"SK","useSsl":true,"x":1},"encryption":{"salt":"ICEiIyQlJicoKSorLC0uLzAx"},"files":{"vaultFolder":"apps/web/vault/prod"},"sync":{"gh":{"repo":"acme/web"}},"audit":{"enabled":true},"initProfile":"acme","prefix":"acme/prod/","lastPush":{"ts":"20260101-000000","gen":0}}"#;
        let cfg: EnvConfig = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&cfg).unwrap(), json);
        assert_eq!(
            cfg.s3.as_ref().unwrap().endpoint_url(),
            "https://s3.example.com"
        );
        assert!(!format!("{cfg:?}").contains("SK"));
    }

    #[test]
    fn save_then_load_and_garbage_is_a_typed_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("repo/env_dev");
        let mut cfg = EnvConfig::new("salt-salt-salt-salt-salt".into());
        cfg.store = Some("file:///tmp/bucket".into());
        cfg.save(&path).unwrap();
        let back = EnvConfig::load(&path).unwrap().unwrap();
        assert_eq!(back.store.as_deref(), Some("file:///tmp/bucket"));
        assert_eq!(back.vault_folder("Dev"), "infra/vault/dev");
        std::fs::write(&path, b"not gzip").unwrap();
        assert!(matches!(
            EnvConfig::load(&path),
            Err(ConfigError::Malformed { .. })
        ));
        assert!(EnvConfig::load(&dir.path().join("none")).unwrap().is_none());
    }
}
