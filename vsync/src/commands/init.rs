//! `vsync init <env>`: bind (repo, env) to a bucket, create the key, the config, the vault folder.

use std::path::Path;

use vsync_crypto::secret::VaultKey;

use crate::context::{self, check_env, keychain_error};
use crate::error::{CliError, ExitKind};
use crate::keychain::{self, Backend};
use crate::local::config::{AuditSection, EnvConfig, Files, S3Section};
use crate::local::{fsutil, paths, profile};
use crate::output;
use crate::settings::Global;
use crate::settings::verbs::{CloudStoreSettings, InitSettings};

/// Run `vsync init`.
pub async fn run(args: InitSettings, g: &Global) -> Result<(), CliError> {
    check_env(&args.env)?;
    // Checked before anything else, so a refused folder leaves nothing behind.
    let flag_vault_folder = args
        .vault_folder
        .as_deref()
        .map(vault_folder_flag)
        .transpose()?;
    let env = args.env.as_str();
    let checkout = context::checkout(g.repo())?;
    let base = context::base_dir()?;
    let config_path = paths::config_file(&base, &checkout.repo, env);
    let backend = Backend::from_env().map_err(keychain_error)?;
    let account = keychain::account(&checkout.repo, env);

    // Never replace an existing config or key silently: that would fork the team's key.
    let has_config = config_path.exists();
    let has_key = keychain::get(backend, &account)
        .await
        .map_err(keychain_error)?
        .is_some();
    if has_config || has_key {
        let what = match (has_config, has_key) {
            (true, true) => format!("a config ({}) and a keychain key", config_path.display()),
            (true, false) => format!("a config ({})", config_path.display()),
            _ => format!("a keychain key ({account})"),
        };
        output::warn(format!(
            "{}/{env} already has {what} on this machine",
            checkout.repo
        ));
        let confirmed = output::interactive()
            && output::ask("type `overwrite` to replace them with a NEW key (bundles already pushed become unreadable with it):")
                .is_some_and(|a| a == "overwrite");
        if !confirmed {
            return Err(CliError::new(
                ExitKind::Conflict,
                format!("refusing to replace the existing setup of {}/{env}", checkout.repo),
            )
            .with_hint(format!(
                "nothing was changed; to start over, delete {} and run init on a terminal, or join with `vsync import {env} <file>`",
                config_path.display()
            )));
        }
    }

    let mut config = EnvConfig::new(vsync_crypto::random::config_salt());
    fill_store(&mut config, &args, &base, env)?;
    let default_vf = format!("infra/vault/{}", env.to_lowercase());
    if let Some(vf) = flag_vault_folder
        && vf != default_vf
    {
        config.files = Some(Files {
            vault_folder: Some(vf),
            extra: Default::default(),
        });
    }
    // Before anything is written: the folder must not lead through a symlink out of the checkout.
    let vault_dir = vsync_vault::vault_folder::resolve(&checkout.vroot, &config.vault_folder(env))?;
    if let Some(a) = args.audit.as_deref() {
        config.audit = Some(AuditSection {
            enabled: parse_on_off(a)?,
            extra: Default::default(),
        });
    } else {
        config.audit = Some(AuditSection {
            enabled: true,
            extra: Default::default(),
        });
    }
    let prefix = vsync_vault::layout::Prefix::new(&checkout.repo, env)?;
    if config.prefix.is_none() {
        config.prefix = Some(prefix.as_str().to_owned());
    }

    // Probe the bucket: an existing prefix means a teammate already set this env up.
    let bucket = context::open_bucket(&config)?;
    let remote = vsync_vault::remote::Remote::new(bucket, prefix);
    match remote.latest().await {
        Ok(Some(p)) if !p.is_empty() => existing_env(&checkout.repo, env, &p.ts, args.adopt)?,
        Ok(_) => {}
        Err(e) => output::warn(format!("could not check the bucket ({e}); continuing")),
    }

    // A store without conditional writes cannot make concurrent pushes safe: record it, so push
    // warns and relies on the ledger guard alone (docs/decisions.md §2).
    let scratch = format!(
        "{}init-probe-{}",
        remote.prefix.as_str(),
        std::process::id()
    );
    match remote.bucket.probe_conditional(&scratch).await {
        Ok(true) => {}
        Ok(false) => {
            output::warn(
                "this store ignores conditional writes: concurrent pushes are guarded by the ledger only (`vsync doctor` explains)",
            );
            config.set_conditional_writes(false);
        }
        Err(e) => output::warn(format!("could not probe conditional writes ({e})")),
    }

    let key = VaultKey::generate();
    keychain::set(backend, &account, key.expose())
        .await
        .map_err(keychain_error)?;
    if let Err(e) = config.save(&config_path) {
        let _ = keychain::delete(backend, &account).await;
        return Err(CliError::new(ExitKind::Failed, e.to_string()));
    }

    let vf = vsync_vault::vault_folder::normalize(&config.vault_folder(env))?;
    fsutil::ensure_private_dir(&vault_dir)
        .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
    let env_file = vault_dir.join(format!(".env.{env}"));
    if !env_file.exists() {
        fsutil::write_atomic(&env_file, b"", 0o600)
            .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
    }
    if vsync_vault::identity::write_pin(&checkout.root, &checkout.repo)?
        == vsync_vault::identity::PinWrite::Written
    {
        output::note("identity pin written to .vsync — commit it");
    }
    ensure_gitignored(&checkout.root, &vf, args.yes)?;

    output::line(format!("initialised {}/{env}", checkout.repo));
    output::line(format!("  config:  {} (0600)", config_path.display()));
    output::line(format!(
        "  key:     {} (service={}, account={account})",
        backend.name(),
        keychain::SERVICE
    ));
    output::line(format!("  bucket:  {}", describe_store(&config)));
    output::line(format!("  vault:   {}", vault_dir.display()));
    output::line(format!(
        "next: put secrets in {vf}/.env.{env}, then `vsync push {env}`"
    ));
    Ok(())
}

fn describe_store(config: &EnvConfig) -> String {
    match (&config.store, &config.s3) {
        (Some(s), _) => s.clone(),
        (None, Some(s3)) => format!("s3://{} at {}", s3.bucket, s3.endpoint_url()),
        _ => "(none)".to_owned(),
    }
}

fn parse_on_off(v: &str) -> Result<bool, CliError> {
    match v.to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(CliError::new(
            ExitKind::Usage,
            format!("--audit takes on or off, not {v:?}"),
        )),
    }
}

/// `--vault-folder`, checked by the one vault-folder rule ([`vsync_vault::vault_folder::check`]);
/// only the message (naming the flag) is this verb's.
fn vault_folder_flag(vf: &str) -> Result<String, CliError> {
    vsync_vault::vault_folder::check(vf).map_err(|r| {
        CliError::new(
            ExitKind::Usage,
            format!(
                "--vault-folder must be a relative folder inside the repository, not {vf:?} ({})",
                r.as_str()
            ),
        )
        .with_hint("for example: --vault-folder infra/vault/dev")
    })
}

/// The embedded default bucket: a folder on this machine.
fn default_store(base: &Path, data_home: Option<&Path>) -> String {
    let data = data_home
        .map(Path::to_path_buf)
        .or_else(|| {
            base.parent()
                .and_then(Path::parent)
                .map(|home| home.join(".local/share"))
        })
        .unwrap_or_else(|| base.join("data"));
    format!("file://{}", data.join("vsync/bucket").display())
}

fn fill_store(
    config: &mut EnvConfig,
    args: &InitSettings,
    base: &Path,
    env: &str,
) -> Result<(), CliError> {
    if let Some(name) = args.profile.as_deref() {
        let p = profile::load(base, name)?;
        config.s3 = Some(S3Section {
            use_ssl: !p.endpoint.starts_with("http://"),
            endpoint: p.endpoint,
            region: p.region,
            bucket: p.bucket,
            access_key_id: p.access_key_id,
            secret_access_key: p.secret_access_key,
            extra: Default::default(),
        });
        // The data lives under `<repo>/<env>/` whatever the profile's prefix (docs/formats.md §17 item 2).
        config.init_profile = Some(name.to_owned());
        let _ = env;
        return Ok(());
    }
    let store = match args.store.clone() {
        Some(s) => s,
        None => {
            let def = default_store(base, args.data_home.as_deref());
            match output::ask(&format!(
                "bucket URL (file:///path, s3://bucket, gs://bucket, az://container) [{def}]:"
            )) {
                Some(a) if !a.is_empty() => a,
                _ => def,
            }
        }
    };
    check_store_flags(&args.cloud, &store)?;
    if store.starts_with("gs://") || store.starts_with("az://") {
        return fill_cloud_store(config, &args.cloud, &store);
    }
    if let Some(path) = store.strip_prefix("file://") {
        if !path.starts_with('/') {
            return Err(CliError::new(
                ExitKind::Usage,
                format!("{store:?} is not an absolute file URL"),
            )
            .with_hint("use file:///absolute/path"));
        }
        fsutil::ensure_private_dir(Path::new(path))
            .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
        config.store = Some(store);
        return Ok(());
    }
    let Some(rest) = store.strip_prefix("s3://") else {
        return Err(
            CliError::new(ExitKind::Usage, format!("unsupported bucket URL {store:?}"))
                .with_hint("use file:///path, s3://bucket, gs://bucket or az://container"),
        );
    };
    let bucket = rest.trim_end_matches('/');
    if bucket.is_empty() || bucket.contains('/') {
        return Err(CliError::new(
            ExitKind::Usage,
            format!("{store:?} must name just a bucket: s3://bucket"),
        ));
    }
    let s3 = &args.s3;
    let (Some(access_key_id), Some(secret_access_key)) = (
        s3.access_key_id.clone(),
        s3.secret_access_key.as_ref().map(|s| s.expose().to_owned()),
    ) else {
        return Err(CliError::new(ExitKind::Usage, "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile NAME")
            .with_hint("create a profile once with `vsync profile add NAME --secret-key-stdin …`"));
    };
    let (region, endpoint) = (s3.region.clone(), s3.endpoint.clone());
    config.s3 = Some(S3Section {
        use_ssl: !endpoint.starts_with("http://"),
        endpoint,
        region,
        bucket: bucket.to_owned(),
        access_key_id,
        secret_access_key,
        extra: Default::default(),
    });
    config.store = Some(format!("s3://{bucket}"));
    Ok(())
}

/// Flags of one store kind refuse another kind's URL (a silent no-op would surprise).
fn check_store_flags(args: &CloudStoreSettings, store: &str) -> Result<(), CliError> {
    let scheme = store.split_once("://").map_or("", |(s, _)| s);
    let wrong = [
        ("--gcs-endpoint", args.gcs_endpoint.is_some(), "gs"),
        (
            "--azure-storage-account",
            args.azure_account.is_some(),
            "az",
        ),
        ("--azure-endpoint", args.azure_endpoint.is_some(), "az"),
    ]
    .into_iter()
    .find(|(_, given, kind)| *given && *kind != scheme);
    match wrong {
        Some((flag, _, kind)) => Err(CliError::new(
            ExitKind::Usage,
            format!("{flag} applies to {kind}:// stores, not {store:?}"),
        )),
        None => Ok(()),
    }
}

/// `gs://bucket` and `az://container`: the config records only the URL (with the endpoint and,
/// for Azure, the account); credentials stay in the environment and are never written.
fn fill_cloud_store(
    config: &mut EnvConfig,
    args: &CloudStoreSettings,
    store: &str,
) -> Result<(), CliError> {
    use vsync_vault::store::StoreSpec;
    let usage = |e: vsync_vault::StoreError| CliError::new(ExitKind::Usage, e.to_string());
    let mut spec = StoreSpec::parse_url(store).map_err(usage)?;
    match &mut spec {
        StoreSpec::Gcs { endpoint, .. } => {
            if let Some(e) = &args.gcs_endpoint {
                *endpoint = Some(e.clone());
            }
        }
        StoreSpec::Azure {
            account, endpoint, ..
        } => {
            if let Some(a) = &args.azure_account {
                *account = Some(a.clone());
            }
            if account.is_none() {
                account.clone_from(&args.azure_account_env);
            }
            if let Some(e) = &args.azure_endpoint {
                *endpoint = Some(e.clone());
            }
            if account.is_none() && !args.azure_emulator {
                return Err(CliError::new(
                    ExitKind::Usage,
                    format!("{store:?} needs a storage account name"),
                )
                .with_hint("pass --azure-storage-account NAME or set AZURE_STORAGE_ACCOUNT_NAME"));
            }
        }
        _ => {}
    }
    // Re-parse the canonical form: the flags get the same checks as the URL.
    let url = spec.to_url();
    let spec = StoreSpec::parse_url(&url).map_err(usage)?;
    let vars = vsync_vault::store::credential_env();
    if let Some(source) = vsync_vault::cloud::credential_source(&spec, &vars) {
        output::note(format!(
            "credentials for {}: {source} (read from the environment at each run; never written to the config)",
            spec.label()
        ));
    }
    config.store = Some(url);
    Ok(())
}

/// Make sure the vault never lands in git: add its top folder to `.gitignore` (asks on a TTY).
fn ensure_gitignored(root: &Path, vf: &str, yes: bool) -> Result<(), CliError> {
    let rule = ignore_rule(vf);
    let path = root.join(".gitignore");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    if is_ignored(&text, vf) {
        return Ok(());
    }
    let accepted = yes || output::confirm(&format!("add {rule} to .gitignore?"), true);
    if !accepted {
        output::warn(format!(
            "{vf} is not in .gitignore: add `{rule}` before you commit, or secrets may land in git"
        ));
        return Ok(());
    }
    let mut new = text;
    if !new.is_empty() && !new.ends_with('\n') {
        new.push('\n');
    }
    new.push_str(&rule);
    new.push('\n');
    fsutil::write_atomic(&path, new.as_bytes(), 0o644)
        .map_err(|e| CliError::new(ExitKind::Failed, e.to_string()))?;
    output::note(format!("added {rule} to .gitignore"));
    Ok(())
}

/// The rule init adds: the parent of the vault folder (`infra/vault/` for `infra/vault/prod`).
pub fn ignore_rule(vf: &str) -> String {
    match vf.rsplit_once('/') {
        Some((parent, _)) => format!("{parent}/"),
        None => format!("{vf}/"),
    }
}

/// Whether a `.gitignore` text covers the vault folder (the parent or the folder itself, with
/// or without a leading or trailing slash).
pub fn is_ignored(gitignore: &str, vf: &str) -> bool {
    let parent = ignore_rule(vf);
    let parent = parent.trim_end_matches('/');
    gitignore
        .lines()
        .map(|l| l.trim().trim_start_matches('/').trim_end_matches('/'))
        .any(|l| !l.is_empty() && (l == parent || l == vf || vf.starts_with(&format!("{l}/"))))
}

/// The bucket already holds this env: a new key cannot read it, and pushing under it would lock
/// the team out. Refuse, unless `--adopt` says starting over is the intent.
fn existing_env(repo: &str, env: &str, latest: &str, adopt: bool) -> Result<(), CliError> {
    if adopt {
        output::warn(format!(
            "the bucket already holds {repo}/{env} (latest {latest}) under another key; setting up a NEW key anyway (--adopt): the existing versions stay readable only with the old key, your first push needs --replace-key, and every teammate needs a new share file"
        ));
        return Ok(());
    }
    Err(CliError::new(
        ExitKind::Conflict,
        format!(
            "the bucket already holds {repo}/{env} (latest {latest}); a new key could not read it"
        ),
    )
    .with_hint(format!(
        "join with the team's key: `vsync import {env} <file.share>` (a teammate runs `vsync export {env}`); if that key is lost for good, `vsync init {env} --adopt` starts over"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gitignore_rules() {
        assert_eq!(ignore_rule("infra/vault/prod"), "infra/vault/");
        assert!(is_ignored(
            "node_modules\ninfra/vault/\n",
            "infra/vault/prod"
        ));
        assert!(is_ignored("/infra\n", "infra/vault/prod"));
        assert!(is_ignored("infra/vault/prod\n", "infra/vault/prod"));
        assert!(!is_ignored(
            "infra/vaults/\n#infra/vault/\n",
            "infra/vault/prod"
        ));
        assert!(!is_ignored("", "infra/vault/prod"));
    }

    #[test]
    fn vault_folder_must_stay_inside() {
        assert_eq!(
            vault_folder_flag("apps/web/vault/").unwrap(),
            "apps/web/vault"
        );
        for bad in ["/etc", "../x", "a/../b", "", "a\\b"] {
            assert!(vault_folder_flag(bad).is_err(), "{bad}");
        }
    }
}
