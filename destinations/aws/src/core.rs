//! AWS Secrets Manager plumbing over `aws-sdk-secretsmanager`: configuration, client, calls, errors.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::config::http::HttpResponse;
use aws_sdk_secretsmanager::config::{Credentials, Region};
use aws_sdk_secretsmanager::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, Tag};
use vsync_dest_api::{DestError, DestErrorKind, Routing};

use crate::EnvSource;

pub(crate) const MANAGED_TAG_KEY: &str = "managed-by";
pub(crate) const MANAGED_TAG_VALUE: &str = "vsync";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AwsMode {
    /// One secret per key, named `secret_prefix + KEY`.
    PerKey { prefix: String },
    /// One secret holding a JSON object of all keys.
    Json { secret_name: String },
}

#[derive(Clone, Debug)]
pub struct AwsConfig {
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub mode: AwsMode,
    pub kms_key_id: Option<String>,
}

pub(crate) fn opt(routing: &Routing, names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| vsync_dest_api::routing_str(routing, n))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

impl AwsConfig {
    /// Routing fields: `region`, `secretPrefix` (`secret_prefix`), `mode` (`per-key` | `json`),
    /// `secret_name` (json mode), `kms_key_id`. The endpoint comes from `endpoint` or `AWS_ENDPOINT_URL`.
    pub fn from_routing(routing: &Routing, env: &EnvSource) -> Result<Self, DestError> {
        let region = opt(routing, &["region", "aws_region"]);
        let endpoint = opt(routing, &["endpoint", "endpoint_url"])
            .or_else(|| env.get("AWS_ENDPOINT_URL_SECRETS_MANAGER"))
            .or_else(|| env.get("AWS_ENDPOINT_URL"));
        let mode = match opt(routing, &["mode"]).as_deref() {
            None | Some("per-key") | Some("per_key") => AwsMode::PerKey {
                prefix: vsync_dest_api::routing_str(routing, "secretPrefix")
                    .or_else(|| vsync_dest_api::routing_str(routing, "secret_prefix"))
                    .unwrap_or_default()
                    .to_string(),
            },
            Some("json") => AwsMode::Json {
                secret_name: opt(routing, &["secret_name", "secretName"]).ok_or_else(|| {
                    DestError::new(DestErrorKind::Config, "aws mode=json needs secret_name=")
                })?,
            },
            Some(other) => {
                return Err(DestError::new(
                    DestErrorKind::Config,
                    format!("aws mode must be per-key or json, not {other:?}"),
                ));
            }
        };
        Ok(Self {
            region,
            endpoint,
            mode,
            kms_key_id: opt(routing, &["kms_key_id"]),
        })
    }

    pub fn display(&self) -> String {
        let region = self.region.as_deref().unwrap_or("default region");
        match &self.mode {
            AwsMode::PerKey { prefix } if prefix.is_empty() => {
                format!("{region}, one secret per key")
            }
            AwsMode::PerKey { prefix } => format!("{region}, one secret per key under {prefix}"),
            AwsMode::Json { secret_name } => format!("{region}, JSON secret {secret_name}"),
        }
    }
}

/// Static credentials for tests (moto); `None` = the standard AWS chain.
#[derive(Clone, Debug)]
pub struct StaticCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

pub(crate) async fn client(
    cfg: &AwsConfig,
    creds: Option<&StaticCredentials>,
) -> Result<Client, DestError> {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        // the engine owns retries (it honours the error kinds below)
        .retry_config(aws_config::retry::RetryConfig::disabled());
    if let Some(r) = &cfg.region {
        loader = loader.region(Region::new(r.clone()));
    }
    if let Some(e) = &cfg.endpoint {
        loader = loader.endpoint_url(e.clone());
    }
    if let Some(c) = creds {
        loader = loader.credentials_provider(Credentials::new(
            c.access_key_id.clone(),
            c.secret_access_key.clone(),
            None,
            None,
            "vsync-static",
        ));
    }
    let conf = loader.load().await;
    if conf.region().is_none() {
        return Err(DestError::new(
            DestErrorKind::Config,
            "no AWS region: pass --aws-region or set AWS_REGION / a profile region",
        ));
    }
    Ok(Client::new(&conf))
}

/// A secret's current value, or why there is none.
pub(crate) enum Current {
    Missing,
    PendingDeletion,
    Value(String),
}

pub(crate) async fn get_value(c: &Client, name: &str) -> Result<Current, DestError> {
    match c.get_secret_value().secret_id(name).send().await {
        Ok(out) => Ok(Current::Value(
            out.secret_string().unwrap_or_default().to_string(),
        )),
        Err(e) => {
            let err = settle_invalid_request(c, e, name, "read").await;
            match err.kind {
                DestErrorKind::NotFound => Ok(Current::Missing),
                DestErrorKind::Conflict => Ok(Current::PendingDeletion),
                _ => Err(err),
            }
        }
    }
}

/// Writes one secret: a new version if it exists, else creates it with the managed-by tag.
/// Returns whether it was created. A secret scheduled for deletion is a Conflict, never restored.
pub(crate) async fn put(
    c: &Client,
    cfg: &AwsConfig,
    name: &str,
    value: &str,
) -> Result<bool, DestError> {
    match c.describe_secret().secret_id(name).send().await {
        Ok(d) => {
            if d.deleted_date().is_some() {
                return Err(pending_deletion(name));
            }
            put_value(c, name, value).await.map(|()| false)
        }
        Err(e) => {
            let err = map_sdk(e, name, "describe");
            if err.kind != DestErrorKind::NotFound {
                return Err(err);
            }
            let mut req = c
                .create_secret()
                .name(name)
                .secret_string(value)
                .description("managed by vsync")
                .tags(
                    Tag::builder()
                        .key(MANAGED_TAG_KEY)
                        .value(MANAGED_TAG_VALUE)
                        .build(),
                );
            if let Some(k) = &cfg.kms_key_id {
                req = req.kms_key_id(k);
            }
            match req.send().await {
                Ok(_) => Ok(true),
                Err(e) if e.code() == Some("ResourceExistsException") => {
                    // created concurrently: write a version instead
                    put_value(c, name, value).await.map(|()| false)
                }
                Err(e) => Err(settle_invalid_request(c, e, name, "create").await),
            }
        }
    }
}

async fn put_value(c: &Client, name: &str, value: &str) -> Result<(), DestError> {
    match c
        .put_secret_value()
        .secret_id(name)
        .secret_string(value)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => Err(settle_invalid_request(c, e, name, "write").await),
    }
}

/// Schedules deletion with the default 30-day recovery window (recoverable, never forced).
pub(crate) async fn delete(c: &Client, name: &str) -> Result<(), DestError> {
    match c.delete_secret().secret_id(name).send().await {
        Ok(_) => Ok(()),
        Err(e) => Err(settle_invalid_request(c, e, name, "delete").await),
    }
}

/// AWS answers a call on a secret scheduled for deletion with its catch-all
/// InvalidRequestException (the reason is only in the prose); the secret's own state, its
/// DeletedDate, says whether that was why.
async fn settle_invalid_request<E>(
    c: &Client,
    e: SdkError<E, HttpResponse>,
    name: &str,
    op: &str,
) -> DestError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let invalid_request = e.code() == Some("InvalidRequestException");
    let err = map_sdk(e, name, op);
    if invalid_request && scheduled_for_deletion(c, name).await {
        pending_deletion(name)
    } else {
        err
    }
}

async fn scheduled_for_deletion(c: &Client, name: &str) -> bool {
    matches!(
        c.describe_secret().secret_id(name).send().await,
        Ok(d) if d.deleted_date().is_some()
    )
}

/// Names starting with `prefix` (exact, case-sensitive), excluding secrets already scheduled for deletion.
pub(crate) async fn list_prefix(c: &Client, prefix: &str) -> Result<Vec<String>, DestError> {
    let mut names = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = c
            .list_secrets()
            .filters(
                Filter::builder()
                    .key(FilterNameStringType::Name)
                    .values(prefix)
                    .build(),
            )
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| map_sdk(e, prefix, "list"))?;
        for s in out.secret_list() {
            // Only what vsync created (its tag): prune deletes what this lists (sync-contract §15.9).
            let managed = s
                .tags()
                .iter()
                .any(|t| t.key() == Some(MANAGED_TAG_KEY) && t.value() == Some(MANAGED_TAG_VALUE));
            if let Some(n) = s.name()
                && n.starts_with(prefix)
                && s.deleted_date().is_none()
                && managed
            {
                names.push(n.to_string());
            }
        }
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

pub(crate) fn pending_deletion(name: &str) -> DestError {
    DestError::new(
        DestErrorKind::Conflict,
        format!(
            "AWS secret {name} is scheduled for deletion; restore it (aws secretsmanager restore-secret) or wait until it is gone, then sync again"
        ),
    )
    .with_key(name)
}

/// Maps an SDK failure to the docs/sync-contract.md §15.7 kinds; the message names the secret, never a value.
pub(crate) fn map_sdk<E>(e: SdkError<E, HttpResponse>, name: &str, op: &str) -> DestError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let code = e.code().map(str::to_string);
    let aws_msg = e.message().map(str::to_string).unwrap_or_default();
    let status = match &e {
        SdkError::ServiceError(se) => Some(se.raw().status().as_u16()),
        SdkError::ResponseError(re) => Some(re.raw().status().as_u16()),
        _ => None,
    };
    let (kind, what) = match (&e, code.as_deref(), status) {
        (SdkError::TimeoutError(_), _, _) => (
            DestErrorKind::Timeout,
            format!("AWS {op} of {name} timed out"),
        ),
        (SdkError::DispatchFailure(d), _, _) => {
            if d.is_timeout() {
                (
                    DestErrorKind::Timeout,
                    format!("AWS {op} of {name} timed out"),
                )
            } else if d.is_io() {
                (
                    DestErrorKind::Transient,
                    format!("cannot reach AWS Secrets Manager for the {op} of {name}"),
                )
            } else {
                (
                    DestErrorKind::Transient,
                    format!("AWS {op} of {name} failed to send"),
                )
            }
        }
        (SdkError::ConstructionFailure(_), _, _) => {
            // typically: no credentials in the chain
            let src = std::error::Error::source(&e)
                .map(|s| format!(": {s}"))
                .unwrap_or_default();
            (
                DestErrorKind::Auth,
                format!("AWS {op} of {name}: could not sign the request (no credentials?){src}"),
            )
        }
        (_, Some("ResourceNotFoundException"), _) => (
            DestErrorKind::NotFound,
            format!("AWS secret {name} not found"),
        ),
        (_, Some(c), _) if is_auth_code(c) => (
            DestErrorKind::Auth,
            format!(
                "AWS refused the {op} of {name} ({c}): check the credentials and their permissions"
            ),
        ),
        (
            _,
            Some("ThrottlingException" | "TooManyRequestsException" | "RequestLimitExceeded"),
            _,
        )
        | (_, _, Some(429)) => (
            DestErrorKind::RateLimited,
            format!("AWS throttled the {op} of {name}"),
        ),
        (_, Some("InternalServiceError"), _) => (
            DestErrorKind::Transient,
            format!("AWS {op} of {name}: internal service error"),
        ),
        (_, _, Some(401 | 403)) => (
            DestErrorKind::Auth,
            format!("AWS refused the {op} of {name} (HTTP 401/403)"),
        ),
        (_, _, Some(404)) => (
            DestErrorKind::NotFound,
            format!("AWS secret {name} not found"),
        ),
        (_, _, Some(s)) if s >= 500 => (
            DestErrorKind::Transient,
            format!("AWS {op} of {name} failed with HTTP {s}"),
        ),
        (_, Some("InvalidParameterException" | "ValidationException"), _) => (
            DestErrorKind::InvalidName,
            format!("AWS rejected the {op} of {name}"),
        ),
        (_, Some("LimitExceededException"), _) => (
            DestErrorKind::InvalidValue,
            format!("AWS rejected the {op} of {name}: limit exceeded"),
        ),
        (_, c, s) => (
            DestErrorKind::Internal,
            format!(
                "AWS {op} of {name} failed ({}, HTTP {})",
                c.unwrap_or("no error code"),
                s.map(|s| s.to_string()).unwrap_or_else(|| "-".into())
            ),
        ),
    };
    let msg = if aws_msg.is_empty() {
        what
    } else {
        format!("{what}: {aws_msg}")
    };
    DestError::new(kind, msg).with_key(name)
}

fn is_auth_code(c: &str) -> bool {
    matches!(
        c,
        "AccessDeniedException"
            | "UnrecognizedClientException"
            | "InvalidSignatureException"
            | "SignatureDoesNotMatch"
            | "ExpiredTokenException"
            | "InvalidClientTokenId"
            | "MissingAuthenticationToken"
            | "IncompleteSignature"
            | "AccessDenied"
    )
}

/// Parses a JSON-mode secret (an object of strings).
pub(crate) fn parse_json_map(name: &str, s: &str) -> Result<BTreeMap<String, String>, DestError> {
    if s.trim().is_empty() {
        return Ok(BTreeMap::new());
    }
    let v: serde_json::Value = serde_json::from_str(s).map_err(|_| {
        DestError::new(
            DestErrorKind::Conflict,
            format!("AWS secret {name} does not hold a JSON object"),
        )
        .with_key(name)
    })?;
    let serde_json::Value::Object(obj) = v else {
        return Err(DestError::new(
            DestErrorKind::Conflict,
            format!("AWS secret {name} does not hold a JSON object"),
        )
        .with_key(name));
    };
    Ok(obj
        .into_iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => (k, s),
            other => (k, other.to_string()),
        })
        .collect())
}
