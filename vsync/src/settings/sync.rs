//! `vsync sync`'s settings: the targets, the mode (apply, plan, offline plan), the parser policy
//! and the per-target options, checked before anything is read. Routing precedence (flag or
//! `--opt` > the config's `sync.<id>` block > the destination's defaults and its own
//! environment variables) is applied per target by the destination's `resolve_routing`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use vsync_dest_api::OptionMap;

use super::audit::AuditSettings;
use super::environment::Environment;
use crate::cli::SyncArgs;
use crate::error::{CliError, ExitKind};
use crate::sync::policy::Policy;
use crate::sync::registry::canonical;

/// What a sync run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// Write to the destinations.
    Apply,
    /// `--plan` / `--dry-run`: show the changes, write nothing.
    Plan,
    /// `--dry-run=offline`: as `Plan`, without contacting the destinations.
    OfflinePlan,
}

/// Everything `vsync sync` needs from its flags.
#[derive(Debug)]
pub struct SyncSettings {
    /// The env.
    pub env: String,
    /// Canonical target ids, deduplicated, in the order given.
    pub targets: Vec<String>,
    /// Apply or plan.
    pub mode: SyncMode,
    /// Delete managed names that left the vault.
    pub prune: bool,
    /// Confirmed in advance (`--yes`).
    pub yes: bool,
    /// Parallel requests per target.
    pub jobs: usize,
    /// Requests per second per target.
    pub rate: Option<f64>,
    /// The whole run's budget, and each plugin call's (at least one second).
    pub timeout: Duration,
    /// Sync the working copy instead of the pushed vault.
    pub from_local: bool,
    /// Accept an older `latest`.
    pub allow_rollback: bool,
    /// `--plugin` files.
    pub plugins: Vec<PathBuf>,
    /// The parser policy.
    pub policy: Policy,
    /// Per-target options from the flags and `--opt`, by canonical id.
    pub options: BTreeMap<String, OptionMap>,
    /// `--no-progress`.
    pub no_progress: bool,
    /// Audit controls.
    pub audit: AuditSettings,
    /// How many targets run at the same time (at least 1; `None`: all of them).
    pub targets_at_once: Option<usize>,
    /// `--plan-out FILE`: plan, and save the plan there.
    pub plan_out: Option<PathBuf>,
    /// `--apply FILE`: apply exactly this saved plan.
    pub apply_plan: Option<PathBuf>,
    /// `--format md`: the plan as Markdown on stdout.
    pub markdown: bool,
    /// `--release`: the release recorded in the provenance entry (else the tag at HEAD).
    pub release: Option<String>,
    /// `--attest`: where to write the in-toto Statement of this sync.
    pub attest: Option<PathBuf>,
    /// The CI run recorded in the provenance entry, when the environment names one.
    pub ci: Option<crate::sync::provenance::entry::CiRun>,
}

impl SyncSettings {
    /// How many of `targets` targets run at the same time: the bound, at least 1, at most all.
    pub fn at_once(&self, targets: usize) -> usize {
        self.targets_at_once
            .unwrap_or(targets)
            .clamp(1, targets.max(1))
    }

    /// Check and type the flags (errors in the order the verb always reported them).
    pub fn resolve(a: SyncArgs, env: &Environment) -> Result<Self, CliError> {
        let mode = match a.dry_run.as_deref() {
            None if a.plan || a.plan_out.is_some() => SyncMode::Plan,
            None => SyncMode::Apply,
            Some("online") => SyncMode::Plan,
            Some("offline") => SyncMode::OfflinePlan,
            Some(other) => {
                return Err(CliError::new(
                    ExitKind::Usage,
                    format!("--dry-run={other}: the only value is offline"),
                ));
            }
        };
        let mut targets: Vec<String> = Vec::new();
        for t in a.to.iter().chain(a.target.iter()) {
            let c = canonical(t);
            if !c.is_empty() && !targets.contains(&c) {
                targets.push(c);
            }
        }
        let env_name = a.env.clone().unwrap_or_default();
        // with --apply the plan names the targets (and the env)
        if targets.is_empty() && a.apply.is_none() {
            return Err(CliError::new(ExitKind::Usage, "no target given")
                .with_hint(format!("vsync sync {env_name} --to github,aws")));
        }
        let options = collect_options(&a)?;
        // with --apply the plan names the targets: the bound is applied to them when they are known
        let targets_at_once = match a.targets_at_once {
            None => None,
            Some(0) => {
                return Err(CliError::new(
                    ExitKind::Usage,
                    "--targets-at-once 0: at least one target must run",
                )
                .with_hint("--targets-at-once 1 runs the targets one after another"));
            }
            Some(n) => Some(n),
        };
        let release = a
            .release
            .as_deref()
            .map(super::provenance::release_name)
            .transpose()?;
        if a.attest.is_some() && (mode != SyncMode::Apply || a.from_local) {
            return Err(CliError::new(
                ExitKind::Usage,
                "--attest describes what a sync wrote from a pushed version: not with --plan, --dry-run or --from-local",
            ));
        }
        Ok(Self {
            targets,
            mode,
            prune: a.prune,
            yes: a.yes,
            jobs: a.jobs,
            rate: a.rate,
            timeout: Duration::from_secs(a.timeout.max(1)),
            from_local: a.from_local,
            allow_rollback: a.allow_rollback,
            policy: Policy {
                exclude: a.exclude_property,
                inline_suffixes: a.inline_file_suffix,
            },
            options,
            no_progress: a.no_progress,
            audit: AuditSettings::resolve(a.audit, env),
            plugins: a.plugin,
            env: env_name,
            targets_at_once,
            plan_out: a.plan_out,
            apply_plan: a.apply,
            markdown: a.format.as_deref() == Some("md"),
            release,
            attest: a.attest,
            ci: super::provenance::ci_run(env),
        })
    }

    /// Whether nothing is written (`--plan`, `--dry-run`).
    pub fn plan_only(&self) -> bool {
        self.mode != SyncMode::Apply
    }

    /// Whether the destinations are not contacted (`--dry-run=offline`).
    pub fn offline(&self) -> bool {
        self.mode == SyncMode::OfflinePlan
    }
}

/// Per-target options from the explicit flags, then `--opt id.key=value` (which wins).
fn collect_options(a: &SyncArgs) -> Result<BTreeMap<String, OptionMap>, CliError> {
    let mut m: BTreeMap<String, OptionMap> = BTreeMap::new();
    let flags = [
        ("jsonfile", "path", &a.jsonfile_path),
        ("github", "repo", &a.github_repo),
        ("github", "environment", &a.github_environment),
        ("github", "scope", &a.github_scope),
        ("aws", "region", &a.aws_region),
        ("aws", "secretPrefix", &a.aws_secret_prefix),
        ("aws", "mode", &a.aws_mode),
        ("aws", "secret_name", &a.aws_secret_name),
        ("hashivault", "addr", &a.vault_addr),
        ("hashivault", "mount", &a.vault_mount),
        ("hashivault", "secretPath", &a.vault_path),
        ("gcp", "project", &a.gcp_project),
        ("gcp", "prefix", &a.gcp_prefix),
        ("gcp", "replication", &a.gcp_replication),
        ("gcp", "labels", &a.gcp_labels),
        ("azure", "vaultName", &a.azure_vault),
        ("azure", "nameMap", &a.azure_name_map),
    ];
    for (id, k, v) in flags {
        if let Some(v) = v {
            m.entry(id.into()).or_default().insert(k.into(), v.clone());
        }
    }
    for o in &a.opt {
        let bad = || {
            CliError::new(
                ExitKind::Usage,
                format!("--opt {o:?}: expected id.key=value"),
            )
        };
        let (lhs, v) = o.split_once('=').ok_or_else(bad)?;
        let (id, k) = lhs.split_once('.').ok_or_else(bad)?;
        m.entry(canonical(id))
            .or_default()
            .insert(k.into(), v.into());
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn settings(argv: &[&str]) -> Result<SyncSettings, CliError> {
        let cli = Cli::try_parse_from(["vsync", "sync"].iter().chain(argv)).unwrap();
        let Command::Sync(a) = cli.command else {
            unreachable!()
        };
        SyncSettings::resolve(a, &Environment::default())
    }

    #[test]
    fn dry_run_is_a_plan_and_offline_is_its_own_mode() {
        assert_eq!(settings(&["dev", "gh"]).unwrap().mode, SyncMode::Apply);
        let s = settings(&["dev", "--to", "gh,vault,github", "--dry-run"]).unwrap();
        assert_eq!(s.mode, SyncMode::Plan);
        assert_eq!(s.targets, ["github", "hashivault"]);
        let s = settings(&["dev", "gh", "--plan", "--dry-run=offline"]).unwrap();
        assert!(s.offline() && s.plan_only());
        let e = settings(&["dev", "gh", "--dry-run=later"]).err().unwrap();
        assert_eq!(e.kind, ExitKind::Usage);
        assert_eq!(
            settings(&["dev"]).err().map(|e| e.message),
            Some("no target given".to_owned())
        );
    }

    #[test]
    fn opt_beats_the_named_flag_of_the_same_option() {
        let s = settings(&[
            "dev",
            "--to",
            "github",
            "--github-repo",
            "a/flag",
            "--opt",
            "gh.repo=b/opt",
            "--timeout",
            "0",
        ])
        .unwrap();
        assert_eq!(s.options["github"]["repo"], "b/opt");
        assert_eq!(s.timeout, Duration::from_secs(1));
        let e = settings(&["dev", "gh", "--opt", "nodot=1"]).err().unwrap();
        assert_eq!(e.kind, ExitKind::Usage);
    }

    #[test]
    fn targets_at_once_defaults_to_all_and_zero_is_a_usage_error() {
        let s = settings(&["dev", "--to", "github,aws,gcp"]).unwrap();
        assert_eq!(s.at_once(3), 3);
        let s = settings(&["dev", "--to", "github,aws", "--targets-at-once", "1"]).unwrap();
        assert_eq!(s.at_once(2), 1);
        let s = settings(&["dev", "--to", "github,aws", "--targets-at-once", "9"]).unwrap();
        assert_eq!(s.at_once(2), 2);
        let e = settings(&["dev", "gh", "--targets-at-once", "0"])
            .err()
            .unwrap();
        assert_eq!(e.kind, ExitKind::Usage);
    }

    #[test]
    fn plan_out_is_a_plan_and_apply_takes_env_and_targets_from_the_file() {
        let s = settings(&["dev", "--to", "gh", "--plan-out", "p.json"]).unwrap();
        assert_eq!(s.mode, SyncMode::Plan);
        assert!(!s.markdown);
        let s = settings(&["dev", "gh", "--plan-out", "p.json", "--format", "md"]).unwrap();
        assert!(s.markdown);
        let s = settings(&["--apply", "p.json"]).unwrap();
        assert_eq!(s.mode, SyncMode::Apply);
        assert!(s.env.is_empty() && s.targets.is_empty());
        assert_eq!(
            s.apply_plan.as_deref(),
            Some(std::path::Path::new("p.json"))
        );
        // mixed modes, a format without a plan, and no env without a plan are grammar errors
        for argv in [
            &["dev", "gh", "--plan-out", "p", "--apply", "q"][..],
            &["dev", "gh", "--plan-out", "p", "--dry-run=offline"],
            &["dev", "gh", "--plan-out", "p", "--from-local"],
            &["--apply", "p", "--plan"],
            &["dev", "gh", "--format", "md"],
            &["dev", "gh", "--plan-out", "p", "--format", "html"],
            &[],
        ] {
            let parsed = Cli::try_parse_from(["vsync", "sync"].iter().chain(argv));
            assert!(parsed.is_err(), "{argv:?}");
        }
    }
}
