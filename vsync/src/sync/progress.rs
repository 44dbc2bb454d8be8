//! A one-line progress bar on stderr while a target is applied. Hand-rolled (a few lines are
//! cheaper than a dependency): redrawn at most every 100 ms, erased when done, and only when
//! stderr is a terminal that can redraw a line (not `TERM=dumb`, not `--json`/`--no-progress`).

use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Progress of one target's writes.
#[derive(Debug)]
pub struct Progress {
    label: String,
    total: usize,
    done: AtomicUsize,
    last_draw: Mutex<Option<Instant>>,
}

/// Whether a bar should be drawn at all.
pub fn wanted(json: bool, disabled: bool) -> bool {
    !json
        && !disabled
        && std::io::stderr().is_terminal()
        && !crate::settings::machine::dumb_terminal(crate::settings::env())
}

impl Progress {
    /// A bar for `total` changes to `label`.
    pub fn new(label: &str, total: usize) -> Self {
        Self {
            label: label.to_owned(),
            total,
            done: AtomicUsize::new(0),
            last_draw: Mutex::new(None),
        }
    }

    /// One change finished.
    pub fn tick(&self) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        let now = Instant::now();
        let Ok(mut last) = self.last_draw.lock() else {
            return;
        };
        if done < self.total && last.is_some_and(|t| now - t < Duration::from_millis(100)) {
            return;
        }
        *last = Some(now);
        let width = 30;
        let filled = (done * width).checked_div(self.total).unwrap_or(width);
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\r{} [{}{}] {done}/{}",
            self.label,
            "#".repeat(filled),
            "-".repeat(width - filled.min(width)),
            self.total
        );
        let _ = err.flush();
    }

    /// Erase the line so the summary starts clean.
    pub fn finish(&self) {
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K");
        let _ = err.flush();
    }
}
