//! The two bootstrap inputs from the environment (docs/runtime-contract.md §1.2): `VSYNC_CONFIG` or
//! `VSYNC_CONFIG_FILE`, and `VSYNC_PASSPHRASE` or `VSYNC_PASSPHRASE_FILE`.
//!
//! Each input is resolved on its own: a non-empty `_FILE` variable wins over the plain one; an
//! empty value counts as missing. The passphrase is used byte for byte; only the trailing line
//! break of a `_FILE` is removed. A file that anyone may write is refused; one that others may
//! read is used with a warning.

use std::io::Read as _;
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::Error;
use crate::lookup::EnvLookup;

/// Name of the config-blob variable.
pub const CONFIG_VAR: &str = "VSYNC_CONFIG";
/// Name of the config-blob file variable.
pub const CONFIG_FILE_VAR: &str = "VSYNC_CONFIG_FILE";
/// Name of the passphrase variable.
pub const PASSPHRASE_VAR: &str = "VSYNC_PASSPHRASE";
/// Name of the passphrase file variable.
pub const PASSPHRASE_FILE_VAR: &str = "VSYNC_PASSPHRASE_FILE";

/// Largest bootstrap file read (a config blob is well under 4 KiB).
const MAX_FILE_LEN: u64 = 64 * 1024;

/// The two inputs, read once.
pub(crate) struct Inputs {
    pub(crate) config: Zeroizing<String>,
    pub(crate) passphrase: Zeroizing<String>,
}

pub(crate) fn resolve(env: &dyn EnvLookup) -> Result<Inputs, Error> {
    let config = resolve_one(env, CONFIG_VAR, CONFIG_FILE_VAR)?;
    let passphrase = resolve_one(env, PASSPHRASE_VAR, PASSPHRASE_FILE_VAR)?;
    Ok(Inputs { config, passphrase })
}

fn resolve_one(env: &dyn EnvLookup, var: &str, file_var: &str) -> Result<Zeroizing<String>, Error> {
    if let Some(path) = env.get(file_var).filter(|p| !p.is_empty()) {
        let text = read_file(Path::new(&path), file_var)?;
        let trimmed = text.trim_end_matches(['\n', '\r']);
        if trimmed.is_empty() {
            return Err(Error::missing(format!(
                "the file named by {file_var} is empty"
            )));
        }
        return Ok(Zeroizing::new(trimmed.to_owned()));
    }
    match env.get(var) {
        Some(v) if !v.is_empty() => Ok(Zeroizing::new(v)),
        Some(v) => {
            drop(Zeroizing::new(v));
            Err(Error::missing(format!("{var} is set but empty")))
        }
        None => Err(Error::missing(format!(
            "neither {var} nor {file_var} is set"
        ))),
    }
}

fn read_file(path: &Path, var: &str) -> Result<Zeroizing<String>, Error> {
    let shown = path.display();
    let unreadable = |e: std::io::Error| {
        Error::missing(format!(
            "{var} names {shown}, which cannot be read ({})",
            e.kind()
        ))
    };
    check_mode(path, var)?;
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(MAX_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_FILE_LEN {
        return Err(Error::missing(format!(
            "{var} names {shown}, which is larger than {MAX_FILE_LEN} bytes"
        )));
    }
    match std::str::from_utf8(&bytes) {
        Ok(s) => Ok(Zeroizing::new(s.to_owned())),
        Err(_) => Err(Error::missing(format!(
            "{var} names {shown}, which is not UTF-8 text"
        ))),
    }
}

#[cfg(unix)]
fn check_mode(path: &Path, var: &str) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt as _;
    let meta = std::fs::metadata(path).map_err(|e| {
        Error::missing(format!(
            "{var} names {}, which cannot be read ({})",
            path.display(),
            e.kind()
        ))
    })?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o002 != 0 {
        return Err(Error::missing(format!(
            "{var} names {}, which anyone can write (mode {mode:04o}); refusing it — \
             run `chmod 600` on it",
            path.display()
        )));
    }
    if mode & 0o044 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = %format_args!("{mode:04o}"),
            "vsync: bootstrap file is group- or world-readable; narrow it to 0600"
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_path: &Path, _var: &str) -> Result<(), Error> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn write(dir: &Path, name: &str, body: &[u8], mode: u32) -> String {
        let p = dir.join(name);
        std::fs::write(&p, body).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
        }
        p.to_str().unwrap().to_owned()
    }

    fn err(e: &HashMap<String, String>) -> String {
        match resolve(e) {
            Ok(_) => panic!("expected an error"),
            Err(e) => {
                assert_eq!(e.class(), "ConfigMissingError");
                e.to_string()
            }
        }
    }

    #[test]
    fn missing_and_empty() {
        let m = err(&env(&[]));
        assert!(
            m.contains("neither VSYNC_CONFIG nor VSYNC_CONFIG_FILE"),
            "{m}"
        );
        let m = err(&env(&[("VSYNC_CONFIG", "c")]));
        assert!(m.contains("neither VSYNC_PASSPHRASE"), "{m}");
        let m = err(&env(&[("VSYNC_CONFIG", "c"), ("VSYNC_PASSPHRASE", "")]));
        assert!(m.contains("VSYNC_PASSPHRASE is set but empty"), "{m}");
    }

    #[test]
    fn plain_values_are_verbatim() {
        let i = resolve(&env(&[
            ("VSYNC_CONFIG", "cfg"),
            ("VSYNC_PASSPHRASE", " pass with spaces \n"),
        ]))
        .unwrap();
        assert_eq!(i.config.as_str(), "cfg");
        assert_eq!(i.passphrase.as_str(), " pass with spaces \n");
    }

    #[test]
    fn files_win_and_lose_their_line_break() {
        let dir = tempfile::tempdir().unwrap();
        let c = write(dir.path(), "c", b"from-file\n", 0o600);
        let p = write(dir.path(), "p", b" secret \r\n", 0o400);
        let i = resolve(&env(&[
            ("VSYNC_CONFIG", "from-var"),
            ("VSYNC_CONFIG_FILE", &c),
            ("VSYNC_PASSPHRASE_FILE", &p),
        ]))
        .unwrap();
        assert_eq!(i.config.as_str(), "from-file");
        assert_eq!(i.passphrase.as_str(), " secret ");
        // An empty _FILE variable falls back to the plain one.
        let i = resolve(&env(&[
            ("VSYNC_CONFIG", "from-var"),
            ("VSYNC_CONFIG_FILE", ""),
            ("VSYNC_PASSPHRASE", "x"),
        ]))
        .unwrap();
        assert_eq!(i.config.as_str(), "from-var");
    }

    #[test]
    fn bad_files() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("nope");
        let m = err(&env(&[
            ("VSYNC_CONFIG_FILE", gone.to_str().unwrap()),
            ("VSYNC_PASSPHRASE", "x"),
        ]));
        assert!(m.contains("cannot be read"), "{m}");
        let empty = write(dir.path(), "e", b"\n", 0o600);
        let m = err(&env(&[
            ("VSYNC_CONFIG", "c"),
            ("VSYNC_PASSPHRASE_FILE", &empty),
        ]));
        assert!(m.contains("is empty"), "{m}");
        let bin = write(dir.path(), "b", b"\xff\xfe", 0o600);
        let m = err(&env(&[
            ("VSYNC_CONFIG", "c"),
            ("VSYNC_PASSPHRASE_FILE", &bin),
        ]));
        assert!(m.contains("not UTF-8"), "{m}");
        #[cfg(unix)]
        {
            let ww = write(dir.path(), "w", b"secret-pass", 0o666);
            let m = err(&env(&[
                ("VSYNC_CONFIG", "c"),
                ("VSYNC_PASSPHRASE_FILE", &ww),
            ]));
            assert!(m.contains("anyone can write") && m.contains("0666"), "{m}");
            assert!(!m.contains("secret-pass"), "{m}");
            // Group-readable is accepted (with a warning).
            let gr = write(dir.path(), "g", b"pass", 0o640);
            let i = resolve(&env(&[
                ("VSYNC_CONFIG", "c"),
                ("VSYNC_PASSPHRASE_FILE", &gr),
            ]))
            .unwrap();
            assert_eq!(i.passphrase.as_str(), "pass");
        }
    }
}
