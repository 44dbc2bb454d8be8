//! `vsync keystore list|export|import`: every (repo, env) pair on this machine, and a bulk,
//! passphrase-sealed backup (VKT1 `.keytree`) for moving to a new laptop. No git needed.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};
use vsync_crypto::secret::SecretText;
use vsync_crypto::vkt1::{self, Keytree, KeytreeEntry, KeytreeProfile};

use crate::context::{self, keychain_error};
use crate::error::{CliError, ExitKind};
use crate::keychain::{self, Backend};
use crate::local::config::EnvConfig;
use crate::local::{fsutil, paths, profile};
use crate::output;
use crate::settings::Global;
use crate::settings::verbs::{KeystoreExportSettings, KeystoreImportSettings, KeystoreVerb};

/// (repo, env) pairs with a config on this machine, sorted (docs/formats.md §9.2 discovery).
pub fn pairs(base: &Path) -> Vec<(String, String)> {
    let Ok(rd) = std::fs::read_dir(base) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !e.file_type().is_ok_and(|t| t.is_dir())
            || name == "profiles"
            || name == "backups"
            || name == "plugins"
        {
            continue;
        }
        for env in super::status::known_envs(base, &name) {
            out.push((name.clone(), env));
        }
    }
    out.sort();
    out
}

/// Run `vsync keystore …`.
pub async fn run(cmd: KeystoreVerb, g: &Global) -> Result<(), CliError> {
    let base = context::base_dir()?;
    match cmd {
        KeystoreVerb::List => list(&base, g.json).await,
        KeystoreVerb::Export(a) => export(&base, a).await,
        KeystoreVerb::Import(a) => import(&base, a).await,
    }
}

async fn list(base: &Path, json_out: bool) -> Result<(), CliError> {
    let backend = Backend::from_env().map_err(keychain_error)?;
    let mut rows = Vec::new();
    for (repo, env) in pairs(base) {
        let has_key = keychain::get(backend, &keychain::account(&repo, &env))
            .await
            .map_err(keychain_error)?
            .is_some();
        rows.push((repo, env, has_key));
    }
    if json_out {
        let v: Vec<_> = rows
            .iter()
            .map(|(r, e, k)| serde_json::json!({"repo": r, "env": e, "key": k}))
            .collect();
        output::json(&v);
        return Ok(());
    }
    if rows.is_empty() {
        output::line(
            "no (repo, env) pairs configured on this machine; run `vsync init <env>` in a repository",
        );
        return Ok(());
    }
    let mut last = "";
    for (repo, env, k) in &rows {
        if repo != last {
            output::line(repo.as_str());
            last = repo;
        }
        output::line(format!("  {env}\t{}", if *k { "key" } else { "NO KEY" }));
    }
    let repos = rows
        .iter()
        .map(|r| &r.0)
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    output::line(format!("{} pair(s) across {repos} repo(s)", rows.len()));
    let missing = rows.iter().filter(|r| !r.2).count();
    if missing > 0 {
        output::line(format!(
            "{missing} pair(s) cannot pull: re-import their share file (`vsync import <env> <file>`)"
        ));
    }
    Ok(())
}

async fn export(base: &Path, a: KeystoreExportSettings) -> Result<(), CliError> {
    if !a.all && a.only_repo.is_empty() && a.envs.is_empty() {
        return Err(CliError::new(
            ExitKind::Usage,
            "choose what to export: a keytree can carry every secret key on this machine",
        )
        .with_hint("--all, or --only-repo REPO / --env ENV (repeatable)"));
    }
    let all = pairs(base);
    if all.is_empty() {
        return Err(CliError::new(
            ExitKind::NotFound,
            "no (repo, env) pairs on this machine",
        ));
    }
    let selected: Vec<_> = all
        .into_iter()
        .filter(|(r, e)| {
            (a.only_repo.is_empty() || a.only_repo.contains(r))
                && (a.envs.is_empty() || a.envs.contains(e))
        })
        .collect();
    if selected.is_empty() {
        return Err(CliError::new(
            ExitKind::NotFound,
            "the filters left no pair to export",
        ));
    }
    let backend = Backend::from_env().map_err(keychain_error)?;
    let mut entries = Vec::new();
    for (repo, env) in &selected {
        let cfg = match EnvConfig::load(&paths::config_file(base, repo, env)) {
            Ok(Some(c)) => c,
            _ => {
                output::warn(format!("skipping {repo}/{env}: its config is unreadable"));
                continue;
            }
        };
        let Some(key) = keychain::get(backend, &keychain::account(repo, env))
            .await
            .map_err(keychain_error)?
        else {
            output::warn(format!("skipping {repo}/{env}: no key in the keychain"));
            continue;
        };
        let config = match serde_json::to_value(&cfg) {
            Ok(Value::Object(m)) => m,
            _ => continue,
        };
        entries.push(KeytreeEntry {
            repo: repo.clone(),
            env: env.clone(),
            config,
            key: SecretText::new(key.to_string()),
            extra: Map::new(),
        });
    }
    if entries.is_empty() {
        return Err(CliError::new(
            ExitKind::NotFound,
            "nothing left to export after skipping unreadable pairs",
        ));
    }
    let mut profiles = Vec::new();
    if a.all || a.profiles {
        for (name, p) in profile::list(base) {
            if let Ok(Value::Object(fields)) = serde_json::to_value(&p) {
                profiles.push(KeytreeProfile { name, fields });
            }
        }
    }
    let tree = Keytree {
        version: vkt1::PAYLOAD_VERSION,
        exported_at: vsync_vault::ts::iso_now(),
        entries,
        profiles,
        extra: Default::default(),
    };
    let (given, bits) = a.passphrase.for_sealing("pass --passphrase-file FILE")?;
    let (pass, generated) = (given.text, bits.is_some());
    let out = a.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!(
            "{}.keytree",
            host_file_name(a.host_name.as_deref())
        ))
    });
    if out.exists() && !a.force {
        return Err(CliError::new(
            ExitKind::Conflict,
            format!("{} already exists", out.display()),
        )
        .with_hint("--force to replace it"));
    }
    let n = (tree.entries.len(), tree.profiles.len());
    let names: Vec<String> = tree
        .entries
        .iter()
        .map(|e| format!("{}/{}", e.repo, e.env))
        .collect();
    let bytes = tokio::task::spawn_blocking({
        let pass = pass.clone();
        move || vkt1::pack(&pass, &tree)
    })
    .await
    .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?
    .map_err(|e| CliError::new(ExitKind::Failed, format!("sealing the keytree failed: {e}")))?;
    fsutil::write_atomic(&out, &bytes, 0o600)
        .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
    output::line(format!(
        "wrote {} (0600): {} pair(s), {} profile(s): {}",
        out.display(),
        n.0,
        n.1,
        names.join(", ")
    ));
    if generated {
        output::reveal_on_terminal(
            "passphrase (send it on another channel than the file)",
            &pass,
        );
    }
    output::note(
        "treat this file like the secrets themselves; on the new machine: vsync keystore import <file>",
    );
    Ok(())
}

fn host_file_name(host: Option<&str>) -> String {
    let h = host.unwrap_or("vsync");
    let clean: String = h
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if clean.is_empty() || clean.starts_with('.') {
        "vsync".into()
    } else {
        clean
    }
}

async fn import(base: &Path, a: KeystoreImportSettings) -> Result<(), CliError> {
    let bytes = std::fs::read(&a.file).map_err(|e| {
        CliError::new(
            ExitKind::NotFound,
            format!("cannot read {}: {e}", a.file.display()),
        )
    })?;
    vkt1::parse_frame(&bytes).map_err(|e| {
        CliError::new(
            ExitKind::Integrity,
            format!("not a usable keytree file: {e}"),
        )
    })?;
    let given = a
        .passphrase
        .for_opening(Some(crate::passphrase::MIN_LEN), "keytree passphrase: ")?;
    let (pass, source) = (given.text, given.source);
    let (_, tree) = tokio::task::spawn_blocking(move || vkt1::unpack(&pass, &bytes))
        .await
        .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?
        .map_err(|e| {
            let msg = if matches!(e, vsync_crypto::CryptoError::WrongPassphrase) {
                format!(
                    "{} does not open this keytree: wrong passphrase, or the file is damaged",
                    source.describe("keytree passphrase")
                )
            } else {
                format!("not a usable keytree file: {e}")
            };
            CliError::new(ExitKind::Integrity, msg).with_hint("nothing was written")
        })?;
    // Validate everything before writing anything.
    let mut configs = Vec::new();
    for e in &tree.entries {
        context::check_env(&e.env)?;
        if vsync_vault::identity::check_reserved(&e.repo).is_err()
            || e.repo.is_empty()
            || e.repo.contains(['/', '\\'])
            || e.repo.starts_with('.')
        {
            return Err(CliError::new(
                ExitKind::Integrity,
                format!(
                    "the keytree names an invalid repo {:?}; nothing was written",
                    e.repo
                ),
            ));
        }
        let cfg: EnvConfig =
            serde_json::from_value(Value::Object(e.config.clone())).map_err(|_| {
                CliError::new(
                    ExitKind::Integrity,
                    format!(
                        "the config of {}/{} in the keytree is malformed; nothing was written",
                        e.repo, e.env
                    ),
                )
            })?;
        cfg.validate().map_err(|reason| {
            CliError::new(
                ExitKind::Integrity,
                format!(
                    "the config of {}/{} in the keytree is refused ({reason}); nothing was written",
                    e.repo, e.env
                ),
            )
        })?;
        configs.push(cfg);
    }
    let mut parsed_profiles = Vec::new();
    for p in &tree.profiles {
        let prof: profile::Profile = serde_json::from_value(Value::Object(p.fields.clone()))
            .map_err(|_| {
                CliError::new(
                    ExitKind::Integrity,
                    format!(
                        "profile {:?} in the keytree is malformed; nothing was written",
                        p.name
                    ),
                )
            })?;
        if !profile::valid_name(&p.name) {
            return Err(CliError::new(
                ExitKind::Integrity,
                format!("profile name {:?} is invalid; nothing was written", p.name),
            ));
        }
        parsed_profiles.push((p.name.clone(), prof));
    }
    let backend = Backend::from_env().map_err(keychain_error)?;
    let (mut written, mut skipped) = (Vec::new(), Vec::new());
    for (name, prof) in &parsed_profiles {
        match profile::save(base, name, prof, a.force) {
            Ok(_) => written.push(format!("profile {name}")),
            Err(profile::ProfileError::Exists(_)) => skipped.push(format!("profile {name}")),
            Err(e) => return Err(partial(&written, e.to_string())),
        }
    }
    for (e, cfg) in tree.entries.iter().zip(configs) {
        let path = paths::config_file(base, &e.repo, &e.env);
        if path.exists() && !a.force {
            skipped.push(format!("{}/{}", e.repo, e.env));
            continue;
        }
        keychain::set(backend, &keychain::account(&e.repo, &e.env), e.key.expose())
            .await
            .map_err(|err| partial(&written, format!("keychain: {err}")))?;
        cfg.save(&path)
            .map_err(|err| partial(&written, err.to_string()))?;
        written.push(format!("{}/{}", e.repo, e.env));
    }
    output::line(format!(
        "restored {} item(s): {}",
        written.len(),
        written.join(", ")
    ));
    if !skipped.is_empty() {
        output::line(format!(
            "skipped (already here; --force replaces them): {}",
            skipped.join(", ")
        ));
    }
    output::line(
        "next: `vsync pull <env>` in each repository (the keytree carries keys and configs, not vault contents)",
    );
    Ok(())
}

fn partial(written: &[String], why: String) -> CliError {
    CliError::new(
        ExitKind::Failed,
        format!("import incomplete after {} item(s) ({why})", written.len()),
    )
    .with_hint("re-running `vsync keystore import` is safe")
}
