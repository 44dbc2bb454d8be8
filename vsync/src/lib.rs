//! The vsync command-line tool. `main.rs` calls [`main`]; everything else lives here so tests
//! can drive it.

pub mod cli;
pub mod error;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::{CliError, ExitKind};

/// Parse `args`, run the verb, print the outcome and return the exit code.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { ExitKind::Usage.code() } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::from(e.kind.code())
        }
    }
}

#[allow(clippy::print_stderr)]
fn report(e: &CliError) {
    eprintln!("error: {}", e.message);
    if let Some(hint) = &e.hint {
        eprintln!("hint: {hint}");
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let verb = match cli.command {
        Command::Init(_) => "init",
        Command::Profile(_) => "profile",
        Command::Keystore(_) => "keystore",
        Command::Push(_) => "push",
        Command::Pull(_) => "pull",
        Command::Versions(_) => "versions",
        Command::Use(_) => "use",
        Command::Export(_) => "export",
        Command::Import(_) => "import",
        Command::Sync(_) => "sync",
        Command::RuntimeToken(_) => "runtime-token",
        Command::RotatePassphrase(_) => "rotate-passphrase",
        Command::Status(_) => "status",
        Command::Audit(_) => "audit",
        Command::Diff(_) => "diff",
        Command::Rollback(_) => "rollback",
        Command::Doctor(_) => "doctor",
        Command::Key(_) => "key",
        Command::Run(_) => "run",
        Command::Plugins(_) => "plugins",
        Command::Docs(_) => "docs",
        Command::Completions(_) => "completions",
    };
    Err(CliError::new(ExitKind::Failed, format!("vsync {verb}: not implemented yet")))
}
