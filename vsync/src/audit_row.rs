//! The who-did-what row each bucket-touching verb appends to `audit.csv` (docs/formats.md §12), best
//! effort: a failure is a warning, never a failed verb.

use serde_json::{Map, Value};

use crate::context::EnvContext;
use crate::output;
use crate::settings::{env, machine};

/// The meta cell over 2 KB is replaced by this marker.
const META_CAP: usize = 2048;

/// Audit controls of one invocation (merged by [`crate::settings::audit::AuditSettings`]).
#[derive(Debug, Default, Clone)]
pub struct AuditOpts {
    /// `--no-audit`.
    pub disabled: bool,
    /// The merged meta map (docs/formats.md §12.3), empty when nothing was given.
    pub meta: Map<String, Value>,
}

impl AuditOpts {
    /// The meta cell text: empty, compact JSON, or the truncation marker.
    pub fn cell(&self) -> String {
        if self.meta.is_empty() {
            return String::new();
        }
        let json = Value::Object(self.meta.clone()).to_string();
        if json.len() > META_CAP {
            output::warn("audit meta is over 2 KB; recorded as truncated");
            return r#"{"_truncated":true}"#.to_owned();
        }
        json
    }
}

/// Append one row for `action` on `version_ts` (may be empty), unless audit is off.
pub async fn append(ctx: &EnvContext, action: &str, version_ts: &str, opts: &AuditOpts) {
    if opts.disabled || !ctx.config.audit_enabled() {
        return;
    }
    let row = vsync_vault::audit::AuditRow {
        ts: vsync_vault::ts::iso_now(),
        action: action.to_owned(),
        version_ts: version_ts.to_owned(),
        hostname: hostname(),
        local_ip: local_ip(),
        os_user: machine::os_user(env()),
        git_email: git_email(&ctx.checkout.root),
        vsync_version: env!("CARGO_PKG_VERSION").to_owned(),
        bun_version: String::new(),
        meta: opts.cell(),
        extra: Vec::new(),
    };
    // Chained when this machine has the vault key (every appending verb has used it already, so
    // the derived key is cached); without it the row is written unchained, as upstream does.
    let chain = chain_key(ctx).await;
    // Only a failure is reported: a read-only key may not write the log, and is skipped
    // silently, as upstream does.
    let outcome = vsync_vault::audit::append_chained(
        &ctx.remote.bucket,
        &ctx.remote.prefix.audit_key(),
        &row,
        chain.as_ref(),
    )
    .await;
    if let vsync_vault::audit::AppendOutcome::Failed(e) = outcome {
        output::warn(format!("failed to record audit entry: {e}"));
    }
}

/// The audit chain key of this env, when the vault key is at hand (docs/audit-chain.md).
pub async fn chain_key(ctx: &EnvContext) -> Option<vsync_vault::audit::ChainKey> {
    let dk = ctx.derived_key().await.ok()?;
    Some(vsync_vault::audit::ChainKey::derive(dk.expose()))
}

/// The chain head to seal into a bundle being pushed: the log as it is now (docs/audit-chain.md).
/// `None` when auditing is off or the log cannot be read (the push goes on without a head).
pub async fn sealed_head_comment(ctx: &EnvContext) -> Option<String> {
    if !ctx.config.audit_enabled() {
        return None;
    }
    let rows = vsync_vault::audit::read(&ctx.remote.bucket, &ctx.remote.prefix.audit_key())
        .await
        .ok()?;
    vsync_vault::audit::SealedHead::of(&rows).to_comment()
}

fn hostname() -> String {
    #[cfg(target_os = "linux")]
    {
        let uname = rustix::system::uname();
        let name = uname.nodename().to_string_lossy().into_owned();
        if !name.is_empty() {
            return name;
        }
    }
    machine::host_name(env()).unwrap_or_default().to_owned()
}

/// The address this machine would use to reach the outside; no packet is sent.
fn local_ip() -> String {
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| s.connect("192.0.2.1:9").map(|()| s))
        .and_then(|s| s.local_addr())
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified())
        .map(|ip| ip.to_string())
        .unwrap_or_default()
}

fn git_email(root: &std::path::Path) -> String {
    std::process::Command::new("git")
        .args(["config", "--get", "user.email"])
        .current_dir(root)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// Who runs this invocation, by the columns an audit row names people by (git e-mail, OS user,
/// host name): the same actor the provenance entries record.
pub fn actor(ctx: &EnvContext) -> crate::sync::provenance::entry::Actor {
    crate::sync::provenance::entry::Actor {
        git_email: git_email(&ctx.checkout.root),
        os_user: machine::os_user(env()),
        hostname: hostname(),
    }
}
