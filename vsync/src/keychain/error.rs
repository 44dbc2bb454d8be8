//! Keychain failures and what to do about each. No variant carries, or formats, a stored value.

use super::Backend;
use super::naming::{self, SERVICE};

/// Failures talking to the keychain. Never carries the secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeychainError {
    /// No Secret Service answers on the session bus.
    #[error("no Secret Service is reachable on the session D-Bus ({detail})")]
    SecretServiceUnavailable {
        /// What the D-Bus layer said.
        detail: String,
    },
    /// The Secret Service refused (locked collection, dismissed prompt…).
    #[error("the Secret Service refused the request ({detail})")]
    SecretServiceRefused {
        /// What the D-Bus layer said.
        detail: String,
    },
    /// The kernel keyring failed.
    #[error("the kernel keyring failed ({detail})")]
    Keyutils {
        /// What the kernel said.
        detail: String,
    },
    /// The macOS Keychain or the Windows Credential Manager failed or refused.
    #[error("the {} failed ({detail})", backend.name())]
    Platform {
        /// Which store.
        backend: Backend,
        /// What the store said.
        detail: String,
    },
    /// Several items answer for one account and hold different keys: using any of them could
    /// decrypt with a stale key, so none is used.
    #[error(
        "{count} items in the {} hold different keys for {account}; vsync uses none of them",
        backend.name()
    )]
    Duplicates {
        /// Which store.
        backend: Backend,
        /// The account.
        account: String,
        /// How many items match.
        count: usize,
    },
    /// `VSYNC_KEYCHAIN` names no backend we know.
    #[error(
        "VSYNC_KEYCHAIN={name} is not a keychain backend (use secret-service, keyutils, macos or windows)"
    )]
    UnknownBackend {
        /// The value given.
        name: String,
    },
    /// `VSYNC_KEYCHAIN` names a backend of another OS.
    #[error("the {} is not available on this OS", backend.name())]
    NotOnThisOs {
        /// The backend asked for.
        backend: Backend,
    },
    /// The stored value is not UTF-8 text.
    #[error("the keychain entry for {account} is not text")]
    NotText {
        /// The account.
        account: String,
    },
    /// This OS has no backend compiled in.
    #[error("no keychain backend is available on this OS in this build")]
    Unsupported,
    /// The blocking worker running the store call died.
    #[error("the keychain call did not complete ({detail})")]
    Worker {
        /// What the runtime said.
        detail: String,
    },
}

impl KeychainError {
    /// The next step for the user.
    pub fn hint(&self) -> String {
        const KEYLESS: &str = "in CI use keyless mode (VSYNC_CONFIG + VSYNC_PASSPHRASE)";
        match self {
            KeychainError::SecretServiceUnavailable { .. }
            | KeychainError::SecretServiceRefused { .. } => format!(
                "start and unlock a Secret Service (gnome-keyring-daemon --unlock --components=secrets, inside a D-Bus session), \
                 or choose the kernel keyring explicitly with VSYNC_KEYCHAIN=keyutils; {KEYLESS}"
            ),
            KeychainError::Keyutils { .. } => {
                "the process needs a session keyring: run under `keyctl session` (package keyutils)"
                    .to_owned()
            }
            KeychainError::Platform {
                backend: Backend::MacosKeychain,
                ..
            } => format!(
                "unlock the login keychain (Keychain Access) and allow vsync when macOS asks; {KEYLESS}"
            ),
            KeychainError::Platform { .. } => format!(
                "check Control Panel > Credential Manager > Windows Credentials for {SERVICE}/…; {KEYLESS}"
            ),
            KeychainError::Duplicates {
                backend, account, ..
            } => duplicates_hint(*backend, account),
            KeychainError::UnknownBackend { .. } | KeychainError::NotOnThisOs { .. } => {
                "unset VSYNC_KEYCHAIN to use this OS's keychain".to_owned()
            }
            KeychainError::NotText { account } => {
                format!("re-import the key with `{}`", import_command(account))
            }
            KeychainError::Unsupported => {
                "use keyless mode (VSYNC_CONFIG + VSYNC_PASSPHRASE)".to_owned()
            }
            KeychainError::Worker { .. } => "run the command again".to_owned(),
        }
    }
}

/// See the items, clear them all, import the right key again.
fn duplicates_hint(backend: Backend, account: &str) -> String {
    let acct = naming::shell_word(account);
    let import = import_command(account);
    match backend {
        Backend::SecretService => format!(
            "see them: `secret-tool search --all service {SERVICE} account {acct}`; \
             clear them: `secret-tool clear service {SERVICE} account {acct}`; then `{import}`"
        ),
        other => format!(
            "remove the entries for {SERVICE} / {acct} with the {}'s own tool, then `{import}`",
            other.name()
        ),
    }
}

/// `vsync import <env> <share-file>` for an account `<repo>/<env>` (env never holds a `/`).
fn import_command(account: &str) -> String {
    let env = account.rsplit_once('/').map_or(account, |(_, env)| env);
    let env = env.split_once('#').map_or(env, |(env, _)| env);
    format!("vsync import {env} <share-file>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_say_how_to_see_and_clear_them() {
        let e = KeychainError::Duplicates {
            backend: Backend::SecretService,
            account: "github.com/acme/api/prod".into(),
            count: 2,
        };
        assert!(e.to_string().contains("2 items"), "{e}");
        assert!(e.to_string().contains("github.com/acme/api/prod"), "{e}");
        let hint = e.hint();
        assert!(
            hint.contains(
                "secret-tool search --all service tools.vsync account github.com/acme/api/prod"
            ),
            "{hint}"
        );
        assert!(
            hint.contains("secret-tool clear service tools.vsync account github.com/acme/api/prod"),
            "{hint}"
        );
        assert!(hint.contains("vsync import prod <share-file>"), "{hint}");
    }
}
