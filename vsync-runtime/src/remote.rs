//! The bucket side of a handle: object keys under the blob's prefix (the CLI's own
//! [`vsync_vault::layout::Prefix`], docs/formats.md §11.3), the fetch error mapping, and the generation
//! cell (docs/formats.md §11.7, parsed by [`vsync_vault::remote::Manifest`]).

use std::sync::Arc;

use bytes::Bytes;
use vsync_crypto::cfg_blob::RuntimeConfig;
use vsync_vault::layout::Prefix;
use vsync_vault::remote::Manifest;

use crate::error::{Error, Unreachable};
use crate::fetch::{FetchError, Fetcher};

/// Where one (repo, env) lives and how to read it.
pub(crate) struct Remote {
    fetcher: Arc<dyn Fetcher>,
    /// `<repo>/<env>/` from the blob (a `/` appended when missing).
    prefix: Prefix,
    /// ``bucket `b` at <endpoint>``, for messages.
    location: String,
}

impl Remote {
    pub(crate) fn new(config: &RuntimeConfig, fetcher: Arc<dyn Fetcher>) -> Result<Self, Error> {
        let prefix = Prefix::from_raw(&config.prefix).map_err(|_| {
            Error::corrupt("the prefix in the config blob is not a usable key prefix")
        })?;
        Ok(Self {
            fetcher,
            prefix,
            location: format!(
                "bucket `{}` at {}",
                config.bucket,
                redact_endpoint(&config.endpoint)
            ),
        })
    }

    pub(crate) fn pointer_key(&self) -> String {
        self.prefix.latest_key()
    }

    pub(crate) fn manifest_key(&self) -> String {
        self.prefix.manifest_key()
    }

    pub(crate) fn legacy_meta_key(&self) -> String {
        self.prefix.legacy_meta_key()
    }

    pub(crate) fn version_key(&self, ts: &str) -> String {
        self.prefix.version_key(ts)
    }

    pub(crate) fn location(&self) -> &str {
        &self.location
    }

    /// GET one object; fetcher failures become [`Error::S3Unreachable`].
    pub(crate) async fn get(&self, key: &str) -> Result<Option<Bytes>, Error> {
        self.fetcher.get(key).await.map_err(|e| {
            let (reason, detail) = match e {
                FetchError::Network { detail } => (Unreachable::Network, detail),
                FetchError::AccessDenied { detail } => (Unreachable::AccessDenied, detail),
                FetchError::Other { detail } => (Unreachable::Other, detail),
            };
            Error::S3Unreachable {
                reason,
                location: self.location.clone(),
                key: key.to_owned(),
                detail,
            }
        })
    }

    /// Read the generation now, as the CLI does: `latest.manifest`, else the runtime libraries'
    /// `latest.meta`, else 0. No key, no KDF.
    pub(crate) async fn generation(&self) -> Result<u64, Error> {
        let key = self.manifest_key();
        if let Some(body) = self.get(&key).await? {
            return parse_generation(&key, &body);
        }
        let key = self.legacy_meta_key();
        match self.get(&key).await? {
            Some(body) => parse_generation(&key, &body),
            None => Ok(0),
        }
    }
}

/// The generation of a cell body (docs/formats.md §11.7): blank ⇒ 0; otherwise a JSON object whose
/// counters are non-negative integers.
pub(crate) fn parse_generation(key: &str, body: &[u8]) -> Result<u64, Error> {
    let text = std::str::from_utf8(body)
        .map_err(|_| Error::corrupt(format!("`{key}` (the generation cell) is not UTF-8")))?;
    Manifest::parse(text, key)
        .map(|m| m.current_gen())
        .map_err(|e| Error::corrupt(e.to_string()))
}

/// The pointer body: ASCII whitespace trimmed; `Ok(None)` when empty.
pub(crate) fn parse_pointer(key: &str, body: &[u8]) -> Result<Option<String>, Error> {
    let text = body.trim_ascii();
    if text.is_empty() {
        return Ok(None);
    }
    match std::str::from_utf8(text) {
        Ok(ts) if vsync_vault::ts::is_bundle_ts(ts) => Ok(Some(ts.to_owned())),
        _ => Err(Error::corrupt(format!(
            "`{key}` does not hold a YYYYMMDD-HHMMSS timestamp"
        ))),
    }
}

/// An endpoint fit for a message: no user-info, no query, no fragment.
pub(crate) fn redact_endpoint(endpoint: &str) -> String {
    let cut = endpoint.find(['?', '#']).unwrap_or(endpoint.len());
    let endpoint = &endpoint[..cut];
    let (scheme, rest) = match endpoint.split_once("://") {
        Some((s, r)) => (Some(s), r),
        None => (None, endpoint),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let shown: String = match scheme {
        Some(s) => format!("{s}://{host}{path}"),
        None => format!("{host}{path}"),
    };
    shown
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_redacted() {
        assert_eq!(
            redact_endpoint("https://user:pw@s3.example.com/x?X-Amz-Signature=abc#f"),
            "https://s3.example.com/x"
        );
        assert_eq!(
            redact_endpoint("http://127.0.0.1:8333"),
            "http://127.0.0.1:8333"
        );
        assert_eq!(redact_endpoint("k:s@host"), "host");
    }

    #[test]
    fn generation_cell() {
        let g = |b: &[u8]| parse_generation("p/latest.manifest", b);
        assert_eq!(g(b"").unwrap(), 0);
        assert_eq!(g(b" \n").unwrap(), 0);
        assert_eq!(g(b"{}").unwrap(), 0);
        assert_eq!(
            g(br#"{"gen":4,"prev_gen":3,"rotated_at":"2026-05-23T11:42:01.234Z"}"#).unwrap(),
            4
        );
        for bad in [
            &b"[1]"[..],
            b"{\"gen\":-1}",
            b"{\"gen\":\"4\"}",
            b"{\"gen\":1.5}",
            b"nope",
            b"\xff",
        ] {
            let e = g(bad).unwrap_err();
            assert_eq!(e.class(), "BundleCorruptError");
            assert!(e.to_string().contains("p/latest.manifest"), "{e}");
        }
    }

    #[test]
    fn pointer_body() {
        assert_eq!(
            parse_pointer("k", b"20260523-114201\n").unwrap().as_deref(),
            Some("20260523-114201")
        );
        assert_eq!(parse_pointer("k", b" \r\n").unwrap(), None);
        for bad in [&b"../../etc"[..], b"20260523-11420", b"\xff"] {
            assert_eq!(
                parse_pointer("k", bad).unwrap_err().class(),
                "BundleCorruptError"
            );
        }
    }
}
