//! [`Bucket`]: opening a store from a [`StoreSpec`] and what a bucket knows about itself (its
//! label, endpoint, revision token, whether writes are conditional).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use super::classify::{Asker, classify};
use super::cloud::{self, Revision};
use super::file_store::FileStore;
use super::server_reply::{RecordingConnector, ServerReply};
use super::spec::StoreSpec;
use crate::error::StoreError;

/// The process environment variables the `gs://` and `az://` builders read (`GOOGLE_*`,
/// `SERVICE_ACCOUNT`, `AZURE_*`, `IDENTITY_ENDPOINT`), as object_store's `from_env` would.
pub fn credential_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| cloud::is_credential_var(k))
        .collect()
}

/// A bucket: cheap to clone, shareable across tasks.
#[derive(Clone)]
pub struct Bucket {
    pub(crate) store: Arc<dyn ObjectStore>,
    pub(super) label: Arc<str>,
    endpoint: Arc<str>,
    pub(super) conditional: bool,
    pub(super) revision: Revision,
    access_fix: &'static str,
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("store", &self.label)
            .field("conditional", &self.conditional)
            .finish()
    }
}

/// The HTTP client settings used for S3: connect timeout 3 s, request timeout 60 s, at most 2
/// retries within 10 s.
pub fn cli_client_options() -> (ClientOptions, RetryConfig) {
    let client = ClientOptions::new()
        .with_connect_timeout(Duration::from_secs(3))
        .with_timeout(Duration::from_secs(60));
    let retry = RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            base: 2.0,
        },
        max_retries: 2,
        retry_timeout: Duration::from_secs(10),
    };
    (client, retry)
}

pub(super) fn strip_quotes(s: &str) -> String {
    s.trim_matches('"').to_owned()
}

fn key_path(key: &str) -> Result<ObjPath, String> {
    ObjPath::parse(key).map_err(|_| "invalid object key".to_owned())
}

impl Bucket {
    /// Open a bucket. `file://` creates the root directory (0700) if needed; nothing touches the
    /// network here. `gs://` and `az://` read their credentials from the process environment.
    pub fn open(spec: &StoreSpec) -> Result<Self, StoreError> {
        Self::open_with_env(spec, &credential_env())
    }

    /// [`Bucket::open`] with the given environment instead of the process's (only `GOOGLE_*`,
    /// `SERVICE_ACCOUNT`, `AZURE_*` and `IDENTITY_ENDPOINT` are read; S3 and `file://` ignore it).
    pub fn open_with_env(spec: &StoreSpec, vars: &[(String, String)]) -> Result<Self, StoreError> {
        let label = spec.label();
        let endpoint = spec.endpoint_label();
        let store: Arc<dyn ObjectStore> = match spec {
            StoreSpec::File { root } => {
                if !root.is_absolute() {
                    return Err(StoreError::InvalidUrl {
                        url: label,
                        reason: "the root must be an absolute path".to_owned(),
                    });
                }
                FileStore::open(root.clone())
                    .map_err(|e| StoreError::Other {
                        store: label.clone(),
                        op: "open",
                        key: String::new(),
                        detail: format!("cannot create or open the directory ({})", e.kind()),
                    })?
                    .into_arc()
            }
            StoreSpec::S3 {
                bucket,
                endpoint,
                region,
                access_key_id,
                secret_access_key,
                allow_http,
            } => {
                let (client, retry) = cli_client_options();
                let mut b = AmazonS3Builder::new()
                    .with_bucket_name(bucket)
                    .with_region(region)
                    .with_access_key_id(access_key_id)
                    .with_secret_access_key(secret_access_key)
                    .with_virtual_hosted_style_request(false)
                    // Client options first: they carry their own allow_http flag.
                    .with_client_options(client)
                    .with_allow_http(*allow_http)
                    .with_retry(retry)
                    .with_http_connector(RecordingConnector);
                if let Some(e) = endpoint {
                    b = b.with_endpoint(e);
                }
                Arc::new(b.build().map_err(|_| {
                    StoreError::InvalidUrl {
                        url: label.clone(),
                        reason:
                            "the S3 settings are incomplete or invalid (bucket, region, endpoint)"
                                .to_owned(),
                    }
                })?)
            }
            StoreSpec::Gcs { bucket, endpoint } => {
                cloud::open_gcs(spec, bucket, endpoint.as_deref(), vars)?
            }
            StoreSpec::Azure {
                container,
                account,
                endpoint,
            } => cloud::open_azure(
                spec,
                container,
                account.as_deref(),
                endpoint.as_deref(),
                vars,
            )?,
        };
        Ok(Self {
            store,
            label: label.into(),
            endpoint: endpoint.into(),
            conditional: true,
            revision: spec.revision(),
            access_fix: cloud::access_fix(spec),
        })
    }

    /// Wrap any object store (tests, other backends). `conditional` says whether it honours
    /// `PutMode::Create` and `PutMode::Update`.
    pub fn from_object_store(store: Arc<dyn ObjectStore>, label: &str, conditional: bool) -> Self {
        Self {
            store,
            label: label.into(),
            endpoint: label.into(),
            conditional,
            revision: Revision::ETag,
            access_fix: cloud::access_fix(&StoreSpec::File {
                root: PathBuf::new(),
            }),
        }
    }

    /// How this bucket identifies revisions (ETag, or the GCS generation).
    pub fn revision(&self) -> Revision {
        self.revision
    }

    /// The token of an object's current revision, from its metadata.
    pub(super) fn token(&self, e_tag: Option<&str>, version: Option<&str>) -> Option<String> {
        match self.revision {
            Revision::ETag => e_tag.map(strip_quotes),
            Revision::Generation => version.map(str::to_owned),
        }
    }

    /// Declare whether the store honours conditional writes (e.g. after
    /// [`Bucket::probe_conditional`]). Without them, [`Bucket::put_create`] and
    /// [`Bucket::put_swap`] check first and then write unconditionally (racy; docs/decisions.md §2 says
    /// to warn and rely on the ledger guard).
    pub fn with_conditional(mut self, conditional: bool) -> Self {
        self.conditional = conditional;
        self
    }

    /// Whether conditional writes are used.
    pub fn supports_conditional(&self) -> bool {
        self.conditional
    }

    /// The credential-free description used in messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The underlying object store.
    pub fn object_store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    pub(crate) fn path(&self, op: &'static str, key: &str) -> Result<ObjPath, StoreError> {
        key_path(key).map_err(|detail| StoreError::Other {
            store: self.label.to_string(),
            op,
            key: key.to_owned(),
            detail,
        })
    }

    /// Map an `object_store` error (and what the server answered) to a [`StoreError`].
    pub(crate) fn map_error(
        &self,
        op: &'static str,
        key: &str,
        e: object_store::Error,
        reply: Option<ServerReply>,
    ) -> StoreError {
        let asker = Asker {
            label: &self.label,
            endpoint: &self.endpoint,
            access_fix: self.access_fix,
        };
        classify(&asker, op, key, e, reply)
    }
}
