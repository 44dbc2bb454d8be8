//! `vsync why <KEY> [--env E] [--release NAME | --at TIME]`: for each destination, which value of
//! KEY (by keyed fingerprint) it held at that point, which sync wrote it from which bundle, and
//! whether the current vault still holds it.

use serde_json::json;

use super::releases;
use crate::context::{self, EnvContext};
use crate::error::{CliError, ExitKind};
use crate::output;
use crate::settings::Global;
use crate::settings::provenance::WhySettings;
use crate::sync::policy::Policy;
use crate::sync::provenance::entry::Entry;
use crate::sync::provenance::query::{self, Live, Point, QueryError};

/// Fingerprint digits shown to people (JSON has them whole).
const SHORT_FP: usize = 12;

/// Run `vsync why`.
pub async fn run(s: WhySettings, g: &Global) -> Result<(), CliError> {
    let env = match &s.env {
        Some(e) => e.clone(),
        None => default_env(g)?,
    };
    let ctx = EnvContext::for_read(g.repo(), &env)?;
    let history = releases::load(&ctx).await?;
    let refs = history.refs();
    let point_text = match &s.point {
        Point::Now => "now".to_owned(),
        Point::Release(r) => format!("release {r}"),
        Point::At(t) => t.clone(),
    };
    let fail = |e: QueryError| {
        releases::warn_unreadable(&history);
        not_found(&e, &ctx.env)
    };
    let cutoff = query::cutoff(&refs, &s.point).map_err(fail)?;
    // the vault is opened only for a key some entry records
    query::why(&refs, &s.key, None, &point_text, None).map_err(fail)?;
    let current = current_fp(&ctx, &refs, &s.key).await;
    let live = query::why(
        &refs,
        &s.key,
        cutoff.as_deref(),
        &point_text,
        current.as_ref().map(|c| c.as_deref()),
    )
    .map_err(fail)?;
    if g.json {
        let point = match &s.point {
            Point::Now => json!("now"),
            Point::Release(r) => json!({"release": r}),
            Point::At(t) => json!({"at": t}),
        };
        output::json(&json!({
            "key": s.key,
            "repo": ctx.checkout.repo,
            "env": ctx.env,
            "point": point,
            "as_of": cutoff,
            "destinations": live,
            "unreadable": releases::unreadable_json(&history),
        }));
    } else {
        output::line(format!("{} in {} as of {point_text}:", s.key, ctx.env));
        for l in &live {
            print_live(l);
        }
        releases::warn_unreadable(&history);
    }
    releases::verdict(&history)
}

fn print_live(l: &Live) {
    let u = output::untrusted;
    let fp =
        l.fp.as_deref()
            .map(|f| f.chars().take(SHORT_FP).collect::<String>())
            .unwrap_or_else(|| "(deleted)".into());
    let dest = if l.routing.is_empty() {
        l.target.clone()
    } else {
        format!("{} ({})", l.target, l.routing)
    };
    output::line(format!(
        "  {}  {}  fp {fp}  {}",
        u(&dest),
        u(&l.remote),
        l.current.label()
    ));
    let w = &l.written;
    let mut from = format!("    written {} by {}", u(&w.time), u(&w.who));
    if let Some(r) = &w.release {
        from.push_str(&format!(", release {}", u(r)));
    }
    if let Some(c) = &w.commit {
        from.push_str(&format!(
            ", commit {}",
            u(&c.chars().take(12).collect::<String>())
        ));
    }
    match &w.bundle_ts {
        Some(b) => from.push_str(&format!(", bundle {}", u(b))),
        None => from.push_str(", from the working copy"),
    }
    output::line(from);
    if let Some(c) = &l.confirmed {
        output::line(format!(
            "    found unchanged {} by {}{}",
            u(&c.time),
            u(&c.who),
            c.release
                .as_deref()
                .map(|r| format!(", release {}", u(r)))
                .unwrap_or_default()
        ));
    }
}

/// The fingerprint of `key` in an opened bundle, shaped as sync shapes it.
fn current_fp_of(
    ctx: &EnvContext,
    zip: &[u8],
    policy: &Policy,
    key: &str,
    dk: &vsync_crypto::kdf::DerivedKey,
) -> Result<Option<String>, CliError> {
    let bundle = vsync_vault::zip_bundle::read_bundle(zip, &Default::default())?;
    let parsed = super::sync::items::shape_bundle(ctx, bundle, policy)?;
    Ok(parsed
        .items
        .iter()
        .find(|i| i.key == key)
        .map(|i| crate::sync::receipt::fingerprint(dk, i.value.expose())))
}

/// The current vault's fingerprint of `key`, shaped with the newest entry's parser policy:
/// `Some(None)` when the vault lacks it, `None` when the vault cannot be read (a warning says
/// why).
async fn current_fp(ctx: &EnvContext, entries: &[&Entry], key: &str) -> Option<Option<String>> {
    let policy = entries
        .last()
        .map(|e| Policy {
            exclude: e.policy.exclude.clone(),
            inline_suffixes: e.policy.inline_suffixes.clone(),
        })
        .unwrap_or_default();
    let got = async {
        let dk = ctx.derived_key().await?;
        let (_, zip) = crate::latest::open(ctx, false).await?;
        current_fp_of(ctx, &zip, &policy, key, &dk)
    }
    .await;
    match got {
        Ok(fp) => Some(fp),
        Err(e) => {
            output::warn(format!(
                "the current vault could not be read, so it is not compared: {}",
                e.message
            ));
            None
        }
    }
}

fn not_found(e: &QueryError, env: &str) -> CliError {
    let hint = match e {
        QueryError::UnknownRelease { known, .. } if !known.is_empty() => format!(
            "recorded releases: {} (vsync releases {env})",
            known
                .iter()
                .take(10)
                .map(|r| output::untrusted(r).into_owned())
                .collect::<Vec<_>>()
                .join(", ")
        ),
        QueryError::UnknownKey { .. } => format!(
            "the name is the vault key as synced (case matters); `vsync releases {env}` lists the recorded syncs"
        ),
        _ => format!("vsync releases {env}"),
    };
    CliError::new(ExitKind::NotFound, e.to_string()).with_hint(hint)
}

/// The env `./.env` links to (`vsync use`), else the repo's only configured env.
fn default_env(g: &Global) -> Result<String, CliError> {
    let checkout = context::checkout(g.repo())?;
    if let Ok(target) = std::fs::read_link(checkout.root.join(".env"))
        && let Some(env) = target
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix(".env."))
    {
        return Ok(env.to_owned());
    }
    let dir = context::base_dir()?.join(&checkout.repo);
    let mut envs: Vec<String> = std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let env = name.strip_prefix("env_")?;
            (!env.contains('.')).then(|| env.to_owned())
        })
        .collect();
    envs.sort();
    match envs.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(
            CliError::new(ExitKind::Usage, "which env? pass --env").with_hint(if envs.is_empty() {
                "vsync why KEY --env dev".to_owned()
            } else {
                format!("configured here: {}", envs.join(", "))
            }),
        ),
    }
}
