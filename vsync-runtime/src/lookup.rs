//! The process-environment step of the fallback chain, and where a value came from.

use std::collections::HashMap;
use std::fmt;

/// Reads one environment variable. The handle asks it at lookup time (step 2 of the fallback
/// chain) and [`crate::OpenOptions::open`] asks it for the bootstrap variables.
///
/// Inject one with [`crate::OpenOptions::env_lookup`] or [`crate::Vault::with_env_lookup`] to
/// simulate an environment without touching the real one (`set_var` is `unsafe` in edition
/// 2024). Implemented for [`ProcessEnv`], for maps, and for closures.
pub trait EnvLookup: Send + Sync {
    /// The variable's value; `None` when unset (or not valid UTF-8). An empty string is a value.
    fn get(&self, name: &str) -> Option<String>;
}

/// The real process environment, read at call time.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl EnvLookup for ProcessEnv {
    fn get(&self, name: &str) -> Option<String> {
        std::env::var_os(name).and_then(|v| v.into_string().ok())
    }
}

/// An environment that has no variables at all.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyEnv;

impl EnvLookup for EmptyEnv {
    fn get(&self, _name: &str) -> Option<String> {
        None
    }
}

impl<S: std::hash::BuildHasher + Send + Sync> EnvLookup for HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<String> {
        HashMap::get(self, name).cloned()
    }
}

impl<F> EnvLookup for F
where
    F: Fn(&str) -> Option<String> + Send + Sync,
{
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// Where [`crate::Vault::env`] found a value. Safe to log: it never carries the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// The decrypted vault's `.env.<env>` (step 1).
    Vault,
    /// The process environment, read at lookup time (step 2).
    Env,
    /// The defaults given at open (step 3).
    Default,
    /// None of the above (step 4).
    Missing,
}

impl Source {
    /// The label used by the conformance corpus: `vault`, `env`, `default` or `missing`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Vault => "vault",
            Self::Env => "env",
            Self::Default => "default",
            Self::Missing => "missing",
        }
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
