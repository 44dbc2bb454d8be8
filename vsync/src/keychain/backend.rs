//! Which OS store to talk to: the OS default, or the one `VSYNC_KEYCHAIN` names.

use super::KeychainError;

/// A keychain backend. Every variant exists on every OS so messages and tests are uniform;
/// [`Backend::from_env`] only hands out the ones this build can open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// The freedesktop Secret Service on the session bus (Linux default).
    SecretService,
    /// The Linux kernel session keyring (keyutils): the explicit choice on headless Linux.
    Keyutils,
    /// The macOS login keychain (generic passwords).
    MacosKeychain,
    /// The Windows Credential Manager (generic credentials).
    WindowsCredentialManager,
}

impl Backend {
    /// The backend chosen by `VSYNC_KEYCHAIN`, or this OS's default.
    pub fn from_env() -> Result<Self, KeychainError> {
        let env = crate::settings::env();
        Self::parse(crate::settings::machine::keychain_choice(env))
    }

    /// [`Backend::from_env`] over a given value (`None` or empty: the OS default).
    pub fn parse(name: Option<&str>) -> Result<Self, KeychainError> {
        let backend = match name {
            None | Some("") => return Self::os_default().ok_or(KeychainError::Unsupported),
            Some("secret-service" | "secretservice") => Backend::SecretService,
            Some("keyutils") => Backend::Keyutils,
            Some("macos" | "keychain") => Backend::MacosKeychain,
            Some("windows" | "credential-manager") => Backend::WindowsCredentialManager,
            Some(other) => {
                return Err(KeychainError::UnknownBackend {
                    name: other.to_owned(),
                });
            }
        };
        if backend.in_this_build() {
            Ok(backend)
        } else {
            Err(KeychainError::NotOnThisOs { backend })
        }
    }

    /// The store this OS uses when nothing is chosen.
    fn os_default() -> Option<Self> {
        if cfg!(target_os = "linux") {
            Some(Backend::SecretService)
        } else if cfg!(target_os = "macos") {
            Some(Backend::MacosKeychain)
        } else if cfg!(windows) {
            Some(Backend::WindowsCredentialManager)
        } else {
            None
        }
    }

    /// Whether this build has code for the backend.
    pub fn in_this_build(self) -> bool {
        match self {
            Backend::SecretService | Backend::Keyutils => cfg!(target_os = "linux"),
            Backend::MacosKeychain => cfg!(target_os = "macos"),
            Backend::WindowsCredentialManager => cfg!(windows),
        }
    }

    /// A human name for messages.
    pub fn name(self) -> &'static str {
        match self {
            Backend::SecretService => "Secret Service (D-Bus)",
            Backend::Keyutils => "kernel keyring (keyutils)",
            Backend::MacosKeychain => "macOS Keychain",
            Backend::WindowsCredentialManager => "Windows Credential Manager",
        }
    }

    /// The `VSYNC_KEYCHAIN` value that selects the backend.
    pub fn env_name(self) -> &'static str {
        match self {
            Backend::SecretService => "secret-service",
            Backend::Keyutils => "keyutils",
            Backend::MacosKeychain => "macos",
            Backend::WindowsCredentialManager => "windows",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_select_backends_this_build_has_and_refuse_the_rest() {
        for b in [
            Backend::SecretService,
            Backend::Keyutils,
            Backend::MacosKeychain,
            Backend::WindowsCredentialManager,
        ] {
            match Backend::parse(Some(b.env_name())) {
                Ok(got) => {
                    assert_eq!(got, b);
                    assert!(b.in_this_build());
                }
                Err(KeychainError::NotOnThisOs { backend }) => {
                    assert_eq!(backend, b);
                    assert!(!b.in_this_build());
                }
                Err(e) => panic!("{b:?}: {e}"),
            }
        }
        assert!(matches!(
            Backend::parse(Some("plaintext-file")),
            Err(KeychainError::UnknownBackend { .. })
        ));
        let default = Backend::parse(None).expect("this OS has a default store");
        assert!(default.in_this_build());
        assert_eq!(Backend::parse(Some("")).unwrap(), default);
        #[cfg(target_os = "linux")]
        assert_eq!(default, Backend::SecretService);
    }
}
