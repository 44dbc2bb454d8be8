//! `vsync diff <env>`: which keys and assets differ, by name only. Values are compared in memory
//! and never printed.

use std::collections::BTreeMap;

use serde_json::json;
use zeroize::Zeroizing;

use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::output;
use crate::settings::Global;

/// A vault's content reduced to what diff compares: key → value, asset path → bytes.
#[derive(Default)]
pub struct Snapshot {
    keys: BTreeMap<String, Zeroizing<String>>,
    assets: BTreeMap<String, Zeroizing<Vec<u8>>>,
}

impl Snapshot {
    fn from_env_text(text: &str, assets: BTreeMap<String, Zeroizing<Vec<u8>>>) -> Self {
        let mut keys = BTreeMap::new();
        for (key, value) in vsync_vault::envfile::parse(text) {
            // Last one wins, as at a destination.
            keys.insert(key, value);
        }
        Snapshot { keys, assets }
    }
}

/// Names added, removed and changed between two snapshots.
#[derive(Debug, Default, serde::Serialize, PartialEq)]
pub struct Changes {
    /// Only in the newer side.
    pub added: Vec<String>,
    /// Only in the older side.
    pub removed: Vec<String>,
    /// In both with different content.
    pub changed: Vec<String>,
}

fn compare<V: PartialEq>(old: &BTreeMap<String, V>, new: &BTreeMap<String, V>) -> Changes {
    let mut c = Changes::default();
    for (k, v) in new {
        match old.get(k) {
            None => c.added.push(k.clone()),
            Some(o) if o != v => c.changed.push(k.clone()),
            Some(_) => {}
        }
    }
    c.removed = old
        .keys()
        .filter(|k| !new.contains_key(*k))
        .cloned()
        .collect();
    c
}

async fn remote_snapshot(ctx: &EnvContext, ts: &str) -> Result<Snapshot, CliError> {
    let object = ctx.remote.fetch_version(ts).await?;
    let zip = ctx.open_bundle(&object, ts).await?;
    snapshot_of(ctx, &zip)
}

fn snapshot_of(ctx: &EnvContext, zip: &[u8]) -> Result<Snapshot, CliError> {
    let bundle = vsync_vault::zip_bundle::read_bundle(zip, &Default::default())?;
    let text = bundle
        .env_file(&ctx.env)
        .map(vsync_vault::envfile::decode)
        .transpose()?
        .unwrap_or_default();
    let text = Zeroizing::new(text.to_owned());
    let assets = bundle
        .assets(&ctx.env)
        .map(|(n, d)| (n.to_owned(), Zeroizing::new(d.to_vec())))
        .collect();
    Ok(Snapshot::from_env_text(&text, assets))
}

fn local_snapshot(ctx: &EnvContext) -> Result<Snapshot, CliError> {
    let dir = ctx.vault_dir();
    let env_name = format!(".env.{}", ctx.env);
    let mut assets = BTreeMap::new();
    let mut text = Zeroizing::new(String::new());
    for f in vsync_vault::walk::walk(&dir)? {
        let bytes = Zeroizing::new(
            std::fs::read(dir.join(&f.path))
                .map_err(|e| CliError::new(ExitKind::Failed, format!("read {}: {e}", f.path)))?,
        );
        if f.path == env_name {
            vsync_vault::envfile::decode(&bytes)?.clone_into(&mut text);
        } else {
            assets.insert(f.path, bytes);
        }
    }
    Ok(Snapshot::from_env_text(&text, assets))
}

/// Run `vsync diff`.
pub async fn run(
    env: &str,
    from_to: Option<(String, String)>,
    allow_rollback: bool,
    g: &Global,
) -> Result<(), CliError> {
    let json_out = g.json;
    let ctx = EnvContext::for_read(g.repo(), env)?;
    let (old_label, old, new_label, new) = match &from_to {
        Some((from, to)) => (
            from.clone(),
            remote_snapshot(&ctx, from).await?,
            to.clone(),
            remote_snapshot(&ctx, to).await?,
        ),
        None => {
            let (latest, zip) = crate::latest::open(&ctx, allow_rollback).await?;
            let remote = snapshot_of(&ctx, &zip)?;
            (
                format!("latest ({})", latest.ts),
                remote,
                "local".to_owned(),
                local_snapshot(&ctx)?,
            )
        }
    };
    let keys = compare(&old.keys, &new.keys);
    let assets = compare(&old.assets, &new.assets);
    if json_out {
        output::json(&json!({"from": old_label, "to": new_label, "keys": keys, "assets": assets}));
        return Ok(());
    }
    output::line(format!("comparing {old_label} → {new_label}"));
    let mut any = false;
    for (sign, what, list) in [
        ("+", "key", &keys.added),
        ("-", "key", &keys.removed),
        ("~", "key", &keys.changed),
        ("+", "asset", &assets.added),
        ("-", "asset", &assets.removed),
        ("~", "asset", &assets.changed),
    ] {
        for name in list {
            any = true;
            output::line(format!("{sign} {what} {name}"));
        }
    }
    if !any {
        output::line("no differences");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_names_only() {
        let a = Snapshot::from_env_text("A=1\nB=2\nC=3\n", BTreeMap::new());
        let b = Snapshot::from_env_text("A=1\nB=20\nD=4\n", BTreeMap::new());
        let c = compare(&a.keys, &b.keys);
        assert_eq!(
            c,
            Changes {
                added: vec!["D".into()],
                removed: vec!["C".into()],
                changed: vec!["B".into()]
            }
        );
    }
}
