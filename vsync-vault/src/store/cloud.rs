//! The `gs://` (Google Cloud Storage) and `az://` (Azure Blob Storage) backends.
//!
//! Credentials are never part of a [`StoreSpec`]: object_store's builders take them from each
//! ecosystem's standard environment (`GOOGLE_APPLICATION_CREDENTIALS`, `GOOGLE_SERVICE_ACCOUNT*`,
//! the gcloud ADC file, the GCE metadata server; `AZURE_STORAGE_ACCOUNT_KEY`,
//! `AZURE_STORAGE_SAS_TOKEN`, a client secret, workload or managed identity,
//! `AZURE_STORAGE_USE_EMULATOR`). The environment is passed in as a list of variables so a
//! caller (or a test) can give a different one than the process's.
//!
//! Compare-and-swap differs per backend, and object_store follows each service:
//! - Azure: `PutMode::Create` sends `If-None-Match: *`, `PutMode::Update` sends `If-Match: <etag>`;
//!   the revision token is the ETag, as for S3.
//! - GCS: both go through `x-goog-if-generation-match` (`0` = must not exist, `N` = must be
//!   generation `N`); `PutMode::Update` needs the object *generation*, not the ETag (a GCS ETag is
//!   the MD5 of the content, so it repeats when the content does). The revision token is
//!   therefore the generation ([`Revision::Generation`]).

use std::sync::Arc;

use object_store::ObjectStore;
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};

use super::server_reply::RecordingConnector;
use super::{StoreSpec, cli_client_options};
use crate::error::StoreError;

/// Which value identifies one revision of an object for compare-and-swap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revision {
    /// The ETag (S3, Azure, `file://`).
    ETag,
    /// The object generation (GCS, header `x-goog-generation`).
    Generation,
}

/// Whether the gs/az builders read this variable (object_store's `from_env` rules).
pub fn is_credential_var(name: &str) -> bool {
    name.starts_with("GOOGLE_")
        || name.starts_with("AZURE_")
        || name == "SERVICE_ACCOUNT"
        || name == "IDENTITY_ENDPOINT"
}

/// The well-known credential variables, for callers that can only look variables up by name
/// (the runtime's `EnvLookup`).
pub const CREDENTIAL_VARS: &[&str] = &[
    "GOOGLE_APPLICATION_CREDENTIALS",
    "GOOGLE_SERVICE_ACCOUNT",
    "GOOGLE_SERVICE_ACCOUNT_PATH",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
    "GOOGLE_BEARER_TOKEN",
    "SERVICE_ACCOUNT",
    "AZURE_STORAGE_ACCOUNT_NAME",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_STORAGE_TOKEN",
    "AZURE_STORAGE_USE_EMULATOR",
    "AZURE_STORAGE_CLIENT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_STORAGE_TENANT_ID",
    "AZURE_TENANT_ID",
    "AZURE_AUTHORITY_HOST",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_MSI_ENDPOINT",
    "AZURE_MSI_RESOURCE_ID",
    "AZURE_OBJECT_ID",
    "AZURE_USE_AZURE_CLI",
    "IDENTITY_ENDPOINT",
];

/// The default public endpoints, for messages.
pub(crate) const GCS_DEFAULT_ENDPOINT: &str = "https://storage.googleapis.com";

pub(crate) fn azure_default_endpoint(account: Option<&str>) -> String {
    match account {
        Some(a) => format!("https://{a}.blob.core.windows.net"),
        None => "https://<account>.blob.core.windows.net".to_owned(),
    }
}

/// Bucket and container names as the services define them (lower-case letters, digits and a
/// few separators); anything else is refused before it reaches a URL.
pub(crate) fn valid_gcs_bucket(name: &str) -> bool {
    (3..=222).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b))
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
}

pub(crate) fn valid_azure_container(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && name.as_bytes()[0].is_ascii_alphanumeric()
        && name.as_bytes()[name.len() - 1].is_ascii_alphanumeric()
        && !name.contains("--")
}

pub(crate) fn valid_azure_account(name: &str) -> bool {
    (3..=24).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// The value of the first non-empty variable that a builder reads as `key` (object_store's
/// `from_env` rule: `<PREFIX>_…` names parsed as config keys, plus `extra` for a bare name).
fn config_var<'a, K: std::str::FromStr + PartialEq>(
    vars: &'a [(String, String)],
    prefix: &str,
    key: K,
    extra: Option<&str>,
) -> Option<&'a str> {
    vars.iter()
        .find(|(k, v)| {
            !v.is_empty()
                && (Some(k.as_str()) == extra
                    || k.starts_with(prefix)
                        && k.to_ascii_lowercase().parse::<K>().ok().as_ref() == Some(&key))
        })
        .map(|(_, v)| v.as_str())
}

fn google_var(vars: &[(String, String)], key: GoogleConfigKey) -> Option<&str> {
    let bare = (key == GoogleConfigKey::ServiceAccount).then_some("SERVICE_ACCOUNT");
    config_var(vars, "GOOGLE_", key, bare)
}

fn azure_var(vars: &[(String, String)], key: AzureConfigKey) -> Option<&str> {
    config_var(vars, "AZURE_", key, None)
}

/// Why the GCS builder refused the settings, judged from the settings themselves: the
/// builder's own error is never read (it can quote a decoding error of a key).
fn gcs_builder_reason(vars: &[(String, String)]) -> &'static str {
    let path = google_var(vars, GoogleConfigKey::ServiceAccount);
    let key = google_var(vars, GoogleConfigKey::ServiceAccountKey);
    let adc = google_var(vars, GoogleConfigKey::ApplicationCredentials);
    let readable_json = |file: &str| {
        std::fs::read(file)
            .ok()
            .is_some_and(|b| serde_json::from_slice::<serde_json::Value>(&b).is_ok())
    };
    if path.is_some() && key.is_some() {
        "both GOOGLE_SERVICE_ACCOUNT and GOOGLE_SERVICE_ACCOUNT_KEY are set; keep one"
    } else if path.is_some_and(|f| !readable_json(f))
        || adc.is_some_and(|f| !readable_json(f))
        || key.is_some_and(|k| serde_json::from_str::<serde_json::Value>(k).is_err())
    {
        "cannot read or decode the Google credentials file (GOOGLE_APPLICATION_CREDENTIALS or GOOGLE_SERVICE_ACCOUNT)"
    } else {
        "the Google Cloud Storage settings or credentials are invalid"
    }
}

/// Why the Azure builder refused the settings (see [`gcs_builder_reason`]).
fn azure_builder_reason(vars: &[(String, String)], account: Option<&str>) -> &'static str {
    use base64::Engine as _;
    let emulator = azure_var(vars, AzureConfigKey::UseEmulator)
        .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
    let access_key = azure_var(vars, AzureConfigKey::AccessKey);
    if account.is_none() && azure_var(vars, AzureConfigKey::AccountName).is_none() && !emulator {
        "no storage account: set AZURE_STORAGE_ACCOUNT_NAME or record it in the URL (?account=NAME)"
    } else if azure_var(vars, AzureConfigKey::SasKey).is_some() {
        "AZURE_STORAGE_SAS_TOKEN is not a valid SAS token"
    } else if access_key
        .is_some_and(|k| base64::engine::general_purpose::STANDARD.decode(k).is_err())
    {
        "AZURE_STORAGE_ACCOUNT_KEY is not a valid base64 account key"
    } else {
        "the Azure Storage settings or credentials are invalid"
    }
}

/// Build the GCS store. `vars` is the environment (only `GOOGLE_*` and `SERVICE_ACCOUNT` are
/// read, as object_store's `from_env` does).
pub(crate) fn open_gcs(
    spec: &StoreSpec,
    bucket: &str,
    endpoint: Option<&str>,
    vars: &[(String, String)],
) -> Result<Arc<dyn ObjectStore>, StoreError> {
    let mut b = GoogleCloudStorageBuilder::new();
    for (k, v) in vars {
        if k == "SERVICE_ACCOUNT" {
            b = b.with_config(GoogleConfigKey::ServiceAccount, v);
        } else if k.starts_with("GOOGLE_")
            && let Ok(key) = k.to_ascii_lowercase().parse::<GoogleConfigKey>()
        {
            // The bucket comes from the URL, never from GOOGLE_BUCKET.
            if !matches!(key, GoogleConfigKey::Bucket) {
                b = b.with_config(key, v);
            }
        }
    }
    let (client, retry) = cli_client_options();
    let allow_http = endpoint.is_some_and(|e| e.starts_with("http://"));
    b = b
        .with_bucket_name(bucket)
        .with_client_options(client.with_allow_http(allow_http))
        .with_retry(retry)
        .with_http_connector(RecordingConnector);
    if let Some(e) = endpoint {
        b = b.with_base_url(e);
    }
    let store = b.build().map_err(|_| StoreError::InvalidUrl {
        url: spec.label(),
        reason: gcs_builder_reason(vars).to_owned(),
    })?;
    Ok(Arc::new(store))
}

/// Build the Azure store. `vars` is the environment (`AZURE_*` and `IDENTITY_ENDPOINT`, as
/// object_store's `from_env` reads them).
pub(crate) fn open_azure(
    spec: &StoreSpec,
    container: &str,
    account: Option<&str>,
    endpoint: Option<&str>,
    vars: &[(String, String)],
) -> Result<Arc<dyn ObjectStore>, StoreError> {
    let mut b = MicrosoftAzureBuilder::new();
    for (k, v) in vars {
        if k == "IDENTITY_ENDPOINT" {
            b = b.with_msi_endpoint(v);
        } else if k.starts_with("AZURE_")
            && let Ok(key) = k.to_ascii_lowercase().parse::<AzureConfigKey>()
        {
            // The container comes from the URL; the account and endpoint recorded in the URL
            // win over the environment (below).
            if !matches!(key, AzureConfigKey::ContainerName) {
                b = b.with_config(key, v);
            }
        }
    }
    let (client, retry) = cli_client_options();
    let allow_http = endpoint.is_some_and(|e| e.starts_with("http://"));
    b = b
        .with_container_name(container)
        .with_client_options(client.with_allow_http(allow_http))
        .with_retry(retry)
        .with_http_connector(RecordingConnector);
    if let Some(a) = account {
        b = b.with_account(a);
    }
    if let Some(e) = endpoint {
        b = b.with_endpoint(e.trim_end_matches('/').to_owned());
    }
    let store = b.build().map_err(|_| StoreError::InvalidUrl {
        url: spec.label(),
        reason: azure_builder_reason(vars, account).to_owned(),
    })?;
    Ok(Arc::new(store))
}

/// Which credential source object_store will use, named by its variable (never its value), for
/// `vsync doctor` and error hints.
pub fn credential_source(spec: &StoreSpec, vars: &[(String, String)]) -> Option<String> {
    let has = |k: &str| vars.iter().any(|(n, v)| n == k && !v.is_empty());
    match spec {
        StoreSpec::Gcs { .. } => Some(
            if has("GOOGLE_SERVICE_ACCOUNT_KEY") {
                "GOOGLE_SERVICE_ACCOUNT_KEY"
            } else if has("GOOGLE_SERVICE_ACCOUNT")
                || has("GOOGLE_SERVICE_ACCOUNT_PATH")
                || has("SERVICE_ACCOUNT")
            {
                "GOOGLE_SERVICE_ACCOUNT (service account file)"
            } else if has("GOOGLE_APPLICATION_CREDENTIALS") {
                "GOOGLE_APPLICATION_CREDENTIALS"
            } else if has("GOOGLE_BEARER_TOKEN") {
                "GOOGLE_BEARER_TOKEN"
            } else {
                "application default credentials (gcloud ADC file, else the GCE metadata server)"
            }
            .to_owned(),
        ),
        StoreSpec::Azure { .. } => Some(
            if has("AZURE_STORAGE_USE_EMULATOR")
                && vars
                    .iter()
                    .any(|(n, v)| n == "AZURE_STORAGE_USE_EMULATOR" && (v == "true" || v == "1"))
            {
                "the Azurite emulator (AZURE_STORAGE_USE_EMULATOR)"
            } else if has("AZURE_STORAGE_ACCOUNT_KEY") || has("AZURE_STORAGE_ACCESS_KEY") {
                "AZURE_STORAGE_ACCOUNT_KEY (shared key)"
            } else if has("AZURE_STORAGE_SAS_TOKEN") || has("AZURE_STORAGE_SAS_KEY") {
                "AZURE_STORAGE_SAS_TOKEN"
            } else if has("AZURE_FEDERATED_TOKEN_FILE") {
                "workload identity (AZURE_FEDERATED_TOKEN_FILE)"
            } else if has("AZURE_CLIENT_SECRET") {
                "a service principal (AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, AZURE_TENANT_ID)"
            } else {
                "managed identity (no AZURE_STORAGE_* credential is set)"
            }
            .to_owned(),
        ),
        _ => None,
    }
}

/// What to check when the service refuses the credentials (names variables, never values).
pub(crate) fn access_fix(spec: &StoreSpec) -> &'static str {
    match spec {
        StoreSpec::Gcs { .. } => {
            "check GOOGLE_APPLICATION_CREDENTIALS (or GOOGLE_SERVICE_ACCOUNT) and the bucket's IAM roles"
        }
        StoreSpec::Azure { .. } => {
            "check AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_SAS_TOKEN (or the managed identity) and the container's role assignments"
        }
        _ => "check the access key id, the secret key and the bucket permissions",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(valid_gcs_bucket("my-bucket.v1"));
        assert!(!valid_gcs_bucket("My_Bucket"));
        assert!(!valid_gcs_bucket("-x-"));
        assert!(valid_azure_container("vsync-test"));
        assert!(!valid_azure_container("a--b"));
        assert!(!valid_azure_container("ab"));
        assert!(valid_azure_account("devstoreaccount1"));
        assert!(!valid_azure_account("Dev-Account"));
    }

    #[test]
    fn credential_source_names_the_variable_never_the_value() {
        let gs = StoreSpec::Gcs {
            bucket: "b".into(),
            endpoint: None,
        };
        let az = StoreSpec::Azure {
            container: "c".into(),
            account: Some("acct".into()),
            endpoint: None,
        };
        let v = |k: &str, val: &str| vec![(k.to_owned(), val.to_owned())];
        let s = credential_source(&gs, &v("GOOGLE_APPLICATION_CREDENTIALS", "/k/sa.json")).unwrap();
        assert_eq!(s, "GOOGLE_APPLICATION_CREDENTIALS");
        assert!(
            credential_source(&gs, &[])
                .unwrap()
                .contains("metadata server")
        );
        let s = credential_source(&az, &v("AZURE_STORAGE_ACCOUNT_KEY", "c2VjcmV0a2V5")).unwrap();
        assert!(s.starts_with("AZURE_STORAGE_ACCOUNT_KEY") && !s.contains("c2VjcmV0a2V5"));
        assert!(
            credential_source(&az, &v("AZURE_STORAGE_USE_EMULATOR", "true"))
                .unwrap()
                .contains("Azurite")
        );
        assert!(
            credential_source(&az, &[])
                .unwrap()
                .contains("managed identity")
        );
        assert!(credential_source(&StoreSpec::File { root: "/x".into() }, &[]).is_none());
    }

    #[test]
    fn builder_reasons_come_from_the_settings() {
        let v = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect()
        };
        assert!(azure_builder_reason(&v(&[]), None).starts_with("no storage account"));
        let bad_key = v(&[("AZURE_STORAGE_ACCOUNT_KEY", "zz!secret!zz")]);
        let r = azure_builder_reason(&bad_key, Some("acct"));
        assert!(r.contains("not a valid base64 account key"), "{r}");
        assert!(!r.contains("secret"));
        let both = v(&[
            ("GOOGLE_SERVICE_ACCOUNT", "/nonexistent/sa.json"),
            ("GOOGLE_SERVICE_ACCOUNT_KEY", "{}"),
        ]);
        assert!(gcs_builder_reason(&both).ends_with("keep one"));
        let missing = v(&[("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/sa.json")]);
        assert!(gcs_builder_reason(&missing).starts_with("cannot read or decode"));
    }
}
