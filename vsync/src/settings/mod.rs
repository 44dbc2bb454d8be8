//! Settings: the one layer between the command-line grammar ([`crate::cli`]) and the verbs.
//!
//! Each setting is resolved in one documented order, highest first:
//!
//! 1. a command-line flag;
//! 2. an environment variable ([`environment::Var`], listed in `vsync --help` and docs/cli.md);
//! 3. the per-(repo, env) config file (e.g. `sync.<id>` routing, `audit`, the store);
//! 4. the built-in default.
//!
//! Keyless mode is the one place where the environment replaces the config file as a whole:
//! `VSYNC_CONFIG` + `VSYNC_PASSPHRASE` stand for the config and the keychain ([`keyless`]).
//!
//! Every environment variable the CLI reads is read in [`environment`] (a test fails on a read
//! anywhere else in `vsync/src`, apart from an allow-list of late reads with their reasons).
//! Machine-wide settings (folders, keychain, CI signals) are in [`machine`]; verb settings in
//! [`verbs`] and [`sync`]; the audit controls every writing verb shares in [`audit`].

pub mod audit;
pub mod environment;
pub mod help;
pub mod keyless;
pub mod machine;
pub mod provenance;
pub mod sync;
pub mod verbs;

use std::time::Duration;

use environment::Environment;
use verbs::{
    AuditLogSettings, ExportSettings, ImportSettings, InitSettings, KeystoreExportSettings,
    KeystoreImportSettings, KeystoreVerb, PluginCheckSettings, ProfileVerb, PullSettings,
    PushSettings, RestoreBackupSettings, RotateSettings, RunSettings,
};

pub use environment::env;

use crate::cli::{
    CiCommand, Cli, Command, KeyCommand, KeystoreCommand, PluginsCommand, ProfileCommand,
};
use crate::error::CliError;
use crate::passphrase::input::PassphraseInput;

/// Settings every verb shares.
#[derive(Debug, Clone, Default)]
pub struct Global {
    /// `--repo`: the repo identity for this invocation.
    pub repo: Option<String>,
    /// `--json`.
    pub json: bool,
    /// `--verbose`, or `VSYNC_LOG=debug`.
    pub verbose: bool,
}

impl Global {
    /// The `--repo` override, if given.
    pub fn repo(&self) -> Option<&str> {
        self.repo.as_deref()
    }
}

/// One invocation: the shared settings and the verb's.
#[derive(Debug)]
pub struct Settings {
    /// Shared by every verb.
    pub global: Global,
    /// The verb and its settings.
    pub verb: Verb,
}

/// A verb with its settings.
#[derive(Debug)]
#[allow(missing_docs)]
pub enum Verb {
    Init(Box<InitSettings>),
    Profile(ProfileVerb),
    Keystore(KeystoreVerb),
    Push(PushSettings),
    Pull(PullSettings),
    Versions {
        env: String,
    },
    Use {
        env: Option<String>,
        link: Option<std::path::PathBuf>,
    },
    Export(ExportSettings),
    Import(ImportSettings),
    Sync(Box<sync::SyncSettings>),
    RuntimeToken {
        env: String,
        no_validate: bool,
        allow_rollback: bool,
    },
    RotatePassphrase(RotateSettings),
    Status {
        quiet: bool,
    },
    Audit(AuditLogSettings),
    Diff {
        env: String,
        from_to: Option<(String, String)>,
        allow_rollback: bool,
    },
    Rollback {
        env: String,
        ts: String,
    },
    Doctor {
        env: Option<String>,
    },
    KeyShow {
        env: String,
        out: Option<std::path::PathBuf>,
        yes: bool,
    },
    Run(RunSettings),
    CiMask {
        env: String,
    },
    RestoreBackup(RestoreBackupSettings),
    PluginsList {
        env: Option<String>,
    },
    PluginsCheck(PluginCheckSettings),
    Docs {
        topic: Option<String>,
    },
    Completions {
        shell: String,
    },
    Releases(provenance::ReleasesSettings),
    Why(provenance::WhySettings),
}

impl Settings {
    /// Resolve the parsed command line against `env`. Fails only on flag combinations the
    /// grammar cannot express (reported as the verb always reported them, before it ran); the
    /// error comes with the global settings, which say how to report it.
    pub fn resolve(cli: Cli, env: &Environment) -> Result<Self, (CliError, Global)> {
        let global = Global {
            repo: cli.global.repo,
            json: cli.global.json,
            verbose: cli.global.verbose || machine::debug_log(env),
        };
        let verb = match cli.command {
            Command::Init(a) => Verb::Init(Box::new(InitSettings::resolve(a, env))),
            Command::Profile(c) => Verb::Profile(match c {
                ProfileCommand::List => ProfileVerb::List,
                ProfileCommand::Show { name } => ProfileVerb::Show(name),
                ProfileCommand::Add(a) => ProfileVerb::Add(a.into()),
                ProfileCommand::Remove { name, yes } => ProfileVerb::Remove(name, yes),
            }),
            Command::Keystore(c) => Verb::Keystore(keystore(c, env)),
            Command::Push(a) => Verb::Push(PushSettings::resolve(a, env)),
            Command::Pull(a) => Verb::Pull(PullSettings::resolve(a, env)),
            Command::Versions(a) => Verb::Versions { env: a.env },
            Command::Use(a) => Verb::Use {
                env: a.env,
                link: a.link,
            },
            Command::Export(a) => Verb::Export(ExportSettings {
                env: a.env,
                out: a.out,
                passphrase: PassphraseInput::new(a.passphrase, a.passphrase_file),
                force: a.force,
            }),
            Command::Import(a) => Verb::Import(ImportSettings {
                env: a.env,
                file: a.file,
                passphrase: PassphraseInput::new(a.passphrase, a.passphrase_file),
            }),
            Command::Sync(a) => match sync::SyncSettings::resolve(a, env) {
                Ok(s) => Verb::Sync(Box::new(s)),
                Err(e) => return Err((e, global)),
            },
            Command::RuntimeToken(a) => Verb::RuntimeToken {
                env: a.env,
                no_validate: a.no_validate,
                allow_rollback: a.allow_rollback,
            },
            Command::RotatePassphrase(a) => Verb::RotatePassphrase(RotateSettings {
                env: a.env,
                yes: a.yes,
                new_key: a.new_passphrase,
                old_key: a.old_passphrase,
                crash_after_step: machine::crash_after_step(env),
            }),
            Command::Status(a) => Verb::Status { quiet: a.quiet },
            Command::Audit(a) => Verb::Audit(AuditLogSettings {
                env: a.env,
                action: a.action,
                actor: a.actor,
                since: a.since,
                csv: a.csv,
                verify: a.verify,
            }),
            Command::Diff(a) => Verb::Diff {
                env: a.env,
                // the grammar makes --from and --to require each other
                from_to: a.from.zip(a.to),
                allow_rollback: a.allow_rollback,
            },
            Command::Rollback(a) => Verb::Rollback {
                env: a.env,
                ts: a.ts,
            },
            Command::Doctor(a) => Verb::Doctor { env: a.env },
            Command::Key(KeyCommand::Show { env, out, yes }) => Verb::KeyShow { env, out, yes },
            Command::Run(a) => Verb::Run(RunSettings {
                env: a.env,
                no_override: a.no_override,
                allow_rollback: a.allow_rollback,
                redact: a.redact,
                command: a.command,
            }),
            Command::Ci(CiCommand::Mask { env }) => Verb::CiMask { env },
            Command::RestoreBackup(a) => Verb::RestoreBackup(RestoreBackupSettings {
                env: a.env,
                backup: a.backup,
                target_dir: a.target_dir,
                list: a.list,
            }),
            Command::Plugins(PluginsCommand::List { env }) => Verb::PluginsList { env },
            Command::Plugins(PluginsCommand::Check { path, opt, timeout }) => {
                Verb::PluginsCheck(PluginCheckSettings {
                    path,
                    opt,
                    timeout: Duration::from_secs(timeout.max(1)),
                })
            }
            Command::Docs(a) => Verb::Docs { topic: a.topic },
            Command::Completions(a) => Verb::Completions { shell: a.shell },
            Command::Releases(a) => Verb::Releases(provenance::ReleasesSettings { env: a.env }),
            Command::Why(a) => {
                match provenance::WhySettings::resolve(a.key, a.env, a.release, a.at) {
                    Ok(s) => Verb::Why(s),
                    Err(e) => return Err((e, global)),
                }
            }
        };
        Ok(Self { global, verb })
    }
}

fn keystore(c: KeystoreCommand, env: &Environment) -> KeystoreVerb {
    match c {
        KeystoreCommand::List => KeystoreVerb::List,
        KeystoreCommand::Export(a) => KeystoreVerb::Export(KeystoreExportSettings {
            all: a.all,
            only_repo: a.only_repo,
            envs: a.env,
            profiles: a.profiles,
            out: a.out,
            passphrase: PassphraseInput::new(a.passphrase, a.passphrase_file),
            force: a.force,
            host_name: machine::host_name(env).map(str::to_owned),
        }),
        KeystoreCommand::Import(a) => KeystoreVerb::Import(KeystoreImportSettings {
            file: a.file,
            passphrase: PassphraseInput::new(a.passphrase, a.passphrase_file),
            force: a.force,
        }),
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::environment::Var;
    use super::*;

    fn resolve(argv: &[&str], env: &Environment) -> Settings {
        let cli =
            Cli::try_parse_from(std::iter::once("vsync").chain(argv.iter().copied())).unwrap();
        Settings::resolve(cli, env).map_err(|(e, _)| e).unwrap()
    }

    #[test]
    fn verbose_is_the_flag_or_vsync_log_debug() {
        let quiet = Environment::default();
        let debug = Environment::from_pairs(&[(Var::VsyncLog, "DEBUG")]);
        assert!(!resolve(&["status"], &quiet).global.verbose);
        assert!(resolve(&["status", "-v"], &quiet).global.verbose);
        assert!(resolve(&["status"], &debug).global.verbose);
    }

    #[test]
    fn init_flags_beat_the_aws_environment_which_beats_the_default() {
        let env = Environment::from_pairs(&[
            (Var::AwsRegion, "eu-west-3"),
            (Var::AwsEndpointUrl, "http://env:9000"),
        ]);
        let Verb::Init(s) = resolve(&["init", "dev"], &env).verb else {
            unreachable!()
        };
        assert_eq!(s.s3.region, "eu-west-3");
        assert_eq!(s.s3.endpoint, "http://env:9000");
        let Verb::Init(s) = resolve(
            &[
                "init",
                "dev",
                "--s3-region",
                "ap-south-1",
                "--s3-endpoint",
                "http://flag:9000",
            ],
            &env,
        )
        .verb
        else {
            unreachable!()
        };
        assert_eq!(s.s3.region, "ap-south-1");
        assert_eq!(s.s3.endpoint, "http://flag:9000");
        let Verb::Init(s) = resolve(&["init", "dev"], &Environment::default()).verb else {
            unreachable!()
        };
        assert_eq!(s.s3.region, "us-east-1");
        assert_eq!(s.s3.endpoint, "https://s3.us-east-1.amazonaws.com");
    }

    #[test]
    fn an_empty_endpoint_variable_is_unset_but_an_empty_region_is_kept() {
        // today's rules, kept: AWS_ENDPOINT_URL="" falls to the region's endpoint
        let env = Environment::from_pairs(&[(Var::AwsEndpointUrl, "")]);
        let Verb::Init(s) = resolve(&["init", "dev"], &env).verb else {
            unreachable!()
        };
        assert_eq!(s.s3.endpoint, "https://s3.us-east-1.amazonaws.com");
    }

    #[test]
    fn azure_account_flag_is_kept_apart_from_the_environment() {
        let env = Environment::from_pairs(&[
            (Var::AzureStorageAccountName, "fromenv"),
            (Var::AzureStorageUseEmulator, "1"),
        ]);
        let Verb::Init(s) = resolve(&["init", "dev", "--azure-storage-account", "flag"], &env).verb
        else {
            unreachable!()
        };
        assert_eq!(s.cloud.azure_account.as_deref(), Some("flag"));
        assert_eq!(s.cloud.azure_account_env.as_deref(), Some("fromenv"));
        assert!(s.cloud.azure_emulator);
    }
}
