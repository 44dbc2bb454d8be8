//! Where the secrets go. **Replace this module with a client for your API**, keeping the four
//! operations the destination needs: check it is reachable, list what vsync manages, read a
//! value, write one, delete one.
//!
//! This one is a folder: one 0600 file per secret, written to a temporary name and renamed, and
//! an index `.vsync-managed` of the names vsync created. The index is what makes prune safe: a
//! file someone else put in the folder is never listed, so never deleted.

use std::collections::BTreeSet;
use std::fs;
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use vsync_dest_api::{DestError, DestErrorKind, SecretBytes};

use crate::errors::from_io;

const INDEX: &str = ".vsync-managed";

// Writes of the index are read-modify-write; the engine applies keys concurrently.
static INDEX_LOCK: Mutex<()> = Mutex::new(());

/// A folder of secret files.
#[derive(Debug)]
pub struct Backend {
    dir: PathBuf,
}

impl Backend {
    /// The folder `dir`; the first write creates it (0700) if its parent exists.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// Fails with the fix when the folder is missing or not a folder.
    pub fn check_reachable(&self) -> Result<(), DestError> {
        match fs::metadata(&self.dir) {
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(DestError::config(format!(
                "{} is not a folder",
                self.dir.display()
            ))),
            // The first write creates the folder (0700) when its parent is there.
            Err(e) if e.kind() == ErrorKind::NotFound && self.parent_exists() => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(DestError::new(
                DestErrorKind::NotFound,
                format!(
                    "{} does not exist, nor its parent: create it (mkdir -m 700 -p) or fix the dir option",
                    self.dir.display()
                ),
            )),
            Err(e) => Err(from_io("open the folder", &e)),
        }
    }

    /// Names vsync wrote here and has not deleted.
    pub fn list_managed(&self) -> Result<BTreeSet<String>, DestError> {
        match fs::read_to_string(self.dir.join(INDEX)) {
            Ok(text) => Ok(text
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(BTreeSet::new()),
            Err(e) => Err(from_io("read the managed index", &e)),
        }
    }

    /// The value stored under `name`, if any.
    pub fn get(&self, name: &str) -> Result<Option<SecretBytes>, DestError> {
        match fs::read(self.path(name)?) {
            Ok(bytes) => Ok(Some(SecretBytes::new(bytes))),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(from_io("read a secret", &e)),
        }
    }

    fn parent_exists(&self) -> bool {
        self.dir.parent().is_some_and(Path::is_dir)
    }

    fn ensure_dir(&self) -> Result<(), DestError> {
        let mut b = fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt;
            b.mode(0o700);
        }
        match b.create(&self.dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(from_io("create the folder", &e)),
        }
    }

    /// Stores `value` under `name`; `true` when it replaced an existing secret.
    pub fn put(&self, name: &str, value: &[u8]) -> Result<bool, DestError> {
        self.ensure_dir()?;
        let path = self.path(name)?;
        let existed = path.exists();
        write_atomic(&path, value)?;
        let _guard = INDEX_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut names = self.list_managed()?;
        if names.insert(name.to_owned()) {
            self.save_index(&names)?;
        }
        Ok(existed)
    }

    /// Deletes `name` if vsync manages it; deleting what is already gone succeeds.
    pub fn delete_managed(&self, name: &str) -> Result<(), DestError> {
        let _guard = INDEX_LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut names = self.list_managed()?;
        if !names.remove(name) {
            return Err(DestError::new(
                DestErrorKind::Conflict,
                format!("{name} was not written by vsync here; left in place"),
            )
            .with_key(name));
        }
        match fs::remove_file(self.path(name)?) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(from_io("delete a secret", &e).with_key(name)),
        }
        self.save_index(&names)
    }

    fn save_index(&self, names: &BTreeSet<String>) -> Result<(), DestError> {
        let mut text = String::new();
        for n in names {
            text.push_str(n);
            text.push('\n');
        }
        write_atomic(&self.dir.join(INDEX), text.as_bytes())
    }

    // Names come from `map_name`, which already enforced the rule; this guards the folder
    // against anything that would leave it.
    fn path(&self, name: &str) -> Result<PathBuf, DestError> {
        if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\', '\0']) {
            return Err(DestError::invalid_name(name, "not a plain file name"));
        }
        Ok(self.dir.join(name))
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), DestError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let file_name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("secret");
    let tmp = dir.join(format!(".{file_name}.tmp{}", std::process::id()));
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let written = opts.open(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
        let _ = fs::remove_file(&tmp);
        return Err(from_io("write a secret", &e));
    }
    Ok(())
}
