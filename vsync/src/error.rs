//! Errors at the CLI edge and the one place that turns them into exit codes.
//!
//! Rules: a message is one line saying what failed; `hint` is the next command to run.
//! Never format a secret value (key, passphrase, env value) into either.

use std::fmt;

/// The exit codes of DECISIONS §6. Every failure is classified into exactly one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitKind {
    /// 0: success.
    Ok,
    /// 1: the operation failed.
    Failed,
    /// 2: bad usage (unknown flag, bad env name, missing argument).
    Usage,
    /// 3: not found / nothing pushed.
    NotFound,
    /// 4: integrity (corrupt bundle, wrong key, seal mismatch, rollback).
    Integrity,
    /// 5: conflict (remote advanced, local edits).
    Conflict,
    /// 6: partial (sync: some keys failed).
    Partial,
}

impl ExitKind {
    /// The process exit code for this kind.
    pub fn code(self) -> u8 {
        match self {
            ExitKind::Ok => 0,
            ExitKind::Failed => 1,
            ExitKind::Usage => 2,
            ExitKind::NotFound => 3,
            ExitKind::Integrity => 4,
            ExitKind::Conflict => 5,
            ExitKind::Partial => 6,
        }
    }
}

/// A failure ready to show to the user.
#[derive(Debug)]
pub struct CliError {
    /// Which exit code this failure maps to.
    pub kind: ExitKind,
    /// One line: what failed.
    pub message: String,
    /// The next command to run, when there is one.
    pub hint: Option<String>,
}

impl CliError {
    /// A failure of `kind` with a message and no hint.
    pub fn new(kind: ExitKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), hint: None }
    }

    /// Attach the next step the user should take.
    #[must_use]
    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

#[cfg(test)]
mod tests {
    use super::ExitKind;

    #[test]
    fn exit_codes_follow_decisions_section_6() {
        let table = [
            (ExitKind::Ok, 0),
            (ExitKind::Failed, 1),
            (ExitKind::Usage, 2),
            (ExitKind::NotFound, 3),
            (ExitKind::Integrity, 4),
            (ExitKind::Conflict, 5),
            (ExitKind::Partial, 6),
        ];
        for (kind, code) in table {
            assert_eq!(kind.code(), code, "{kind:?}");
        }
    }
}
