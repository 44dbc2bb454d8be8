//! Vault KV plumbing over `vaultrs`: configuration, one read, one (check-and-set) write, error mapping.

use std::collections::BTreeMap;

use vaultrs::client::{VaultClient, VaultClientSettingsBuilder};
use vaultrs::error::ClientError;
use vsync_dest_api::{DestError, DestErrorKind, Routing};

use crate::EnvSource;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvVersion {
    V1,
    V2,
}

/// Resolved connection and location settings.
#[derive(Clone, Debug)]
pub struct VaultConfig {
    pub addr: String,
    pub token: String,
    pub namespace: Option<String>,
    pub mount: String,
    pub path: String,
    pub kv: KvVersion,
}

pub(crate) fn routing_opt(routing: &Routing, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| vsync_dest_api::routing_str(routing, n))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

impl VaultConfig {
    /// Routing fields: `addr`, `mount` (default `secret`), `path` (`secretPath`), `kv_version`
    /// (`2` default, or `1`), `namespace`; `VAULT_ADDR`, `VAULT_TOKEN`, `VAULT_NAMESPACE` fill the gaps.
    pub fn from_routing(routing: &Routing, env: &EnvSource) -> Result<Self, DestError> {
        let addr = routing_opt(routing, &["addr", "vault_addr"])
            .or_else(|| env.get("VAULT_ADDR"))
            .ok_or_else(|| {
                DestError::new(
                    DestErrorKind::Config,
                    "no Vault address: pass --vault-addr or set VAULT_ADDR",
                )
            })?;
        let token = env
            .get("VAULT_TOKEN")
            .or_else(read_token_file)
            .ok_or_else(|| {
                DestError::new(
                    DestErrorKind::Auth,
                    "no Vault token: set VAULT_TOKEN or run `vault login` (~/.vault-token)",
                )
            })?;
        let namespace = routing_opt(routing, &["namespace"]).or_else(|| env.get("VAULT_NAMESPACE"));
        let mount =
            routing_opt(routing, &["mount", "vault_mount"]).unwrap_or_else(|| "secret".into());
        let path = routing_opt(
            routing,
            &["path", "secretPath", "secret_path", "vault_path"],
        )
        .ok_or_else(|| {
            DestError::new(
                DestErrorKind::Config,
                "no Vault secret path: pass --vault-path",
            )
        })?;
        let kv = match routing_opt(routing, &["kv_version", "kv"]).as_deref() {
            None | Some("2") | Some("v2") => KvVersion::V2,
            Some("1") | Some("v1") => KvVersion::V1,
            Some(other) => {
                return Err(DestError::new(
                    DestErrorKind::Config,
                    format!("kv_version must be 1 or 2, not {other:?}"),
                ));
            }
        };
        Ok(Self {
            addr,
            token,
            namespace,
            mount: mount.trim_matches('/').to_string(),
            path: path.trim_matches('/').to_string(),
            kv,
        })
    }

    pub fn display(&self) -> String {
        let ns = self
            .namespace
            .as_deref()
            .map(|n| format!(" (namespace {n})"))
            .unwrap_or_default();
        let v = match self.kv {
            KvVersion::V1 => "kv1",
            KvVersion::V2 => "kv2",
        };
        format!(
            "{}/{}/{} [{v}]{ns}",
            self.addr.trim_end_matches('/'),
            self.mount,
            self.path
        )
    }
}

fn read_token_file() -> Option<String> {
    let home = std::env::var_os("HOME")?;
    let t = std::fs::read_to_string(std::path::Path::new(&home).join(".vault-token")).ok()?;
    let t = t.trim().to_string();
    (!t.is_empty()).then_some(t)
}

/// The secret as it is now: its key/value map and (KV v2) current version; version 0 = absent.
#[derive(Clone, Debug, Default)]
pub(crate) struct Remote {
    pub(crate) exists: bool,
    pub(crate) version: u64,
    pub(crate) map: BTreeMap<String, String>,
}

pub(crate) struct VaultBackend {
    pub(crate) cfg: VaultConfig,
    client: VaultClient,
}

impl VaultBackend {
    pub(crate) fn new(cfg: VaultConfig) -> Result<Self, DestError> {
        let mut b = VaultClientSettingsBuilder::default();
        b.address(cfg.addr.as_str()).token(cfg.token.as_str());
        if let Some(ns) = &cfg.namespace {
            b.set_namespace(ns.clone());
        }
        let settings = b.build().map_err(|e| {
            DestError::new(DestErrorKind::Config, format!("Vault client settings: {e}"))
        })?;
        let client = VaultClient::new(settings).map_err(|e| {
            DestError::new(
                DestErrorKind::Config,
                format!("Vault client for {}: {e}", cfg.addr),
            )
        })?;
        Ok(Self { cfg, client })
    }

    pub(crate) async fn read(&self) -> Result<Remote, DestError> {
        let (m, p) = (self.cfg.mount.as_str(), self.cfg.path.as_str());
        match self.cfg.kv {
            KvVersion::V2 => {
                // The metadata gives the current version even when that version is soft-deleted.
                let meta = match vaultrs::kv2::read_metadata(&self.client, m, p).await {
                    Ok(meta) => meta,
                    Err(e) if status_of(&e) == Some(404) => return Ok(Remote::default()),
                    Err(e) => return Err(self.map_err(e, "read")),
                };
                let version = meta.current_version;
                let data: serde_json::Value =
                    match vaultrs::kv2::read_version(&self.client, m, p, version).await {
                        Ok(d) => d,
                        // current version deleted or destroyed: empty map, CAS still on `version`
                        Err(e) if status_of(&e) == Some(404) => {
                            return Ok(Remote {
                                exists: false,
                                version,
                                map: BTreeMap::new(),
                            });
                        }
                        Err(e) => return Err(self.map_err(e, "read")),
                    };
                Ok(Remote {
                    exists: true,
                    version,
                    map: to_map(data, &self.cfg)?,
                })
            }
            KvVersion::V1 => match vaultrs::kv1::get::<serde_json::Value>(&self.client, m, p).await
            {
                Ok(data) => Ok(Remote {
                    exists: true,
                    version: 0,
                    map: to_map(data, &self.cfg)?,
                }),
                Err(e) if status_of(&e) == Some(404) => Ok(Remote::default()),
                Err(e) => Err(self.map_err(e, "read")),
            },
        }
    }

    /// KV v2: one check-and-set write against `version` (0 = must not exist yet). KV v1: a plain write.
    pub(crate) async fn write(
        &self,
        map: &BTreeMap<String, String>,
        version: u64,
    ) -> Result<(), DestError> {
        let (m, p) = (self.cfg.mount.as_str(), self.cfg.path.as_str());
        match self.cfg.kv {
            KvVersion::V2 => {
                let cas = u32::try_from(version).map_err(|_| {
                    DestError::new(DestErrorKind::Internal, "Vault version out of range")
                })?;
                let opts = vaultrs::api::kv2::requests::SetSecretRequestOptions { cas };
                match vaultrs::kv2::set_with_options(&self.client, m, p, map, opts).await {
                    Ok(_) => Ok(()),
                    Err(e) => Err(self.settle_cas_refusal(e, version).await),
                }
            }
            // KV v1 refuses an empty secret ("missing data fields"): pruning the last key
            // removes the path instead.
            KvVersion::V1 if map.is_empty() => vaultrs::kv1::delete(&self.client, m, p)
                .await
                .map_err(|e| self.map_err(e, "delete")),
            KvVersion::V1 => vaultrs::kv1::set(&self.client, m, p, &to_str_map(map))
                .await
                .map_err(|e| self.map_err(e, "write")),
        }
    }

    /// Vault refuses a check-and-set write that lost a race with the generic HTTP 400 (the reason
    /// is only in the prose); the secret's current version, read back, says whether that was why.
    async fn settle_cas_refusal(&self, e: ClientError, expected: u64) -> DestError {
        if status_of(&e) != Some(400) {
            return self.map_err(e, "write");
        }
        let (m, p) = (self.cfg.mount.as_str(), self.cfg.path.as_str());
        let current = match vaultrs::kv2::read_metadata(&self.client, m, p).await {
            Ok(meta) => meta.current_version,
            Err(read) if status_of(&read) == Some(404) => 0,
            Err(_) => return self.map_err(e, "write"),
        };
        if current == expected {
            return self.map_err(e, "write");
        }
        DestError::new(
            DestErrorKind::Conflict,
            format!(
                "{} was written by someone else during this sync (check-and-set mismatch); nothing written, run the sync again",
                self.cfg.display()
            ),
        )
    }

    fn map_err(&self, e: ClientError, op: &str) -> DestError {
        let target = self.cfg.display();
        let detail = api_errors(&e);
        let (kind, what) = match status_of(&e) {
            Some(401 | 403) => (
                DestErrorKind::Auth,
                format!("Vault denied the {op} of {target}: check VAULT_TOKEN and its policy"),
            ),
            Some(404) => (
                DestErrorKind::NotFound,
                format!("{target}: mount or path not found"),
            ),
            Some(429) => (
                DestErrorKind::RateLimited,
                format!("Vault rate-limited the {op} of {target}"),
            ),
            Some(s) if s >= 500 => (
                DestErrorKind::Transient,
                format!("Vault {op} of {target} failed with HTTP {s}"),
            ),
            Some(s) => (
                DestErrorKind::Internal,
                format!("Vault {op} of {target} failed with HTTP {s}"),
            ),
            None => match &e {
                ClientError::RestClientError { .. } => (
                    DestErrorKind::Transient,
                    format!(
                        "cannot reach Vault at {} for the {op} of {target}",
                        self.cfg.addr
                    ),
                ),
                _ => (
                    DestErrorKind::Internal,
                    format!("Vault {op} of {target}: {e}"),
                ),
            },
        };
        let msg = if detail.is_empty() {
            what
        } else {
            format!("{what}: {detail}")
        };
        DestError::new(kind, msg)
    }
}

fn to_str_map(map: &BTreeMap<String, String>) -> std::collections::HashMap<&str, &str> {
    map.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

fn to_map(
    data: serde_json::Value,
    cfg: &VaultConfig,
) -> Result<BTreeMap<String, String>, DestError> {
    let serde_json::Value::Object(obj) = data else {
        return Err(DestError::new(
            DestErrorKind::Conflict,
            format!("{} does not hold a key/value object", cfg.display()),
        ));
    };
    Ok(obj
        .into_iter()
        .map(|(k, v)| {
            let s = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(), // non-string values compare as JSON text (→ Update)
            };
            (k, s)
        })
        .collect())
}

/// The HTTP status behind a vaultrs error, if there was a response.
pub(crate) fn status_of(e: &ClientError) -> Option<u16> {
    match e {
        ClientError::APIError { code, .. } => Some(*code),
        ClientError::RestClientError {
            source: rustify::errors::ClientError::ServerResponseError { code, .. },
        } => Some(*code),
        _ => None,
    }
}

/// Vault's own error strings (they never echo secret values).
fn api_errors(e: &ClientError) -> String {
    match e {
        ClientError::APIError { errors, .. } => errors.join("; "),
        _ => String::new(),
    }
}
