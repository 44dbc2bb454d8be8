//! The store URL grammar: `file:///abs/path`, `s3://bucket?…`, `gs://bucket?…`,
//! `az://container?…` (parsing and the canonical form's query escaping).

use std::path::PathBuf;

use percent_encoding::{AsciiSet, percent_decode_str, utf8_percent_encode};

use super::cloud;
use super::spec::{StoreSpec, strip_userinfo};
use crate::error::StoreError;

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
                let (bucket, pairs) = split_authority(
                    rest,
                    "credentials do not belong in the URL; put them in the config or a profile",
                    &invalid,
                )?;
                if bucket.is_empty() || bucket.contains('/') {
                    return Err(invalid("expected s3://<bucket>"));
                }
                let mut endpoint = None;
                let mut region = "us-east-1".to_owned();
                let mut allow_http = None;
                for (k, v) in pairs {
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
}

/// A bucket/container name and its decoded query pairs.
type Authority<'a> = (&'a str, Vec<(&'a str, String)>);

/// Split `name[/][?k=v&…]` into the name (trailing `/` removed) and its decoded query pairs;
/// user-info (`…@`) is refused with `no_credentials`.
fn split_authority<'a>(
    rest: &'a str,
    no_credentials: &str,
    invalid: &dyn Fn(&str) -> StoreError,
) -> Result<Authority<'a>, StoreError> {
    let (authority, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    if authority.contains('@') {
        return Err(invalid(no_credentials));
    }
    let pairs = query
        .into_iter()
        .flat_map(|q| q.split('&'))
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            Ok((k, percent_decode(v).ok_or_else(|| invalid("bad %-escape"))?))
        })
        .collect::<Result<_, StoreError>>()?;
    Ok((authority.trim_end_matches('/'), pairs))
}

/// `gs://bucket[?endpoint=…]` and `az://container[?account=…&endpoint=…]`.
fn parse_cloud(
    scheme: &str,
    rest: &str,
    invalid: &dyn Fn(&str) -> StoreError,
) -> Result<StoreSpec, StoreError> {
    let gs = scheme.eq_ignore_ascii_case("gs");
    let (name, pairs) = split_authority(
        rest,
        "credentials do not belong in the URL; they come from the environment",
        invalid,
    )?;
    let mut endpoint = None;
    let mut account = None;
    for (k, v) in pairs {
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
    let (valid_name, expected): (fn(&str) -> bool, _) = if gs {
        (
            cloud::valid_gcs_bucket,
            "expected gs://<bucket> (lower-case letters, digits, '-', '_', '.')",
        )
    } else {
        (
            cloud::valid_azure_container,
            "expected az://<container> (3-63 lower-case letters, digits and '-')",
        )
    };
    if !valid_name(name) {
        return Err(invalid(expected));
    }
    let name = name.to_owned();
    Ok(if gs {
        StoreSpec::Gcs {
            bucket: name,
            endpoint,
        }
    } else {
        StoreSpec::Azure {
            container: name,
            account,
            endpoint,
        }
    })
}

/// What would end a query value; `:` and `/` stay readable.
const QUERY_VALUE: &AsciiSet = &AsciiSet::EMPTY
    .add(b'%')
    .add(b'&')
    .add(b'#')
    .add(b'+')
    .add(b'=')
    .add(b'?')
    .add(b' ');

/// Escape a query value for the canonical URL.
pub(super) fn query_escape(v: &str) -> String {
    utf8_percent_encode(v, QUERY_VALUE).to_string()
}

/// Decode `%XX` escapes; `None` for a `%` without two hex digits after it, or for bytes that
/// do not decode to UTF-8 (the URL is refused rather than read some other way).
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let well_formed = b
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == b'%')
        .all(|(i, _)| {
            b.get(i + 1..i + 3)
                .is_some_and(|hex| hex.iter().all(u8::is_ascii_hexdigit))
        });
    if !well_formed {
        return None;
    }
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Revision;

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
}
