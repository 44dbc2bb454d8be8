//! A one-line progress display on stderr while targets are applied. Hand-rolled (a few lines are
//! cheaper than a dependency): redrawn at most every 100 ms, erased when the last target is done,
//! and only when stderr is a terminal that can redraw a line (not `TERM=dumb`, not
//! `--json`/`--no-progress`). Targets applied at the same time share the one line (each its own
//! counter on it), so their bars never overwrite each other; [`crate::output`] erases the line
//! before any other text and holds the terminal during prompts.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Progress of one target's writes.
#[derive(Debug)]
pub struct Progress {
    id: u64,
}

#[derive(Debug)]
struct Bar {
    id: u64,
    label: String,
    done: usize,
    total: usize,
}

/// Every bar on the line, and when the line was last drawn.
static BOARD: Mutex<(Vec<Bar>, Option<Instant>)> = Mutex::new((Vec::new(), None));
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

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
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let mut board = BOARD.lock().unwrap_or_else(PoisonError::into_inner);
        board.0.push(Bar {
            id,
            label: label.to_owned(),
            done: 0,
            total,
        });
        Self { id }
    }

    /// One change finished.
    pub fn tick(&self) {
        let now = Instant::now();
        let mut board = BOARD.lock().unwrap_or_else(PoisonError::into_inner);
        let (bars, last_draw) = &mut *board;
        let Some(bar) = bars.iter_mut().find(|b| b.id == self.id) else {
            return;
        };
        bar.done += 1;
        let finished = bar.done >= bar.total;
        if !finished && last_draw.is_some_and(|t| now - t < Duration::from_millis(100)) {
            return;
        }
        *last_draw = Some(now);
        crate::output::status(&line(bars));
    }

    /// Take this bar off the line; the line is erased so the summary starts clean.
    pub fn finish(&self) {
        let mut board = BOARD.lock().unwrap_or_else(PoisonError::into_inner);
        board.0.retain(|b| b.id != self.id);
        crate::output::clear_status();
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        let mut board = BOARD.lock().unwrap_or_else(PoisonError::into_inner);
        board.0.retain(|b| b.id != self.id);
    }
}

/// The status line: one wide bar for one target, a short bar each when several share the line.
fn line(bars: &[Bar]) -> String {
    let width = if bars.len() > 1 { 10 } else { 30 };
    let one = |b: &Bar| {
        let filled = (b.done * width).checked_div(b.total).unwrap_or(width);
        format!(
            "{} [{}{}] {}/{}",
            b.label,
            "#".repeat(filled.min(width)),
            "-".repeat(width - filled.min(width)),
            b.done,
            b.total
        )
    };
    bars.iter().map(one).collect::<Vec<_>>().join("  ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_bar_is_wide_several_share_the_line() {
        let bar = |label: &str, done, total| Bar {
            id: 0,
            label: label.into(),
            done,
            total,
        };
        assert_eq!(
            line(&[bar("github", 15, 30)]),
            format!("github [{}{}] 15/30", "#".repeat(15), "-".repeat(15))
        );
        assert_eq!(
            line(&[bar("github", 5, 10), bar("aws", 0, 0)]),
            "github [#####-----] 5/10  aws [##########] 0/0"
        );
    }
}
