//! `vsync releases <env>`: the provenance entries of an env, newest first. Shared with
//! `vsync why`: reading the history and reporting entries that could not be used.

use serde_json::{Value, json};

use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::output;
use crate::settings::Global;
use crate::settings::provenance::ReleasesSettings;
use crate::sync::provenance::entry::Entry;
use crate::sync::provenance::store::{self, History};

/// Run `vsync releases`.
pub async fn run(s: ReleasesSettings, g: &Global) -> Result<(), CliError> {
    let ctx = EnvContext::for_read(g.repo(), &s.env)?;
    let history = load(&ctx).await?;
    if g.json {
        let entries: Vec<Value> = history.entries.iter().rev().map(entry_json).collect();
        output::json(&json!({
            "repo": ctx.checkout.repo,
            "env": ctx.env,
            "entries": entries,
            "unreadable": unreadable_json(&history),
        }));
    } else {
        if history.entries.is_empty() && history.unreadable.is_empty() {
            output::line(format!(
                "no syncs recorded for {}/{} yet (every `vsync sync` that writes records one)",
                ctx.checkout.repo, ctx.env
            ));
        }
        for e in history.entries.iter().rev() {
            print_entry(e);
        }
        warn_unreadable(&history);
    }
    verdict(&history)
}

/// Read every entry of the env under its key and current key generation.
pub(crate) async fn load(ctx: &EnvContext) -> Result<History, CliError> {
    let dk = ctx.derived_key().await?;
    let generation = match ctx.remote.read_manifest().await {
        Ok(Some(cell)) => cell.manifest.current_gen(),
        _ => 0,
    };
    let stored =
        store::read_all(&ctx.remote, &dk, &ctx.checkout.repo, &ctx.env, generation).await?;
    Ok(History::from_stored(stored))
}

/// One line per entry, the CI run on a second line.
fn print_entry(e: &Entry) {
    let u = output::untrusted;
    let commit = e
        .git
        .as_ref()
        .map(|g| g.commit.chars().take(12).collect::<String>())
        .unwrap_or_else(|| "-".into());
    let targets: Vec<String> = e.targets.iter().map(|t| t.target.clone()).collect();
    output::line(format!(
        "{}  {:<12} {:<12} {}  {}  {} keys ({} written){}",
        u(&e.time),
        u(e.release.as_deref().unwrap_or("-")),
        u(&commit),
        u(&e.who.display()),
        u(&targets.join(",")),
        e.key_count(),
        e.written_count(),
        e.bundle
            .as_ref()
            .map(|b| format!("  bundle {}", u(&b.ts)))
            .unwrap_or_else(|| "  (working copy)".into()),
    ));
    if let Some(ci) = &e.ci {
        let at = ci.url.as_deref().or(ci.run_id.as_deref()).unwrap_or("");
        output::line(format!("    ci: {} {}", u(&ci.system), u(at)));
    }
}

fn entry_json(e: &Entry) -> Value {
    let targets: Vec<Value> = e
        .targets
        .iter()
        .map(|t| {
            json!({
                "target": t.target,
                "routing": t.routing,
                "status": t.status,
                "keys": t.keys.iter().filter(|k| k.key.is_some()).count(),
                "written": t.keys.iter().filter(|k| k.wrote()).count(),
                "not_written": t.not_written,
            })
        })
        .collect();
    json!({
        "time": e.time,
        "release": e.release,
        "tag": e.git.as_ref().and_then(|g| g.tag.clone()),
        "commit": e.git.as_ref().map(|g| g.commit.clone()),
        "who": e.who,
        "ci": e.ci,
        "bundle": e.bundle,
        "targets": targets,
        "keys": e.key_count(),
    })
}

/// The unusable entries, for `--json`.
pub(crate) fn unreadable_json(h: &History) -> Vec<Value> {
    h.unreadable
        .iter()
        .map(|(name, why)| {
            json!({"object": name, "problem": why.to_string(), "after_rotation": why.is_benign()})
        })
        .collect()
}

/// The unusable entries, one warning each.
pub(crate) fn warn_unreadable(h: &History) {
    for (name, why) in &h.unreadable {
        let line = format!("provenance entry {}: {why}", output::untrusted(name));
        if why.is_benign() {
            output::note(line);
        } else {
            output::warn(line);
        }
    }
}

/// Exit 4 when an entry could not be used for a reason other than a key rotation.
pub(crate) fn verdict(h: &History) -> Result<(), CliError> {
    match h.suspicious() {
        0 => Ok(()),
        n => Err(CliError::new(
            ExitKind::Integrity,
            format!("{n} provenance entr{} could not be read (see above)", if n == 1 { "y" } else { "ies" }),
        )
        .with_hint(
            "an entry that does not decrypt or parse was changed in the bucket or written with another key; `vsync audit <env>` shows who wrote there",
        )),
    }
}
