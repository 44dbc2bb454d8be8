//! Routing → settings, and env key → Key Vault secret name (pure, offline).

use vsync_dest_api::{DestError, DestErrorKind, RemoteName, Routing, routing_str};

/// Key Vault secret names: `^[0-9A-Za-z-]{1,127}$`, compared case-insensitively.
pub(crate) const NAME_MAX: usize = 127;

/// How env keys become secret names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameMap {
    /// The key as is; a key Key Vault cannot hold (e.g. with `_`) is an error with the fix.
    None,
    /// `_` becomes `-` (collisions are checked after mapping).
    Dash,
}

/// Which credential to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialChoice {
    /// `AZURE_CLIENT_SECRET` (+ tenant, client id) when set, else Azure CLI / azd, then managed identity.
    Auto,
    /// Service principal from `AZURE_TENANT_ID` / `AZURE_CLIENT_ID` / `AZURE_CLIENT_SECRET`.
    ClientSecret,
    /// The host's managed identity (`AZURE_CLIENT_ID` picks a user-assigned one).
    ManagedIdentity,
    /// `az` (or `azd`) logged-in user.
    Cli,
}

/// Settings for one target.
#[derive(Clone, Debug)]
pub struct AzureConfig {
    /// `https://<name>.vault.azure.net` or the URL given.
    pub vault_url: String,
    /// The host of `vault_url`.
    pub host: String,
    pub name_map: NameMap,
    /// Prepended to every secret name; prune only considers names under it.
    pub prefix: String,
    pub credential: CredentialChoice,
}

impl AzureConfig {
    /// Routing fields: `vaultName` (a vault name or an `https://` URL), `nameMap` (`none` | `dash`),
    /// `prefix`, `credential` (`auto` | `client-secret` | `managed-identity` | `cli`).
    pub fn from_routing(routing: &Routing) -> Result<Self, DestError> {
        let vault = routing_str(routing, "vaultName")
            .or_else(|| routing_str(routing, "vault"))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                DestError::config(
                    "azure needs the Key Vault: --azure-vault NAME (or https://NAME.vault.azure.net)",
                )
            })?;
        let (vault_url, host) = vault_url(vault)?;
        let name_map = match routing_str(routing, "nameMap").map(str::trim) {
            None | Some("none") => NameMap::None,
            Some("dash") => NameMap::Dash,
            Some(other) => {
                return Err(DestError::config(format!(
                    "azure name map must be none or dash, not {other:?}"
                )));
            }
        };
        let prefix = routing_str(routing, "prefix")
            .unwrap_or_default()
            .trim()
            .to_string();
        if let Some(c) = prefix.chars().find(|c| !is_name_char(*c)) {
            return Err(DestError::config(format!(
                "azure prefix {prefix:?}: character {c:?} is not allowed (letters, digits and '-')"
            )));
        }
        let credential = match routing_str(routing, "credential").map(str::trim) {
            None | Some("auto") => CredentialChoice::Auto,
            Some("client-secret") => CredentialChoice::ClientSecret,
            Some("managed-identity") => CredentialChoice::ManagedIdentity,
            Some("cli") => CredentialChoice::Cli,
            Some(other) => {
                return Err(DestError::config(format!(
                    "azure credential must be auto, client-secret, managed-identity or cli, not {other:?}"
                )));
            }
        };
        Ok(Self {
            vault_url,
            host,
            name_map,
            prefix,
            credential,
        })
    }

    /// Env key → secret name, or `InvalidName` with the fix.
    pub fn map_name(&self, key: &str) -> Result<RemoteName, DestError> {
        let mapped = match self.name_map {
            NameMap::None => key.to_string(),
            NameMap::Dash => key.replace('_', "-"),
        };
        let name = format!("{}{mapped}", self.prefix);
        // An empty key would name the prefix itself (conformance case map_name).
        if key.is_empty() {
            return Err(DestError::invalid_name(key, "empty key"));
        }
        if self.name_map == NameMap::None && key.contains('_') {
            return Err(DestError::invalid_name(
                key,
                format!(
                    "Azure Key Vault secret names allow only letters, digits and '-', so {key:?} cannot be stored as is: \
                     pass --azure-name-map dash (or --opt azure.name-map=dash) to map '_' to '-', or rename the key"
                ),
            ));
        }
        if let Some(c) = name.chars().find(|c| !is_name_char(*c)) {
            return Err(DestError::invalid_name(
                key,
                format!(
                    "character {c:?} is not allowed in an Azure Key Vault secret name (letters, digits and '-')"
                ),
            ));
        }
        if name.len() > NAME_MAX {
            return Err(DestError::invalid_name(
                key,
                format!(
                    "{name:?} is longer than {NAME_MAX} characters (the Azure Key Vault limit)"
                ),
            ));
        }
        Ok(RemoteName(name))
    }

    /// Whether `name` is under the managed prefix (Key Vault names are case-insensitive).
    pub fn in_scope(&self, name: &str) -> bool {
        name.len() >= self.prefix.len()
            && name.is_char_boundary(self.prefix.len())
            && name[..self.prefix.len()].eq_ignore_ascii_case(&self.prefix)
    }

    /// The vault's name when it is a public-cloud style host (`NAME.vault.azure.net`).
    pub fn vault_name(&self) -> Option<&str> {
        let (first, rest) = self.host.split_once('.')?;
        rest.starts_with("vault.").then_some(first)
    }

    /// Loopback vaults (tests, tunnels) cannot satisfy the SDK's check that the challenge's
    /// resource is a parent domain of the vault host; every other host keeps that check.
    pub fn is_loopback(&self) -> bool {
        let h = self.host.trim_start_matches('[').trim_end_matches(']');
        h == "localhost"
            || h.parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }

    /// The `az` command that recovers a soft-deleted secret, and the one that purges it.
    pub fn recover_purge_commands(&self, name: &str) -> (String, String) {
        match self.vault_name() {
            Some(v) => (
                format!("az keyvault secret recover --vault-name {v} --name {name}"),
                format!("az keyvault secret purge --vault-name {v} --name {name}"),
            ),
            None => (
                format!(
                    "az keyvault secret recover --id {}/deletedsecrets/{name}",
                    self.vault_url
                ),
                format!(
                    "az keyvault secret purge --id {}/deletedsecrets/{name}",
                    self.vault_url
                ),
            ),
        }
    }

    pub fn display(&self) -> String {
        let map = match self.name_map {
            NameMap::None => "",
            NameMap::Dash => ", '_' mapped to '-'",
        };
        if self.prefix.is_empty() {
            format!("vault {}{map}", self.vault_url)
        } else {
            format!("vault {}, names under {}{map}", self.vault_url, self.prefix)
        }
    }
}

pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-'
}

/// A vault name (3–24 of letters, digits, '-', starting with a letter) or an https URL.
fn vault_url(v: &str) -> Result<(String, String), DestError> {
    if v.contains("://") {
        let Some(rest) = v.strip_prefix("https://") else {
            return Err(DestError::config(format!(
                "azure vault URL {v:?} must use https (Key Vault refuses anything else)"
            )));
        };
        let host_port = rest.split('/').next().unwrap_or_default();
        if host_port.is_empty() || rest.trim_end_matches('/') != host_port {
            return Err(DestError::config(format!(
                "azure vault URL {v:?} must be just https://HOST[:PORT] (no path)"
            )));
        }
        let host = if host_port.starts_with('[') {
            host_port
                .split_once(']')
                .map(|(h, _)| format!("{h}]"))
                .unwrap_or_default()
        } else {
            host_port.split(':').next().unwrap_or_default().to_string()
        };
        return Ok((format!("https://{host_port}"), host.to_ascii_lowercase()));
    }
    let ok = (3..=24).contains(&v.len())
        && v.starts_with(|c: char| c.is_ascii_alphabetic())
        && v.chars().all(is_name_char)
        && !v.ends_with('-')
        && !v.contains("--");
    if !ok {
        return Err(DestError::new(
            DestErrorKind::Config,
            format!(
                "{v:?} is not a Key Vault name (3-24 letters, digits and '-', starting with a letter) nor an https:// URL"
            ),
        ));
    }
    let host = format!("{}.vault.azure.net", v.to_ascii_lowercase());
    Ok((format!("https://{host}"), host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<AzureConfig, DestError> {
        let mut r = Routing::new();
        for (k, v) in pairs {
            r.insert((*k).into(), (*v).into());
        }
        AzureConfig::from_routing(&r)
    }

    #[test]
    fn vault_names_and_urls() {
        let c = cfg(&[("vaultName", "my-vault")]).unwrap();
        assert_eq!(c.vault_url, "https://my-vault.vault.azure.net");
        assert_eq!(c.vault_name(), Some("my-vault"));
        assert!(!c.is_loopback());
        let c = cfg(&[("vaultName", "https://127.0.0.1:8443/")]).unwrap();
        assert_eq!(c.vault_url, "https://127.0.0.1:8443");
        assert!(c.is_loopback());
        assert_eq!(c.vault_name(), None);
        assert!(cfg(&[("vaultName", "http://127.0.0.1:8443")]).is_err());
        assert!(cfg(&[("vaultName", "https://h/x")]).is_err());
        assert!(cfg(&[("vaultName", "9abc")]).is_err());
        assert!(cfg(&[("vaultName", "a_b_c")]).is_err());
        assert_eq!(cfg(&[]).unwrap_err().kind, DestErrorKind::Config);
    }

    #[test]
    fn names() {
        let c = cfg(&[("vaultName", "v-1")]).unwrap();
        assert_eq!(c.map_name("API-KEY").unwrap().0, "API-KEY");
        let e = c.map_name("DB_URL").unwrap_err();
        assert_eq!(e.kind, DestErrorKind::InvalidName);
        assert!(e.message.contains("--azure-name-map dash"), "{e}");
        assert!(c.map_name("A.B").is_err());
        assert!(c.map_name(&"X".repeat(128)).is_err());
        assert!(c.map_name(&"X".repeat(127)).is_ok());
        let c = cfg(&[
            ("vaultName", "v-1"),
            ("nameMap", "dash"),
            ("prefix", "app-"),
        ])
        .unwrap();
        assert_eq!(c.map_name("DB_URL").unwrap().0, "app-DB-URL");
        assert!(c.in_scope("APP-x") && !c.in_scope("other"));
        assert!(cfg(&[("vaultName", "v-1"), ("nameMap", "x")]).is_err());
        assert!(cfg(&[("vaultName", "v-1"), ("prefix", "a_")]).is_err());
    }
}
