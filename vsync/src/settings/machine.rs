//! Settings of this machine rather than of one verb: folders, the keychain, CI and terminal
//! signals, the machine's and user's names. One rule per setting, here; the modules that use
//! them (`local::paths`, `local::backups`, `keychain`, `run`, `plugins`) ask, never read the
//! environment themselves.

use std::path::PathBuf;

use super::environment::{Environment, Var};

/// Pull backups kept per (repo, env) when `VSYNC_BACKUP_KEEP` is unset.
pub const DEFAULT_BACKUP_KEEP: usize = 5;

/// The home folder: `HOME`, else `USERPROFILE`; empty counts as unset.
pub fn home(env: &Environment) -> Option<PathBuf> {
    env.path(Var::Home).or_else(|| env.path(Var::UserProfile))
}

/// `<base>`: `$XDG_CONFIG_HOME/vsync` when set and not blank, else `<home>/.config/vsync` on
/// every OS.
pub fn config_base(env: &Environment) -> Option<PathBuf> {
    if let Some(x) = env.raw(Var::XdgConfigHome)
        && !x.to_string_lossy().trim().is_empty()
    {
        return Some(PathBuf::from(x).join("vsync"));
    }
    home(env).map(|h| h.join(".config").join("vsync"))
}

/// `$XDG_DATA_HOME` when set and not empty.
pub fn data_home(env: &Environment) -> Option<PathBuf> {
    env.path(Var::XdgDataHome)
}

/// `$XDG_RUNTIME_DIR` when set and not empty.
pub fn runtime_dir(env: &Environment) -> Option<PathBuf> {
    env.path(Var::XdgRuntimeDir)
}

/// Whether a session bus may be reachable (its address, or a runtime folder that holds it).
pub fn may_have_session_bus(env: &Environment) -> bool {
    env.raw(Var::DbusSessionBusAddress).is_some() || runtime_dir(env).is_some()
}

/// The keychain backend named by `VSYNC_KEYCHAIN` (trimmed), if any.
pub fn keychain_choice(env: &Environment) -> Option<&str> {
    env.text(Var::VsyncKeychain).map(str::trim)
}

/// `VSYNC_BACKUP_DIR` when set and not empty.
pub fn backup_dir(env: &Environment) -> Option<PathBuf> {
    env.path(Var::VsyncBackupDir)
}

/// `VSYNC_BACKUP_KEEP`: a number of at least 1, or the default when unset or blank; the raw
/// text when it is neither.
pub fn backup_keep(env: &Environment) -> Result<usize, String> {
    match env.text(Var::VsyncBackupKeep) {
        Some(v) if !v.trim().is_empty() => match v.trim().parse::<usize>() {
            Ok(n) if n >= 1 => Ok(n),
            _ => Err(v.to_owned()),
        },
        _ => Ok(DEFAULT_BACKUP_KEEP),
    }
}

/// Upstream's pre-rename backup folder: `LOCALDEVCONFIG_DIR`, else `<home>/.config/localdevconfig`.
pub fn legacy_backup_dir(env: &Environment) -> Option<PathBuf> {
    env.path(Var::LocaldevconfigDir)
        .or_else(|| home(env).map(|h| h.join(".config").join("localdevconfig")))
}

/// `VSYNC_PLUGIN_DIR` when set and not empty.
pub fn plugin_dir(env: &Environment) -> Option<PathBuf> {
    env.path(Var::VsyncPluginDir)
}

/// `VSYNC_LOG=debug` (any case).
pub fn debug_log(env: &Environment) -> bool {
    env.text(Var::VsyncLog)
        .is_some_and(|v| v.eq_ignore_ascii_case("debug"))
}

/// `TERM=dumb`: no cursor tricks.
pub fn dumb_terminal(env: &Environment) -> bool {
    env.text(Var::Term) == Some("dumb")
}

/// This process runs as a GitHub Actions step.
pub fn in_github_actions(env: &Environment) -> bool {
    env.is_true(Var::GithubActions)
}

/// This process runs as a GitLab CI job (which has no runtime masking).
pub fn in_gitlab_ci(env: &Environment) -> bool {
    env.is_true(Var::GitlabCi)
}

/// The OS user: `USER`, else `USERNAME`; empty when neither is set.
pub fn os_user(env: &Environment) -> String {
    env.text(Var::User)
        .or_else(|| env.text(Var::UserName))
        .unwrap_or_default()
        .to_owned()
}

/// This machine's name from the environment: `HOSTNAME`, `HOST`, then `COMPUTERNAME` (the first
/// set and not empty).
pub fn host_name(env: &Environment) -> Option<&str> {
    [Var::HostName, Var::HostShort, Var::ComputerName]
        .into_iter()
        .find_map(|v| env.non_empty_text(v))
}

/// `VSYNC_MIN_TS`, as given (checked by the caller, whose error names it).
pub fn min_ts(env: &Environment) -> Option<&str> {
    env.text(Var::VsyncMinTs)
}

/// Test hook of rotate-passphrase: the write step after which the process stops.
pub fn crash_after_step(env: &Environment) -> Option<u8> {
    env.text(Var::VsyncTestCrashAfterStep)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_is_one_rule_for_every_user_of_it() {
        let e = Environment::from_pairs(&[(Var::Home, ""), (Var::UserProfile, "/u")]);
        assert_eq!(home(&e), Some(PathBuf::from("/u")));
        // the backup folder of upstream and the config base agree on the home folder
        assert_eq!(
            legacy_backup_dir(&e),
            Some(PathBuf::from("/u/.config/localdevconfig"))
        );
        assert_eq!(config_base(&e), Some(PathBuf::from("/u/.config/vsync")));
    }

    #[test]
    fn xdg_config_home_beats_home_and_blank_is_unset() {
        let e = Environment::from_pairs(&[(Var::Home, "/h"), (Var::XdgConfigHome, "/x")]);
        assert_eq!(config_base(&e), Some(PathBuf::from("/x/vsync")));
        let e = Environment::from_pairs(&[(Var::Home, "/h"), (Var::XdgConfigHome, "  ")]);
        assert_eq!(config_base(&e), Some(PathBuf::from("/h/.config/vsync")));
    }

    #[test]
    fn backup_keep_defaults_and_refuses_zero() {
        assert_eq!(
            backup_keep(&Environment::default()),
            Ok(DEFAULT_BACKUP_KEEP)
        );
        let e = Environment::from_pairs(&[(Var::VsyncBackupKeep, " 9 ")]);
        assert_eq!(backup_keep(&e), Ok(9));
        let e = Environment::from_pairs(&[(Var::VsyncBackupKeep, "0")]);
        assert_eq!(backup_keep(&e), Err("0".to_owned()));
    }

    #[test]
    fn host_name_falls_back_in_one_order() {
        let e = Environment::from_pairs(&[(Var::HostShort, "h2"), (Var::ComputerName, "h3")]);
        assert_eq!(host_name(&e), Some("h2"));
        let e = Environment::from_pairs(&[(Var::HostName, ""), (Var::ComputerName, "h3")]);
        assert_eq!(host_name(&e), Some("h3"));
    }
}
