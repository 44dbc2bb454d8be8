//! The vsync command-line tool. `main.rs` calls [`main`]; everything else lives here so tests
//! can drive it.
//!
//! Map: [`cli`] is the grammar, [`settings`] turns it (with the environment and config) into
//! typed settings, [`commands`] one module per verb, [`context`] resolves the
//! checkout/config/key/bucket a verb works on, [`local`] is this machine's state, [`keychain`]
//! the OS keychain, [`output`] the only printer, [`error`] the exit codes.

pub mod audit_row;
pub mod cli;
pub mod commands;
pub mod context;
pub mod error;
pub mod key_proof;
pub mod keychain;
pub mod latest;
pub mod local;
mod locked_dir;
pub mod output;
pub mod passphrase;
pub mod plugins;
pub mod reference;
pub mod run;
pub mod settings;
mod staging;
pub mod sync;
pub mod version_name;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::Cli;
use crate::error::{CliError, ExitKind};
use crate::settings::{Global, Settings, Verb};

/// Parse `args`, run the verb, print the outcome and return the exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let args: Vec<OsString> = args.into_iter().collect();
    // a plugin child (docs/plugins.md): no CLI, no runtime, nothing read from the arguments
    if args.len() == 2 && args[1] == plugins::child::HOST_ARG {
        return plugins::child::run();
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                ExitKind::Usage.code()
            } else {
                0
            };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let settings = match Settings::resolve(cli, settings::env()) {
        Ok(s) => s,
        Err((e, global)) => return fail(&e, global.verbose),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            output::error(&format!("cannot start the async runtime: {e}"), None);
            return ExitCode::from(ExitKind::Failed.code());
        }
    };
    let verbose = settings.global.verbose;
    match runtime.block_on(run(settings)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => fail(&e, verbose),
    }
}

fn fail(e: &CliError, verbose: bool) -> ExitCode {
    output::error(&e.message, e.hint.as_deref());
    if verbose {
        output::note(format!("exit kind: {:?}", e.kind));
    }
    ExitCode::from(e.kind.code())
}

async fn run(settings: Settings) -> Result<u8, CliError> {
    let g = settings.global;
    if let Verb::Run(s) = settings.verb {
        return commands::run_cmd::run(s, &g).await;
    }
    dispatch(settings.verb, &g).await.map(|()| 0)
}

async fn dispatch(verb: Verb, g: &Global) -> Result<(), CliError> {
    match verb {
        Verb::Init(s) => commands::init::run(*s, g).await,
        Verb::Profile(s) => commands::profile::run(s, g),
        Verb::Push(s) => commands::push::run(s, g).await,
        Verb::Pull(s) => commands::pull::run(s, g).await,
        Verb::Versions { env } => commands::versions::run(&env, g).await,
        Verb::Use { env, link } => commands::use_env::run(env, link, g),
        Verb::Status { quiet } => commands::status::run(quiet, g).await,
        Verb::Audit(s) => commands::audit::run(s, g).await,
        Verb::Diff {
            env,
            from_to,
            allow_rollback,
        } => commands::diff::run(&env, from_to, allow_rollback, g).await,
        Verb::Rollback { env, ts } => commands::rollback::run(&env, &ts, g).await,
        Verb::Doctor { env } => commands::doctor::run(env, g).await,
        Verb::KeyShow { env, out, yes } => commands::key::show(&env, out, yes, g).await,
        Verb::Completions { shell } => completions(&shell),
        Verb::Keystore(s) => commands::keystore::run(s, g).await,
        Verb::Export(s) => commands::share::export(s, g).await,
        Verb::Import(s) => commands::share::import(s, g).await,
        Verb::Sync(s) => commands::sync::run(*s, g).await,
        Verb::RuntimeToken {
            env,
            no_validate,
            allow_rollback,
        } => commands::runtime_token::run(&env, no_validate, allow_rollback, g).await,
        Verb::RotatePassphrase(s) => commands::rotate::run(s, g).await,
        Verb::RestoreBackup(s) => commands::restore_backup::run(s, g).await,
        Verb::Run(_) => Err(CliError::new(
            ExitKind::Failed,
            "internal: run is dispatched earlier",
        )),
        Verb::PluginsList { env } => commands::plugins::list(env, g).await,
        Verb::PluginsCheck(s) => {
            commands::plugin_check::run(&s.path, &s.opt, s.timeout, g.json).await
        }
        Verb::CiMask { env } => commands::ci::mask(&env, g).await,
        Verb::Docs { topic } => docs(topic.as_deref()),
        Verb::Releases(s) => commands::releases::run(s, g).await,
        Verb::Why(s) => commands::why::run(s, g).await,
    }
}

fn docs(topic: Option<&str>) -> Result<(), CliError> {
    let text = match topic.unwrap_or("quickstart") {
        "quickstart" => include_str!("../../docs/quickstart.md").to_owned(),
        "security" => include_str!("../../docs/security.md").to_owned(),
        "cli" | "reference" => reference::markdown(),
        other => {
            return Err(
                CliError::new(ExitKind::Usage, format!("no guide called {other:?}"))
                    .with_hint("vsync docs quickstart | security | cli"),
            );
        }
    };
    output::line(text.trim_end());
    Ok(())
}

fn completions(shell: &str) -> Result<(), CliError> {
    use clap::CommandFactory;
    let shell: clap_complete::Shell = shell.parse().map_err(|_| {
        CliError::new(
            ExitKind::Usage,
            format!("unknown shell {shell:?}: use bash, zsh, fish, elvish or powershell"),
        )
    })?;
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "vsync", &mut std::io::stdout());
    Ok(())
}
