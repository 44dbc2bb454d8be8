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

mod bucket;
mod classify;
pub mod cloud;
pub(crate) mod file_store;
pub(crate) mod listing;
mod object_io;
mod server_reply;
mod spec;
pub(crate) mod stale_temp;
mod url;

pub use bucket::{Bucket, cli_client_options, credential_env};
pub use cloud::Revision;
pub use spec::StoreSpec;

use bytes::Bytes;

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
