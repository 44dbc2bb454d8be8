//! How the runtime reads objects: the [`Fetcher`] trait, its error, and an in-memory fetcher.
//!
//! The default fetcher talks to the bucket named in the config blob. Tests, the conformance
//! harness and applications with their own transport inject another one with
//! [`crate::OpenOptions::fetcher`] or [`crate::Vault::open_with_fetcher`].

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use bytes::Bytes;

/// Reads whole objects by key. Object-safe; used as `Arc<dyn Fetcher>`.
///
/// Keys are full object keys (`<prefix>latest`, `<prefix>versions/<ts>.enc`,
/// `<prefix>latest.manifest`). Implementations must be cheap to call concurrently.
#[async_trait]
pub trait Fetcher: Send + Sync {
    /// The object's bytes, `Ok(None)` when it does not exist (HTTP 404), or an error.
    ///
    /// The error's `detail` ends up in [`crate::Error`] messages, so it must never contain
    /// credentials, signatures or object content.
    async fn get(&self, key: &str) -> Result<Option<Bytes>, FetchError>;
}

/// Why a [`Fetcher`] could not answer. Every variant becomes [`crate::Error::S3Unreachable`];
/// the variant picks the advice in the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// Connection refused, DNS, TLS or timeout.
    #[error("network error: {detail}")]
    Network {
        /// A short cause, e.g. `connection refused`.
        detail: String,
    },
    /// The store rejected the credentials or the request (HTTP 401/403).
    #[error("access denied: {detail}")]
    AccessDenied {
        /// The S3 error code or status, e.g. `403 AccessDenied`.
        detail: String,
    },
    /// Anything else (5xx, an unexpected answer).
    #[error("{detail}")]
    Other {
        /// A short cause.
        detail: String,
    },
}

impl FetchError {
    /// A [`FetchError::Network`].
    pub fn network(detail: impl Into<String>) -> Self {
        Self::Network {
            detail: detail.into(),
        }
    }

    /// A [`FetchError::AccessDenied`].
    pub fn access_denied(detail: impl Into<String>) -> Self {
        Self::AccessDenied {
            detail: detail.into(),
        }
    }

    /// A [`FetchError::Other`].
    pub fn other(detail: impl Into<String>) -> Self {
        Self::Other {
            detail: detail.into(),
        }
    }
}

/// A fetcher over a map of objects, for tests and fixtures. It counts the requests it serves,
/// and can be told to fail every request.
#[derive(Debug, Default)]
pub struct MemoryFetcher {
    objects: Mutex<HashMap<String, Bytes>>,
    failure: Mutex<Option<FetchError>>,
    requests: Mutex<Vec<String>>,
}

impl MemoryFetcher {
    /// An empty bucket: every key is missing.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Store (or replace) an object.
    pub fn insert(&self, key: impl Into<String>, body: impl Into<Bytes>) {
        lock(&self.objects).insert(key.into(), body.into());
    }

    /// Remove an object.
    pub fn remove(&self, key: &str) {
        lock(&self.objects).remove(key);
    }

    /// Make every following request fail with `error` (`None` to stop failing).
    pub fn fail_with(&self, error: Option<FetchError>) {
        *lock(&self.failure) = error;
    }

    /// The keys requested so far, in order.
    #[must_use]
    pub fn requests(&self) -> Vec<String> {
        lock(&self.requests).clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[async_trait]
impl Fetcher for MemoryFetcher {
    async fn get(&self, key: &str) -> Result<Option<Bytes>, FetchError> {
        lock(&self.requests).push(key.to_owned());
        if let Some(e) = lock(&self.failure).clone() {
            return Err(e);
        }
        Ok(lock(&self.objects).get(key).cloned())
    }
}
