//! `vsync audit <env> --verify`: walk the audit log's chain and compare it with the chain heads
//! sealed in the bundle versions (docs/audit-chain.md). Exit 4 on the first sign of tampering.

use serde_json::json;
use vsync_vault::audit::{self, ChainKey, Finding, RowCheck, SealedHead};

use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::output;

/// What one bundle version says about the log.
enum HeadState {
    /// It sealed a head; `None` when the log matches it.
    Sealed(SealedHead, Option<Finding>),
    /// Pushed by a tool that does not seal (upstream, older vsync), or with auditing off.
    NoHead,
    /// Does not open with this key (pushed before a key rotation) or is damaged.
    Unreadable,
}

impl HeadState {
    fn as_str(&self) -> &'static str {
        match self {
            Self::Sealed(_, None) => "matches",
            Self::Sealed(_, Some(_)) => "differs",
            Self::NoHead => "no-head",
            Self::Unreadable => "unreadable",
        }
    }
}

/// Run the check.
pub async fn run(ctx: &EnvContext, json_out: bool) -> Result<(), CliError> {
    let who = format!("{}/{}", ctx.checkout.repo, ctx.env);
    let dk = ctx.derived_key().await.map_err(|e| {
        let hint = e.hint.clone().unwrap_or_else(|| {
            format!(
                "import the key with `vsync import {} <file.share>`",
                ctx.env
            )
        });
        CliError::new(
            e.kind,
            format!(
                "`vsync audit --verify` needs the vault key of {who}: {}",
                e.message
            ),
        )
        .with_hint(hint)
    })?;
    let key = ChainKey::derive(dk.expose());
    let rows = audit::read(&ctx.remote.bucket, &ctx.remote.prefix.audit_key()).await?;
    let walked = audit::walk(&key, &rows);

    let mut versions = ctx.remote.list_versions().await?;
    versions.reverse(); // oldest first
    let mut heads = Vec::with_capacity(versions.len());
    for ts in versions {
        let state = match ctx.remote.fetch_version(&ts).await {
            Ok(object) => match vsync_crypto::bundle::open(&dk, &object, &ts) {
                Ok(zip) => match vsync_vault::zip_bundle::archive_comment(&zip)
                    .ok()
                    .and_then(|c| SealedHead::from_comment(&c))
                {
                    Some(head) => {
                        let finding = audit::check_head(&rows, &ts, &head);
                        HeadState::Sealed(head, finding)
                    }
                    None => HeadState::NoHead,
                },
                Err(_) => HeadState::Unreadable,
            },
            // Listed a moment ago and gone now (pruned meanwhile): nothing to compare.
            Err(vsync_vault::VaultError::VersionMissing { .. }) => continue,
            Err(e) => return Err(e.into()),
        };
        heads.push((ts, state));
    }

    let mut findings = walked.findings.clone();
    findings.extend(heads.iter().filter_map(|(_, s)| match s {
        HeadState::Sealed(_, f) => f.clone(),
        _ => None,
    }));
    let newest_sealed = heads
        .iter()
        .filter_map(|(_, s)| match s {
            HeadState::Sealed(h, _) => Some(h.rows),
            _ => None,
        })
        .max();
    let count = |c: RowCheck| walked.rows.iter().filter(|r| **r == c).count();

    if json_out {
        let row_list: Vec<_> = rows
            .iter()
            .zip(&walked.rows)
            .enumerate()
            .map(|(i, (r, c))| {
                json!({"row": i + 1, "ts": r.ts, "action": r.action, "version_ts": r.version_ts,
                       "status": c.as_str()})
            })
            .collect();
        let head_list: Vec<_> = heads
            .iter()
            .map(|(ts, s)| {
                let sealed_rows = match s {
                    HeadState::Sealed(h, _) => Some(h.rows),
                    _ => None,
                };
                json!({"version": ts, "head": s.as_str(), "sealed_rows": sealed_rows})
            })
            .collect();
        let finding_list: Vec<_> = findings
            .iter()
            .map(|f| {
                json!({"kind": f.kind(), "row": f.row(), "version": f.version(),
                       "message": f.to_string()})
            })
            .collect();
        output::json(&json!({
            "repo": ctx.checkout.repo,
            "env": ctx.env,
            "ok": findings.is_empty(),
            "rows": row_list,
            "versions": head_list,
            "findings": finding_list,
            "unsealed_tail": newest_sealed.map(|n| rows.len().saturating_sub(n as usize)),
        }));
    } else {
        output::line(format!(
            "audit log of {who}: {} rows; {} verified, {} unverified (written by a tool that does not chain), {} chained under another key",
            rows.len(),
            count(RowCheck::Verified),
            count(RowCheck::Unchained),
            count(RowCheck::OtherKey),
        ));
        for (i, (r, c)) in rows.iter().zip(&walked.rows).enumerate() {
            if matches!(c, RowCheck::Unchained | RowCheck::OtherKey) {
                let u = output::untrusted;
                output::line(format!(
                    "  row {}: {}  {} {}  {}",
                    i + 1,
                    c.as_str(),
                    u(&r.ts),
                    u(&r.action),
                    u(&r.version_ts)
                ));
            }
        }
        let n = |s: &str| heads.iter().filter(|(_, h)| h.as_str() == s).count();
        output::line(format!(
            "sealed heads: {} versions; {} match, {} differ, {} without a head, {} unreadable with this key",
            heads.len(),
            n("matches"),
            n("differs"),
            n("no-head"),
            n("unreadable"),
        ));
        match newest_sealed {
            Some(sealed) => output::line(format!(
                "rows after the newest sealed head: {} (removing those cannot be detected until the next push)",
                rows.len().saturating_sub(sealed as usize)
            )),
            None => output::line(
                "no version seals a head yet: removing rows at the end cannot be detected",
            ),
        }
        for f in &findings {
            output::line(format!("TAMPERED: {f}"));
        }
    }
    match findings.first() {
        None => Ok(()),
        Some(first) => Err(CliError::new(
            ExitKind::Integrity,
            format!("the audit log of {who} was tampered with: {first}"),
        )
        .with_hint(
            "compare with a copy you trust (bucket versioning, a backup); docs/audit-chain.md says what each finding means",
        )),
    }
}
