//! The runtime behind the `*_blocking` entry points.
//!
//! One private current-thread tokio runtime per process, created on first use and driven by one
//! background thread (`vsync-runtime-io`) for the life of the process. Blocking calls hand their
//! future to it and wait on a channel, so they work from plain threads and even from inside
//! another async runtime (they block that thread, but never panic or deadlock), and the HTTP
//! connections the default fetcher opens stay serviced whichever runtime polls the handle later.

use std::future::Future;
use std::sync::OnceLock;

use tokio::runtime::Handle;

use crate::error::{Error, Unreachable};

static RUNTIME: OnceLock<Result<Handle, String>> = OnceLock::new();

fn handle() -> Result<&'static Handle, Error> {
    RUNTIME
        .get_or_init(start)
        .as_ref()
        .map_err(|detail| runtime_error(detail))
}

fn start() -> Result<Handle, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .thread_name("vsync-runtime-blocking")
        .build()
        .map_err(|e| format!("cannot start the I/O runtime ({})", e.kind()))?;
    let handle = rt.handle().clone();
    std::thread::Builder::new()
        .name("vsync-runtime-io".into())
        .spawn(move || rt.block_on(std::future::pending::<()>()))
        .map_err(|e| format!("cannot start the I/O thread ({})", e.kind()))?;
    Ok(handle)
}

fn runtime_error(detail: &str) -> Error {
    Error::S3Unreachable {
        reason: Unreachable::Other,
        location: "the bucket".into(),
        key: String::new(),
        detail: detail.to_owned(),
    }
}

/// Run `fut` to completion on the private runtime and wait for it.
pub(crate) fn run<F, T>(fut: F) -> Result<T, Error>
where
    F: Future<Output = Result<T, Error>> + Send + 'static,
    T: Send + 'static,
{
    let handle = handle()?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let task = handle.spawn(fut);
    handle.spawn(async move {
        let _ = tx.send(task.await);
    });
    match rx.recv() {
        Ok(Ok(result)) => result,
        Ok(Err(join)) if join.is_panic() => std::panic::resume_unwind(join.into_panic()),
        Ok(Err(_)) | Err(_) => Err(runtime_error("the I/O runtime stopped")),
    }
}
