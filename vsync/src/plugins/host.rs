//! The host side of a plugin child process: start it, hand it the vetted bytes, relay calls
//! as frames, and turn anything the child does wrong — dying, exiting, hanging, a malformed
//! frame — into one clear error for its own target. The child is killed and reaped when the
//! host drops it; if the host dies first, the child sees its channel close and exits.

use std::collections::HashMap;
use std::io::BufRead;
use std::os::fd::OwnedFd;
use std::os::unix::net::UnixStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use vsync_dest_api::{CancelFlag, DestError};

use super::frame::{self, F_BODY, F_PATH, F_TOO_LARGE, Frame, FrameError, HELLO_ID};
use super::redact::Redactor;
use super::vet::{Image, Vetted};

/// Variables a plugin child inherits (besides `LC_*`); everything else of vsync's environment
/// (vault passphrases, cloud credentials of other targets) stays behind.
pub const ENV_ALLOW: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "TZ",
    "TMPDIR",
    "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
];

/// Most lines of plugin output shown per plugin; the rest is counted, not printed.
const MAX_OUTPUT_LINES: usize = 200;
/// Longest line of plugin output shown.
const MAX_LINE_BYTES: usize = 4096;

static CALL_ID: AtomicU64 = AtomicU64::new(1);

type Waiter = SyncSender<Result<Frame, String>>;

#[derive(Default)]
struct Calls {
    pending: HashMap<u64, (&'static str, Waiter)>,
    /// Set once: why the child can take no more calls.
    dead: Option<String>,
}

struct Shared {
    label: OnceLock<String>,
    file: String,
    calls: Mutex<Calls>,
    child: Mutex<Child>,
}

impl Shared {
    fn label(&self) -> &str {
        self.label.get().map_or(self.file.as_str(), String::as_str)
    }

    fn calls(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Record why the child is finished (the first reason wins), stop it, and fail every
    /// waiting call with that reason.
    fn die(&self, what: String) {
        let _ = self.child.lock().map(|mut c| c.kill());
        let mut calls = self.calls();
        let reason = calls
            .dead
            .get_or_insert_with(|| format!("plugin {} {what}", self.label()))
            .clone();
        for (_, (op, tx)) in calls.pending.drain() {
            let _ = tx.try_send(Err(format!("{reason} (during {op})")));
        }
    }

    /// How the child ended, once its channel closed.
    fn exit_story(&self) -> String {
        let give_up = Instant::now() + Duration::from_secs(2);
        loop {
            let status = self.child.lock().ok().and_then(|mut c| c.try_wait().ok());
            match status {
                Some(Some(st)) => return describe(st),
                Some(None) if Instant::now() < give_up => {
                    std::thread::sleep(Duration::from_millis(10));
                }
                _ => return "closed its channel without a reply".into(),
            }
        }
    }
}

fn describe(st: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (_, Some(sig)) => {
            let name = match sig {
                4 => " SIGILL",
                6 => " SIGABRT",
                7 => " SIGBUS",
                8 => " SIGFPE",
                9 => " SIGKILL",
                11 => " SIGSEGV",
                13 => " SIGPIPE",
                15 => " SIGTERM",
                _ => "",
            };
            format!("crashed (killed by signal {sig}{name})")
        }
        (Some(code), _) => format!("exited (status {code}) without a reply"),
        _ => "ended without a reply".into(),
    }
}

/// A running plugin child.
pub struct Host {
    shared: Arc<Shared>,
    writer: Mutex<UnixStream>,
    timeout: Duration,
    redactor: Arc<Redactor>,
    /// Output relay threads still running.
    live: Arc<std::sync::atomic::AtomicUsize>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Host({})", self.shared.label())
    }
}

impl Host {
    /// Start a child for `v`, load it there, and read its manifest (checked by the caller).
    /// `timeout` bounds the load and every call.
    pub fn start(v: &Vetted, timeout: Duration) -> Result<(Self, u32, Vec<u8>), String> {
        let (ours, theirs) =
            UnixStream::pair().map_err(|e| format!("cannot make a channel: {e}"))?;
        let exe = std::env::current_exe().map_err(|e| format!("cannot find vsync itself: {e}"))?;
        let mut cmd = Command::new(exe);
        cmd.arg(super::child::HOST_ARG)
            .env_clear()
            .envs(std::env::vars_os().filter(|(k, _)| {
                k.to_str().is_some_and(|k| {
                    ENV_ALLOW.contains(&k) || (k.starts_with("LC_") && !k.contains('='))
                })
            }))
            .stdin(Stdio::from(OwnedFd::from(theirs)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start the plugin host: {e}"))?;
        drop(cmd);
        // named by the id its file name states until its manifest names it
        let file = super::discover::id_from_file_name(&v.path).unwrap_or_else(|| {
            v.path.file_name().map_or_else(
                || v.path.display().to_string(),
                |n| n.to_string_lossy().into(),
            )
        });
        let redactor = Arc::new(Redactor::default());
        let (out, err) = (child.stdout.take(), child.stderr.take());
        let shared = Arc::new(Shared {
            label: OnceLock::new(),
            file,
            calls: Mutex::new(Calls::default()),
            child: Mutex::new(child),
        });
        let lines = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let live = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let boxed = |r: Box<dyn std::io::Read + Send>| r;
        for r in [
            out.map(|o| boxed(Box::new(o))),
            err.map(|e| boxed(Box::new(e))),
        ]
        .into_iter()
        .flatten()
        {
            relay_output(
                r,
                shared.clone(),
                redactor.clone(),
                lines.clone(),
                live.clone(),
            );
        }
        let host = Self {
            shared,
            writer: Mutex::new(
                ours.try_clone()
                    .map_err(|e| format!("cannot use the channel: {e}"))?,
            ),
            timeout,
            redactor,
            live,
        };
        let (abi, manifest) = host.hello(ours, &v.image)?;
        Ok((host, abi, manifest))
    }

    /// The redactor of this child's output: register every value sent to it.
    pub fn redactor(&self) -> &Redactor {
        &self.redactor
    }

    /// Name the child by its plugin id from now on.
    pub fn set_label(&self, id: &str) {
        let _ = self.shared.label.set(id.to_owned());
    }

    fn fail(&self, what: String) -> String {
        self.shared.die(what);
        self.shared.calls().dead.clone().unwrap_or_default()
    }

    /// Send the library, wait (bounded) for the hello, then start the reply reader.
    fn hello(&self, mut chan: UnixStream, image: &Image) -> Result<(u32, Vec<u8>), String> {
        let sent = {
            let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            match image {
                // a path to our sealed copy: no megabytes through the socket
                #[cfg(target_os = "linux")]
                Image::Sealed(i) => frame::write(&mut *w, HELLO_ID, F_PATH, 0, i.path().as_bytes()),
                Image::Bytes(b) => frame::write(&mut *w, HELLO_ID, F_BODY, 0, b),
            }
        };
        if sent.is_err() {
            let story = self.shared.exit_story();
            return Err(self.fail(format!("{story} while loading")));
        }
        let _ = chan.set_read_timeout(Some(self.timeout));
        let hello = match frame::read(&mut chan, super::reply::MAX_REPLY_BYTES) {
            Ok(f) if f.call_id == HELLO_ID && f.flags == F_BODY && f.rc >= 1 => {
                (f.rc as u32, f.body.to_vec())
            }
            Ok(f) if f.call_id == HELLO_ID && f.rc == -1 => {
                let why = String::from_utf8_lossy(&f.body);
                let why: String = why.chars().take(500).collect();
                return Err(self.fail(format!("could not be loaded: {why}")));
            }
            Ok(_) => return Err(self.fail("sent a malformed hello".into())),
            Err(FrameError::Closed | FrameError::Truncated) => {
                let story = self.shared.exit_story();
                return Err(self.fail(format!("{story} while loading")));
            }
            Err(FrameError::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(self.fail(format!(
                    "did not load within {}s (stopped)",
                    self.timeout.as_secs()
                )));
            }
            Err(e) => return Err(self.fail(format!("sent a malformed frame ({e})"))),
        };
        let _ = chan.set_read_timeout(None);
        let shared = self.shared.clone();
        std::thread::spawn(move || read_replies(&shared, chan));
        Ok(hello)
    }

    /// One call: `op` names it in errors; the reply waits at most the host's timeout, or
    /// until `deadline` if that comes first. A timeout stops the child: a plugin that hangs
    /// once is not trusted with another call.
    pub fn call(
        &self,
        op: &'static str,
        request: &[u8],
        deadline: Option<Instant>,
        cancel: Option<&CancelFlag>,
    ) -> Result<serde_json::Value, DestError> {
        let id = CALL_ID.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = mpsc::sync_channel(1);
        {
            let mut calls = self.shared.calls();
            if let Some(dead) = &calls.dead {
                return Err(DestError::internal(dead.clone()));
            }
            calls.pending.insert(id, (op, tx));
        }
        let sent = {
            let mut w = self.writer.lock().unwrap_or_else(|p| p.into_inner());
            frame::write(&mut *w, id, F_BODY, 0, request)
        };
        if sent.is_err() {
            // the reader sees the channel close and records how the child ended
            let story = self.shared.exit_story();
            self.shared.die(story);
        }
        let mut until = Instant::now() + self.timeout;
        if let Some(d) = deadline {
            until = until.min(d);
        }
        let wait = until.saturating_duration_since(Instant::now());
        // wait in slices so Ctrl-C stops a hung plugin at once rather than after the timeout
        let got = loop {
            let left = until.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left.min(Duration::from_millis(100))) {
                Err(RecvTimeoutError::Timeout) if !left.is_zero() => {
                    if cancel.is_some_and(CancelFlag::is_set) {
                        let why =
                            self.fail(format!("was stopped: the run was interrupted during {op}"));
                        return Err(DestError::new(
                            vsync_dest_api::DestErrorKind::Cancelled,
                            why,
                        ));
                    }
                }
                other => break other,
            }
        };
        match got {
            Ok(Ok(f)) if f.flags & F_TOO_LARGE != 0 => Err(super::reply::too_large()),
            Ok(Ok(f)) => {
                let body = (f.flags & F_BODY != 0).then_some(&f.body[..]);
                super::reply::interpret(f.rc, body)
            }
            Ok(Err(why)) => Err(DestError::internal(why)),
            Err(RecvTimeoutError::Timeout) => {
                let secs = wait.as_secs_f64();
                let why = self.fail(format!("did not answer {op} within {secs:.0}s (stopped)"));
                Err(DestError::new(vsync_dest_api::DestErrorKind::Timeout, why))
            }
            Err(RecvTimeoutError::Disconnected) => Err(DestError::internal(
                self.shared
                    .calls()
                    .dead
                    .clone()
                    .unwrap_or_else(|| "the plugin host went away".into()),
            )),
        }
    }

    /// Why the child can take no more calls, if it cannot.
    pub fn failure(&self) -> Option<String> {
        self.shared.calls().dead.clone()
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        {
            let mut c = self.shared.child.lock().unwrap_or_else(|p| p.into_inner());
            let _ = c.kill();
            let _ = c.wait();
        }
        self.shared
            .calls()
            .dead
            .get_or_insert_with(|| "the plugin host was stopped".into());
        // let the last lines of its output reach the terminal (bounded: a grandchild may hold
        // the pipe open)
        let until = Instant::now() + Duration::from_millis(300);
        while self.live.load(Ordering::Relaxed) > 0 && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn read_replies(shared: &Shared, mut chan: UnixStream) {
    loop {
        match frame::read(&mut chan, super::reply::MAX_REPLY_BYTES) {
            Ok(f) => {
                let waiter = shared.calls().pending.remove(&f.call_id);
                match waiter {
                    Some((_, tx)) => {
                        let _ = tx.try_send(Ok(f));
                    }
                    None => {
                        shared.die(format!(
                            "sent a reply to no call ({}): a malformed frame",
                            f.call_id
                        ));
                        return;
                    }
                }
            }
            Err(FrameError::Closed | FrameError::Truncated) => {
                let story = shared.exit_story();
                shared.die(story);
                return;
            }
            Err(e) => {
                shared.die(format!("sent a malformed frame ({e})"));
                return;
            }
        }
    }
}

/// Show the child's stdout/stderr lines on our stderr, values redacted, volume bounded.
fn relay_output(
    r: Box<dyn std::io::Read + Send>,
    shared: Arc<Shared>,
    redactor: Arc<Redactor>,
    lines: Arc<std::sync::atomic::AtomicUsize>,
    live: Arc<std::sync::atomic::AtomicUsize>,
) {
    live.fetch_add(1, Ordering::Relaxed);
    std::thread::spawn(move || {
        let mut r = std::io::BufReader::new(r);
        let mut buf = Vec::new();
        loop {
            buf.clear();
            match std::io::Read::take(&mut r, MAX_LINE_BYTES as u64).read_until(b'\n', &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let n = lines.fetch_add(1, Ordering::Relaxed);
            if n < MAX_OUTPUT_LINES {
                crate::output::warn(format!(
                    "plugin {}: {}",
                    shared.label(),
                    redactor.clean(&buf)
                ));
            } else if n == MAX_OUTPUT_LINES {
                crate::output::warn(format!("plugin {}: more output not shown", shared.label()));
            }
        }
        live.fetch_sub(1, Ordering::Relaxed);
    });
}
