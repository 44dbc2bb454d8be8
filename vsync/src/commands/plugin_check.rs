//! `vsync plugins check PATH`: the conformance run a plugin author (or an operator about to
//! trust a plugin) runs against a real loaded library.
//!
//! It vets the file and runs it in its own process exactly as `sync` does, then walks the contract step by step against a
//! scratch scope — every required routing option points into a fresh temporary folder unless
//! `--opt name=value` names a real scratch scope (a test project, a throwaway vault) — and
//! reports each step: ok, FAIL with why, or skip when a capability is absent. Values are random
//! per run; a step fails if any error message carries one of them. A plugin that crashes,
//! exits, hangs or garbles its channel fails the step it was in, and a final `process` step.

use std::path::Path;

use vsync_dest_api::{
    Capabilities, Change, ChangeOp, Ctx, DestError, DestErrorKind, Destination, OptionMap, Plan,
    PlanOptions, RemoteName, Routing, SecretBytes, SecretItem, WriteMode,
};

use crate::error::{CliError, ExitKind};
use crate::output;
use crate::plugins::PluginDestination;

/// The outcome of one step.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// It held.
    Ok,
    /// It did not.
    Fail,
    /// Not applicable to this plugin's capabilities.
    Skip,
}

/// One line of the report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Step {
    /// Which part of the contract.
    pub check: &'static str,
    /// What happened.
    pub verdict: Verdict,
    /// Details (never a value).
    pub detail: String,
}

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
        Err(e) => steps.push(Step {
            check: "load",
            verdict: Verdict::Fail,
            detail: e.message,
        }),
        Ok(d) => {
            steps.push(Step {
                check: "load",
                verdict: Verdict::Ok,
                detail: format!("in a process of its own, sha256 {sha256}"),
            });
            let scratch = tempfile::tempdir().map_err(|e| {
                CliError::new(ExitKind::Failed, format!("create a scratch folder: {e}"))
            })?;
            steps.extend(Checker::new(&d, &given, scratch.path()).run().await);
            steps.push(match d.failure() {
                Some(why) => Step {
                    check: "process",
                    verdict: Verdict::Fail,
                    detail: why,
                },
                None => Step {
                    check: "process",
                    verdict: Verdict::Ok,
                    detail: "still answering after every step".into(),
                },
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
        let tag = match s.verdict {
            Verdict::Ok => "ok  ",
            Verdict::Fail => "FAIL",
            Verdict::Skip => "skip",
        };
        output::line(format!("{tag}  {}: {}", s.check, s.detail));
    }
}

/// A fresh random value, so a value that leaks into a message can be recognised.
fn random_value(tag: &str) -> String {
    let mut raw = [0u8; 12];
    vsync_crypto::random::fill(&mut raw);
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    format!("vsync-check-{tag}-{hex}")
}

struct Checker<'a> {
    d: &'a PluginDestination,
    given: &'a OptionMap,
    scratch: &'a Path,
    ctx: Ctx,
    values: Vec<String>,
    steps: Vec<Step>,
}

impl<'a> Checker<'a> {
    fn new(d: &'a PluginDestination, given: &'a OptionMap, scratch: &'a Path) -> Self {
        Self {
            d,
            given,
            scratch,
            ctx: Ctx::new("check", "vsync-plugin-check"),
            values: Vec::new(),
            steps: Vec::new(),
        }
    }

    fn record(&mut self, check: &'static str, verdict: Verdict, detail: impl Into<String>) {
        let mut detail = detail.into();
        // A leaked value turns any step into a failure, and is never echoed.
        if self.values.iter().any(|v| detail.contains(v.as_str())) {
            detail = "an error message contained a secret value".into();
            self.steps.push(Step {
                check,
                verdict: Verdict::Fail,
                detail,
            });
            return;
        }
        self.steps.push(Step {
            check,
            verdict,
            detail,
        });
    }

    fn result<T>(
        &mut self,
        check: &'static str,
        r: Result<T, DestError>,
        ok: impl FnOnce(&T) -> String,
    ) -> Option<T> {
        match r {
            Ok(v) => {
                let detail = ok(&v);
                self.record(check, Verdict::Ok, detail);
                Some(v)
            }
            Err(e) => {
                self.record(check, Verdict::Fail, e.to_string());
                None
            }
        }
    }

    async fn run(mut self) -> Vec<Step> {
        self.manifest();
        self.names();
        let Some(routing) = self.routing() else {
            return self.steps;
        };
        let caps = self.d.capabilities(&routing);
        let r = self.d.preflight(&routing, &self.ctx).await;
        if self
            .result("preflight", r, |()| {
                "reachable, credentials accepted".into()
            })
            .is_none()
        {
            return self.steps;
        }
        self.write_cycle(&routing, &caps).await;
        self.steps
    }

    fn manifest(&mut self) {
        let m = &self.d.manifest;
        let id_ok = m.id.len() <= 32
            && m.id.starts_with(|c: char| c.is_ascii_lowercase())
            && m.id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        let schema = self.d.routing_schema();
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
            Some(p) => self.record("manifest", Verdict::Fail, p),
            None => self.record(
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

    fn names(&mut self) {
        let empty = Routing::new();
        let a = self.d.map_name(&empty, "VSYNC_CHECK_A");
        let b = self.d.map_name(&empty, "VSYNC_CHECK_A");
        match (a, b) {
            (Ok(a), Ok(b)) if a == b => {
                self.record(
                    "map_name",
                    Verdict::Ok,
                    format!("VSYNC_CHECK_A -> {a}, stable"),
                );
            }
            (Ok(a), Ok(b)) => self.record(
                "map_name",
                Verdict::Fail,
                format!("not stable: {a} then {b} (it must be pure)"),
            ),
            (Err(e), _) | (_, Err(e)) => self.record(
                "map_name",
                Verdict::Fail,
                format!("rejected an ordinary env key: {e}"),
            ),
        }
        match self.d.map_name(&empty, "") {
            Err(e) if e.kind == DestErrorKind::InvalidName => {
                self.record("map_name(\"\")", Verdict::Ok, "rejected as InvalidName");
            }
            Err(e) => self.record(
                "map_name(\"\")",
                Verdict::Fail,
                format!(
                    "rejected, but as {} instead of InvalidName",
                    e.kind.as_str()
                ),
            ),
            Ok(n) => self.record(
                "map_name(\"\")",
                Verdict::Fail,
                format!("accepted an empty key (as {n:?})"),
            ),
        }
    }

    fn routing(&mut self) -> Option<Routing> {
        let mut opts = self.given.clone();
        for f in self.d.routing_schema() {
            if f.required && !opts.contains_key(&f.name) {
                let p = self.scratch.join(&f.name);
                opts.insert(f.name.clone(), p.display().to_string());
            }
        }
        let r = self.d.resolve_routing(None, &opts);
        let summary = |res: &vsync_dest_api::Resolved| self.d.routing_summary(&res.routing);
        match r {
            Ok(res) => {
                let s = summary(&res);
                self.record(
                    "resolve_routing",
                    Verdict::Ok,
                    format!("scratch scope: {s}"),
                );
                Some(res.routing)
            }
            Err(e) => {
                self.record(
                    "resolve_routing",
                    Verdict::Fail,
                    format!("{e} (give a scratch scope with --opt name=value)"),
                );
                None
            }
        }
    }

    async fn write_cycle(&mut self, routing: &Routing, caps: &Capabilities) {
        let first: Vec<SecretItem> = ["VSYNC_CHECK_A", "VSYNC_CHECK_B"]
            .iter()
            .map(|k| {
                let v = random_value("first");
                self.values.push(v.clone());
                SecretItem::plain(*k, SecretBytes::from_str_value(&v))
            })
            .collect();
        let Some(names) = self.mapped(routing, &first) else {
            return;
        };
        let plan = self
            .d
            .plan(routing, &first, &PlanOptions::default(), &self.ctx)
            .await;
        let Some(plan) = self.result("plan", plan, |p| {
            format!("{} change(s), no value in the plan", p.changes.len())
        }) else {
            return;
        };
        if let Ok(text) = serde_json::to_string(&plan)
            && self.values.iter().any(|v| text.contains(v.as_str()))
        {
            self.record("plan", Verdict::Fail, "the plan carries a secret value");
        }
        if !self.apply("apply", routing, caps, &plan, &first).await {
            return;
        }
        self.listed(routing, caps, &names, true).await;
        self.read_back("read_values", routing, caps, &names, &first)
            .await;

        let second = vec![
            SecretItem::plain("VSYNC_CHECK_A", {
                let v = random_value("second");
                self.values.push(v.clone());
                SecretBytes::from_str_value(&v)
            }),
            first[1].clone(),
        ];
        let plan = self
            .d
            .plan(routing, &second, &PlanOptions::default(), &self.ctx)
            .await;
        if let Some(plan) = self.result("plan (update)", plan, |p| {
            format!("{} change(s)", p.changes.len())
        }) && self
            .apply("apply (update)", routing, caps, &plan, &second)
            .await
        {
            self.read_back("read_values (update)", routing, caps, &names, &second)
                .await;
        }
        self.delete(routing, caps, &names).await;
    }

    fn mapped(&mut self, routing: &Routing, items: &[SecretItem]) -> Option<Vec<RemoteName>> {
        let mut names = Vec::new();
        for it in items {
            match self.d.map_name(routing, &it.key) {
                Ok(n) => names.push(n),
                Err(e) => {
                    self.record("map_name (scope)", Verdict::Fail, e.to_string());
                    return None;
                }
            }
        }
        Some(names)
    }

    async fn apply(
        &mut self,
        check: &'static str,
        routing: &Routing,
        caps: &Capabilities,
        plan: &Plan,
        items: &[SecretItem],
    ) -> bool {
        if caps.write_mode == WriteMode::BulkAtomic {
            let r = self.d.apply_bulk(routing, plan, items, &self.ctx).await;
            return self
                .result(check, r, |rep| {
                    format!("bulk write, {} outcome(s)", rep.outcomes.len())
                })
                .is_some();
        }
        let mut done = 0;
        for it in items {
            let remote = match self.d.map_name(routing, &it.key) {
                Ok(n) => n,
                Err(e) => {
                    self.record(check, Verdict::Fail, e.to_string());
                    return false;
                }
            };
            let change = plan
                .changes
                .iter()
                .find(|c| c.remote == remote)
                .cloned()
                .unwrap_or(Change {
                    source_key: Some(it.key.clone()),
                    remote,
                    op: ChangeOp::Upsert,
                });
            if change.op == ChangeOp::Unchanged {
                continue;
            }
            match self
                .d
                .apply_one(routing, &change, Some(it), &self.ctx)
                .await
            {
                Ok(_) => done += 1,
                Err(e) => {
                    self.record(check, Verdict::Fail, format!("{}: {e}", it.key));
                    return false;
                }
            }
        }
        self.record(
            check,
            Verdict::Ok,
            format!("{done} key(s) written one by one"),
        );
        true
    }

    async fn listed(
        &mut self,
        routing: &Routing,
        caps: &Capabilities,
        names: &[RemoteName],
        present: bool,
    ) {
        let check = if present {
            "list"
        } else {
            "list (after delete)"
        };
        if !caps.can_list {
            self.record(
                check,
                Verdict::Skip,
                "cannot list (prune will not be offered)",
            );
            return;
        }
        match self.d.list(routing, &self.ctx).await {
            Ok(Some(listed)) => {
                let wrong: Vec<&RemoteName> = names
                    .iter()
                    .filter(|n| listed.contains(n) != present)
                    .collect();
                if wrong.is_empty() {
                    self.record(
                        check,
                        Verdict::Ok,
                        format!("{} name(s) in the managed scope", listed.len()),
                    );
                } else {
                    let want = if present { "missing from" } else { "still in" };
                    let list = wrong
                        .iter()
                        .map(|n| n.0.as_str())
                        .collect::<Vec<_>>()
                        .join(", ");
                    self.record(check, Verdict::Fail, format!("{list} {want} the listing"));
                }
            }
            Ok(None) => self.record(
                check,
                Verdict::Fail,
                "capabilities say it can list, but list answered None",
            ),
            Err(e) => self.record(check, Verdict::Fail, e.to_string()),
        }
    }

    async fn read_back(
        &mut self,
        check: &'static str,
        routing: &Routing,
        caps: &Capabilities,
        names: &[RemoteName],
        items: &[SecretItem],
    ) {
        if !caps.can_read_values {
            self.record(
                check,
                Verdict::Skip,
                "write-only: the engine keeps a receipt instead",
            );
            return;
        }
        match self.d.read_values(routing, names, &self.ctx).await {
            Ok(Some(got)) => {
                let wrong: Vec<&str> = names
                    .iter()
                    .zip(items)
                    .filter(|(n, it)| {
                        got.get(*n).map(SecretBytes::expose) != Some(it.value.expose())
                    })
                    .map(|(_, it)| it.key.as_str())
                    .collect();
                if wrong.is_empty() {
                    self.record(check, Verdict::Ok, "every value read back as written");
                } else {
                    self.record(
                        check,
                        Verdict::Fail,
                        format!("read back differs for {}", wrong.join(", ")),
                    );
                }
            }
            Ok(None) => self.record(
                check,
                Verdict::Fail,
                "capabilities say it can read values, but read_values answered None",
            ),
            Err(e) => self.record(check, Verdict::Fail, e.to_string()),
        }
    }

    async fn delete(&mut self, routing: &Routing, caps: &Capabilities, names: &[RemoteName]) {
        if !caps.can_delete {
            self.record(
                "delete_one",
                Verdict::Skip,
                "cannot delete: the scratch keys stay behind",
            );
            return;
        }
        for n in names {
            if let Err(e) = self.d.delete_one(routing, n, &self.ctx).await {
                self.record("delete_one", Verdict::Fail, format!("{n}: {e}"));
                return;
            }
        }
        self.record(
            "delete_one",
            Verdict::Ok,
            format!("{} key(s) deleted", names.len()),
        );
        self.listed(routing, caps, names, false).await;
    }
}
