//! What the server answered, kept as data so errors are classified by status code and service
//! error code, never by searching an error's text.
//!
//! object_store reports a failed request as an error whose status and body are only reachable
//! through its message. So the HTTP client object_store uses is wrapped
//! ([`RecordingConnector`]): for each response that is not a success it notes the status, the
//! service's error code (Azure's `x-ms-error-code` header; S3's and GCS's `<Code>` element of
//! the XML error document) and hands the response on unchanged. DNS lookups go through
//! [`TypedResolver`], whose failure is a type of ours ([`NameNotResolved`]) that the
//! classification finds in the error's source chain.
//!
//! The note lives in a task-local slot that [`capture`] opens around one bucket operation, so
//! operations running concurrently (even joined in one task) each see their own answer.

use std::cell::RefCell;
use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use object_store::ClientOptions;
use object_store::client::{
    DnsFuture, DnsResolver, HttpClient, HttpConnector, HttpError, HttpRequest, HttpResponse,
    HttpResponseBody, HttpService, ReqwestConnector,
};

/// The status and service error code of the last failed response of one operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ServerReply {
    /// The HTTP status, e.g. 403.
    pub(crate) status: u16,
    /// The service's error code (`NoSuchBucket`, `SignatureDoesNotMatch`,
    /// `ContainerNotFound`, …) when the reply carried one of a safe shape.
    pub(crate) code: Option<String>,
}

tokio::task_local! {
    static LAST_REPLY: RefCell<Option<ServerReply>>;
}

/// Run one bucket operation and return what the server last answered with an error, if anything.
pub(crate) async fn capture<T>(op: impl Future<Output = T>) -> (T, Option<ServerReply>) {
    LAST_REPLY
        .scope(RefCell::new(None), async move {
            let out = op.await;
            let reply = LAST_REPLY.with(|slot| slot.borrow_mut().take());
            (out, reply)
        })
        .await
}

fn note(reply: Option<ServerReply>) {
    // Outside `capture` (an object store used directly) there is nowhere to note it.
    let _ = LAST_REPLY.try_with(|slot| *slot.borrow_mut() = reply);
}

/// A service error code is shown to the user: only a short word of letters, digits and dots.
fn safe_code(code: &str) -> Option<String> {
    let code = code.trim();
    (!code.is_empty()
        && code.len() <= 64
        && code.chars().all(|c| c.is_ascii_alphanumeric() || c == '.'))
    .then(|| code.to_owned())
}

/// The text of the first `<Code>` element of an S3 or GCS XML error document.
fn xml_error_code(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let (_, rest) = text.split_once("<Code>")?;
    let (code, _) = rest.split_once("</Code>")?;
    safe_code(code)
}

/// The HTTP client factory given to every object_store builder: reqwest, with the recording
/// wrapper and the typed DNS resolver.
#[derive(Debug, Default)]
pub(crate) struct RecordingConnector;

impl HttpConnector for RecordingConnector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        let options = options.clone().with_dns_resolver(Arc::new(TypedResolver));
        let inner = ReqwestConnector::default().connect(&options)?;
        Ok(HttpClient::new(Recording(inner)))
    }
}

#[derive(Debug)]
struct Recording(HttpClient);

#[async_trait]
impl HttpService for Recording {
    async fn call(&self, req: HttpRequest) -> Result<HttpResponse, HttpError> {
        // A retried request that finally succeeds leaves no stale answer behind.
        note(None);
        let res = self.0.execute(req).await?;
        let status = res.status();
        if status.is_success() || status.is_redirection() {
            return Ok(res);
        }
        // Error documents are small; read it, note the code, and hand on the same bytes.
        let (parts, body) = res.into_parts();
        let bytes = body.bytes().await?;
        let code = parts
            .headers
            .get("x-ms-error-code")
            .and_then(|v| v.to_str().ok())
            .and_then(safe_code)
            .or_else(|| xml_error_code(&bytes));
        note(Some(ServerReply {
            status: status.as_u16(),
            code,
        }));
        Ok(HttpResponse::from_parts(
            parts,
            HttpResponseBody::from(bytes),
        ))
    }
}

/// A host name that did not resolve (the cause of a `DNS lookup failed`).
#[derive(Debug, thiserror::Error)]
#[error("cannot resolve the host name ({0})")]
pub(crate) struct NameNotResolved(std::io::ErrorKind);

/// Resolves host names like the system resolver, failing with [`NameNotResolved`].
#[derive(Debug)]
struct TypedResolver;

impl DnsResolver for TypedResolver {
    fn resolve(&self, host: &str) -> DnsFuture {
        let host = host.to_owned();
        Box::pin(async move {
            match tokio::net::lookup_host((host.as_str(), 0)).await {
                Ok(addrs) => Ok(addrs.map(|a| a.ip()).collect()),
                Err(e) => Err(Box::new(NameNotResolved(e.kind())) as _),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_come_from_the_error_document() {
        assert_eq!(
            xml_error_code(b"<Error><Code>SignatureDoesNotMatch</Code><Message>x</Message>")
                .as_deref(),
            Some("SignatureDoesNotMatch")
        );
        assert_eq!(xml_error_code(b"<Code>has space</Code>"), None);
        assert_eq!(xml_error_code(b"{\"error\":1}"), None);
        assert_eq!(
            safe_code("ContainerNotFound").as_deref(),
            Some("ContainerNotFound")
        );
        assert_eq!(safe_code(&"A".repeat(65)), None);
    }
}
