//! Where a destination reads its standard variables (`VAULT_TOKEN`, `GITHUB_TOKEN`,
//! `AWS_REGION`…): the process environment, or a fixed map so tests never touch the real one.

use std::collections::BTreeMap;

/// The source of a destination's environment variables.
#[derive(Clone, Debug, Default)]
pub enum EnvSource {
    /// The process environment.
    #[default]
    Process,
    /// A fixed map (tests).
    Fixed(BTreeMap<String, String>),
}

impl EnvSource {
    /// The value of `name`; unset and empty are both `None`.
    pub fn get(&self, name: &str) -> Option<String> {
        match self {
            EnvSource::Process => std::env::var(name).ok(),
            EnvSource::Fixed(m) => m.get(name).cloned(),
        }
        .filter(|v| !v.is_empty())
    }
}
