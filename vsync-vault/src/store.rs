//! Bucket I/O through `object_store` (docs/decisions.md §3): `file://` (the embedded default), `s3://`
//! (AWS, R2, MinIO, Ceph, SeaweedFS via an endpoint), `gs://` and `az://` ([`crate::cloud`]).
//!
//! - [`Bucket::put_create`] is create-only (`If-None-Match: *`; on GCS
//!   `x-goog-if-generation-match: 0`); [`Bucket::put_swap`] is compare-and-swap on the object's
//!   revision token (`If-Match`; on GCS the generation), or create-only for [`Expected::Absent`].
//! - The revision token is called "etag" throughout: it is the ETag on S3, Azure and `file://`,
//!   and the object generation on GCS ([`Revision`]). ETags are returned and sent without
//!   surrounding quotes (docs/formats.md §11.1).
//! - Errors are typed ([`StoreError`]) and name the endpoint or bucket, never credentials.
//! - Timeouts suit a CLI: a refused connection fails within a second or two.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjPath;
use object_store::{
    Attribute, Attributes, BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutMode,
    PutOptions, PutPayload, RetryConfig, UpdateVersion,
};

use crate::cloud;
pub use crate::cloud::Revision;
use crate::error::StoreError;
use crate::file_store::FileStore;

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

fn strip_userinfo(url: &str) -> String {
    crate::identity::redact_url(url)
}

impl StoreSpec {
    /// Parse a store URL: `file:///abs/path`; `s3://bucket` with optional query parameters
    /// `endpoint=<url>`, `region=<r>` (default `us-east-1`), `allow_http=true`;
    /// `gs://bucket[?endpoint=<url>]`; `az://container[?account=<name>&endpoint=<url>]`.
    /// Credentials are never taken from a URL: S3's are set with [`StoreSpec::with_credentials`],
    /// GCS's and Azure's come from the environment when the bucket is opened.
    pub fn parse_url(url: &str) -> Result<Self, StoreError> {
        let invalid = |reason: &str| StoreError::InvalidUrl {
            url: strip_userinfo(url),
            reason: reason.to_owned(),
        };
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            invalid("expected file:///path, s3://bucket, gs://bucket or az://container")
        })?;
        match scheme.to_ascii_lowercase().as_str() {
            "file" => {
                let path = rest.strip_prefix("localhost").unwrap_or(rest);
                if !path.starts_with('/') {
                    return Err(invalid(
                        "file:// URLs need an absolute path (file:///abs/path)",
                    ));
                }
                let decoded = percent_decode(path).ok_or_else(|| invalid("bad %-escape"))?;
                Ok(Self::File {
                    root: PathBuf::from(decoded),
                })
            }
            "s3" => {
                let (authority, query) = match rest.split_once('?') {
                    Some((a, q)) => (a, Some(q)),
                    None => (rest, None),
                };
                if authority.contains('@') {
                    return Err(invalid(
                        "credentials do not belong in the URL; put them in the config or a profile",
                    ));
                }
                let bucket = authority.trim_end_matches('/');
                if bucket.is_empty() || bucket.contains('/') {
                    return Err(invalid("expected s3://<bucket>"));
                }
                let mut endpoint = None;
                let mut region = "us-east-1".to_owned();
                let mut allow_http = None;
                for kv in query
                    .into_iter()
                    .flat_map(|q| q.split('&'))
                    .filter(|s| !s.is_empty())
                {
                    let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
                    let v = percent_decode(v).ok_or_else(|| invalid("bad %-escape"))?;
                    match k {
                        "endpoint" => endpoint = Some(v),
                        "region" => region = v,
                        "allow_http" => allow_http = Some(v == "true" || v == "1"),
                        _ => return Err(invalid("unknown query parameter")),
                    }
                }
                let allow_http = allow_http.unwrap_or_else(|| {
                    endpoint
                        .as_deref()
                        .is_some_and(|e| e.starts_with("http://"))
                });
                Ok(Self::S3 {
                    bucket: bucket.to_owned(),
                    endpoint,
                    region,
                    access_key_id: String::new(),
                    secret_access_key: String::new(),
                    allow_http,
                })
            }
            "gs" | "az" => parse_cloud(scheme, rest, &invalid),
            _ => Err(invalid(
                "unsupported scheme (use file://, s3://, gs:// or az://)",
            )),
        }
    }

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

    fn endpoint_label(&self) -> String {
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

/// `gs://bucket[?endpoint=…]` and `az://container[?account=…&endpoint=…]`.
fn parse_cloud(
    scheme: &str,
    rest: &str,
    invalid: &dyn Fn(&str) -> StoreError,
) -> Result<StoreSpec, StoreError> {
    let gs = scheme.eq_ignore_ascii_case("gs");
    let (authority, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    if authority.contains('@') {
        return Err(invalid(
            "credentials do not belong in the URL; they come from the environment",
        ));
    }
    let name = authority.trim_end_matches('/');
    let mut endpoint = None;
    let mut account = None;
    for kv in query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|s| !s.is_empty())
    {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        let v = percent_decode(v).ok_or_else(|| invalid("bad %-escape"))?;
        match k {
            "endpoint" if v.starts_with("http://") || v.starts_with("https://") => {
                endpoint = Some(v);
            }
            "endpoint" => return Err(invalid("the endpoint must be an http:// or https:// URL")),
            "account" if !gs => {
                if !cloud::valid_azure_account(&v) {
                    return Err(invalid(
                        "an Azure storage account name is 3-24 lower-case letters and digits",
                    ));
                }
                account = Some(v);
            }
            _ => return Err(invalid("unknown query parameter")),
        }
    }
    if gs {
        if !cloud::valid_gcs_bucket(name) {
            return Err(invalid(
                "expected gs://<bucket> (lower-case letters, digits, '-', '_', '.')",
            ));
        }
        Ok(StoreSpec::Gcs {
            bucket: name.to_owned(),
            endpoint,
        })
    } else {
        if !cloud::valid_azure_container(name) {
            return Err(invalid(
                "expected az://<container> (3-63 lower-case letters, digits and '-')",
            ));
        }
        Ok(StoreSpec::Azure {
            container: name.to_owned(),
            account,
            endpoint,
        })
    }
}

/// Escape what would end a query value; `:` and `/` stay readable.
fn query_escape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '%' | '&' | '#' | '+' | '=' | '?' | ' ' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// The process environment variables the `gs://` and `az://` builders read (`GOOGLE_*`,
/// `SERVICE_ACCOUNT`, `AZURE_*`, `IDENTITY_ENDPOINT`), as object_store's `from_env` would.
pub fn credential_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| cloud::is_credential_var(k))
        .collect()
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// What a compare-and-swap write expects to find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// The object must not exist (create-only).
    Absent,
    /// The object must have this ETag (quotes optional).
    Etag(String),
}

/// An object read with [`Bucket::get`].
#[derive(Clone)]
pub struct Fetched {
    /// The body.
    pub bytes: Bytes,
    /// The ETag without quotes, if the store gave one.
    pub etag: Option<String>,
}

impl std::fmt::Debug for Fetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetched")
            .field("len", &self.bytes.len())
            .field("etag", &self.etag)
            .finish()
    }
}

/// A bucket: cheap to clone, shareable across tasks.
#[derive(Clone)]
pub struct Bucket {
    pub(crate) store: Arc<dyn ObjectStore>,
    label: Arc<str>,
    endpoint: Arc<str>,
    conditional: bool,
    revision: Revision,
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

fn strip_quotes(s: &str) -> String {
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
                    .with_retry(retry);
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
    fn token(&self, e_tag: Option<&str>, version: Option<&str>) -> Option<String> {
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

    /// Map an `object_store` error to a [`StoreError`].
    pub fn map_error(&self, op: &'static str, key: &str, e: object_store::Error) -> StoreError {
        classify(&self.label, &self.endpoint, self.access_fix, op, key, e)
    }

    /// GET an object; `Ok(None)` on 404.
    pub async fn get(&self, key: &str) -> Result<Option<Fetched>, StoreError> {
        let path = self.path("get", key)?;
        let res = match self.store.get(&path).await {
            Ok(r) => r,
            Err(e @ object_store::Error::NotFound { .. }) => {
                let text = error_text(&e);
                return if text.contains("<Code>NoSuchBucket</Code>")
                    || text.contains("<Code>ContainerNotFound</Code>")
                {
                    Err(StoreError::BucketMissing {
                        store: self.label.to_string(),
                    })
                } else {
                    Ok(None)
                };
            }
            Err(e) => return Err(self.map_error("get", key, e)),
        };
        let etag = self.token(res.meta.e_tag.as_deref(), res.meta.version.as_deref());
        match res.bytes().await {
            Ok(bytes) => Ok(Some(Fetched { bytes, etag })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.map_error("get", key, e)),
        }
    }

    /// HEAD an object: its revision token (ETag without quotes, or the GCS generation; empty if
    /// the store gives none), `None` on 404.
    pub async fn head(&self, key: &str) -> Result<Option<String>, StoreError> {
        let path = self.path("head", key)?;
        match self.store.head(&path).await {
            Ok(m) => Ok(Some(
                self.token(m.e_tag.as_deref(), m.version.as_deref())
                    .unwrap_or_default(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.map_error("head", key, e)),
        }
    }

    async fn put_mode(
        &self,
        key: &str,
        bytes: Bytes,
        mode: PutMode,
        content_type: Option<&str>,
    ) -> Result<Option<String>, StoreError> {
        let path = self.path("put", key)?;
        let mut attributes = Attributes::new();
        if let Some(ct) = content_type {
            attributes.insert(Attribute::ContentType, ct.to_owned().into());
        }
        let opts = PutOptions {
            mode,
            attributes,
            ..Default::default()
        };
        match self
            .store
            .put_opts(&path, PutPayload::from(bytes), opts)
            .await
        {
            Ok(r) => Ok(self.token(r.e_tag.as_deref(), r.version.as_deref())),
            Err(e) => Err(self.map_error("put", key, e)),
        }
    }

    /// PUT unconditionally.
    pub async fn put(&self, key: &str, bytes: impl Into<Bytes>) -> Result<(), StoreError> {
        self.put_mode(key, bytes.into(), PutMode::Overwrite, None)
            .await
            .map(|_| ())
    }

    /// PUT create-only (`If-None-Match: *`); [`StoreError::AlreadyExists`] when it exists.
    pub async fn put_create(&self, key: &str, bytes: impl Into<Bytes>) -> Result<(), StoreError> {
        self.put_swap(key, bytes, Expected::Absent)
            .await
            .map(|_| ())
    }

    /// Compare-and-swap: write only if the object is absent ([`Expected::Absent`]; else
    /// [`StoreError::AlreadyExists`]) or has the given ETag ([`Expected::Etag`]; else
    /// [`StoreError::Conflict`]). Returns the new ETag (without quotes).
    pub async fn put_swap(
        &self,
        key: &str,
        bytes: impl Into<Bytes>,
        expected: Expected,
    ) -> Result<String, StoreError> {
        self.put_swap_typed(key, bytes.into(), expected, None).await
    }

    /// [`Bucket::put_swap`] with a `Content-Type`.
    pub async fn put_swap_typed(
        &self,
        key: &str,
        bytes: impl Into<Bytes>,
        expected: Expected,
        content_type: Option<&str>,
    ) -> Result<String, StoreError> {
        let bytes = bytes.into();
        let conflict = || StoreError::Conflict {
            store: self.label.to_string(),
            key: key.to_owned(),
        };
        let exists = || StoreError::AlreadyExists {
            store: self.label.to_string(),
            key: key.to_owned(),
        };
        // A GCS generation is a number: any other token names no revision, and GCS would
        // answer 400 instead of 412.
        if self.revision == Revision::Generation
            && let Expected::Etag(e) = &expected
            && let e = e.trim_matches('"')
            && (e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(conflict());
        }
        let mode = if self.conditional {
            match &expected {
                Expected::Absent => PutMode::Create,
                Expected::Etag(e) => PutMode::Update(match self.revision {
                    Revision::ETag => UpdateVersion {
                        e_tag: Some(e.trim_matches('"').to_owned()),
                        version: None,
                    },
                    // GCS matches on the generation (x-goog-if-generation-match).
                    Revision::Generation => UpdateVersion {
                        e_tag: None,
                        version: Some(e.trim_matches('"').to_owned()),
                    },
                }),
            }
        } else {
            // Fallback: check, then write (not atomic).
            let current = self.head(key).await?;
            match (&expected, current) {
                (Expected::Absent, Some(_)) => return Err(exists()),
                (Expected::Etag(_), None) => return Err(conflict()),
                (Expected::Etag(e), Some(cur)) if cur != e.trim_matches('"') => {
                    return Err(conflict());
                }
                _ => {}
            }
            PutMode::Overwrite
        };
        let etag = match self.put_mode(key, bytes, mode, content_type).await {
            Ok(t) => t,
            // A 404 to If-Match (AWS) means the object is gone: a conflict too.
            Err(StoreError::NotFound { .. }) if matches!(expected, Expected::Etag(_)) => {
                return Err(conflict());
            }
            Err(StoreError::AlreadyExists { .. }) if matches!(expected, Expected::Etag(_)) => {
                return Err(conflict());
            }
            Err(StoreError::Conflict { .. }) if expected == Expected::Absent => {
                return Err(exists());
            }
            Err(e) => return Err(e),
        };
        match etag {
            Some(t) => Ok(t),
            None => Ok(self.head(key).await?.unwrap_or_default()),
        }
    }

    /// List keys under `prefix` (recursive), sorted byte-wise. Entries whose names cannot be
    /// used are left out; [`Bucket::list_report`] says which.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, StoreError> {
        Ok(self.list_report(prefix).await?.keys)
    }

    /// Delete an object; a missing object is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path("delete", key)?;
        match self.store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.map_error("delete", key, e)),
        }
    }

    /// Check that the store honours conditional writes: create `scratch_key` create-only twice
    /// (the second must fail), then swap it with a wrong ETag (must fail) and the right one (must
    /// succeed); the scratch object is deleted afterwards. Network and credential errors are
    /// returned as errors, not as `false`.
    pub async fn probe_conditional(&self, scratch_key: &str) -> Result<bool, StoreError> {
        let probe = self.clone().with_conditional(true);
        let _ = probe.delete(scratch_key).await;
        let result = async {
            probe
                .put_create(scratch_key, Bytes::from_static(b"probe-1"))
                .await?;
            match probe
                .put_create(scratch_key, Bytes::from_static(b"probe-2"))
                .await
            {
                Err(StoreError::AlreadyExists { .. }) => {}
                Ok(()) => return Ok(false),
                Err(StoreError::Unsupported { .. }) => return Ok(false),
                Err(e) => return Err(e),
            }
            let etag = probe.head(scratch_key).await?.unwrap_or_default();
            // A token the store accepts syntactically but that names no revision: a GCS
            // generation is a number (a real one is a microsecond timestamp, never 1).
            let wrong = match probe.revision {
                Revision::ETag => "0000-wrong",
                Revision::Generation => "1",
            };
            match probe
                .put_swap(
                    scratch_key,
                    Bytes::from_static(b"probe-3"),
                    Expected::Etag(wrong.into()),
                )
                .await
            {
                Err(StoreError::Conflict { .. }) => {}
                Ok(_) => return Ok(false),
                Err(StoreError::Unsupported { .. }) => return Ok(false),
                Err(e) => return Err(e),
            }
            if etag.is_empty() {
                return Ok(false);
            }
            match probe
                .put_swap(
                    scratch_key,
                    Bytes::from_static(b"probe-4"),
                    Expected::Etag(etag),
                )
                .await
            {
                Ok(_) => Ok(true),
                Err(StoreError::Conflict { .. } | StoreError::Unsupported { .. }) => Ok(false),
                Err(e) => Err(e),
            }
        }
        .await;
        let _ = probe.delete(scratch_key).await;
        result
    }
}

/// The error and its sources as one text (for code extraction only; never shown).
fn error_text(e: &object_store::Error) -> String {
    let mut out = e.to_string();
    let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = src {
        out.push('\n');
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

/// Pull the S3 `<Code>…</Code>` out of an error text, if present (codes are safe to show).
fn s3_code(text: &str) -> Option<String> {
    let start = text.find("<Code>")? + "<Code>".len();
    let len = text[start..].find("</Code>")?;
    let code = &text[start..start + len];
    (code.len() <= 64 && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'))
        .then(|| code.to_owned())
}

fn http_status(text: &str) -> Option<u16> {
    let i = text.find("status code: ")? + "status code: ".len();
    text.get(i..i + 3)?.parse().ok()
}

fn classify(
    label: &str,
    endpoint: &str,
    access_fix: &'static str,
    op: &'static str,
    key: &str,
    e: object_store::Error,
) -> StoreError {
    use object_store::Error as E;
    let store = label.to_owned();
    let key_s = key.to_owned();
    // Flatten the source chain's text once (used only to extract codes, never shown).
    let mut chain = e.to_string();
    let mut http_kind = None;
    let mut io_kind = None;
    {
        let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(&e);
        while let Some(s) = src {
            if let Some(h) = s.downcast_ref::<object_store::client::HttpError>() {
                http_kind = Some(h.kind());
            }
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                io_kind = Some(io.kind());
            }
            if let Some(io) = s.downcast_ref::<std::io::Error>()
                && io.kind() == std::io::ErrorKind::ConnectionRefused
                && http_kind.is_none()
            {
                http_kind = Some(object_store::client::HttpErrorKind::Connect);
            }
            chain.push('\n');
            chain.push_str(&s.to_string());
            src = s.source();
        }
    }
    let code = s3_code(&chain);
    match e {
        E::NotFound { .. }
            if matches!(code.as_deref(), Some("NoSuchBucket" | "ContainerNotFound")) =>
        {
            StoreError::BucketMissing { store }
        }
        E::NotFound { .. } => StoreError::NotFound { store, key: key_s },
        E::AlreadyExists { .. } => StoreError::AlreadyExists { store, key: key_s },
        E::Precondition { .. } => StoreError::Conflict { store, key: key_s },
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => StoreError::AccessDenied {
            store,
            code: code.unwrap_or_else(|| "HTTP 401/403".to_owned()),
            fix: access_fix,
        },
        E::NotImplemented { .. } | E::NotSupported { .. } => StoreError::Unsupported {
            store,
            what: match op {
                "put" => "this write mode",
                _ => "this operation",
            },
        },
        _ => {
            use object_store::client::HttpErrorKind as K;
            let access_codes = [
                "AccessDenied",
                "SignatureDoesNotMatch",
                "InvalidAccessKeyId",
                "InvalidToken",
                "ExpiredToken",
                "AuthorizationHeaderMalformed",
                "AuthenticationFailed",
                "AuthorizationFailure",
                "AuthenticationRequired",
            ];
            if let Some(c) = code.as_deref().filter(|c| access_codes.contains(c)) {
                return StoreError::AccessDenied {
                    store,
                    code: c.to_owned(),
                    fix: access_fix,
                };
            }
            if matches!(code.as_deref(), Some("NoSuchBucket" | "ContainerNotFound")) {
                return StoreError::BucketMissing { store };
            }
            let status = http_status(&chain);
            if code.is_none()
                && status.is_none()
                && let Some(kind) = http_kind
            {
                let reason = match kind {
                    K::Connect => Some("connection failed"),
                    K::Timeout => Some("timed out"),
                    K::Interrupted => Some("connection interrupted"),
                    _ => None,
                };
                if let Some(reason) = reason {
                    let reason = if chain.contains("Connection refused")
                        || chain.contains("connection refused")
                    {
                        "connection refused"
                    } else if chain.contains("dns error") || chain.contains("failed to lookup") {
                        "DNS lookup failed"
                    } else if chain.contains("certificate") || chain.contains("tls") {
                        "TLS handshake failed"
                    } else {
                        reason
                    };
                    return StoreError::Unreachable {
                        endpoint: endpoint.to_owned(),
                        reason: reason.to_owned(),
                    };
                }
            }
            let detail = match (code, status) {
                (Some(c), Some(s)) => format!("HTTP {s} {c}"),
                (Some(c), None) => c,
                (None, Some(s)) => format!("HTTP {s}"),
                (None, None) => match (http_kind, io_kind) {
                    (Some(k), _) => format!("request failed ({k:?})"),
                    (None, Some(k)) => format!("I/O error: {k}"),
                    (None, None) => "request failed".to_owned(),
                },
            };
            StoreError::Other {
                store,
                op,
                key: key_s,
                detail,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_urls() {
        assert_eq!(
            StoreSpec::parse_url("file:///tmp/my%20store").unwrap(),
            StoreSpec::File {
                root: PathBuf::from("/tmp/my store")
            }
        );
        assert!(StoreSpec::parse_url("file://relative/x").is_err());
        let s = StoreSpec::parse_url(
            "s3://vsync-test?endpoint=http%3A%2F%2F127.0.0.1%3A8333&region=eu-1",
        )
        .unwrap();
        match &s {
            StoreSpec::S3 {
                bucket,
                endpoint,
                region,
                allow_http,
                ..
            } => {
                assert_eq!(bucket, "vsync-test");
                assert_eq!(endpoint.as_deref(), Some("http://127.0.0.1:8333"));
                assert_eq!(region, "eu-1");
                assert!(*allow_http);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(s.label(), "s3://vsync-test at http://127.0.0.1:8333");
        let err = StoreSpec::parse_url("s3://AKIA:supersecret@bucket").unwrap_err();
        assert!(!err.to_string().contains("supersecret"));
        assert!(StoreSpec::parse_url("ftp://x").is_err());
        assert!(StoreSpec::parse_url("s3://").is_err());
        assert!(StoreSpec::parse_url("s3://b?bogus=1").is_err());
    }

    #[test]
    fn parse_cloud_urls() {
        let g = StoreSpec::parse_url("gs://my-bucket?endpoint=http://127.0.0.1:4443").unwrap();
        assert_eq!(
            g,
            StoreSpec::Gcs {
                bucket: "my-bucket".into(),
                endpoint: Some("http://127.0.0.1:4443".into())
            }
        );
        assert_eq!(g.revision(), Revision::Generation);
        assert_eq!(g.to_url(), "gs://my-bucket?endpoint=http://127.0.0.1:4443");
        assert_eq!(StoreSpec::parse_url(&g.to_url()).unwrap(), g);
        assert_eq!(g.label(), "gs://my-bucket at http://127.0.0.1:4443");
        let a = StoreSpec::parse_url(
            "az://vault?account=devstoreaccount1&endpoint=http%3A%2F%2F127.0.0.1%3A10000%2Fdevstoreaccount1",
        )
        .unwrap();
        assert_eq!(
            a,
            StoreSpec::Azure {
                container: "vault".into(),
                account: Some("devstoreaccount1".into()),
                endpoint: Some("http://127.0.0.1:10000/devstoreaccount1".into()),
            }
        );
        assert_eq!(a.revision(), Revision::ETag);
        assert_eq!(StoreSpec::parse_url(&a.to_url()).unwrap(), a);
        assert_eq!(
            StoreSpec::parse_url("az://vault").unwrap().label(),
            "az://vault"
        );
        for bad in [
            "gs://",
            "gs://UPPER",
            "gs://b/extra",
            "gs://b?account=x",
            "gs://b?endpoint=ftp://x",
            "az://ab",
            "az://c?account=Bad-Name",
            "az://key:secret@container",
            "gs://b?bogus=1",
        ] {
            let e = StoreSpec::parse_url(bad).unwrap_err();
            assert!(!e.to_string().contains("secret@"), "{e}");
        }
    }

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

    #[test]
    fn codes() {
        assert_eq!(
            s3_code("... <Error><Code>SignatureDoesNotMatch</Code><Message>x</Message>").as_deref(),
            Some("SignatureDoesNotMatch")
        );
        assert_eq!(s3_code("<Code>has space</Code>"), None);
        assert_eq!(
            http_status("Server returned non-2xx status code: 403 Forbidden: ..."),
            Some(403)
        );
    }
}
