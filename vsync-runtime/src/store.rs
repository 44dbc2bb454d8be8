//! The default [`Fetcher`]: the bucket named in the config blob, through the same
//! [`vsync_vault::store::Bucket`] the CLI uses (path-style S3, SigV4, an endpoint that does not
//! start with `http` gets `https://`). A `file://`, `gs://` or `az://` store travels as its URL
//! in `endpoint`; gs/az credentials come from the app's environment (its service account or
//! managed identity), read through the same [`EnvLookup`] as the bootstrap variables.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use vsync_crypto::cfg_blob::RuntimeConfig;
use vsync_vault::StoreError;
use vsync_vault::store::{Bucket, StoreSpec};

use crate::error::{Error, Unreachable};
use crate::fetch::{FetchError, Fetcher};
use crate::lookup::EnvLookup;
use crate::remote::redact_endpoint;

/// A [`Fetcher`] over a [`Bucket`].
pub(crate) struct BucketFetcher(Bucket);

#[async_trait]
impl Fetcher for BucketFetcher {
    async fn get(&self, key: &str) -> Result<Option<Bytes>, FetchError> {
        match self.0.get(key).await {
            Ok(found) => Ok(found.map(|f| f.bytes)),
            Err(e) => Err(fetch_error(e)),
        }
    }
}

fn fetch_error(e: StoreError) -> FetchError {
    match e {
        StoreError::NotFound { .. } => FetchError::other("not found"),
        StoreError::Unreachable { reason, .. } => FetchError::network(reason),
        StoreError::AccessDenied { code, .. } => FetchError::access_denied(code),
        StoreError::Other { detail, .. } => FetchError::other(detail),
        StoreError::InvalidUrl { reason, .. } => FetchError::other(reason),
        other => FetchError::other(other.to_string()),
    }
}

/// The bucket of the config blob. Touches no network.
pub(crate) fn default_fetcher(
    cfg: &RuntimeConfig,
    env: &dyn EnvLookup,
) -> Result<Arc<dyn Fetcher>, Error> {
    let spec = StoreSpec::from_runtime_config(cfg).map_err(|e| Error::S3Unreachable {
        reason: Unreachable::Other,
        location: redact_endpoint(&cfg.endpoint),
        key: String::new(),
        detail: e.to_string(),
    })?;
    let vars: Vec<(String, String)> = vsync_vault::cloud::CREDENTIAL_VARS
        .iter()
        .filter_map(|k| env.get(k).map(|v| ((*k).to_owned(), v)))
        .collect();
    let bucket = Bucket::open_with_env(&spec, &vars).map_err(|e| Error::S3Unreachable {
        reason: Unreachable::Other,
        location: format!(
            "bucket `{}` at {}",
            cfg.bucket,
            redact_endpoint(&cfg.endpoint)
        ),
        key: String::new(),
        detail: match e {
            StoreError::InvalidUrl { reason, .. } => reason,
            other => other.to_string(),
        },
    })?;
    Ok(Arc::new(BucketFetcher(bucket)))
}
