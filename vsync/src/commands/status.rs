//! `vsync status`: offline health of every env of this repo on this machine.

use serde_json::json;

use crate::context::{self, EnvContext};
use crate::error::{CliError, ExitKind};
use crate::keychain::{self, Backend};
use crate::local::paths;
use crate::output;
use crate::settings::Global;

/// The envs with a config for `repo` on this machine, sorted.
pub fn known_envs(base: &std::path::Path, repo: &str) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(paths::repo_dir(base, repo)) else {
        return Vec::new();
    };
    let mut envs: Vec<String> = rd
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_prefix("env_"))
                .map(str::to_owned)
        })
        .filter(|n| !n.ends_with(".ledger.json") && !n.ends_with(".tmp") && !n.contains(".tmp."))
        .filter(|n| context::check_env(n).is_ok())
        .collect();
    envs.sort();
    envs
}

/// Keyless mode (CI): report the one env the runtime token names, from the bucket.
async fn keyless(flag_repo: Option<&str>, json_out: bool) -> Result<(), CliError> {
    let (blob, _) = context::keyless_inputs()?
        .ok_or_else(|| CliError::new(ExitKind::Usage, "keyless inputs vanished"))?;
    let env = vsync_crypto::cfg_blob::decode(&blob)
        .map_err(|e| {
            CliError::new(
                ExitKind::Usage,
                format!("VSYNC_CONFIG is not a usable runtime token ({})", e.class()),
            )
        })?
        .env;
    let ctx = EnvContext::for_read(flag_repo, &env)?;
    let memory = crate::latest::Memory::load(&ctx)?;
    let latest = crate::latest::pointer(&ctx, &memory, false)
        .await?
        .map(|p| p.ts);
    let generation = ctx
        .remote
        .read_manifest()
        .await?
        .map_or(0, |c| c.manifest.current_gen());
    if json_out {
        output::json(
            &json!({"mode": "keyless", "repo": ctx.checkout.repo, "env": env, "latest": latest, "generation": generation}),
        );
    } else {
        output::line(format!(
            "keyless mode (VSYNC_CONFIG): {}/{env}, latest {}, generation {generation}",
            ctx.checkout.repo,
            latest.as_deref().unwrap_or("(nothing pushed)")
        ));
    }
    Ok(())
}

/// Run `vsync status`.
pub async fn run(quiet: bool, g: &Global) -> Result<(), CliError> {
    let (flag_repo, json_out) = (g.repo(), g.json);
    if context::keyless_inputs()?.is_some() {
        return keyless(flag_repo, json_out).await;
    }
    let checkout = context::checkout(flag_repo)?;
    let base = context::base_dir()?;
    let backend = Backend::from_env().ok();
    let mut rows = Vec::new();
    let mut broken = false;
    for env in known_envs(&base, &checkout.repo) {
        let (config, vault, state, last) = match EnvContext::load(checkout.clone(), &env) {
            Err(e) => (
                format!("broken: {}", e.message),
                String::new(),
                String::new(),
                String::new(),
            ),
            Ok(ctx) => {
                let vault_dir = ctx.vault_dir();
                let ledger = vsync_vault::ledger::Ledger::read(&ctx.ledger_path());
                let (state, last) = match (&ledger, vault_dir.is_dir()) {
                    (Err(e), _) => (format!("ledger broken: {e}"), String::new()),
                    (Ok(None), true) => (
                        "untracked (never pushed or pulled here)".to_owned(),
                        String::new(),
                    ),
                    (Ok(None), false) => ("no vault folder".to_owned(), String::new()),
                    (Ok(Some(l)), _) => {
                        let last = format!("{} {}", l.last_sync_op.as_str(), l.last_sync_ts);
                        match vsync_vault::walk::walk(&vault_dir)
                            .map(|w| vsync_vault::ledger::changes(l, &w))
                        {
                            Ok(d) if d.is_empty() => ("clean".to_owned(), last),
                            Ok(d) => (
                                format!(
                                    "local edits: {} modified, {} added, {} deleted",
                                    d.modified.len(),
                                    d.added.len(),
                                    d.deleted.len()
                                ),
                                last,
                            ),
                            Err(e) => (format!("cannot check: {e}"), last),
                        }
                    }
                };
                (
                    "ok".to_owned(),
                    vault_dir.display().to_string(),
                    state,
                    last,
                )
            }
        };
        let key = match backend {
            Some(b) => match keychain::get(b, &keychain::account(&checkout.repo, &env)).await {
                Ok(Some(_)) => "present".to_owned(),
                Ok(None) => "MISSING".to_owned(),
                Err(e) => format!("unavailable ({e})"),
            },
            None => "unavailable (bad VSYNC_KEYCHAIN)".to_owned(),
        };
        if config != "ok" || key != "present" || state.starts_with("ledger broken") {
            broken = true;
        }
        rows.push(json!({"env": env, "config": config, "key": key, "vault": vault, "state": state, "last_sync": last}));
    }
    if quiet {
        return if broken {
            Err(CliError::new(
                ExitKind::Failed,
                "at least one env is broken",
            ))
        } else {
            Ok(())
        };
    }
    if json_out {
        output::json(&json!({"repo": checkout.repo, "root": checkout.root, "envs": rows}));
    } else {
        output::line(format!(
            "repo {} at {}",
            checkout.repo,
            checkout.root.display()
        ));
        if rows.is_empty() {
            output::line(
                "no env set up on this machine; run `vsync init <env>` or `vsync import <env> <file>`",
            );
        }
        for r in &rows {
            output::line(format!(
                "  {}: config {}, key {}, {}{}",
                r["env"].as_str().unwrap_or(""),
                r["config"].as_str().unwrap_or(""),
                r["key"].as_str().unwrap_or(""),
                r["state"].as_str().unwrap_or(""),
                r["last_sync"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(|s| format!(" (last {s})"))
                    .unwrap_or_default(),
            ));
        }
    }
    Ok(())
}
