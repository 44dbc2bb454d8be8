//! Supervising the child of `vsync run`: its environment ([`child_env`]), its private asset
//! folder ([`assets`]), the signals passed on to it ([`signals`]) and what keeps its values out of
//! CI logs ([`masks`], [`redact`], [`filtered`]). Whatever ends the run —
//! the child exiting, or SIGTERM/SIGHUP/SIGINT/SIGQUIT to vsync — the asset folder is removed
//! before vsync exits, and vsync exits with the child's status.

pub mod assets;
pub mod child_env;
pub mod filtered;
pub mod masks;
pub mod redact;
#[cfg(unix)]
pub mod signals;

/// Wait for `child`, passing caught termination signals on to it; returns its exit code, with
/// death by signal N reported as 128+N (the shell convention).
#[cfg(unix)]
pub async fn supervise(
    mut child: tokio::process::Child,
    mut forwarder: signals::Forwarder,
) -> std::io::Result<u8> {
    let pid = child.id();
    let status = loop {
        tokio::select! {
            s = child.wait() => break s?,
            n = forwarder.next() => {
                if let Some(pid) = pid {
                    signals::forward(pid, n);
                }
            }
        }
    };
    Ok(exit_code(&status))
}

/// The exit code that stands for `status`.
pub fn exit_code(status: &std::process::ExitStatus) -> u8 {
    if let Some(c) = status.code() {
        return u8::try_from(c & 0xff).unwrap_or(1);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if let Some(sig) = status.signal() {
            return u8::try_from(128 + sig).unwrap_or(1);
        }
    }
    1
}

/// Without Unix signals: wait for the child.
#[cfg(not(unix))]
pub async fn supervise(mut child: tokio::process::Child) -> std::io::Result<u8> {
    Ok(exit_code(&child.wait().await?))
}
