//! Reading and writing objects: GET, HEAD, unconditional PUT, create-only and compare-and-swap
//! PUT (with the check-then-write fallback for stores without conditional writes), DELETE, and
//! the probe that tells whether a store honours conditional writes.

use bytes::Bytes;
use object_store::{
    Attribute, Attributes, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion,
};

use super::classify::bucket_missing;
use super::cloud::Revision;
use super::server_reply::capture;
use super::{Bucket, Expected, Fetched};
use crate::error::StoreError;

/// The largest object any read takes: a bundle of the largest vault a push allows
/// ([`crate::limits`]: 256 MiB of files) with room for its zip records and envelope.
pub(crate) const OBJECT_CEILING: u64 = 264 * 1024 * 1024;

/// Collect `body`; `Ok(Err(n))` once more than `max` bytes arrived (`n` = bytes read so far).
async fn read_at_most(
    mut body: futures::stream::BoxStream<'static, object_store::Result<Bytes>>,
    max: u64,
) -> object_store::Result<Result<Bytes, u64>> {
    use futures::StreamExt;
    let mut buf = bytes::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        let read = buf.len() as u64 + chunk.len() as u64;
        if read > max {
            return Ok(Err(read));
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(Ok(buf.freeze()))
}

impl Bucket {
    /// GET an object of at most [`OBJECT_CEILING`] bytes; `Ok(None)` on 404.
    pub async fn get(&self, key: &str) -> Result<Option<Fetched>, StoreError> {
        self.get_at_most(key, OBJECT_CEILING).await
    }

    /// GET an object of at most `max` bytes; `Ok(None)` on 404. A bigger one is
    /// [`StoreError::TooLarge`], refused from its stated size before the body is read and, should
    /// the body run past it anyway, as soon as it does: whoever can write to the bucket cannot make
    /// a reader hold more than `max` bytes of one object.
    pub async fn get_at_most(&self, key: &str, max: u64) -> Result<Option<Fetched>, StoreError> {
        let path = self.path("get", key)?;
        let (res, reply) = capture(self.store.get(&path)).await;
        let res = match res {
            Ok(r) => r,
            Err(object_store::Error::NotFound { .. }) if bucket_missing(reply.as_ref()) => {
                return Err(StoreError::BucketMissing {
                    store: self.label.to_string(),
                });
            }
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(self.map_error("get", key, e, reply)),
        };
        let etag = self.token(res.meta.e_tag.as_deref(), res.meta.version.as_deref());
        let too_large = |size: u64| StoreError::TooLarge {
            store: self.label.to_string(),
            key: key.to_owned(),
            size,
            max,
        };
        if res.meta.size > max {
            return Err(too_large(res.meta.size));
        }
        let (body, reply) = capture(read_at_most(res.into_stream(), max)).await;
        match body {
            Ok(Ok(bytes)) => Ok(Some(Fetched { bytes, etag })),
            Ok(Err(read)) => Err(too_large(read)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.map_error("get", key, e, reply)),
        }
    }

    /// HEAD an object: its revision token (ETag without quotes, or the GCS generation; empty if
    /// the store gives none), `None` on 404.
    pub async fn head(&self, key: &str) -> Result<Option<String>, StoreError> {
        let path = self.path("head", key)?;
        let (res, reply) = capture(self.store.head(&path)).await;
        match res {
            Ok(m) => Ok(Some(
                self.token(m.e_tag.as_deref(), m.version.as_deref())
                    .unwrap_or_default(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.map_error("head", key, e, reply)),
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
        let (res, reply) = capture(self.store.put_opts(&path, PutPayload::from(bytes), opts)).await;
        match res {
            Ok(r) => Ok(self.token(r.e_tag.as_deref(), r.version.as_deref())),
            Err(e) => Err(self.map_error("put", key, e, reply)),
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
        let (res, reply) = capture(self.store.delete(&path)).await;
        match res {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.map_error("delete", key, e, reply)),
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
