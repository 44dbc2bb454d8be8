//! `vsync doctor`: check every part vsync depends on and say how to fix what is wrong.

use serde_json::json;

use crate::context::{self, EnvContext};
use crate::error::{CliError, ExitKind};
use crate::keychain::{self, Backend};
use crate::output;
use crate::settings::Global;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Ok,
    Warn,
    Fail,
}

struct Check {
    level: Level,
    name: String,
    detail: String,
    fix: Option<String>,
}

fn check(
    level: Level,
    name: impl Into<String>,
    detail: impl Into<String>,
    fix: Option<String>,
) -> Check {
    Check {
        level,
        name: name.into(),
        detail: detail.into(),
        fix,
    }
}

/// Run `vsync doctor`.
pub async fn run(env: Option<String>, g: &Global) -> Result<(), CliError> {
    let (flag_repo, json_out) = (g.repo(), g.json);
    let mut checks = Vec::new();
    match std::process::Command::new("git").arg("--version").output() {
        Ok(o) if o.status.success() => checks.push(check(
            Level::Ok,
            "git",
            String::from_utf8_lossy(&o.stdout).trim().to_owned(),
            None,
        )),
        _ => checks.push(check(
            Level::Fail,
            "git",
            "git is not installed",
            Some("install git".into()),
        )),
    }
    let checkout = match context::checkout(flag_repo) {
        Ok(c) => {
            checks.push(check(
                Level::Ok,
                "repo identity",
                format!("{} at {}", c.repo, c.root.display()),
                None,
            ));
            Some(c)
        }
        Err(e) => {
            checks.push(check(
                Level::Fail,
                "repo identity",
                e.message.clone(),
                e.hint.clone(),
            ));
            None
        }
    };
    match Backend::from_env() {
        Err(e) => checks.push(check(
            Level::Fail,
            "keychain",
            e.to_string(),
            Some(e.hint()),
        )),
        Ok(b) => match keychain::get(b, "tools.vsync-doctor/probe").await {
            Ok(_) => checks.push(check(
                Level::Ok,
                "keychain",
                format!("{} reachable", b.name()),
                None,
            )),
            Err(e) => checks.push(check(
                Level::Fail,
                "keychain",
                format!("{}: {e}", b.name()),
                Some(e.hint()),
            )),
        },
    }
    if let Some(checkout) = checkout {
        let base = context::base_dir()?;
        let envs = match env {
            Some(e) => vec![e],
            None => super::status::known_envs(&base, &checkout.repo),
        };
        if envs.is_empty() {
            checks.push(check(
                Level::Warn,
                "envs",
                "no env set up on this machine",
                Some("vsync init <env> or vsync import <env> <file>".into()),
            ));
        }
        for env in envs {
            env_checks(&mut checks, checkout.clone(), &env).await;
        }
    }
    let failed = checks.iter().any(|c| c.level == Level::Fail);
    if json_out {
        let v: Vec<_> = checks
            .iter()
            .map(|c| {
                let level = match c.level {
                    Level::Ok => "ok",
                    Level::Warn => "warn",
                    Level::Fail => "fail",
                };
                json!({"level": level, "check": c.name, "detail": c.detail, "fix": c.fix})
            })
            .collect();
        output::json(&v);
    } else {
        for c in &checks {
            let level = match c.level {
                Level::Ok => "ok  ",
                Level::Warn => "warn",
                Level::Fail => "fail",
            };
            output::line(format!("{level}  {}: {}", c.name, c.detail));
            if let Some(f) = &c.fix {
                output::line(format!("      fix: {f}"));
            }
        }
    }
    if failed {
        Err(CliError::new(
            ExitKind::Failed,
            "doctor found problems (see the fail lines above)",
        ))
    } else {
        Ok(())
    }
}

async fn env_checks(checks: &mut Vec<Check>, checkout: context::Checkout, env: &str) {
    let root = checkout.root.clone();
    let ctx = match EnvContext::load(checkout, env) {
        Ok(c) => c,
        Err(e) => {
            checks.push(check(
                Level::Fail,
                format!("{env}: config"),
                e.message,
                e.hint,
            ));
            return;
        }
    };
    checks.push(check(
        Level::Ok,
        format!("{env}: config"),
        ctx.config_path.display().to_string(),
        None,
    ));
    match ctx.key().await {
        Ok(_) => checks.push(check(
            Level::Ok,
            format!("{env}: key"),
            format!("present ({})", ctx.account()),
            None,
        )),
        Err(e) => checks.push(check(Level::Fail, format!("{env}: key"), e.message, e.hint)),
    }
    // Which store, and (for gs/az) which credential source object_store will use: named by
    // variable, never by value.
    let source = context::store_spec(&ctx.config).ok().and_then(|spec| {
        vsync_vault::cloud::credential_source(&spec, &vsync_vault::store::credential_env())
    });
    checks.push(check(
        Level::Ok,
        format!("{env}: store"),
        match source {
            Some(s) => format!("{} (credentials: {s})", ctx.remote.bucket.label()),
            None => ctx.remote.bucket.label().to_owned(),
        },
        None,
    ));
    match ctx.remote.latest().await {
        Ok(p) => checks.push(check(
            Level::Ok,
            format!("{env}: bucket"),
            format!(
                "reachable, credentials accepted, latest {}",
                p.map(|p| p.ts).unwrap_or_else(|| "(none yet)".into())
            ),
            None,
        )),
        Err(e) => {
            let e = CliError::from(e);
            checks.push(check(
                Level::Fail,
                format!("{env}: bucket"),
                e.message,
                e.hint,
            ));
            return;
        }
    }
    let scratch = format!(
        "{}doctor-probe-{}",
        ctx.remote.prefix.as_str(),
        std::process::id()
    );
    match ctx.remote.bucket.probe_conditional(&scratch).await {
        Ok(true) => checks.push(check(Level::Ok, format!("{env}: conditional writes"), "supported (concurrent pushes are safe)", None)),
        Ok(false) => checks.push(check(
            Level::Warn,
            format!("{env}: conditional writes"),
            "not supported by this store: push falls back to the ledger guard only",
            Some("use a store with conditional writes (AWS S3, R2, MinIO, SeaweedFS, GCS, Azure Blob) for safe concurrent pushes".into()),
        )),
        Err(e) => checks.push(check(Level::Warn, format!("{env}: conditional writes"), format!("could not probe: {e}"), None)),
    }
    let vf = ctx.vault_folder();
    let gi = std::fs::read_to_string(root.join(".gitignore")).unwrap_or_default();
    if super::init::is_ignored(&gi, &vf) {
        checks.push(check(
            Level::Ok,
            format!("{env}: .gitignore"),
            format!("{vf} is ignored"),
            None,
        ));
    } else {
        checks.push(check(
            Level::Fail,
            format!("{env}: .gitignore"),
            format!("{vf} is NOT ignored: secrets could be committed"),
            Some(format!(
                "add `{}` to .gitignore",
                super::init::ignore_rule(&vf)
            )),
        ));
    }
}
