//! The destination conformance suite for the destination crates' tests: the cases live in
//! `vsync_dest_api::conformance` (re-exported here) because `vsync plugins check` ships them;
//! this module adds what only tests need — an assertion per case, a macro writing one test per
//! case, the engine loop as a panicking helper, and small builders the tests share.
//!
//! A destination test implements [`Fixture`] over its server or fake (how to read what the
//! service stores, plant a foreign secret, tamper, inject 429/5xx) and lists the cases it runs:
//!
//! ```ignore
//! mod conformance {
//!     vsync_testkit::conformance_tests!(super::fixture; preflight, map_name, create, idempotent,
//!         update, collisions, drift, prune, delete, retryable_errors, no_value_leaks);
//! }
//! ```

use std::time::{SystemTime, UNIX_EPOCH};

pub use vsync_dest_api::conformance::drive::{Engine, Outcome};
pub use vsync_dest_api::conformance::*;
use vsync_dest_api::{
    ChangeOp, Ctx, DestError, Destination, Plan, PlanOptions, Routing, SecretBytes, SecretItem,
};

/// Runs the case called `name` against `fixture` and panics, listing every step, when a step
/// failed, when the case reported nothing, or when the fixture cannot run it (a listed case must
/// not pass by doing nothing).
pub async fn assert_case(name: &str, d: &dyn Destination, fixture: &dyn Fixture) {
    let case = Case::from_name(name).unwrap_or_else(|| panic!("no conformance case {name:?}"));
    let id = d.id().to_owned();
    assert!(
        case.runs_with(fixture),
        "conformance case `{name}` listed for {id}, but its fixture cannot tamper or inject"
    );
    let steps = run_case(case, d, fixture).await;
    let report: String = steps
        .iter()
        .map(|s| format!("\n  {}  {}: {}", s.verdict.tag(), s.check, s.detail))
        .collect();
    eprintln!("conformance `{name}` for {id}:{report}");
    assert!(
        !steps.is_empty() && steps.iter().all(|s| s.verdict != Verdict::Fail),
        "conformance case `{name}` failed for {id}:{report}"
    );
}

/// One `#[tokio::test]` per listed case. `$fixture` is an `async fn() -> Option<(D, F)>`
/// (`None`: the server is not configured and the test skips, as the services module decides)
/// where `D: Destination` is the destination under test and `F: Fixture` its server.
#[macro_export]
macro_rules! conformance_tests {
    ($fixture:path; $($case:ident),+ $(,)?) => {
        $(
            #[::tokio::test]
            async fn $case() {
                let Some((dest, fixture)) = $fixture().await else { return };
                $crate::conformance::assert_case(stringify!($case), &dest, &fixture).await;
            }
        )+
    };
}

/// The engine's plan → apply → prune loop with a fresh receipt (a first run), for the
/// destination-specific tests: each change's remote name and the op the destination answered.
///
/// # Panics
/// On any error, naming it.
pub async fn sync(
    d: &dyn Destination,
    r: &Routing,
    items: &[SecretItem],
    prune: bool,
) -> Vec<(String, ChangeOp)> {
    let ctx = ctx();
    let (_, out) = Engine::new(d, r, &ctx)
        .sync(items, prune)
        .await
        .unwrap_or_else(|e| panic!("plan: {e}"));
    out.into_iter()
        .map(|o| match o.result {
            Ok(op) => (o.name.0, op),
            Err(e) => panic!("{}: {e}", o.name),
        })
        .collect()
}

/// The plan the engine would ask for on a first run: default options (no prune, online) and
/// the tests' [`ctx`].
///
/// # Errors
/// The destination's planning error, as it answered.
pub async fn plan(
    d: &dyn Destination,
    r: &Routing,
    items: &[SecretItem],
) -> Result<Plan, DestError> {
    d.plan(r, items, &PlanOptions::default(), &ctx()).await
}

/// Plain text items.
pub fn items(kv: &[(&str, &str)]) -> Vec<SecretItem> {
    kv.iter()
        .map(|(k, v)| SecretItem::plain(*k, SecretBytes::from_str_value(v)))
        .collect()
}

/// The context the destination tests use (env `dev`, repo `app`).
pub fn ctx() -> Ctx {
    Ctx::new("dev", "app")
}

/// `vsync-test/<tag>-<nanoseconds>`: a scope no earlier run used, on a shared server.
pub fn unique(tag: &str) -> String {
    let n = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("vsync-test/{tag}-{n}")
}
