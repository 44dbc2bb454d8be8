//! The env-name rule of docs/decisions.md §2, `^[a-z][a-z0-9_-]*$`, with a length cap, in one place.
//!
//! An env name becomes a file name (`env_<env>`, `env_<env>.ledger.json`, `.env.<env>`), a
//! folder (`infra/vault/<env>`), an object-key segment and a keychain account. Without a cap a
//! long name fails deep in the file system after some folders were already created; with it,
//! every verb refuses the name before writing anything.

/// Longest accepted env name, in characters (all ASCII).
pub const MAX_ENV_NAME_LEN: usize = 64;

/// Why an env name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnvNameProblem {
    /// Empty, or a character outside `[a-z0-9_-]`, or not starting with `a-z`.
    Pattern,
    /// Longer than [`MAX_ENV_NAME_LEN`].
    TooLong,
}

/// Check `env` against the rule.
///
/// # Errors
/// What is wrong with it.
pub fn check_env_name(env: &str) -> Result<(), EnvNameProblem> {
    let mut bytes = env.bytes();
    let ok = bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !ok {
        return Err(EnvNameProblem::Pattern);
    }
    if env.len() > MAX_ENV_NAME_LEN {
        return Err(EnvNameProblem::TooLong);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pattern_and_cap() {
        for ok in ["dev", "prod-eu_1", "a", &"a".repeat(MAX_ENV_NAME_LEN)] {
            assert_eq!(check_env_name(ok), Ok(()), "{ok}");
        }
        for bad in ["", "Dev", "1dev", "-x", "de v", "dev/x", "dév", "dev\n"] {
            assert_eq!(check_env_name(bad), Err(EnvNameProblem::Pattern), "{bad:?}");
        }
        assert_eq!(
            check_env_name(&"a".repeat(MAX_ENV_NAME_LEN + 1)),
            Err(EnvNameProblem::TooLong)
        );
    }
}
