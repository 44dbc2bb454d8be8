//! Building the `SecretClient`: credential chain, transport (optional extra CA), no SDK retries.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use azure_core::cloud::{CloudConfiguration, CustomConfiguration};
use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
use azure_core::http::{ClientOptions, RetryOptions, Transport};
use azure_identity::{
    ClientSecretCredential, ClientSecretCredentialOptions, DeveloperToolsCredential,
    ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId,
};
use azure_security_keyvault_secrets::{SecretClient, SecretClientOptions};
use vsync_dest_api::{DestError, DestErrorKind, EnvSource};

use crate::config::{AzureConfig, CredentialChoice};

/// Variable naming a PEM file of extra trusted roots for Key Vault and token requests.
pub const CA_FILE_VAR: &str = "VSYNC_AZURE_CA_FILE";

// Same limits as the SDK's default reqwest client.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// A `SecretClient` for `cfg`, with the credential the environment selects.
pub(crate) fn secret_client(cfg: &AzureConfig, env: &EnvSource) -> Result<SecretClient, DestError> {
    let transport = transport(env)?;
    let credential = credential(cfg.credential, env, transport.clone())?;
    let options = SecretClientOptions {
        client_options: ClientOptions {
            // the engine owns retries and honours Retry-After through the error kinds
            retry: RetryOptions::none(),
            transport,
            ..Default::default()
        },
        verify_challenge_resource: Some(!cfg.is_loopback()),
        ..Default::default()
    };
    SecretClient::new(&cfg.vault_url, credential, Some(options)).map_err(|e| {
        DestError::config(format!(
            "azure: cannot use vault URL {}: {e}",
            cfg.vault_url
        ))
    })
}

/// The SDK's default transport, unless `VSYNC_AZURE_CA_FILE` adds roots: then a reqwest client
/// that trusts the platform roots *plus* those (verification stays on).
fn transport(env: &EnvSource) -> Result<Option<Transport>, DestError> {
    let Some(path) = env.get(CA_FILE_VAR) else {
        return Ok(None);
    };
    let pem = std::fs::read(&path)
        .map_err(|e| DestError::config(format!("{CA_FILE_VAR}={path}: cannot read it: {e}")))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        DestError::config(format!(
            "{CA_FILE_VAR}={path}: not a PEM certificate bundle: {e}"
        ))
    })?;
    if certs.is_empty() {
        return Err(DestError::config(format!(
            "{CA_FILE_VAR}={path}: no certificate in it"
        )));
    }
    let client = reqwest::Client::builder()
        .tls_certs_merge(certs)
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| DestError::config(format!("{CA_FILE_VAR}={path}: {e}")))?;
    Ok(Some(Transport::new(Arc::new(client))))
}

fn credential(
    choice: CredentialChoice,
    env: &EnvSource,
    transport: Option<Transport>,
) -> Result<Arc<dyn TokenCredential>, DestError> {
    let has_secret = env.get("AZURE_CLIENT_SECRET").is_some();
    match choice {
        CredentialChoice::ClientSecret => client_secret(env, transport),
        CredentialChoice::Auto if has_secret => client_secret(env, transport),
        CredentialChoice::ManagedIdentity => managed_identity(env),
        CredentialChoice::Cli => developer_tools(),
        CredentialChoice::Auto => Ok(Arc::new(Chain {
            sources: vec![
                ("Azure CLI / azd", developer_tools()?),
                ("managed identity", managed_identity(env)?),
            ],
        })),
    }
}

fn client_secret(
    env: &EnvSource,
    transport: Option<Transport>,
) -> Result<Arc<dyn TokenCredential>, DestError> {
    let need = |v: &str| {
        env.get(v).ok_or_else(|| {
            DestError::new(
                DestErrorKind::Auth,
                format!("azure service principal: {v} is not set (needs AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET)"),
            )
        })
    };
    let tenant = need("AZURE_TENANT_ID")?;
    let client_id = need("AZURE_CLIENT_ID")?;
    let secret = Secret::new(need("AZURE_CLIENT_SECRET")?);
    let cloud = env.get("AZURE_AUTHORITY_HOST").map(|host| {
        let mut c = CustomConfiguration::default();
        c.authority_host = host;
        Arc::new(CloudConfiguration::from(c))
    });
    let options = ClientSecretCredentialOptions {
        client_options: ClientOptions {
            transport,
            cloud,
            ..Default::default()
        },
    };
    let c =
        ClientSecretCredential::new(&tenant, client_id, secret, Some(options)).map_err(|e| {
            DestError::new(DestErrorKind::Auth, format!("azure service principal: {e}"))
        })?;
    Ok(c)
}

fn managed_identity(env: &EnvSource) -> Result<Arc<dyn TokenCredential>, DestError> {
    let options = ManagedIdentityCredentialOptions {
        user_assigned_id: env.get("AZURE_CLIENT_ID").map(UserAssignedId::ClientId),
        ..Default::default()
    };
    let c = ManagedIdentityCredential::new(Some(options))
        .map_err(|e| DestError::new(DestErrorKind::Auth, format!("azure managed identity: {e}")))?;
    Ok(c)
}

fn developer_tools() -> Result<Arc<dyn TokenCredential>, DestError> {
    let c = DeveloperToolsCredential::new(None)
        .map_err(|e| DestError::new(DestErrorKind::Auth, format!("azure CLI credential: {e}")))?;
    Ok(c)
}

/// Tries each source in order; the first that yields a token wins. The errors of all of them
/// are reported together when none does.
struct Chain {
    sources: Vec<(&'static str, Arc<dyn TokenCredential>)>,
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.sources.iter().map(|(n, _)| *n).collect();
        f.debug_struct("Chain").field("sources", &names).finish()
    }
}

#[async_trait::async_trait]
impl TokenCredential for Chain {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        let mut errors = Vec::new();
        for (name, source) in &self.sources {
            match source.get_token(scopes, options.clone()).await {
                Ok(t) => return Ok(t),
                Err(e) => errors.push(format!("{name}: {e}")),
            }
        }
        Err(azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            format!(
                "no Azure credential found (set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET, run `az login`, or use a managed identity): {}",
                errors.join("; ")
            ),
        ))
    }
}
