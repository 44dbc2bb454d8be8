//! The plugin child: `vsync __plugin-host`, started by [`super::host`] with a private socket
//! as its stdin. It vets nothing and takes nothing from its arguments: the host sends the
//! library's bytes (already vetted, hashed and pinned) as the first frame; the child loads a
//! private copy of exactly those bytes, answers with the manifest, then relays each request
//! frame to `vsync_dest_call` and the reply back. Whatever the plugin does to this process —
//! crash, exit, hang, print — the host sees as a failure of that one target.

use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use super::frame::{self, F_BODY, F_PATH, F_TOO_LARGE, HELLO_ID};
use super::load::{self, RawReply};

/// The hidden first argument that turns `vsync` into a plugin child.
pub const HOST_ARG: &str = "__plugin-host";

/// Largest request the child accepts (plan/apply payloads of a large vault).
const MAX_REQUEST_BYTES: usize = 256 * 1024 * 1024;

/// Run the child; returns only on a setup failure (the host reports the missing hello).
pub fn run() -> ExitCode {
    let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() else {
        return ExitCode::from(2);
    };
    let chan = UnixStream::from(fd);
    // the plugin must not read frames meant for us: fd 0 becomes /dev/null (fd 1 is already
    // the host's capture pipe, never the frame channel)
    #[cfg(target_os = "linux")]
    if let Ok(null) = std::fs::File::open("/dev/null") {
        let _ = rustix::stdio::dup2_stdin(&null);
    }
    let (Ok(mut reader), Ok(writer)) = (chan.try_clone(), chan.try_clone()) else {
        return ExitCode::from(2);
    };
    let writer = Arc::new(Mutex::new(writer));
    let Ok(lib) = frame::read(&mut reader, super::vet::MAX_PLUGIN_BYTES as usize) else {
        return ExitCode::from(2);
    };
    // the host's sealed in-memory copy (Linux), or the bytes themselves
    let image = if lib.flags & F_PATH != 0 {
        String::from_utf8(lib.body.to_vec())
            .map(std::path::PathBuf::from)
            .map_err(|_| "the load frame's path is not UTF-8".to_owned())
    } else {
        private_copy(&lib.body)
    };
    let sym = match image.and_then(|p| load::load(&p)) {
        Ok((sym, abi, manifest)) => {
            let rc = i32::try_from(abi).unwrap_or(i32::MAX);
            if send(&writer, HELLO_ID, F_BODY, rc, &manifest).is_err() {
                return ExitCode::from(2);
            }
            sym
        }
        Err(why) => {
            let _ = send(&writer, HELLO_ID, F_BODY, -1, why.as_bytes());
            return ExitCode::from(3);
        }
    };
    drop(lib);
    loop {
        let Ok(req) = frame::read(&mut reader, MAX_REQUEST_BYTES) else {
            // the host closed the channel (it exited, was killed, or is done with us): end now,
            // even while a call still hangs, so no orphan keeps secrets in memory
            std::process::exit(0);
        };
        let writer = writer.clone();
        std::thread::spawn(move || {
            let (flags, rc, body) = match load::raw_call(sym, &req.body) {
                RawReply::Done(rc, Some(b)) => (F_BODY, rc, b),
                RawReply::Done(rc, None) => (0, rc, Default::default()),
                RawReply::TooLarge => (F_TOO_LARGE, 0, Default::default()),
            };
            drop(req.body);
            if send(&writer, req.call_id, flags, rc, &body).is_err() {
                std::process::exit(0);
            }
        });
    }
}

fn send(w: &Mutex<UnixStream>, id: u64, flags: u32, rc: i32, body: &[u8]) -> std::io::Result<()> {
    let mut w = w.lock().unwrap_or_else(|p| p.into_inner());
    frame::write(&mut *w, id, flags, rc, body)?;
    w.flush()
}

/// Where the vetted bytes are loaded from: an anonymous memory file on Linux (nothing on disk,
/// not subject to a `noexec` /tmp), else a file in a fresh 0700 folder.
fn private_copy(bytes: &[u8]) -> Result<std::path::PathBuf, String> {
    #[cfg(target_os = "linux")]
    if let Ok(fd) = rustix::fs::memfd_create("vsync-plugin", rustix::fs::MemfdFlags::CLOEXEC) {
        use std::os::fd::AsRawFd;
        let mut f = std::fs::File::from(fd);
        if f.write_all(bytes).is_ok() {
            let path = format!("/proc/self/fd/{}", f.as_raw_fd());
            // the library stays mapped for the life of the process: keep its file open too
            std::mem::forget(f);
            return Ok(path.into());
        }
    }
    let dir = tempfile::Builder::new()
        .prefix("vsync-plugin-")
        .tempdir()
        .map_err(|e| format!("cannot make a private folder for the plugin: {e}"))?;
    let path = dir.path().join("plugin.so");
    std::fs::write(&path, bytes).map_err(|e| format!("cannot copy the plugin: {e}"))?;
    // loaded from there for the life of the process; the folder is private (0700)
    let _ = dir.keep();
    Ok(path)
}
