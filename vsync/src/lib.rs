//! The vsync command-line tool. `main.rs` calls [`main`]; everything else lives here so tests
//! can drive it.
//!
//! Map: [`cli`] is the grammar, [`commands`] one module per verb, [`context`] resolves the
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
pub mod output;
pub mod passphrase;
pub mod passphrase_input;
pub mod plugins;
pub mod reference;
pub mod run;
pub mod sync;
pub mod version_name;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::{CliError, ExitKind};

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
    let verbose = cli.global.verbose
        || std::env::var("VSYNC_LOG").is_ok_and(|v| v.eq_ignore_ascii_case("debug"));
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
    match runtime.block_on(run(cli)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            output::error(&e.message, e.hint.as_deref());
            if verbose {
                output::note(format!("exit kind: {:?}", e.kind));
            }
            ExitCode::from(e.kind.code())
        }
    }
}

async fn run(cli: Cli) -> Result<u8, CliError> {
    let repo = cli.global.repo.as_deref();
    let json = cli.global.json;
    if let Command::Run(a) = cli.command {
        return commands::run_cmd::run(a, repo).await;
    }
    dispatch(cli.command, repo, json).await.map(|()| 0)
}

async fn dispatch(command: Command, repo: Option<&str>, json: bool) -> Result<(), CliError> {
    match command {
        Command::Init(a) => commands::init::run(a, repo).await,
        Command::Profile(c) => commands::profile::run(c, json),
        Command::Push(a) => commands::push::run(a, repo).await,
        Command::Pull(a) => commands::pull::run(a, repo).await,
        Command::Versions(a) => commands::versions::run(a, repo, json).await,
        Command::Use(a) => commands::use_env::run(a, repo),
        Command::Status(a) => commands::status::run(a, repo, json).await,
        Command::Audit(a) => commands::audit::run(a, repo, json).await,
        Command::Diff(a) => commands::diff::run(a, repo, json).await,
        Command::Rollback(a) => commands::rollback::run(a, repo).await,
        Command::Doctor(a) => commands::doctor::run(a, repo, json).await,
        Command::Key(c) => commands::key::run(c, repo).await,
        Command::Completions(a) => completions(&a.shell),
        Command::Keystore(c) => commands::keystore::run(c, json).await,
        Command::Export(a) => commands::share::export(a, repo).await,
        Command::Import(a) => commands::share::import(a, repo).await,
        Command::Sync(a) => commands::sync::run(a, repo, json).await,
        Command::RuntimeToken(a) => commands::runtime_token::run(a, repo).await,
        Command::RotatePassphrase(a) => commands::rotate::run(a, repo).await,
        Command::RestoreBackup(a) => commands::restore_backup::run(a, repo, json).await,
        Command::Run(_) => Err(CliError::new(
            ExitKind::Failed,
            "internal: run is dispatched earlier",
        )),
        Command::Plugins(c) => commands::plugins::run(c, repo, json).await,
        Command::Ci(c) => commands::ci::run(c, repo).await,
        Command::Docs(a) => docs(a.topic.as_deref()),
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
