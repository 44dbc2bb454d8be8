//! `vsync plugins list|check`.

use serde::Serialize;
use vsync_dest_api::{Change, ChangeOp, Ctx, Destination, OptionMap, SecretBytes, SecretItem};

use crate::cli::PluginsCommand;
use crate::error::{CliError, ExitKind};
use crate::output;
use crate::plugins::FfiDestination;

#[derive(Serialize)]
struct Row {
    id: String,
    version: String,
    abi: u32,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Run `vsync plugins …`.
pub async fn run(cmd: PluginsCommand, json: bool) -> Result<(), CliError> {
    match cmd {
        PluginsCommand::List => {
            let rows: Vec<Row> = crate::plugins::scan()
                .into_iter()
                .map(|p| match FfiDestination::open(&p, None) {
                    Ok(d) => Row {
                        id: d.manifest.id.clone(),
                        version: d.manifest.version.clone(),
                        abi: d.manifest.abi,
                        path: p.display().to_string(),
                        error: None,
                    },
                    Err(e) => Row {
                        id: "?".into(),
                        version: "?".into(),
                        abi: 0,
                        path: p.display().to_string(),
                        error: Some(e.message),
                    },
                })
                .collect();
            if json {
                output::json(&rows);
            } else if rows.is_empty() {
                output::line("no plugins found (VSYNC_PLUGIN_DIR, ~/.config/vsync/plugins/)");
            } else {
                for r in &rows {
                    match &r.error {
                        None => output::line(format!(
                            "{}\t{}\tabi {}\t{}",
                            r.id, r.version, r.abi, r.path
                        )),
                        Some(e) => output::line(format!("(broken)\t\t\t{}\t{e}", r.path)),
                    }
                }
            }
            Ok(())
        }
        PluginsCommand::Check { path } => check(&path, json).await,
    }
}

async fn check(path: &std::path::Path, json: bool) -> Result<(), CliError> {
    let mut report: Vec<(String, Result<String, String>)> = Vec::new();
    let d = match FfiDestination::open(path, None) {
        Ok(d) => d,
        Err(e) => {
            return Err(CliError::new(
                ExitKind::Failed,
                format!("load: {}", e.message),
            ));
        }
    };
    report.push((
        "load".into(),
        Ok(format!(
            "{} {} (abi {})",
            d.manifest.id, d.manifest.version, d.manifest.abi
        )),
    ));
    // map names
    let good = d.map_name(&Default::default(), "VSYNC_CHECK_KEY");
    report.push((
        "map_name".into(),
        good.map(|n| format!("VSYNC_CHECK_KEY -> {n}"))
            .map_err(|e| e.to_string()),
    ));
    // a scratch scope: every required routing field points into a temp folder
    let scratch =
        tempfile::tempdir().map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
    let mut opts = OptionMap::new();
    for f in d.routing_schema() {
        if f.required {
            opts.insert(
                f.name.clone(),
                scratch.path().join(&f.name).display().to_string(),
            );
        }
    }
    let ctx = Ctx::new("check", "vsync-plugin-check");
    match d.resolve_routing(None, &opts) {
        Err(e) => report.push(("resolve_routing".into(), Err(e.to_string()))),
        Ok(r) => {
            let routing = r.routing;
            report.push(("resolve_routing".into(), Ok("ok".into())));
            let item = SecretItem::plain(
                "VSYNC_CHECK_KEY",
                SecretBytes::from_str_value("check-value"),
            );
            let step = async {
                d.preflight(&routing, &ctx)
                    .await
                    .map_err(|e| format!("preflight: {e}"))?;
                let plan = d
                    .plan(
                        &routing,
                        std::slice::from_ref(&item),
                        &Default::default(),
                        &ctx,
                    )
                    .await
                    .map_err(|e| format!("plan: {e}"))?;
                let change = plan.changes.first().cloned().unwrap_or(Change {
                    source_key: Some(item.key.clone()),
                    remote: vsync_dest_api::RemoteName(item.key.clone()),
                    op: ChangeOp::Upsert,
                });
                let caps = d.capabilities(&routing);
                if caps.write_mode == vsync_dest_api::WriteMode::BulkAtomic {
                    d.apply_bulk(&routing, &plan, std::slice::from_ref(&item), &ctx)
                        .await
                        .map_err(|e| format!("apply_bulk: {e}"))?;
                } else {
                    d.apply_one(&routing, &change, Some(&item), &ctx)
                        .await
                        .map_err(|e| format!("apply_one: {e}"))?;
                }
                if caps.can_delete {
                    d.delete_one(&routing, &change.remote, &ctx)
                        .await
                        .map_err(|e| format!("delete_one: {e}"))?;
                }
                Ok::<_, String>(format!(
                    "plan {} change(s), applied against a scratch scope",
                    plan.changes.len()
                ))
            };
            report.push(("plan+apply".into(), step.await));
        }
    }
    let failed = report.iter().any(|(_, r)| r.is_err());
    if json {
        let v: Vec<serde_json::Value> = report
            .iter()
            .map(|(k, r)| match r {
                Ok(m) => serde_json::json!({"check": k, "ok": true, "detail": m}),
                Err(m) => serde_json::json!({"check": k, "ok": false, "detail": m}),
            })
            .collect();
        output::json(&v);
    } else {
        for (k, r) in &report {
            match r {
                Ok(m) => output::line(format!("ok    {k}: {m}")),
                Err(m) => output::line(format!("FAIL  {k}: {m}")),
            }
        }
    }
    if failed {
        Err(CliError::new(
            ExitKind::Failed,
            "the plugin failed some checks",
        ))
    } else {
        Ok(())
    }
}
