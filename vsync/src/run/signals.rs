//! Passing termination signals on to the child of `vsync run`, so that `kill <vsync>`, a closed
//! terminal or a service manager stopping us stops the child too, and we live long enough to
//! remove the asset folder.

use tokio::signal::unix::{Signal, SignalKind, signal};

const SIGHUP: i32 = 1;
const SIGINT: i32 = 2;
const SIGQUIT: i32 = 3;
const SIGTERM: i32 = 15;

/// SIGTERM, SIGHUP, SIGINT and SIGQUIT, caught for the life of the run. Install before the child
/// starts so none is missed.
pub struct Forwarder {
    term: Signal,
    hup: Signal,
    int: Signal,
    quit: Signal,
}

impl Forwarder {
    /// Take over the four signals for this process (their default action would kill us and leave
    /// the asset folder behind).
    pub fn install() -> std::io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            hup: signal(SignalKind::hangup())?,
            int: signal(SignalKind::interrupt())?,
            quit: signal(SignalKind::quit())?,
        })
    }

    /// Wait for the next caught signal; returns its number.
    pub async fn next(&mut self) -> i32 {
        tokio::select! {
            _ = self.term.recv() => SIGTERM,
            _ = self.hup.recv() => SIGHUP,
            _ = self.int.recv() => SIGINT,
            _ = self.quit.recv() => SIGQUIT,
        }
    }
}

/// Send signal `num` to the child `pid`, unless the terminal already delivered it: Ctrl-C and
/// Ctrl-\ go to the whole foreground process group, which the child shares with us, so passing
/// them on would deliver them twice.
pub fn forward(pid: u32, num: i32) {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{Pid, Signal as Sig, kill_process};
        if matches!(num, SIGINT | SIGQUIT) && terminal_delivers_to_child() {
            return;
        }
        let sig = match num {
            SIGTERM => Sig::TERM,
            SIGHUP => Sig::HUP,
            SIGINT => Sig::INT,
            SIGQUIT => Sig::QUIT,
            _ => return,
        };
        let Some(pid) = i32::try_from(pid).ok().and_then(Pid::from_raw) else {
            return;
        };
        let _ = kill_process(pid, sig);
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (pid, num);
    }
}

/// Whether we (and so the child, which stays in our process group) are the foreground group of
/// our controlling terminal.
#[cfg(target_os = "linux")]
fn terminal_delivers_to_child() -> bool {
    let Ok(tty) = std::fs::File::open("/dev/tty") else {
        return false;
    };
    rustix::termios::tcgetpgrp(&tty).is_ok_and(|fg| fg == rustix::process::getpgrp())
}
