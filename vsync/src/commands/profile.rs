//! `vsync profile list|show|add|remove`.

use std::io::Read;

use serde_json::json;

use crate::error::{CliError, ExitKind};
use crate::local::profile::{self, Profile, ProfileError};
use crate::output;
use crate::settings::Global;
use crate::settings::verbs::{ProfileAddSettings, ProfileVerb};

impl From<ProfileError> for CliError {
    fn from(e: ProfileError) -> Self {
        let kind = match e {
            ProfileError::Missing(_) => ExitKind::NotFound,
            ProfileError::BadName(_) => ExitKind::Usage,
            _ => ExitKind::Failed,
        };
        let hint = match &e {
            ProfileError::Missing(_) => {
                Some("see `vsync profile list`, or create it with `vsync profile add <name>`")
            }
            ProfileError::Exists(_) => Some("remove it first with `vsync profile remove <name>`"),
            _ => None,
        };
        let err = CliError::new(kind, e.to_string());
        match hint {
            Some(h) => err.with_hint(h),
            None => err,
        }
    }
}

/// Run a profile subcommand.
pub fn run(cmd: ProfileVerb, g: &Global) -> Result<(), CliError> {
    let json_out = g.json;
    let base = crate::context::base_dir()?;
    match cmd {
        ProfileVerb::List => {
            let all = profile::list(&base);
            if json_out {
                let rows: Vec<_> = all
                    .iter()
                    .map(|(n, p)| json!({"name": n, "endpoint": p.endpoint, "region": p.region, "bucket": p.bucket, "prefix": p.prefix}))
                    .collect();
                output::json(&rows);
            } else if all.is_empty() {
                output::line(
                    "no profiles on this machine yet; add one with `vsync profile add <name>`",
                );
            } else {
                for (name, p) in all {
                    output::line(format!("{name}\t{}\t{}", p.endpoint, p.bucket));
                }
            }
            Ok(())
        }
        ProfileVerb::Show(name) => {
            let p = profile::load(&base, &name)?;
            let masked = profile::mask(&p.secret_access_key);
            if json_out {
                output::json(&json!({
                    "name": name, "endpoint": p.endpoint, "region": p.region, "bucket": p.bucket,
                    "prefix": p.prefix, "accessKeyId": p.access_key_id, "secretAccessKey": masked,
                }));
            } else {
                output::line(format!("name:            {name}"));
                output::line(format!("endpoint:        {}", p.endpoint));
                output::line(format!("region:          {}", p.region));
                output::line(format!("bucket:          {}", p.bucket));
                output::line(format!(
                    "prefix:          {}",
                    p.prefix.as_deref().unwrap_or("(none)")
                ));
                output::line(format!("access key id:   {}", p.access_key_id));
                output::line(format!("secret key:      {masked}"));
            }
            Ok(())
        }
        ProfileVerb::Add(args) => add(&base, args),
        ProfileVerb::Remove(name, yes) => {
            if !yes && !output::confirm(&format!("remove profile {name}?"), false) {
                return Err(CliError::new(
                    ExitKind::Usage,
                    format!("not removing profile {name} without confirmation"),
                )
                .with_hint(format!("vsync profile remove {name} --yes")));
            }
            profile::remove(&base, &name)?;
            output::line(format!("removed profile {name}"));
            Ok(())
        }
    }
}

fn add(base: &std::path::Path, args: ProfileAddSettings) -> Result<(), CliError> {
    let need = |v: Option<String>, flag: &str, q: &str| -> Result<String, CliError> {
        match v.filter(|s| !s.is_empty()).or_else(|| output::ask(q).filter(|s| !s.is_empty())) {
            Some(v) => Ok(v),
            None => Err(CliError::new(ExitKind::Usage, format!("missing --{flag}"))
                .with_hint("vsync profile add NAME --endpoint URL --region R --bucket B --access-key-id ID --secret-key-stdin < secret.txt")),
        }
    };
    let endpoint = need(args.endpoint, "endpoint", "S3 endpoint URL:")?;
    let region = args
        .region
        .filter(|r| !r.is_empty())
        .unwrap_or_else(|| "auto".to_owned());
    let bucket = need(args.bucket, "bucket", "bucket:")?;
    let access_key_id = need(args.access_key_id, "access-key-id", "access key id:")?;
    let secret = if args.secret_key_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| {
            CliError::new(
                ExitKind::Failed,
                format!("cannot read the secret key from stdin: {e}"),
            )
        })?;
        zeroize::Zeroizing::new(s.trim_end_matches(['\r', '\n']).to_owned())
    } else if output::interactive() {
        crate::passphrase::input::prompt_hidden("secret access key (hidden): ", "secret key")?
    } else {
        return Err(CliError::new(
            ExitKind::Usage,
            "the secret key is read from stdin, never from a flag",
        )
        .with_hint("pass --secret-key-stdin and pipe the secret in"));
    };
    if secret.is_empty() {
        return Err(CliError::new(
            ExitKind::Usage,
            "the secret key read from stdin is empty",
        ));
    }
    let prefix = args
        .prefix
        .filter(|p| !p.is_empty())
        .map(|p| if p.ends_with('/') { p } else { format!("{p}/") });
    let p = Profile {
        version: 1,
        endpoint,
        region,
        bucket,
        prefix,
        access_key_id,
        secret_access_key: secret.to_string(),
        extra: serde_json::Map::new(),
    };
    let path = profile::save(base, &args.name, &p, false)?;
    output::line(format!(
        "profile {} saved to {} (0600)",
        args.name,
        path.display()
    ));
    Ok(())
}
