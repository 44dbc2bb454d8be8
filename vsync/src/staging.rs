//! The private staging folders of `pull` and `restore-backup`, claimed through
//! [`crate::locked_dir`] so that one a killed run left (decrypted secrets on disk) is swept by the
//! next pull or restore, and a concurrent run's live one never is.

use std::io;
use std::path::{Path, PathBuf};

use crate::locked_dir::{self, LockedDir};

/// Name prefixes of every staging folder vsync makes beside a vault; the sweep covers all of
/// them, whatever env or verb left them.
pub(crate) const VAULT_STAGING_PREFIXES: [&str; 2] = [".vsync-pull-", ".vsync-restore-"];

/// Suffix of the old vault parked during a two-step swap (platforms without an atomic exchange).
const PARKED_SUFFIX: &str = ".old";

/// A claimed staging folder; dropping it removes the folder and anything parked beside it.
#[derive(Debug)]
pub(crate) struct Staging(LockedDir);

impl Staging {
    /// Claim `parent/name` for this run (see [`LockedDir::claim`]).
    pub(crate) fn claim(parent: &Path, name: &str) -> io::Result<Staging> {
        LockedDir::claim(parent, name).map(Staging)
    }

    /// The staging folder.
    pub(crate) fn path(&self) -> &Path {
        self.0.path()
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        locked_dir::remove_tree(&parked(self.path()));
    }
}

/// Where a two-step swap parks the old vault while the staged one moves in.
pub(crate) fn parked(dir: &Path) -> PathBuf {
    let mut name = dir.as_os_str().to_owned();
    name.push(PARKED_SUFFIX);
    PathBuf::from(name)
}

/// Remove the staging folders (and parked vaults) in `parent` whose names start with one of
/// `prefixes` and whose run is gone. Returns the names removed.
pub(crate) fn sweep(parent: &Path, prefixes: &[&str]) -> Vec<String> {
    let owner_of = |name: &str| {
        let owner = name.strip_suffix(PARKED_SUFFIX).unwrap_or(name);
        prefixes
            .iter()
            .any(|p| owner.starts_with(p))
            .then(|| owner.to_owned())
    };
    locked_dir::sweep(parent, &owner_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_verb_and_env_is_swept_and_nothing_else() {
        let t = tempfile::tempdir().unwrap();
        for name in [
            ".vsync-pull-dev-1",
            ".vsync-restore-prod-2",
            "dev",
            ".vsync-other",
        ] {
            std::fs::create_dir(t.path().join(name)).unwrap();
            std::fs::write(t.path().join(format!("{name}.lock")), "").unwrap();
        }
        let mut removed = sweep(t.path(), &VAULT_STAGING_PREFIXES);
        removed.sort();
        assert_eq!(removed, [".vsync-pull-dev-1", ".vsync-restore-prod-2"]);
        assert!(t.path().join("dev").exists() && t.path().join(".vsync-other").exists());
    }

    #[test]
    fn dropping_a_staging_removes_the_vault_parked_beside_it() {
        let t = tempfile::tempdir().unwrap();
        let s = Staging::claim(t.path(), ".vsync-pull-dev-3").unwrap();
        std::fs::create_dir(parked(s.path())).unwrap();
        drop(s);
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 0);
    }

    #[test]
    fn parked_appends_a_suffix_even_when_the_name_has_dots() {
        let p = parked(Path::new("/v/.vsync-pull-prod.eu-12"));
        assert_eq!(p, Path::new("/v/.vsync-pull-prod.eu-12.old"));
    }
}
