//! The child's stdout and stderr through [`redact`](super::redact) filters (`vsync run
//! --redact`). The child writes into pipes, so a program that checks for a terminal (colours,
//! progress bars, prompts) sees none.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::redact::Patterns;

/// After the child exits, how long its pipes may stay open (held by a process it left running in
/// the background) before vsync stops reading and releases what it holds.
const DRAIN_GRACE: Duration = Duration::from_millis(500);

/// The two running filters of one child.
pub struct Pumps {
    handles: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
}

impl Pumps {
    /// Take the child's piped stdout and stderr and start copying them, filtered, to ours.
    pub fn start(
        child: &mut tokio::process::Child,
        patterns: Arc<Patterns>,
    ) -> std::io::Result<Self> {
        let (stop, stopped) = watch::channel(false);
        let mut handles = Vec::new();
        if let Some(out) = child.stdout.take() {
            handles.push(tokio::spawn(pump(
                out,
                writer_for(&std::io::stdout())?,
                patterns.clone(),
                stopped.clone(),
            )));
        }
        if let Some(err) = child.stderr.take() {
            handles.push(tokio::spawn(pump(
                err,
                writer_for(&std::io::stderr())?,
                patterns,
                stopped,
            )));
        }
        Ok(Self { handles, stop })
    }

    /// The child has exited: let the filters reach the end of their pipes (or stop them after
    /// [`DRAIN_GRACE`]) and write out what they still hold.
    pub async fn finish(self) {
        let Self { handles, stop } = self;
        let mut all = Box::pin(join_all(handles));
        if tokio::time::timeout(DRAIN_GRACE, &mut all).await.is_err() {
            let _ = stop.send(true);
            all.await;
        }
    }
}

/// An async writer on a duplicate of our stdout or stderr (tokio's file type does its blocking
/// writes off the runtime's threads, so a slow reader of our output never stalls the signal
/// forwarding).
#[cfg(unix)]
fn writer_for(stream: &impl std::os::fd::AsFd) -> std::io::Result<tokio::fs::File> {
    let fd = stream.as_fd().try_clone_to_owned()?;
    Ok(tokio::fs::File::from_std(std::fs::File::from(fd)))
}

#[cfg(windows)]
fn writer_for(stream: &impl std::os::windows::io::AsHandle) -> std::io::Result<tokio::fs::File> {
    let h = stream.as_handle().try_clone_to_owned()?;
    Ok(tokio::fs::File::from_std(std::fs::File::from(h)))
}

async fn join_all(handles: Vec<JoinHandle<()>>) {
    for h in handles {
        let _ = h.await;
    }
}

/// Copy `src` to `dst` through a filter until `src` ends or `stop` fires. A write error (our
/// stdout closed) ends the copy; the child then sees a broken pipe, as in a shell pipeline.
async fn pump(
    mut src: impl AsyncRead + Unpin,
    mut dst: impl AsyncWrite + Unpin,
    patterns: Arc<Patterns>,
    mut stop: watch::Receiver<bool>,
) {
    let mut filter = patterns.filter();
    let mut buf = zeroize::Zeroizing::new(vec![0u8; 8192]);
    loop {
        let n = tokio::select! {
            r = src.read(&mut buf[..]) => r.unwrap_or(0),
            _ = stop.wait_for(|s| *s) => 0,
        };
        let out = if n == 0 {
            filter.finish()
        } else {
            filter.push(&buf[..n])
        };
        if dst.write_all(&out).await.is_err() || dst.flush().await.is_err() || n == 0 {
            return;
        }
    }
}
