//! Secret Manager calls over `google-cloud-secretmanager-v1` (REST/JSON).

use std::time::Duration;

use google_cloud_auth::credentials::Credentials;
use google_cloud_gax::retry_policy::NeverRetry;
use google_cloud_secretmanager_v1::client::SecretManagerService;
use google_cloud_secretmanager_v1::model::{
    Replication as ReplicationModel, Secret, SecretPayload, replication, secret_version,
};
use vsync_dest_api::{DestError, DestErrorKind, EnvSource};

use crate::config::{GcpConfig, MANAGED_LABEL, Replication};
use crate::error::map;

/// Overrides the service endpoint (a local emulator or test fake). Honoured only when set.
pub const ENDPOINT_VAR: &str = "VSYNC_GCP_ENDPOINT";
/// `1`: send no credentials at all. Honoured only together with [`ENDPOINT_VAR`].
pub const ANONYMOUS_VAR: &str = "VSYNC_GCP_ANONYMOUS";

/// One request's budget; the engine's own deadline and retries sit above it.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(60);
const PAGE_SIZE: i32 = 250;

/// Builds the client: endpoint from [`ENDPOINT_VAR`], credentials given, anonymous
/// ([`ANONYMOUS_VAR`]) or the standard Google chain (ADC).
pub(crate) async fn client(
    env: &EnvSource,
    creds: Option<&Credentials>,
) -> Result<SecretManagerService, DestError> {
    let endpoint = env.get(ENDPOINT_VAR);
    let anonymous = match env.get(ANONYMOUS_VAR).as_deref() {
        None | Some("0") => false,
        Some("1") if endpoint.is_some() => true,
        Some("1") => {
            return Err(DestError::new(
                DestErrorKind::Config,
                format!(
                    "{ANONYMOUS_VAR}=1 is only honoured with {ENDPOINT_VAR} (a local emulator)"
                ),
            ));
        }
        Some(other) => {
            return Err(DestError::new(
                DestErrorKind::Config,
                format!("{ANONYMOUS_VAR} must be 1 or 0, not {other:?}"),
            ));
        }
    };
    let creds = match creds {
        Some(c) => c.clone(),
        None if anonymous => google_cloud_auth::credentials::anonymous::Builder::new().build(),
        None => google_cloud_auth::credentials::Builder::default()
            .build()
            .map_err(|e| {
                DestError::new(
                    DestErrorKind::Auth,
                    format!(
                        "no usable GCP credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud auth application-default login, or the metadata server): {e}"
                    ),
                )
            })?,
    };
    let mut b = SecretManagerService::builder()
        .with_credentials(creds)
        // the engine owns retries and honours the error kinds (docs/sync-contract.md §15.5)
        .with_retry_policy(NeverRetry)
        .with_attempt_timeout(ATTEMPT_TIMEOUT);
    if let Some(e) = endpoint {
        b = b.with_endpoint(e);
    }
    b.build().await.map_err(|e| {
        DestError::new(
            DestErrorKind::Config,
            format!("cannot set up the GCP Secret Manager client: {e}"),
        )
    })
}

/// What `versions/latest` holds.
pub(crate) enum Current {
    /// No such secret.
    Missing,
    /// The secret exists, but its newest version is absent, disabled or destroyed.
    NoValue,
    /// The newest version's payload.
    Value(Vec<u8>),
}

pub(crate) async fn current(
    c: &SecretManagerService,
    cfg: &GcpConfig,
    id: &str,
) -> Result<Current, DestError> {
    let name = format!("{}/versions/latest", cfg.secret_name(id));
    match c.access_secret_version().set_name(name).send().await {
        Ok(r) => Ok(Current::Value(
            r.payload.map(|p| p.data.to_vec()).unwrap_or_default(),
        )),
        Err(e) => {
            let err = map(&e, id, "read");
            match err.kind {
                // a 404 is either the secret or its version: ask which
                DestErrorKind::NotFound => {
                    match c.get_secret().set_name(cfg.secret_name(id)).send().await {
                        Ok(_) => Ok(Current::NoValue),
                        Err(e) => {
                            let err = map(&e, id, "read");
                            if err.kind == DestErrorKind::NotFound {
                                Ok(Current::Missing)
                            } else {
                                Err(err)
                            }
                        }
                    }
                }
                // latest version disabled or destroyed
                DestErrorKind::Conflict => Ok(Current::NoValue),
                _ => Err(err),
            }
        }
    }
}

/// Creates the secret (labels, replication); `Ok(false)` when it already existed.
pub(crate) async fn create(
    c: &SecretManagerService,
    cfg: &GcpConfig,
    id: &str,
) -> Result<bool, DestError> {
    let replication = match &cfg.replication {
        Replication::Automatic => {
            ReplicationModel::new().set_automatic(replication::Automatic::new())
        }
        Replication::Regions(rs) => ReplicationModel::new().set_user_managed(
            replication::UserManaged::new().set_replicas(
                rs.iter()
                    .map(|r| replication::user_managed::Replica::new().set_location(r.clone())),
            ),
        ),
    };
    let secret = Secret::new()
        .set_replication(replication)
        .set_labels(cfg.create_labels());
    match c
        .create_secret()
        .set_parent(cfg.parent())
        .set_secret_id(id)
        .set_secret(secret)
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) => {
            let err = map(&e, id, "create");
            if err.kind == DestErrorKind::Conflict {
                Ok(false)
            } else {
                Err(err)
            }
        }
    }
}

/// Adds a version; returns its resource name.
pub(crate) async fn add_version(
    c: &SecretManagerService,
    cfg: &GcpConfig,
    id: &str,
    value: &[u8],
) -> Result<String, DestError> {
    c.add_secret_version()
        .set_parent(cfg.secret_name(id))
        .set_payload(SecretPayload::new().set_data(value.to_vec()))
        .send()
        .await
        .map(|v| v.name)
        .map_err(|e| map(&e, id, "write"))
}

/// Destroys every not yet destroyed version of `id` except `keep` (a version resource name,
/// compared by its trailing version number: the service answers with the project number).
pub(crate) async fn destroy_older(
    c: &SecretManagerService,
    cfg: &GcpConfig,
    id: &str,
    keep: &str,
) -> Result<usize, DestError> {
    let keep_n = keep.rsplit('/').next().unwrap_or(keep);
    let mut doomed = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_secret_versions()
            .set_parent(cfg.secret_name(id))
            .set_page_size(PAGE_SIZE)
            .set_page_token(token.clone())
            .send()
            .await
            .map_err(|e| map(&e, id, "list versions"))?;
        for v in page.versions {
            let n = v.name.rsplit('/').next().unwrap_or_default().to_owned();
            if n != keep_n && v.state != secret_version::State::Destroyed {
                doomed.push(n);
            }
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    for n in &doomed {
        let r = c
            .destroy_secret_version()
            .set_name(format!("{}/versions/{n}", cfg.secret_name(id)))
            .send()
            .await;
        if let Err(e) = r {
            let err = map(&e, id, "destroy an old version");
            // destroyed concurrently: nothing left to do for it
            if err.kind != DestErrorKind::Conflict && err.kind != DestErrorKind::NotFound {
                return Err(err);
            }
        }
    }
    Ok(doomed.len())
}

/// Ids (after `projects/*/secrets/`) of the secrets labelled `managed-by=vsync` under the prefix.
pub(crate) async fn list_managed(
    c: &SecretManagerService,
    cfg: &GcpConfig,
) -> Result<Vec<String>, DestError> {
    let mut ids = Vec::new();
    let mut token = String::new();
    loop {
        let page = c
            .list_secrets()
            .set_parent(cfg.parent())
            .set_filter(format!("labels.{}={}", MANAGED_LABEL.0, MANAGED_LABEL.1))
            .set_page_size(PAGE_SIZE)
            .set_page_token(token.clone())
            .send()
            .await
            .map_err(|e| map(&e, &cfg.project, "list"))?;
        for s in page.secrets {
            // the server-side filter is a convenience; the label is what makes it ours
            if !is_managed(&s) {
                continue;
            }
            if let Some(id) = s.name.rsplit_once("/secrets/").map(|(_, id)| id)
                && id.starts_with(cfg.prefix.as_str())
            {
                ids.push(id.to_owned());
            }
        }
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

fn is_managed(s: &Secret) -> bool {
    s.labels.get(MANAGED_LABEL.0).map(String::as_str) == Some(MANAGED_LABEL.1)
}

/// Deletes the secret (all versions) only if it carries the managed label; the delete is
/// conditional on the etag read, so a secret relabelled in between is not deleted.
pub(crate) async fn delete_managed(
    c: &SecretManagerService,
    cfg: &GcpConfig,
    id: &str,
) -> Result<(), DestError> {
    let s = match c.get_secret().set_name(cfg.secret_name(id)).send().await {
        Ok(s) => s,
        Err(e) => {
            let err = map(&e, id, "read");
            return if err.kind == DestErrorKind::NotFound {
                Ok(())
            } else {
                Err(err)
            };
        }
    };
    if !is_managed(&s) {
        return Err(DestError::new(
            DestErrorKind::Unsupported,
            format!(
                "refusing to delete {id}: it does not carry the label {}={} (not created by vsync)",
                MANAGED_LABEL.0, MANAGED_LABEL.1
            ),
        )
        .with_key(id));
    }
    match c
        .delete_secret()
        .set_name(cfg.secret_name(id))
        .set_etag(s.etag)
        .send()
        .await
    {
        Ok(()) => Ok(()),
        Err(e) => {
            let err = map(&e, id, "delete");
            if err.kind == DestErrorKind::NotFound {
                Ok(())
            } else {
                Err(err)
            }
        }
    }
}

/// Cheap reachability + permission check: one list call with one result.
pub(crate) async fn probe(c: &SecretManagerService, cfg: &GcpConfig) -> Result<(), DestError> {
    c.list_secrets()
        .set_parent(cfg.parent())
        .set_page_size(1)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| map(&e, &cfg.project, "list"))
}
