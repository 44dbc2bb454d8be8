//! How `vsync sync --to a,b,c` runs its targets: at most `at_once` at a time, each in its own
//! task (a target blocked in a plugin call or a prompt does not hold up the others), started in
//! the order given, and handed back in that same order, whatever order they finish in. Target
//! `i` is handed back once targets `0..i` have been, so what is printed per target comes out as
//! one block per target, in `--to` order, every run.

use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::pin::Pin;

use tokio::task::{Id, JoinSet};

/// One target's work, not started until the scheduler spawns it.
pub(super) type Job<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// The targets of one run, bounded and in order.
pub(super) struct InOrder<T> {
    waiting: VecDeque<(usize, Job<T>)>,
    running: JoinSet<(usize, T)>,
    index_of: BTreeMap<Id, usize>,
    finished: BTreeMap<usize, T>,
    next: usize,
    at_once: usize,
    /// Stands in for a job whose task ended without an answer (it panicked).
    lost: Box<dyn Fn(usize) -> T + Send>,
}

impl<T: Send + 'static> InOrder<T> {
    /// Schedule `jobs`; `at_once` is at least one.
    pub(super) fn new(
        jobs: Vec<Job<T>>,
        at_once: usize,
        lost: impl Fn(usize) -> T + Send + 'static,
    ) -> Self {
        Self {
            waiting: jobs.into_iter().enumerate().collect(),
            running: JoinSet::new(),
            index_of: BTreeMap::new(),
            finished: BTreeMap::new(),
            next: 0,
            at_once: at_once.max(1),
            lost: Box::new(lost),
        }
    }

    /// The next job's output in the order given (waiting for it if need be); `None` when all
    /// have been handed back.
    pub(super) async fn next(&mut self) -> Option<T> {
        loop {
            if let Some(out) = self.finished.remove(&self.next) {
                self.next += 1;
                return Some(out);
            }
            while self.running.len() < self.at_once {
                let Some((i, job)) = self.waiting.pop_front() else {
                    break;
                };
                let handle = self.running.spawn(async move { (i, job.await) });
                self.index_of.insert(handle.id(), i);
            }
            match self.running.join_next_with_id().await {
                Some(Ok((_, (i, out)))) => {
                    self.finished.insert(i, out);
                }
                Some(Err(e)) => {
                    if let Some(i) = self.index_of.get(&e.id()).copied() {
                        self.finished.insert(i, (self.lost)(i));
                    }
                }
                None => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::oneshot;

    use super::*;

    /// Jobs that each wait for their go signal, recording how many run at once.
    fn gated(
        n: usize,
        live: &Arc<AtomicUsize>,
        peak: &Arc<AtomicUsize>,
    ) -> (Vec<Job<usize>>, Vec<oneshot::Sender<()>>) {
        let mut jobs: Vec<Job<usize>> = Vec::new();
        let mut gos = Vec::new();
        for i in 0..n {
            let (tx, rx) = oneshot::channel::<()>();
            gos.push(tx);
            let (live, peak) = (live.clone(), peak.clone());
            jobs.push(Box::pin(async move {
                let now = live.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                let _ = rx.await;
                live.fetch_sub(1, Ordering::SeqCst);
                i
            }));
        }
        (jobs, gos)
    }

    /// Wait until exactly `n` jobs are running.
    async fn until_live(live: &AtomicUsize, n: usize) {
        while live.load(Ordering::SeqCst) != n {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test]
    async fn handed_back_in_the_order_given_whatever_finishes_first() {
        let (live, peak) = (Arc::new(AtomicUsize::new(0)), Arc::default());
        let (jobs, gos) = gated(3, &live, &peak);
        let mut sched = InOrder::new(jobs, 3, |i| 100 + i);
        // once all three run, the last finishes first and the first last
        let l = live.clone();
        let driver = tokio::spawn(async move {
            let mut left = 3;
            until_live(&l, left).await;
            for go in gos.into_iter().rev() {
                let _ = go.send(());
                left -= 1;
                until_live(&l, left).await;
            }
        });
        let mut order = Vec::new();
        while let Some(i) = sched.next().await {
            order.push(i);
        }
        driver.await.unwrap();
        assert_eq!(order, [0, 1, 2]);
        assert_eq!(peak.load(Ordering::SeqCst), 3, "all three ran at once");
    }

    #[tokio::test]
    async fn at_once_bounds_how_many_run_and_one_is_sequential() {
        let (live, peak) = (Arc::default(), Arc::default());
        let (jobs, gos) = gated(4, &live, &peak);
        for go in gos {
            let _ = go.send(());
        }
        let mut sched = InOrder::new(jobs, 1, |i| 100 + i);
        let mut order = Vec::new();
        while let Some(i) = sched.next().await {
            order.push(i);
        }
        assert_eq!(order, [0, 1, 2, 3]);
        assert_eq!(peak.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_job_that_panics_is_replaced_in_its_place() {
        let jobs: Vec<Job<usize>> = vec![
            Box::pin(async { 0 }),
            Box::pin(async { panic!("boom") }),
            Box::pin(async { 2 }),
        ];
        let mut sched = InOrder::new(jobs, 2, |i| 100 + i);
        let mut order = Vec::new();
        while let Some(i) = sched.next().await {
            order.push(i);
        }
        assert_eq!(order, [0, 101, 2]);
    }
}
