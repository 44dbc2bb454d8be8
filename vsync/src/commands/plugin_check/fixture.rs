//! The conformance fixture for a plugin: a scratch scope per case and nothing else. A plugin's
//! service is unknown to vsync, so the suite cannot look behind it, tamper with it or make it
//! fail: the cases that need that (`drift`, `retryable_errors`) run only for the built-ins,
//! against their test servers.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use vsync_dest_api::conformance::{Fixture, Step, Verdict};
use vsync_dest_api::{Destination, OptionMap, Routing};

use crate::plugins::PluginDestination;

pub(super) struct PluginFixture<'a> {
    d: &'a PluginDestination,
    given: &'a OptionMap,
    scratch: &'a Path,
    cases: AtomicUsize,
}

impl<'a> PluginFixture<'a> {
    pub(super) fn new(d: &'a PluginDestination, given: &'a OptionMap, scratch: &'a Path) -> Self {
        Self {
            d,
            given,
            scratch,
            cases: AtomicUsize::new(0),
        }
    }

    /// Every required option not given with `--opt` points into `dir` (a fresh temporary
    /// folder): the plugin gets a scope nothing else uses.
    fn routing_in(&self, dir: &Path) -> Result<Routing, String> {
        let mut opts = self.given.clone();
        for f in self.d.routing_schema() {
            if f.required && !opts.contains_key(&f.name) {
                opts.insert(f.name.clone(), dir.join(&f.name).display().to_string());
            }
        }
        self.d
            .resolve_routing(None, &opts)
            .map(|r| r.routing)
            .map_err(|e| format!("{e} (give a scratch scope with --opt name=value)"))
    }

    /// The `resolve_routing` step: the scratch scope resolves.
    pub(super) fn resolve(&self, dir: &Path) -> Step {
        let (verdict, detail) = match self.routing_in(dir) {
            Ok(r) => (
                Verdict::Ok,
                format!("scratch scope: {}", self.d.routing_summary(&r)),
            ),
            Err(e) => (Verdict::Fail, e),
        };
        Step {
            check: "resolve_routing".into(),
            verdict,
            detail,
        }
    }
}

#[async_trait::async_trait]
impl Fixture for PluginFixture<'_> {
    /// A fresh sub-folder of the scratch folder per case. With every required option given
    /// (`--opt`, a real scratch scope), the cases share that scope; each cleans up after itself.
    async fn scope(&self) -> Result<Routing, String> {
        let n = self.cases.fetch_add(1, Ordering::Relaxed);
        let dir: PathBuf = self.scratch.join(format!("case-{n}"));
        std::fs::create_dir(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        self.routing_in(&dir)
    }

    fn broken(&self) -> Option<String> {
        self.d.failure()
    }
}
