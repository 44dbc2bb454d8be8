//! Pinned plans (docs/pinned-plans.md): `vsync sync --plan-out FILE` saves what a sync would do,
//! `vsync sync --apply FILE` does exactly that later, or refuses when anything it was planned
//! against moved. This module is the file: its typed form ([`format`]), its canonical JSON and
//! digest ([`digest`]), how a plan is recorded from a destination ([`record`]), what moved
//! between two plans ([`compare`]) and the Markdown summary for a pull request ([`markdown`]).
//! Nothing here holds a value: only names and keyed fingerprints
//! ([`crate::sync::receipt::fingerprint`]).

pub mod compare;
pub mod digest;
pub mod format;
pub mod markdown;
pub mod record;

pub use format::{FORMAT, OpRecord, ParseError, PlanFile, PlanOp, RemoteRecord, TargetPlan};
