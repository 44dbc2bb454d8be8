//! `vsync plugins check PATH`: the conformance run a plugin author (or an operator about to
//! trust a plugin) runs against a real loaded library.
//!
//! It vets the file and runs it in its own process exactly as `sync` does, checks what only a
//! plugin has (it loads, its manifest, its routing resolves to a scratch scope), then runs the
//! destination conformance suite (`vsync_dest_api::conformance`, the same cases every built-in
//! passes against its server) — every case that needs no control over a server — and reports
//! each step: ok, FAIL with why, or skip when a capability is absent. Each case gets a fresh
//! scratch scope (see [`fixture`]). Values are random per run; a step fails if any string the
//! plugin returns carries one of them. A plugin that crashes, exits, hangs or garbles its channel
//! fails the step it was in, and a final `process` step.

mod fixture;

use std::path::Path;

use vsync_dest_api::conformance::{self, Case, Step, Verdict};
use vsync_dest_api::{Destination, OptionMap};

use crate::error::{CliError, ExitKind};
use crate::output;
use crate::plugins::PluginDestination;

use fixture::PluginFixture;

/// Runs the checks and prints the report; exit 1 when any step failed.
pub async fn run(
    path: &Path,
    opts: &[String],
    timeout: std::time::Duration,
    json: bool,
) -> Result<(), CliError> {
    let given = parse_opts(opts)?;
    let vetted = crate::plugins::vet::vet(path, None, true)
        .map_err(|e| CliError::new(ExitKind::Failed, e.message))?;
    let sha256 = vetted.sha256.clone().unwrap_or_default();
    let mut steps = Vec::new();
    match PluginDestination::start(vetted, timeout) {
        Err(e) => steps.push(step("load", Verdict::Fail, e.message)),
        Ok(d) => {
            steps.push(step(
                "load",
                Verdict::Ok,
                format!("in a process of its own, sha256 {sha256}"),
            ));
            let scratch = tempfile::tempdir().map_err(|e| {
                CliError::new(ExitKind::Failed, format!("create a scratch folder: {e}"))
            })?;
            steps.push(manifest(&d));
            let fx = PluginFixture::new(&d, &given, scratch.path());
            let resolved = fx.resolve(scratch.path());
            let routing_ok = resolved.verdict == Verdict::Ok;
            steps.push(resolved);
            if routing_ok {
                let cases: Vec<Case> = Case::ALL
                    .into_iter()
                    .filter(|c| !c.needs_server_control())
                    .collect();
                steps.extend(conformance::run_cases(&cases, &d, &fx).await);
            }
            steps.push(match d.failure() {
                Some(why) => step("process", Verdict::Fail, why),
                None => step("process", Verdict::Ok, "still answering after every step"),
            });
        }
    }
    print(&steps, json);
    if steps.iter().any(|s| s.verdict == Verdict::Fail) {
        Err(CliError::new(
            ExitKind::Failed,
            "the plugin failed some checks (see FAIL lines above)",
        ))
    } else {
        Ok(())
    }
}

fn step(check: &str, verdict: Verdict, detail: impl Into<String>) -> Step {
    Step {
        check: check.to_owned(),
        verdict,
        detail: detail.into(),
    }
}

fn parse_opts(opts: &[String]) -> Result<OptionMap, CliError> {
    let mut m = OptionMap::new();
    for o in opts {
        let (k, v) = o.split_once('=').ok_or_else(|| {
            CliError::new(
                ExitKind::Usage,
                format!("--opt {o:?}: expected name=value (a routing option of the plugin)"),
            )
        })?;
        // `id.name=value`, as `sync` spells it, is accepted too.
        let k = k.rsplit_once('.').map_or(k, |(_, name)| name);
        m.insert(k.to_owned(), v.to_owned());
    }
    Ok(m)
}

fn print(steps: &[Step], json: bool) {
    if json {
        output::json(&steps);
        return;
    }
    for s in steps {
        output::line(format!("{}  {}: {}", s.verdict.tag(), s.check, s.detail));
    }
}

/// What only a plugin declares: an id by the rules, a version, sound routing option names.
fn manifest(d: &PluginDestination) -> Step {
    let m = &d.manifest;
    let id_ok = m.id.len() <= 32
        && m.id.starts_with(|c: char| c.is_ascii_lowercase())
        && m.id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let schema = d.routing_schema();
    let mut names: Vec<&str> = schema.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    let dup = names
        .windows(2)
        .find(|w| w[0] == w[1])
        .map(|w| w[0].to_owned());
    let problem = if !id_ok {
        Some(format!(
            "id {:?} does not match [a-z][a-z0-9-]{{0,31}}",
            m.id
        ))
    } else if m.version.trim().is_empty() {
        Some("the manifest has no version".to_owned())
    } else if let Some(n) = dup {
        Some(format!("routing option {n:?} is declared twice"))
    } else if schema.iter().any(|f| f.name.is_empty()) {
        Some("a routing option has an empty name".to_owned())
    } else {
        None
    };
    match problem {
        Some(p) => step("manifest", Verdict::Fail, p),
        None => step(
            "manifest",
            Verdict::Ok,
            format!(
                "{} {} (abi {}), {} routing option(s)",
                m.id,
                m.version,
                m.abi,
                schema.len()
            ),
        ),
    }
}
