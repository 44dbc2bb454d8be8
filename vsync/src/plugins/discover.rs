//! Finding and vetting plugin files. Loading runs code, so every check comes first.

use std::path::{Path, PathBuf};

use sha2::Digest;
use vsync_dest_api::{DestError, DestErrorKind};

/// Directories searched, in order: `VSYNC_PLUGIN_DIR`, then `<config dir>/plugins/`.
pub fn plugin_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("VSYNC_PLUGIN_DIR").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(d));
    }
    if let Ok(base) = crate::context::base_dir() {
        dirs.push(base.join("plugins"));
    }
    dirs
}

/// The file name of plugin `id` on this platform.
pub fn file_name(id: &str) -> String {
    if cfg!(target_os = "windows") {
        format!("vsync_dest_{id}.dll")
    } else if cfg!(target_os = "macos") {
        format!("libvsync_dest_{id}.dylib")
    } else {
        format!("libvsync_dest_{id}.so")
    }
}

/// The plugin file for `id` in the search dirs, if any.
pub fn find_plugin(id: &str) -> Option<PathBuf> {
    plugin_dirs()
        .into_iter()
        .map(|d| d.join(file_name(id)))
        .find(|p| p.is_file())
}

/// Every plugin-looking file in the search dirs.
pub fn scan() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for d in plugin_dirs() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        let mut files: Vec<PathBuf> = rd
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.contains("vsync_dest_"))
            })
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}

fn vet_err(path: &Path, what: impl std::fmt::Display) -> DestError {
    DestError::new(
        DestErrorKind::Config,
        format!("refusing to load plugin {}: {what}", path.display()),
    )
}

/// Vet before loading: a regular file, neither it nor its folder group/world-writable, and,
/// when `pin` is given, its SHA-256 equal to the pin (hex).
pub fn vet(path: &Path, pin: Option<&str>) -> Result<(), DestError> {
    let meta = std::fs::metadata(path).map_err(|e| vet_err(path, e.kind()))?;
    if !meta.is_file() {
        return Err(vet_err(path, "not a regular file"));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o022 != 0 {
            return Err(vet_err(path, "the file is group- or world-writable"));
        }
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dmeta = std::fs::metadata(dir).map_err(|e| vet_err(path, e.kind()))?;
        if dmeta.permissions().mode() & 0o022 != 0 {
            return Err(vet_err(path, "its folder is group- or world-writable"));
        }
    }
    if let Some(pin) = pin {
        let bytes = std::fs::read(path).map_err(|e| vet_err(path, e.kind()))?;
        let got = hex(&sha2::Sha256::digest(&bytes));
        if !got.eq_ignore_ascii_case(pin.trim()) {
            return Err(vet_err(
                path,
                format!("sha256 {got} does not match the pin sync.<id>.plugin_sha256"),
            ));
        }
    }
    Ok(())
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
