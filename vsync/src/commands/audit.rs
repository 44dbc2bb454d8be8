//! `vsync audit <env>`: the bucket's audit log, filtered.

use serde_json::json;

use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::output;
use crate::settings::Global;
use crate::settings::verbs::AuditLogSettings;

/// Run `vsync audit`.
pub async fn run(args: AuditLogSettings, g: &Global) -> Result<(), CliError> {
    let json_out = g.json;
    let ctx = EnvContext::for_read(g.repo(), &args.env)?;
    if args.verify {
        return super::audit_verify::run(&ctx, json_out).await;
    }
    let since = args.since.as_deref().map(normalize_since).transpose()?;
    let all = vsync_vault::audit::read(&ctx.remote.bucket, &ctx.remote.prefix.audit_key()).await?;
    if all.is_empty() && !json_out && !args.csv {
        output::line(format!(
            "no audit log for {}/{} yet",
            ctx.checkout.repo, ctx.env
        ));
        return Ok(());
    }
    let rows: Vec<_> = all
        .into_iter()
        .filter(|r| args.action.as_deref().is_none_or(|a| r.action == a))
        .filter(|r| {
            args.actor
                .as_deref()
                .is_none_or(|a| r.os_user == a || r.git_email == a || r.hostname == a)
        })
        .filter(|r| since.as_deref().is_none_or(|s| r.ts.as_str() >= s))
        .collect();
    if args.csv {
        output::line(vsync_vault::audit::HEADER);
        for r in &rows {
            output::line(r.to_csv_line().trim_end_matches('\n'));
        }
    } else if json_out {
        let v: Vec<_> = rows
            .iter()
            .map(|r| {
                json!({"ts": r.ts, "action": r.action, "version_ts": r.version_ts, "hostname": r.hostname,
                       "local_ip": r.local_ip, "os_user": r.os_user, "git_email": r.git_email,
                       "vsync_version": r.vsync_version, "meta": r.meta})
            })
            .collect();
        output::json(&v);
    } else {
        for r in &rows {
            let who = if r.git_email.is_empty() {
                &r.os_user
            } else {
                &r.git_email
            };
            // Every column comes from the bucket: escape newlines and escape sequences so a
            // tampered row cannot forge lines or drive the terminal.
            let u = output::untrusted;
            output::line(format!(
                "{}  {:<7} {:<15} {}@{}  {}",
                u(&r.ts),
                u(&r.action),
                u(&r.version_ts),
                u(who),
                u(&r.hostname),
                u(&r.meta)
            ));
        }
    }
    Ok(())
}

/// `--since` takes an ISO date/time or a version timestamp; compare as ISO text.
fn normalize_since(s: &str) -> Result<String, CliError> {
    if vsync_crypto::rqem0001::is_bundle_ts(s) {
        let b = s.as_bytes();
        let t = |r: std::ops::Range<usize>| std::str::from_utf8(&b[r]).unwrap_or("");
        return Ok(format!(
            "{}-{}-{}T{}:{}:{}",
            t(0..4),
            t(4..6),
            t(6..8),
            t(9..11),
            t(11..13),
            t(13..15)
        ));
    }
    let ok = s.len() >= 10
        && s.as_bytes()[4] == b'-'
        && s.as_bytes()[7] == b'-'
        && s[..4].bytes().all(|c| c.is_ascii_digit());
    if ok {
        Ok(s.to_owned())
    } else {
        Err(CliError::new(
            ExitKind::Usage,
            format!("--since {s:?}: use YYYY-MM-DD[THH:MM:SS] or YYYYMMDD-HHMMSS"),
        ))
    }
}
