//! Keyless mode's inputs: the runtime token (`VSYNC_CONFIG`) and the key (`VSYNC_PASSPHRASE`),
//! each given directly or as a file (`*_FILE`). The direct value wins when it is not empty.

use std::path::Path;

use zeroize::Zeroizing;

use super::environment::{Environment, Var};
use crate::error::{CliError, ExitKind};

/// Read `var`, or the file named by `file_var` (trailing CR/LF dropped, as the runtime does).
fn value_or_file(
    env: &Environment,
    var: Var,
    file_var: Var,
) -> Result<Option<Zeroizing<String>>, CliError> {
    if let Some(v) = env.non_empty_text(var) {
        return Ok(Some(Zeroizing::new(v.to_owned())));
    }
    let Some(path) = env.non_empty(file_var) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path).map_err(|e| {
        CliError::new(
            ExitKind::Failed,
            format!(
                "cannot read {} ({}): {e}",
                file_var.name(),
                Path::new(path).display()
            ),
        )
    })?;
    let text = Zeroizing::new(text);
    // The runtime's rule (vsync-runtime bootstrap): every trailing CR and LF goes, so a file
    // that opens an app also opens the CLI.
    let trimmed = text.trim_end_matches(['\n', '\r']);
    Ok(Some(Zeroizing::new(trimmed.to_owned())))
}

/// Keyless mode's runtime token and key.
pub type Inputs = (Zeroizing<String>, Zeroizing<String>);

/// The runtime token and the key, when keyless mode is on (both given); an error when only the
/// token is.
pub fn inputs(env: &Environment) -> Result<Option<Inputs>, CliError> {
    let cfg = value_or_file(env, Var::VsyncConfig, Var::VsyncConfigFile)?;
    let pass = value_or_file(env, Var::VsyncPassphrase, Var::VsyncPassphraseFile)?;
    match (cfg, pass) {
        (Some(c), Some(p)) => Ok(Some((c, p))),
        (Some(_), None) => Err(CliError::new(ExitKind::Usage, "VSYNC_CONFIG is set but VSYNC_PASSPHRASE is not")
            .with_hint("keyless mode needs both (or their _FILE forms); unset VSYNC_CONFIG to use this machine's config")),
        _ => Ok(None),
    }
}

/// The input that supplied the key in keyless mode, for messages: `VSYNC_PASSPHRASE`, or the
/// file named by `VSYNC_PASSPHRASE_FILE`.
pub fn key_input(env: &Environment) -> String {
    if env.non_empty_text(Var::VsyncPassphrase).is_some() {
        return "VSYNC_PASSPHRASE".to_owned();
    }
    match env.raw(Var::VsyncPassphraseFile) {
        Some(p) => format!(
            "the passphrase file {} (VSYNC_PASSPHRASE_FILE)",
            Path::new(p).display()
        ),
        None => "VSYNC_PASSPHRASE".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_direct_value_beats_its_file_form() {
        let e = Environment::from_pairs(&[
            (Var::VsyncConfig, "blob"),
            (Var::VsyncPassphrase, "key"),
            (Var::VsyncPassphraseFile, "/nonexistent/file"),
        ]);
        let (c, p) = inputs(&e).unwrap().unwrap();
        assert_eq!((c.as_str(), p.as_str()), ("blob", "key"));
        assert_eq!(key_input(&e), "VSYNC_PASSPHRASE");
    }

    #[test]
    fn an_empty_direct_value_falls_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("k");
        std::fs::write(&f, "from-file\r\n").unwrap();
        let f = f.to_str().unwrap();
        let e = Environment::from_pairs(&[
            (Var::VsyncConfig, "blob"),
            (Var::VsyncPassphrase, ""),
            (Var::VsyncPassphraseFile, f),
        ]);
        let (_, p) = inputs(&e).unwrap().unwrap();
        assert_eq!(p.as_str(), "from-file");
        assert!(key_input(&e).contains(f));
    }

    #[test]
    fn a_token_without_a_key_is_refused() {
        let e = Environment::from_pairs(&[(Var::VsyncConfig, "blob")]);
        let err = inputs(&e).err().unwrap();
        assert_eq!(err.kind, ExitKind::Usage);
        assert!(inputs(&Environment::default()).unwrap().is_none());
    }
}
