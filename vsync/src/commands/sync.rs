//! `vsync sync <env> --to a,b`: fan the vault out to secret managers (docs/sync-contract.md §15, docs/decisions.md §4).
//! Per target: resolve routing (saved to the config), map and validate every name before any
//! write, plan (create/update/unchanged/delete, names only), apply with a bounded, rate-limited,
//! retrying pool, write the receipt and one audit row. Targets run independently.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use vsync_dest_api::{ChangeOp, Ctx, Destination, OptionMap, Plan, SecretItem};

use crate::audit_row::AuditOpts;
use crate::cli::SyncArgs;
use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::output;
use crate::plugins::PluginDestination;
use crate::sync::engine::{self, ApplyOpts, KeyResult, PlanInputs};
use crate::sync::policy::{self, FileSource, Policy, Roots};
use crate::sync::receipt;
use crate::sync::registry::{Registry, canonical, config_key};

#[derive(Debug, Serialize)]
struct TargetReport {
    target: String,
    status: &'static str, // ok | partial | failed | planned
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    plan: Option<Plan>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    results: Vec<KeyResult>,
    /// Wall time of this target (plan and apply), for scripts and the benchmark.
    elapsed_ms: u128,
}

/// Run `vsync sync`.
pub async fn run(mut args: SyncArgs, flag_repo: Option<&str>, json: bool) -> Result<(), CliError> {
    match args.dry_run.as_deref() {
        None | Some("online" | "offline") => {}
        Some(other) => {
            return Err(CliError::new(
                ExitKind::Usage,
                format!("--dry-run={other}: the only value is offline"),
            ));
        }
    };
    // --dry-run is --plan (upstream ignored it and wrote; we never do)
    args.plan |= args.dry_run.is_some();
    let mut targets: Vec<String> = Vec::new();
    for t in args.to.iter().chain(args.target.iter()) {
        let c = canonical(t);
        if !c.is_empty() && !targets.contains(&c) {
            targets.push(c);
        }
    }
    if targets.is_empty() {
        return Err(CliError::new(ExitKind::Usage, "no target given")
            .with_hint(format!("vsync sync {} --to github,aws", args.env)));
    }
    let opts = collect_options(&args)?;
    let audit = AuditOpts::from_args(&args.audit)?;
    let mut ctx = EnvContext::for_read(flag_repo, &args.env)?;
    let policy = Policy {
        exclude: args.exclude_property.clone(),
        inline_suffixes: args.inline_file_suffix.clone(),
    };
    if !json {
        print_policy(&policy);
    }
    let parsed = load_items(&ctx, args.from_local, args.allow_rollback, &policy).await?;
    if !json {
        for k in &parsed.skipped {
            output::line(format!("  skipped (excluded): {k}"));
        }
    }
    let items = parsed.items;
    if items.is_empty() {
        return Err(CliError::new(ExitKind::Failed, "no secrets to sync"));
    }
    let dk = ctx.derived_key().await?;
    let fingerprints: Vec<String> = items
        .iter()
        .map(|i| receipt::fingerprint(&dk, i.value.expose()))
        .collect();

    let cancel = vsync_dest_api::CancelFlag::default();
    {
        let c = cancel.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                c.cancel();
            }
        });
    }
    let dctx = Ctx {
        env: ctx.env.clone(),
        repo: ctx.checkout.repo.clone(),
        cancel,
        deadline: Some(Instant::now() + Duration::from_secs(args.timeout.max(1))),
    };

    let mut registry = Registry::builtin();
    // plugins run in child processes; keep them to ask, after each target, whether its
    // process died (a crash, exit or hang fails that target, never the run)
    let pins = super::plugins::pins_of(&ctx);
    let call_timeout = Duration::from_secs(args.timeout.max(1));
    let mut plugins: BTreeMap<String, Arc<PluginDestination>> = BTreeMap::new();
    let mut plugin_errors: BTreeMap<String, String> = BTreeMap::new();
    for p in &args.plugin {
        match crate::plugins::open::open(p, &pins, false, call_timeout) {
            Ok(d) => {
                let d = Arc::new(d);
                let id = d.manifest.id.clone();
                match registry.add(d.clone()) {
                    Ok(()) => {
                        plugins.insert(id, d);
                    }
                    Err(e) => {
                        plugin_errors.insert(id, e);
                    }
                }
            }
            Err(e) => match crate::plugins::discover::id_from_file_name(p) {
                Some(id) => {
                    plugin_errors.insert(id, e.message);
                }
                None => output::warn(e.message),
            },
        }
    }

    let mut reports = Vec::new();
    let mut config_dirty = false;
    for id in &targets {
        let dest = match registry.get(id) {
            Some(d) => Ok(d),
            None => match plugin_errors.get(id) {
                Some(e) => Err(e.clone()),
                None => match crate::plugins::find_plugin(id) {
                    Some(path) => crate::plugins::open::open(&path, &pins, false, call_timeout)
                        .map(|d| {
                            let d = Arc::new(d);
                            plugins.insert(id.clone(), d.clone());
                            d as Arc<dyn Destination>
                        })
                        .map_err(|e| e.message),
                    None if matches!(
                        id.as_str(),
                        "github" | "gcp" | "aws" | "azure" | "hashivault"
                    ) =>
                    {
                        Err(format!(
                            "the {id} destination is not built into this vsync: rebuild with `--features {id}` (built-in: {})",
                            registry.ids().join(", ")
                        ))
                    }
                    None => Err(format!(
                        "unknown target {id:?} (built-in: {}; plugins: --plugin PATH or VSYNC_PLUGIN_DIR)",
                        registry.ids().join(", ")
                    )),
                },
            },
        };
        let started = Instant::now();
        let mut report = match dest {
            Ok(dest) => {
                run_target(
                    dest,
                    &mut ctx,
                    &items,
                    &fingerprints,
                    &dk,
                    &opts,
                    &args,
                    &dctx,
                    json,
                    &mut config_dirty,
                )
                .await
            }
            Err(e) => TargetReport {
                target: id.clone(),
                status: "failed",
                problems: vec![e],
                plan: None,
                results: Vec::new(),
                elapsed_ms: 0,
            },
        };
        report.elapsed_ms = started.elapsed().as_millis();
        if let Some(why) = plugins.get(id).and_then(|p| p.failure()) {
            // its process is gone: whatever was written stays reported, the target failed
            report.status = "failed";
            report.problems.push(why);
        }
        if !args.plan {
            let mut meta = audit.meta.clone();
            let count = |s: &str| report.results.iter().filter(|r| r.status == s).count();
            meta.insert("target".into(), id.clone().into());
            meta.insert("ok".into(), count("ok").into());
            meta.insert("failed".into(), count("failed").into());
            meta.insert("not_attempted".into(), count("not_attempted").into());
            meta.insert("dry_run".into(), false.into());
            meta.insert(
                "pruned".into(),
                report
                    .results
                    .iter()
                    .filter(|r| r.status == "ok" && r.op == ChangeOp::Delete)
                    .count()
                    .into(),
            );
            let row = AuditOpts {
                disabled: audit.disabled,
                meta,
            };
            crate::audit_row::append(&ctx, "sync", "", &row).await;
        }
        if !json {
            print_summary(&report);
        }
        reports.push(report);
    }
    if config_dirty && !ctx.is_keyless() {
        if let Err(e) = ctx.config.save(&ctx.config_path) {
            output::warn(format!(
                "could not save the sync routing to the config: {e}"
            ));
        }
    }
    if json {
        output::json(&reports);
    }
    // 1 when nothing was written anywhere; 6 when some targets (or keys) made it and others not
    let wrote_any = reports
        .iter()
        .any(|r| r.results.iter().any(|k| k.status == "ok"));
    if reports
        .iter()
        .any(|r| r.status == "failed" || r.status == "partial")
        && !wrote_any
    {
        return Err(CliError::new(
            ExitKind::Failed,
            "sync failed for some targets (see above)",
        ));
    }
    if reports.iter().any(|r| r.status == "failed") {
        return Err(CliError::new(
            ExitKind::Partial,
            "sync failed for some targets; the others were synced (see above)",
        ));
    }
    if reports.iter().any(|r| r.status == "partial") {
        return Err(CliError::new(
            ExitKind::Partial,
            "some keys were not synced (see above)",
        ));
    }
    Ok(())
}

/// Per-target options from the explicit flags and `--opt id.key=value`.
fn collect_options(a: &SyncArgs) -> Result<BTreeMap<String, OptionMap>, CliError> {
    let mut m: BTreeMap<String, OptionMap> = BTreeMap::new();
    let mut put = |id: &str, k: &str, v: &Option<String>| {
        if let Some(v) = v {
            m.entry(id.into()).or_default().insert(k.into(), v.clone());
        }
    };
    put("jsonfile", "path", &a.jsonfile_path);
    put("github", "repo", &a.github_repo);
    put("github", "environment", &a.github_environment);
    put("github", "scope", &a.github_scope);
    put("aws", "region", &a.aws_region);
    put("aws", "secretPrefix", &a.aws_secret_prefix);
    put("aws", "mode", &a.aws_mode);
    put("aws", "secret_name", &a.aws_secret_name);
    put("hashivault", "addr", &a.vault_addr);
    put("hashivault", "mount", &a.vault_mount);
    put("hashivault", "secretPath", &a.vault_path);
    put("gcp", "project", &a.gcp_project);
    put("gcp", "prefix", &a.gcp_prefix);
    put("gcp", "replication", &a.gcp_replication);
    put("gcp", "labels", &a.gcp_labels);
    put("azure", "vaultName", &a.azure_vault);
    put("azure", "nameMap", &a.azure_name_map);
    for o in &a.opt {
        let (lhs, v) = o.split_once('=').ok_or_else(|| {
            CliError::new(
                ExitKind::Usage,
                format!("--opt {o:?}: expected id.key=value"),
            )
        })?;
        let (id, k) = lhs.split_once('.').ok_or_else(|| {
            CliError::new(
                ExitKind::Usage,
                format!("--opt {o:?}: expected id.key=value"),
            )
        })?;
        m.entry(canonical(id))
            .or_default()
            .insert(k.into(), v.into());
    }
    Ok(m)
}

/// Translate option keys given as flag spellings to schema names.
fn normalise(dest: &dyn Destination, given: &OptionMap) -> OptionMap {
    let schema = dest.routing_schema();
    let id = dest.id();
    given
        .iter()
        .map(|(k, v)| {
            let name = schema
                .iter()
                .find(|f| {
                    &f.name == k
                        || f.flag.strip_prefix(&format!("{id}-")) == Some(k.as_str())
                        || &f.flag == k
                        || f.aliases.iter().any(|a| a == k)
                })
                .map(|f| f.name.clone())
                .unwrap_or_else(|| k.clone());
            (name, v.clone())
        })
        .collect()
}

/// The pushed vault (or the working copy), parsed with the parser policy. File references
/// inside the vault folder come from the same source as the env file.
async fn load_items(
    ctx: &EnvContext,
    from_local: bool,
    allow_rollback: bool,
    policy: &Policy,
) -> Result<policy::Parsed, CliError> {
    let vault_root = ctx.vault_dir();
    let local_text = std::fs::read(vault_root.join(format!(".env.{}", ctx.env)))
        .ok()
        .map(zeroize::Zeroizing::new);
    let pushed = match crate::latest::open_if_pushed(ctx, allow_rollback).await? {
        Some((_, zip)) => Some(vsync_vault::zip_bundle::read_bundle(
            &zip,
            &Default::default(),
        )?),
        None => None,
    };
    let pushed_env = pushed.as_ref().map(|b| {
        zeroize::Zeroizing::new(b.env_file(&ctx.env).map(<[u8]>::to_vec).unwrap_or_default())
    });
    let roots = Roots {
        vault_root: vault_root.clone(),
        home: std::env::var_os("HOME").map(Into::into),
    };
    let (text, files): (_, Box<dyn FileSource>) = if from_local {
        output::note("syncing the local working copy (--from-local), not the pushed vault");
        let local = local_text.clone().ok_or_else(|| {
            CliError::new(
                ExitKind::NotFound,
                format!("no working copy .env.{}", ctx.env),
            )
        })?;
        if pushed_env.as_deref().map(|p| p.as_slice()) != Some(local.as_slice()) {
            output::warn("the working copy differs from the pushed vault");
        }
        (local, Box::new(policy::Disk))
    } else {
        let (Some(p), Some(bundle)) = (pushed_env, pushed) else {
            return Err(CliError::new(
                ExitKind::NotFound,
                format!("nothing pushed yet for {}/{}", ctx.checkout.repo, ctx.env),
            )
            .with_hint(format!("vsync push {}", ctx.env)));
        };
        if local_text
            .as_deref()
            .is_some_and(|l| l.as_slice() != p.as_slice())
        {
            output::warn(format!(
                "the working copy differs from the pushed vault; syncing the pushed one (vsync push {} first, or --from-local)",
                ctx.env
            ));
        }
        (
            p,
            Box::new(BundleFiles {
                root: vault_root,
                bundle,
                env: ctx.env.clone(),
            }),
        )
    };
    // A value that is not UTF-8 is refused (key named), never synced as U+FFFD.
    let pairs = vsync_vault::envfile::parse(vsync_vault::envfile::decode(&text)?);
    policy::apply(&pairs, policy, &roots, files.as_ref())
        .map_err(|bad| CliError::new(ExitKind::Failed, policy::bad_refs_message(&bad)))
}

/// File references resolved against the pushed bundle: a path inside the vault folder is the
/// pushed asset (not whatever the working copy holds now); any other path is read from disk.
struct BundleFiles {
    root: std::path::PathBuf,
    bundle: vsync_vault::zip_bundle::Bundle,
    env: String,
}

impl FileSource for BundleFiles {
    fn read(&self, path: &std::path::Path) -> std::io::Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
        let Ok(rel) = normalise_path(path)
            .strip_prefix(&self.root)
            .map(|p| p.to_owned())
        else {
            return policy::Disk.read(path);
        };
        Ok(self
            .bundle
            .assets(&self.env)
            .find(|(name, _)| std::path::Path::new(name) == rel)
            .map(|(_, data)| zeroize::Zeroizing::new(data.to_vec())))
    }
}

/// `a/./b/../c` → `a/c`, lexically (the file may exist only in the bundle).
fn normalise_path(p: &std::path::Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn print_policy(p: &Policy) {
    output::line("\nParser policy:");
    if p.inline_suffixes.is_empty() {
        output::line("  inline-file-suffix: (none — file refs disabled)");
    }
    for s in &p.inline_suffixes {
        output::line(format!("  inline-file-suffix: {s}"));
    }
    if p.exclude.is_empty() {
        output::line("  exclude-property:   (none — nothing skipped)");
    }
    for k in &p.exclude {
        output::line(format!("  exclude-property:   {k}"));
    }
}

#[allow(clippy::too_many_arguments)]
async fn run_target(
    dest: Arc<dyn Destination>,
    ctx: &mut EnvContext,
    items: &[SecretItem],
    fingerprints: &[String],
    dk: &vsync_crypto::kdf::DerivedKey,
    opts: &BTreeMap<String, OptionMap>,
    args: &SyncArgs,
    dctx: &Ctx,
    json: bool,
    config_dirty: &mut bool,
) -> TargetReport {
    let id = dest.id().to_owned();
    let mut report = TargetReport {
        target: id.clone(),
        status: "failed",
        problems: Vec::new(),
        plan: None,
        results: Vec::new(),
        elapsed_ms: 0,
    };
    let given = normalise(dest.as_ref(), opts.get(&id).unwrap_or(&OptionMap::new()));
    let ckey = config_key(&id).to_owned();
    let stored = ctx.config.sync.as_ref().and_then(|s| s.get(&ckey)).cloned();
    let resolved = match dest.resolve_routing(stored.as_ref(), &given) {
        Ok(r) => r,
        Err(e) => {
            report.problems.push(format!("routing: {}", e.message));
            return report;
        }
    };
    let routing = resolved.routing;
    if resolved.persist && !args.plan {
        ctx.config
            .sync
            .get_or_insert_with(Default::default)
            .insert(ckey.clone(), serde_json::Value::Object(routing.clone()));
        *config_dirty = true;
    }
    let names = match engine::map_all(dest.as_ref(), &routing, items) {
        Ok(n) => n,
        Err(a) => {
            report.problems = a.problems;
            return report;
        }
    };
    let old_receipt = match ctx.remote.read_receipt(&id).await {
        _ if args.dry_run.as_deref() == Some("offline") => None,
        Ok(Some(b)) => receipt::open(dk, &b),
        _ => None,
    };
    let plan = match engine::plan(PlanInputs {
        dest: dest.as_ref(),
        routing: &routing,
        items,
        names: &names,
        receipt: old_receipt.as_ref(),
        fingerprints,
        prune: args.prune,
        offline: args.dry_run.as_deref() == Some("offline"),
        ctx: dctx,
    })
    .await
    {
        Ok(p) => p,
        Err(a) => {
            report.problems = a.problems;
            return report;
        }
    };
    if !json {
        print_plan(dest.display_name(), &plan, args.plan);
    }
    if args.plan {
        report.status = "planned";
        report.plan = Some(plan);
        return report;
    }
    let deletes = plan
        .changes
        .iter()
        .filter(|c| c.op == ChangeOp::Delete)
        .count();
    if deletes > 0 && !args.yes {
        let go = output::interactive()
            && output::confirm(&format!("delete {deletes} name(s) from {id}?"), false);
        if !go {
            report.problems.push(if output::interactive() {
                "prune declined; nothing written".into()
            } else {
                "--prune deletes names: pass --yes to confirm without a terminal".into()
            });
            report.plan = Some(plan);
            return report;
        }
    }
    let results = engine::apply(
        dest.clone(),
        &routing,
        &plan,
        items,
        ApplyOpts {
            jobs: args.jobs,
            rate: args.rate,
            progress: crate::sync::progress::wanted(json, args.no_progress).then(|| {
                let writes = plan.changes.iter().filter(|c| c.op.is_write()).count();
                Arc::new(crate::sync::progress::Progress::new(&id, writes))
            }),
        },
        dctx,
    )
    .await;

    // receipt: what the destination now holds, as far as we know
    let mut rec = old_receipt.unwrap_or_default();
    let idx: BTreeMap<&str, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.0.as_str(), i))
        .collect();
    for r in &results {
        if r.status != "ok" {
            continue;
        }
        if r.op == ChangeOp::Delete {
            rec.remove(&r.name);
        } else if let Some(&i) = idx.get(r.name.as_str()) {
            rec.insert(r.name.clone(), fingerprints[i].clone());
        }
    }
    if let Err(e) = ctx.remote.write_receipt(&id, receipt::seal(dk, &rec)).await {
        output::warn(format!("{id}: could not write the sync receipt: {e}"));
    }
    let failed = results.iter().filter(|r| r.status == "failed").count();
    let not_attempted = results
        .iter()
        .filter(|r| r.status == "not_attempted")
        .count();
    report.status = if not_attempted > 0 && dctx.is_cancelled() {
        report.problems.push("cancelled or timed out".into());
        "failed"
    } else if failed + not_attempted > 0 {
        "partial"
    } else {
        "ok"
    };
    report.plan = Some(plan);
    report.results = results;
    report
}

fn print_plan(display: &str, plan: &Plan, plan_only: bool) {
    let count = |op: ChangeOp| plan.changes.iter().filter(|c| c.op == op).count();
    output::line(format!(
        "\n{} {} ({}): {} create, {} update, {} unchanged, {} upsert, {} delete",
        if plan_only { "Plan for" } else { "Syncing to" },
        display,
        plan.routing_summary,
        count(ChangeOp::Create),
        count(ChangeOp::Update),
        count(ChangeOp::Unchanged),
        count(ChangeOp::Upsert),
        count(ChangeOp::Delete),
    ));
    if plan_only {
        for c in &plan.changes {
            output::line(format!("  {:<9} {}", c.op.as_str(), c.remote));
        }
    }
    for w in &plan.warnings {
        output::warn(w);
    }
}

fn print_summary(r: &TargetReport) {
    for p in &r.problems {
        output::warn(format!("{}: {p}", r.target));
    }
    for k in r.results.iter().filter(|k| k.status == "failed") {
        output::warn(format!(
            "skipping {}: {} ({})",
            k.name,
            k.error.as_deref().unwrap_or(""),
            k.kind.unwrap_or("")
        ));
    }
    let ok = r.results.iter().filter(|k| k.status == "ok").count();
    let failed: Vec<&str> = r
        .results
        .iter()
        .filter(|k| k.status == "failed")
        .map(|k| k.name.as_str())
        .collect();
    let na = r
        .results
        .iter()
        .filter(|k| k.status == "not_attempted")
        .count();
    match r.status {
        "planned" => {}
        "ok" => output::line(format!("✅ {ok} secrets synced to {}.", r.target)),
        _ => {
            let mut s = format!("{}: {ok} ok, {} failed", r.target, failed.len());
            if !failed.is_empty() {
                s.push_str(&format!(" ({})", failed.join(", ")));
            }
            if na > 0 {
                s.push_str(&format!(", not attempted: {na}"));
            }
            if r.status == "failed" && r.results.is_empty() {
                s = format!("{}: failed, nothing written", r.target);
            }
            output::line(s);
        }
    }
}
