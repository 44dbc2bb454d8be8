//! What `vsync sync` sends: the pushed vault (or, with `--from-local`, the working copy), parsed
//! with the parser policy. File references inside the vault folder come from the same source as
//! the env file.

use std::path::{Component, Path, PathBuf};

use zeroize::Zeroizing;

use crate::context::EnvContext;
use crate::error::{CliError, ExitKind};
use crate::output;
use crate::settings::machine;
use crate::sync::policy::{self, FileSource, Policy, Roots};

/// What one sync reads: the items as the policy shapes them, and the pushed version they came
/// from (none with `--from-local`).
pub(crate) struct Loaded {
    pub(crate) parsed: policy::Parsed,
    pub(crate) version: Option<Version>,
}

/// A pushed version, as provenance names it.
pub(crate) struct Version {
    /// Its `BUNDLE_TS`.
    pub(crate) ts: String,
    /// Hex SHA-256 of its object as stored.
    pub(crate) sha256: String,
}

/// The items of the pushed vault or the working copy, as the policy shapes them.
pub(super) async fn load(
    ctx: &EnvContext,
    from_local: bool,
    allow_rollback: bool,
    policy: &Policy,
) -> Result<Loaded, CliError> {
    let vault_root = ctx.vault_dir();
    let local_text = std::fs::read(vault_root.join(format!(".env.{}", ctx.env)))
        .ok()
        .map(Zeroizing::new);
    let (pushed, version) = match crate::latest::open_object_if_pushed(ctx, allow_rollback).await? {
        Some(o) => (
            Some(vsync_vault::zip_bundle::read_bundle(
                &o.zip,
                &Default::default(),
            )?),
            Some(Version {
                ts: o.pointer.ts,
                sha256: o.object_sha256,
            }),
        ),
        None => (None, None),
    };
    let pushed_env = pushed
        .as_ref()
        .map(|b| Zeroizing::new(b.env_file(&ctx.env).map(<[u8]>::to_vec).unwrap_or_default()));
    if from_local {
        let text = working_copy(ctx, local_text, pushed_env)?;
        let parsed = shape(&text, ctx, policy, &policy::Disk)?;
        return Ok(Loaded {
            parsed,
            version: None,
        });
    }
    let (Some(p), Some(bundle)) = (pushed_env, pushed) else {
        return Err(CliError::new(
            ExitKind::NotFound,
            format!("nothing pushed yet for {}/{}", ctx.checkout.repo, ctx.env),
        )
        .with_hint(format!("vsync push {}", ctx.env)));
    };
    if local_text
        .as_deref()
        .is_some_and(|l| l.as_slice() != p.as_slice())
    {
        output::warn(format!(
            "the working copy differs from the pushed vault; syncing the pushed one (vsync push {} first, or --from-local)",
            ctx.env
        ));
    }
    let files = BundleFiles {
        root: vault_root,
        bundle,
        env: ctx.env.clone(),
    };
    Ok(Loaded {
        parsed: shape(&p, ctx, policy, &files)?,
        version,
    })
}

/// A pushed bundle's items exactly as `vsync sync` shapes them with `policy` (file references
/// inside the vault folder are the bundle's assets).
pub(crate) fn shape_bundle(
    ctx: &EnvContext,
    bundle: vsync_vault::zip_bundle::Bundle,
    policy: &Policy,
) -> Result<policy::Parsed, CliError> {
    let text = Zeroizing::new(
        bundle
            .env_file(&ctx.env)
            .map(<[u8]>::to_vec)
            .unwrap_or_default(),
    );
    let files = BundleFiles {
        root: ctx.vault_dir(),
        bundle,
        env: ctx.env.clone(),
    };
    shape(&text, ctx, policy, &files)
}

/// Parse env text and apply the policy. A value that is not UTF-8 is refused (key named), never
/// synced as U+FFFD.
fn shape(
    text: &[u8],
    ctx: &EnvContext,
    policy: &Policy,
    files: &dyn FileSource,
) -> Result<policy::Parsed, CliError> {
    let roots = Roots {
        vault_root: ctx.vault_dir(),
        home: machine::home(crate::settings::env()),
    };
    let pairs = vsync_vault::envfile::parse(vsync_vault::envfile::decode(text)?);
    policy::apply(&pairs, policy, &roots, files)
        .map_err(|bad| CliError::new(ExitKind::Failed, policy::bad_refs_message(&bad)))
}

/// `--from-local`: the working copy's env file, with a warning when it is not what was pushed.
fn working_copy(
    ctx: &EnvContext,
    local_text: Option<Zeroizing<Vec<u8>>>,
    pushed_env: Option<Zeroizing<Vec<u8>>>,
) -> Result<Zeroizing<Vec<u8>>, CliError> {
    output::note("syncing the local working copy (--from-local), not the pushed vault");
    let local = local_text.ok_or_else(|| {
        CliError::new(
            ExitKind::NotFound,
            format!("no working copy .env.{}", ctx.env),
        )
    })?;
    if pushed_env.as_deref().map(|p| p.as_slice()) != Some(local.as_slice()) {
        output::warn("the working copy differs from the pushed vault");
    }
    Ok(local)
}

/// File references resolved against the pushed bundle: a path inside the vault folder is the
/// pushed asset (not whatever the working copy holds now); any other path is read from disk.
struct BundleFiles {
    root: PathBuf,
    bundle: vsync_vault::zip_bundle::Bundle,
    env: String,
}

impl FileSource for BundleFiles {
    fn read(&self, path: &Path) -> std::io::Result<Option<Zeroizing<Vec<u8>>>> {
        let Ok(rel) = normalise_path(path)
            .strip_prefix(&self.root)
            .map(|p| p.to_owned())
        else {
            return policy::Disk.read(path);
        };
        Ok(self
            .bundle
            .assets(&self.env)
            .find(|(name, _)| Path::new(name) == rel)
            .map(|(_, data)| Zeroizing::new(data.to_vec())))
    }
}

/// `a/./b/../c` → `a/c`, lexically (the file may exist only in the bundle).
fn normalise_path(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The parser policy in force, before anything is read.
pub(super) fn print_policy(p: &Policy) {
    output::line("\nParser policy:");
    if p.inline_suffixes.is_empty() {
        output::line("  inline-file-suffix: (none — file refs disabled)");
    }
    for s in &p.inline_suffixes {
        output::line(format!("  inline-file-suffix: {s}"));
    }
    if p.exclude.is_empty() {
        output::line("  exclude-property:   (none — nothing skipped)");
    }
    for k in &p.exclude {
        output::line(format!("  exclude-property:   {k}"));
    }
}
