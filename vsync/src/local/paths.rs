//! Where vsync keeps its state on this machine (docs/formats.md §9.1–§9.2).

use std::path::PathBuf;

/// `<base>`: `$XDG_CONFIG_HOME/vsync` when set and not blank, else `<home>/.config/vsync` on every OS.
/// (The rule is [`crate::settings::machine::config_base`].)
pub fn base_dir() -> Option<PathBuf> {
    crate::settings::machine::config_base(crate::settings::env())
}

/// The folder of one repo's state: `<base>/<repo>`.
pub fn repo_dir(base: &std::path::Path, repo: &str) -> PathBuf {
    base.join(repo)
}

/// The per-env config file: `<base>/<repo>/env_<env_lc>`.
pub fn config_file(base: &std::path::Path, repo: &str, env: &str) -> PathBuf {
    repo_dir(base, repo).join(format!("env_{}", env.to_lowercase()))
}

/// The ledger: `<base>/<repo>/env_<env>.ledger.json`.
pub fn ledger_file(base: &std::path::Path, repo: &str, env: &str) -> PathBuf {
    repo_dir(base, repo).join(format!("env_{env}.ledger.json"))
}

/// The profiles folder: `<base>/profiles`.
pub fn profiles_dir(base: &std::path::Path) -> PathBuf {
    base.join("profiles")
}

/// Plain pull backups: `<base>/backups/<repo>`.
pub fn backups_dir(base: &std::path::Path, repo: &str) -> PathBuf {
    base.join("backups").join(repo)
}
