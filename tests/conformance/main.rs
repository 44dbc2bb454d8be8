//! The conformance harness: runs every vector of `$VSYNC_VECTORS_DIR` (default
//! `../shared/test-vectors` from the repository root) by the rules of the corpus README.
//!
//! Prints one line per vector with its description, then exactly one summary line
//! `conformance: N passed, M failed, K skipped`, and exits non-zero when M > 0. Vectors that need
//! the runtime library (`fallback-chain`, `asset-path`, the bootstrap and S3 scenarios of
//! `error-taxonomy`) open a real `vsync_runtime::Vault` against an in-memory bucket with an
//! injected environment and fetcher (`runtime.rs`). Only placeholder objects are skipped.
//!
//! `cargo test --release -p vsync-tests --test conformance [-- FILTER]`

mod dispatch;
mod runtime;
mod self_check;

use std::io::Write as _;
use std::process::ExitCode;

use vsync_testkit::vectors::{self, Corpus};

/// What happened to one vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Outcome {
    Pass,
    Fail(String),
    Skip(String),
}

/// Counts of one run.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) passed: usize,
    pub(crate) failed: usize,
    pub(crate) skipped: usize,
}

/// Run a loaded corpus, writing one line per vector (and per lint problem) to `out`.
pub(crate) fn run_corpus(
    corpus: &Corpus,
    filter: Option<&str>,
    out: &mut dyn std::io::Write,
) -> Tally {
    let mut t = Tally::default();
    for p in &corpus.problems {
        t.failed += 1;
        let _ = writeln!(out, "FAIL lint {p}");
    }
    for id in &corpus.placeholders {
        t.skipped += 1;
        let _ = writeln!(out, "skip {id} (placeholder object, not a vector)");
    }
    let mut keys = dispatch::KeyCache::default();
    for v in &corpus.vectors {
        let id = v.id();
        if filter.is_some_and(|f| !id.contains(f)) {
            continue;
        }
        match dispatch::run(v, &mut keys) {
            Outcome::Pass => {
                t.passed += 1;
                let _ = writeln!(out, "ok   {id} — {}", v.description());
            }
            Outcome::Fail(why) => {
                t.failed += 1;
                let _ = writeln!(out, "FAIL {id} — {}\n       {why}", v.description());
            }
            Outcome::Skip(why) => {
                t.skipped += 1;
                let _ = writeln!(out, "skip {id} — {} ({why})", v.description());
            }
        }
    }
    t
}

fn main() -> ExitCode {
    // libtest-style flags (e.g. --nocapture) are ignored; a bare word filters vectors by id.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let stdout = std::io::stdout();
    let mut out = stdout.lock();

    let mut tally = Tally::default();
    match self_check::run() {
        Ok(n) => {
            let _ = writeln!(out, "harness self-check: {n} rules hold");
        }
        Err(errors) => {
            for e in errors {
                tally.failed += 1;
                let _ = writeln!(out, "FAIL harness self-check: {e}");
            }
        }
    }

    let dir = vectors::default_dir();
    let _ = writeln!(out, "corpus: {}", dir.display());
    let corpus = vectors::load(&dir);
    let t = run_corpus(&corpus, filter.as_deref(), &mut out);
    tally.passed += t.passed;
    tally.failed += t.failed;
    tally.skipped += t.skipped;

    let _ = writeln!(
        out,
        "conformance: {} passed, {} failed, {} skipped",
        tally.passed, tally.failed, tally.skipped
    );
    let _ = out.flush();
    if tally.failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
