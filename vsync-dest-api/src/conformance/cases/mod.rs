//! The cases. Each takes a fresh scratch scope from the fixture, so they run in any order.

mod basics;
mod faults;
mod observe;
mod scope;
mod write;

use super::Case;
use super::run::{Res, Run};

/// The env keys every case writes (valid for every built-in; Azure maps `_` with `nameMap=dash`).
pub(crate) const KEY_A: &str = "VSYNC_CHECK_A";
pub(crate) const KEY_B: &str = "VSYNC_CHECK_B";

pub(crate) async fn dispatch(case: Case, run: &mut Run<'_>) -> Res<()> {
    match case {
        Case::Preflight => basics::preflight(run).await,
        Case::MapName => basics::map_name(run).await,
        Case::Collisions => basics::collisions(run).await,
        Case::Create => write::create(run).await,
        Case::Idempotent => write::idempotent(run).await,
        Case::Update => write::update(run).await,
        Case::Delete => write::delete(run).await,
        Case::Drift => scope::drift(run).await,
        Case::Prune => scope::prune(run).await,
        Case::RetryableErrors => faults::retryable(run).await,
        Case::NoValueLeaks => faults::leaks(run).await,
    }
}

/// `a, b, c`.
pub(crate) fn join<T: std::fmt::Display>(xs: impl IntoIterator<Item = T>) -> String {
    xs.into_iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
