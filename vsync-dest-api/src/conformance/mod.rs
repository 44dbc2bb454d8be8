//! The destination conformance suite (docs/sync-contract.md §15.10): one set of named cases that
//! every built-in destination runs against its real server or faithful fake, and that
//! `vsync plugins check` runs against a plugin.
//!
//! Why here, behind the `conformance` feature, and not in `vsync-testkit`: `plugins check` ships
//! in the CLI, and `vsync-testkit` is a dev-only crate. The cases need nothing but the
//! [`Destination`] trait, so they sit next to it; this module holds **no server code**. What a
//! case cannot do through the trait (look at what the service really stores, plant a secret the
//! tool did not write, change one behind its back, make the service answer 429/5xx) it asks of a
//! [`Fixture`] the caller implements. `vsync-testkit::conformance` re-exports this module and adds
//! the fixtures' shared glue and a test macro (as object_store's `integration` module does for its
//! stores); the plugin check implements a fixture over a scratch scope.
//!
//! A case reports [`Step`]s (one line each in `plugins check`); the first failing step ends it.
//! Every case draws fresh random values ("canaries") and fails if one shows up in any string the
//! destination returned: errors (`Display` and `Debug`), plans (`Debug` and JSON), warnings,
//! routing summaries, listed names, the destination's own `Debug`.

mod canary;
mod cases;
pub mod drive;
mod run;

use std::time::Duration;

use serde::Serialize;

use crate::{Destination, RemoteName, Routing};

/// The outcome of one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// It held.
    Ok,
    /// It did not.
    Fail,
    /// Not applicable to this destination's capabilities.
    Skip,
}

impl Verdict {
    /// The four-character tag a report line starts with (`ok  `, `FAIL`, `skip`).
    pub fn tag(self) -> &'static str {
        match self {
            Verdict::Ok => "ok  ",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "skip",
        }
    }
}

/// One checked statement: which part of the contract, what happened, why (never a value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    /// Which part of the contract (`plan`, `apply (update)`, …).
    pub check: String,
    /// What happened.
    pub verdict: Verdict,
    /// Details (never a value).
    pub detail: String,
}

/// What a fixture changes behind the tool's back for the `drift` case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    /// The stored value was replaced by another one.
    Changed,
    /// The secret was deleted.
    Deleted,
}

/// A failure the fixture makes the service answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fault {
    /// HTTP status: 429, or a 5xx.
    pub status: u16,
    /// The `Retry-After` the service sends with it.
    pub retry_after: Option<Duration>,
    /// How many requests fail (None: every request until the fixture is dropped).
    pub times: Option<u32>,
}

/// What the suite needs from outside the [`Destination`] trait. Every method but
/// [`Fixture::scope`] is optional: a case whose needs a fixture does
/// not meet is not run ([`Case::runs_with`] says which).
#[async_trait::async_trait]
pub trait Fixture: Send + Sync {
    /// Routing for an empty scratch scope; each call should give a scope no other case used.
    async fn scope(&self) -> Result<Routing, String>;

    /// What the service stores under `name`, read by the fixture's own means (not through the
    /// destination): `None` when the fixture cannot look, `Some(None)` when nothing is there.
    async fn stored(&self, _routing: &Routing, _name: &RemoteName) -> Option<Option<Vec<u8>>> {
        None
    }

    /// How many writes the service has taken in this scope so far (versions, PUTs), to prove that
    /// a run with nothing to change writes nothing. `None` when the fixture cannot count.
    async fn writes(&self, _routing: &Routing) -> Option<u64> {
        None
    }

    /// Changes `name` behind the tool's back; `None` when the fixture cannot.
    async fn tamper(&self, _routing: &Routing, _name: &RemoteName) -> Option<Tamper> {
        None
    }

    /// Puts secrets in the scope that the tool did not write (no managed-by marker, or just
    /// outside the prefix) and returns their names; empty when the destination has no such thing
    /// (every name in its scope is the tool's) or the fixture cannot.
    async fn plant_foreign(&self, _routing: &Routing) -> Vec<RemoteName> {
        Vec::new()
    }

    /// Makes the service answer the next requests with `fault`; false when it cannot.
    async fn inject(&self, _fault: Fault) -> bool {
        false
    }

    /// True when [`Fixture::tamper`] works (decides whether `drift` runs).
    fn can_tamper(&self) -> bool {
        false
    }

    /// True when [`Fixture::inject`] works (decides whether `retryable_errors` runs).
    fn can_inject(&self) -> bool {
        false
    }

    /// Why the destination can take no more calls (a plugin process that crashed), if so:
    /// the remaining cases are then not run.
    fn broken(&self) -> Option<String> {
        None
    }
}

/// One named case of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Case {
    /// Auth and reachability.
    Preflight,
    /// An ordinary key maps, purely; the empty key is `InvalidName`.
    MapName,
    /// Keys that differ only in case: refused by the engine's collision check where the
    /// destination's names collide, kept apart where they do not.
    Collisions,
    /// A fresh scope: plan says create, apply writes exactly the values, list and read back.
    Create,
    /// The same items again: nothing to write (all unchanged; write-only: no create).
    Idempotent,
    /// One changed value: only it is updated.
    Update,
    /// A value changed or deleted behind the tool's back is planned as a write and restored.
    Drift,
    /// Prune deletes only names the tool manages; a foreign secret in the scope survives.
    Prune,
    /// `delete_one` removes names and the listing stops showing them.
    Delete,
    /// 429 is `RateLimited` with the service's retry-after, 5xx is `Transient`; both retryable.
    RetryableErrors,
    /// Refused names and values, and injected failures, never echo a value.
    NoValueLeaks,
}

impl Case {
    /// Every case, in the order they run.
    pub const ALL: [Case; 11] = [
        Case::Preflight,
        Case::MapName,
        Case::Create,
        Case::Idempotent,
        Case::Update,
        Case::Collisions,
        Case::Drift,
        Case::Prune,
        Case::Delete,
        Case::RetryableErrors,
        Case::NoValueLeaks,
    ];

    /// Its name (also the test name in the destination crates).
    pub fn name(self) -> &'static str {
        match self {
            Case::Preflight => "preflight",
            Case::MapName => "map_name",
            Case::Collisions => "collisions",
            Case::Create => "create",
            Case::Idempotent => "idempotent",
            Case::Update => "update",
            Case::Drift => "drift",
            Case::Prune => "prune",
            Case::Delete => "delete",
            Case::RetryableErrors => "retryable_errors",
            Case::NoValueLeaks => "no_value_leaks",
        }
    }

    /// The case called `name`.
    pub fn from_name(name: &str) -> Option<Case> {
        Case::ALL.into_iter().find(|c| c.name() == name)
    }

    /// Whether the case needs the server manipulated (tampering, injected failures), which only
    /// a test fixture can do; `plugins check` runs the others.
    pub fn needs_server_control(self) -> bool {
        matches!(self, Case::Drift | Case::RetryableErrors)
    }

    /// Whether `fixture` supports what the case needs.
    pub fn runs_with(self, fixture: &dyn Fixture) -> bool {
        match self {
            Case::Drift => fixture.can_tamper(),
            Case::RetryableErrors => fixture.can_inject(),
            _ => true,
        }
    }
}

/// Runs one case against `d` and returns its steps.
pub async fn run_case(case: Case, d: &dyn Destination, fixture: &dyn Fixture) -> Vec<Step> {
    let mut run = run::Run::new(d, fixture, case);
    let _ = cases::dispatch(case, &mut run).await;
    run.finish()
}

/// Runs `cases` in order (each one the fixture supports), stopping early when the destination
/// breaks or `preflight` fails (nothing after it could work).
pub async fn run_cases(cases: &[Case], d: &dyn Destination, fixture: &dyn Fixture) -> Vec<Step> {
    let mut steps = Vec::new();
    for &case in cases {
        if fixture.broken().is_some() {
            break;
        }
        if !case.runs_with(fixture) {
            continue;
        }
        let got = run_case(case, d, fixture).await;
        let failed = got.iter().any(|s| s.verdict == Verdict::Fail);
        steps.extend(got);
        if failed && case == Case::Preflight {
            break;
        }
    }
    steps
}
