//! One target's lines while `vsync sync` runs targets at once. A target runs inside
//! [`Block::capture`]; every line it prints through this module (plan, warnings, summary) is
//! kept in its block instead of reaching the terminal, and the block is written in one piece
//! when the fan-out gets to it, so lines of targets running at the same time never interleave.
//!
//! The block follows the target's future (a task-local), not a thread: lines printed from a
//! plain thread the target started (a plugin's stderr reader) are not kept and print at once.

use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

/// Which stream a kept line goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stream {
    Out,
    Err,
}

/// The lines one target printed, in order, each already formatted as it will be written.
#[derive(Debug, Clone, Default)]
pub struct Block(Arc<Mutex<Vec<(Stream, String)>>>);

tokio::task_local! {
    static CURRENT: Block;
}

impl Block {
    /// An empty block.
    pub fn new() -> Self {
        Self::default()
    }

    /// Run `fut`, keeping every line it prints in this block (appended to what is there).
    pub async fn capture<F: Future>(&self, fut: F) -> F::Output {
        CURRENT.scope(self.clone(), fut).await
    }

    /// Write the block to stdout and stderr in one piece, then forget it.
    pub fn print(&self) {
        let lines = std::mem::take(&mut *self.0.lock().unwrap_or_else(PoisonError::into_inner));
        super::write_block(&lines);
    }

    fn push(&self, stream: Stream, text: String) {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((stream, text));
    }
}

/// Keep `text` in the block of the target printing it; gives it back when no block is open.
pub(super) fn keep(stream: Stream, text: String) -> Option<String> {
    let mut text = Some(text);
    let kept = CURRENT.try_with(|b| {
        if let Some(t) = text.take() {
            b.push(stream, t);
        }
    });
    match kept {
        Ok(()) => None,
        Err(_) => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Block {
        fn kept(&self) -> Vec<(Stream, String)> {
            self.0.lock().unwrap().clone()
        }
    }

    #[tokio::test]
    async fn lines_stay_with_the_target_that_printed_them() {
        let (a, b) = (Block::new(), Block::new());
        // the two futures take turns at every await, as targets running at once do
        tokio::join!(
            a.capture(async {
                crate::output::line("a1");
                tokio::task::yield_now().await;
                crate::output::warn("a2");
            }),
            b.capture(async {
                crate::output::line("b1");
                tokio::task::yield_now().await;
                crate::output::note("b2");
            }),
        );
        assert_eq!(
            a.kept(),
            [
                (Stream::Out, "a1".to_owned()),
                (Stream::Err, "warning: a2".to_owned())
            ]
        );
        assert_eq!(
            b.kept(),
            [
                (Stream::Out, "b1".to_owned()),
                (Stream::Err, "b2".to_owned())
            ]
        );
        a.print();
        assert!(a.kept().is_empty(), "printed once, then forgotten");
    }
}
