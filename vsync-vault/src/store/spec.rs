//! [`StoreSpec`]: where a bucket is, and how it is described in messages (never with a credential).

use std::path::PathBuf;

use vsync_crypto::cfg_blob::RuntimeConfig;

use super::cloud::{self, Revision};
use super::url::query_escape;
use crate::error::StoreError;

/// Where the bucket is.
#[derive(Clone, PartialEq, Eq)]
pub enum StoreSpec {
    /// A directory on this machine (`file:///abs/path`).
    File {
        /// Absolute root directory.
        root: PathBuf,
    },
    /// An S3-compatible bucket.
    S3 {
        /// Bucket name.
        bucket: String,
        /// Endpoint URL (`https://…`); `None` for AWS.
        endpoint: Option<String>,
        /// SigV4 region.
        region: String,
        /// Access key id.
        access_key_id: String,
        /// Secret key (never printed: `Debug` redacts it).
        secret_access_key: String,
        /// Allow `http://` endpoints.
        allow_http: bool,
    },
    /// A Google Cloud Storage bucket; credentials come from the environment.
    Gcs {
        /// Bucket name.
        bucket: String,
        /// Base URL override (a test server); `None` for `https://storage.googleapis.com`.
        endpoint: Option<String>,
    },
    /// An Azure Blob Storage container; credentials come from the environment.
    Azure {
        /// Container name.
        container: String,
        /// Storage account name; `None` takes `AZURE_STORAGE_ACCOUNT_NAME`.
        account: Option<String>,
        /// Account URL override (Azurite: `http://127.0.0.1:10000/devstoreaccount1`); `None` for
        /// `https://<account>.blob.core.windows.net`.
        endpoint: Option<String>,
    },
}

impl std::fmt::Debug for StoreSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::File { root } => f.debug_struct("File").field("root", root).finish(),
            Self::S3 {
                bucket,
                endpoint,
                region,
                access_key_id,
                secret_access_key: _,
                allow_http,
            } => f
                .debug_struct("S3")
                .field("bucket", bucket)
                .field("endpoint", endpoint)
                .field("region", region)
                .field("access_key_id", access_key_id)
                .field("secret_access_key", &"<redacted>")
                .field("allow_http", allow_http)
                .finish(),
            // No credential is ever held here: they stay in the environment.
            Self::Gcs { bucket, endpoint } => f
                .debug_struct("Gcs")
                .field("bucket", bucket)
                .field("endpoint", endpoint)
                .finish(),
            Self::Azure {
                container,
                account,
                endpoint,
            } => f
                .debug_struct("Azure")
                .field("container", container)
                .field("account", account)
                .field("endpoint", endpoint)
                .finish(),
        }
    }
}

pub(super) fn strip_userinfo(url: &str) -> String {
    crate::identity::redact_url(url)
}

impl StoreSpec {
    /// The canonical URL of a `file://`, `gs://` or `az://` spec, as recorded in the config
    /// (`store`); for S3 the `s3://bucket` form (its settings live in the config's S3 section).
    pub fn to_url(&self) -> String {
        let q =
            |k: &str, v: &Option<String>| v.as_ref().map(|v| format!("{k}={}", query_escape(v)));
        let join = |base: String, parts: Vec<Option<String>>| {
            let parts: Vec<String> = parts.into_iter().flatten().collect();
            if parts.is_empty() {
                base
            } else {
                format!("{base}?{}", parts.join("&"))
            }
        };
        match self {
            Self::File { root } => format!("file://{}", root.display()),
            Self::S3 { bucket, .. } => format!("s3://{bucket}"),
            Self::Gcs { bucket, endpoint } => {
                join(format!("gs://{bucket}"), vec![q("endpoint", endpoint)])
            }
            Self::Azure {
                container,
                account,
                endpoint,
            } => join(
                format!("az://{container}"),
                vec![q("account", account), q("endpoint", endpoint)],
            ),
        }
    }

    /// How revisions are identified for compare-and-swap on this store.
    pub fn revision(&self) -> Revision {
        match self {
            Self::Gcs { .. } => Revision::Generation,
            _ => Revision::ETag,
        }
    }

    /// The S3 spec from upstream's config fields (docs/formats.md §9.3, §11.1): an endpoint that starts
    /// with `http` is used verbatim, otherwise `https://` (or `http://` when `use_ssl` is false)
    /// is prepended.
    pub fn from_upstream_s3(
        endpoint: &str,
        region: &str,
        bucket: &str,
        access_key_id: &str,
        secret_access_key: &str,
        use_ssl: bool,
    ) -> Self {
        let endpoint = if endpoint.starts_with("http") {
            endpoint.to_owned()
        } else if use_ssl {
            format!("https://{endpoint}")
        } else {
            format!("http://{endpoint}")
        };
        let allow_http = endpoint.starts_with("http://");
        Self::S3 {
            bucket: bucket.to_owned(),
            endpoint: Some(endpoint),
            region: region.to_owned(),
            access_key_id: access_key_id.to_owned(),
            secret_access_key: secret_access_key.to_owned(),
            allow_http,
        }
    }

    /// The store a runtime token (config blob) names: `vsync runtime-token` on a `file://`,
    /// `gs://` or `az://` store puts its URL in `endpoint`; anything else is S3 with upstream's
    /// endpoint rule ([`StoreSpec::from_upstream_s3`], TLS unless the endpoint says `http://`).
    /// Offline: nothing is opened.
    pub fn from_runtime_config(cfg: &RuntimeConfig) -> Result<Self, StoreError> {
        let scheme = cfg
            .endpoint
            .split_once("://")
            .map(|(s, _)| s.to_ascii_lowercase());
        if matches!(scheme.as_deref(), Some("file" | "gs" | "az")) {
            return Self::parse_url(&cfg.endpoint);
        }
        Ok(Self::from_upstream_s3(
            &cfg.endpoint,
            &cfg.region,
            &cfg.bucket,
            &cfg.access_key_id,
            cfg.secret_access_key.expose(),
            true,
        ))
    }

    /// Set S3 credentials (no effect on other stores).
    pub fn with_credentials(mut self, id: &str, secret: &str) -> Self {
        if let Self::S3 {
            access_key_id,
            secret_access_key,
            ..
        } = &mut self
        {
            *access_key_id = id.to_owned();
            *secret_access_key = secret.to_owned();
        }
        self
    }

    /// A credential-free description for messages: `file:///root`, `s3://bucket at <endpoint>`,
    /// `gs://bucket`, `az://container (account <name>)`.
    pub fn label(&self) -> String {
        let at = |base: String, e: &Option<String>| match e {
            Some(e) => format!("{base} at {}", strip_userinfo(e)),
            None => base,
        };
        match self {
            Self::File { root } => format!("file://{}", root.display()),
            Self::S3 {
                bucket, endpoint, ..
            } => at(format!("s3://{bucket}"), endpoint),
            Self::Gcs { bucket, endpoint } => at(format!("gs://{bucket}"), endpoint),
            Self::Azure {
                container,
                account,
                endpoint,
            } => {
                let base = match account {
                    Some(a) => format!("az://{container} (account {a})"),
                    None => format!("az://{container}"),
                };
                at(base, endpoint)
            }
        }
    }

    pub(super) fn endpoint_label(&self) -> String {
        match self {
            Self::File { root } => format!("file://{}", root.display()),
            Self::S3 {
                endpoint, region, ..
            } => endpoint
                .as_deref()
                .map(strip_userinfo)
                .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com")),
            Self::Gcs { endpoint, .. } => endpoint
                .as_deref()
                .map(strip_userinfo)
                .unwrap_or_else(|| cloud::GCS_DEFAULT_ENDPOINT.to_owned()),
            Self::Azure {
                endpoint, account, ..
            } => endpoint
                .as_deref()
                .map(strip_userinfo)
                .unwrap_or_else(|| cloud::azure_default_endpoint(account.as_deref())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secret() {
        let s = StoreSpec::from_upstream_s3("s3.example.com", "r", "b", "AKIA", "topsecret", true);
        let d = format!("{s:?}");
        assert!(!d.contains("topsecret"), "{d}");
        assert!(d.contains("https://s3.example.com"));
        let s = StoreSpec::from_upstream_s3("minio:9000", "r", "b", "AKIA", "x", false);
        assert!(matches!(
            s,
            StoreSpec::S3 {
                allow_http: true,
                ..
            }
        ));
    }
}
