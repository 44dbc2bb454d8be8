//! `vsync plugins list|check`.

use std::time::Duration;

use serde::Serialize;

use crate::context::EnvContext;
use crate::error::CliError;
use crate::output;
use crate::plugins::open::{self, Pins};
use crate::settings::Global;

/// How long `list` lets a plugin take to load and report its manifest.
const LIST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Serialize)]
struct Row {
    id: String,
    version: String,
    abi: u32,
    path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    sha256: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Run `vsync plugins list` (`plugins check` is [`super::plugin_check`]).
pub async fn list(env: Option<String>, g: &Global) -> Result<(), CliError> {
    let pins = match env {
        Some(env) => pins_of(&EnvContext::for_read(g.repo(), &env)?),
        None => Pins::new(),
    };
    print_list(&pins, g.json);
    Ok(())
}

/// The sha256 pins (`sync.<id>.plugin_sha256`) of an env's config.
pub fn pins_of(ctx: &EnvContext) -> Pins {
    let mut pins = Pins::new();
    for (id, v) in ctx.config.sync.iter().flatten() {
        if let Some(pin) = v.get("plugin_sha256").and_then(|p| p.as_str()) {
            pins.insert(crate::sync::registry::canonical(id), pin.to_owned());
        }
    }
    pins
}

fn print_list(pins: &Pins, json: bool) {
    // each file is vetted (and pin-checked) before it runs; then it runs in a child process
    // with no secrets, which is stopped as soon as it has named itself
    let rows: Vec<Row> = crate::plugins::scan()
        .into_iter()
        .map(|p| match open::open(&p, pins, true, LIST_TIMEOUT) {
            Ok(d) => Row {
                id: d.manifest.id.clone(),
                version: d.manifest.version.clone(),
                abi: d.manifest.abi,
                path: p.display().to_string(),
                sha256: d.sha256.clone(),
                error: None,
            },
            Err(e) => Row {
                id: "?".into(),
                version: "?".into(),
                abi: 0,
                path: p.display().to_string(),
                sha256: None,
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
                    "{}\t{}\tabi {}\t{}\tsha256 {}",
                    r.id,
                    r.version,
                    r.abi,
                    r.path,
                    r.sha256.as_deref().unwrap_or("?")
                )),
                Some(e) => output::line(format!("(refused)\t\t\t{}\t{e}", r.path)),
            }
        }
    }
}
