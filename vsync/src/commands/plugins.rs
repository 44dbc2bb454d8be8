//! `vsync plugins list|check`.

use serde::Serialize;

use crate::cli::PluginsCommand;
use crate::error::CliError;
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
        PluginsCommand::Check { path, opt } => super::plugin_check::run(&path, &opt, json).await,
    }
}
