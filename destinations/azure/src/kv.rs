//! Key Vault calls over `azure_security_keyvault_secrets`: read, write with tags, soft delete, list.

use std::collections::HashMap;

use azure_security_keyvault_secrets::SecretClient;
use azure_security_keyvault_secrets::models::{
    SecretClientListSecretPropertiesOptions, SetSecretParameters,
};
use futures::TryStreamExt;
use vsync_dest_api::{DestError, DestErrorKind};

use crate::config::AzureConfig;
use crate::errors::{self, Op};

pub(crate) const MANAGED_TAG_KEY: &str = "managed-by";
pub(crate) const MANAGED_TAG_VALUE: &str = "vsync";

/// A secret's current state.
pub(crate) enum Current {
    Missing,
    /// Deleted but recoverable: the name is reserved until recovered or purged.
    SoftDeleted,
    Value {
        value: String,
        tags: HashMap<String, String>,
    },
}

pub(crate) fn is_managed(tags: &HashMap<String, String>) -> bool {
    tags.get(MANAGED_TAG_KEY).map(String::as_str) == Some(MANAGED_TAG_VALUE)
}

/// The latest version's value and tags. A 404 is followed by a look at the deleted secrets
/// only when `check_deleted` (a plan must tell "new" from "soft-deleted").
pub(crate) async fn get(
    c: &SecretClient,
    cfg: &AzureConfig,
    name: &str,
    check_deleted: bool,
) -> Result<Current, DestError> {
    match c.get_secret(name, None).await {
        Ok(rsp) => {
            let s = rsp
                .into_model()
                .map_err(|e| errors::map(&e, cfg, Some(name), Op::Read))?;
            Ok(Current::Value {
                value: s.value.unwrap_or_default(),
                tags: s.tags.unwrap_or_default(),
            })
        }
        Err(e) if errors::status_code(&e).0 == Some(404) => {
            if !check_deleted {
                return Ok(Current::Missing);
            }
            match c.get_deleted_secret(name, None).await {
                Ok(_) => Ok(Current::SoftDeleted),
                Err(e) if errors::status_code(&e).0 == Some(404) => Ok(Current::Missing),
                // a vault without soft delete, or no right to see deleted secrets: treat as new
                Err(e) if errors::status_code(&e).0 == Some(403) => Ok(Current::Missing),
                Err(e) => Err(errors::map(&e, cfg, Some(name), Op::Read)),
            }
        }
        Err(e) => Err(errors::map(&e, cfg, Some(name), Op::Read)),
    }
}

/// Writes a new version. `tags` are sent as given: Key Vault keeps tags per version, so a
/// version written without them would drop the previous ones.
pub(crate) async fn set(
    c: &SecretClient,
    cfg: &AzureConfig,
    name: &str,
    value: &str,
    tags: HashMap<String, String>,
) -> Result<(), DestError> {
    let params = SetSecretParameters {
        value: Some(value.to_string()),
        tags: Some(tags),
        ..Default::default()
    };
    let body = params.try_into().map_err(|_| {
        DestError::new(
            DestErrorKind::Internal,
            format!("encoding the request for {name}"),
        )
        .with_key(name)
    })?;
    c.set_secret(name, body, None)
        .await
        .map(|_| ())
        .map_err(|e| errors::map(&e, cfg, Some(name), Op::Write))
}

/// Soft delete (recoverable for the vault's retention period; never purged here).
pub(crate) async fn delete(
    c: &SecretClient,
    cfg: &AzureConfig,
    name: &str,
) -> Result<(), DestError> {
    match c.delete_secret(name, None).await {
        Ok(_) => Ok(()),
        Err(e) if errors::status_code(&e).0 == Some(404) => Ok(()),
        Err(e) => Err(errors::map(&e, cfg, Some(name), Op::Delete)),
    }
}

/// Names (as the vault spells them) of live secrets tagged managed-by=vsync under the prefix.
pub(crate) async fn list_managed(
    c: &SecretClient,
    cfg: &AzureConfig,
) -> Result<Vec<String>, DestError> {
    let mut out = Vec::new();
    let mut pager = c
        .list_secret_properties(Some(SecretClientListSecretPropertiesOptions {
            maxresults: Some(25),
            ..Default::default()
        }))
        .map_err(|e| errors::map(&e, cfg, None, Op::List))?;
    while let Some(p) = pager
        .try_next()
        .await
        .map_err(|e| errors::map(&e, cfg, None, Op::List))?
    {
        let Some(name) =
            p.id.as_deref()
                .and_then(|id| id.trim_end_matches('/').rsplit('/').next())
                .map(str::to_string)
        else {
            continue;
        };
        if p.tags.as_ref().is_some_and(is_managed) && cfg.in_scope(&name) {
            out.push(name);
        }
    }
    out.sort();
    Ok(out)
}

/// One page of at most one secret: a cheap check that the vault is reachable and we may list.
pub(crate) async fn probe(c: &SecretClient, cfg: &AzureConfig) -> Result<(), DestError> {
    let mut pages = c
        .list_secret_properties(Some(SecretClientListSecretPropertiesOptions {
            maxresults: Some(1),
            ..Default::default()
        }))
        .map_err(|e| errors::map(&e, cfg, None, Op::List))?
        .into_pages();
    pages
        .try_next()
        .await
        .map(|_| ())
        .map_err(|e| errors::map(&e, cfg, None, Op::List))
}
