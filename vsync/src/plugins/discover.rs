//! Finding plugin files (vetting them is [`super::vet`]).

use std::path::{Path, PathBuf};

/// Directories searched, in order: `VSYNC_PLUGIN_DIR`, then `<config dir>/plugins/`.
pub fn plugin_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = crate::settings::machine::plugin_dir(crate::settings::env()) {
        dirs.push(d);
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

/// The plugin id a file name states (`libvsync_dest_<id>.so`, `.dylib`, `vsync_dest_<id>.dll`).
pub fn id_from_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name
        .strip_suffix(".so")
        .or_else(|| name.strip_suffix(".dylib"))
        .or_else(|| name.strip_suffix(".dll"))?;
    let id = stem
        .strip_prefix("libvsync_dest_")
        .or_else(|| stem.strip_prefix("vsync_dest_"))?;
    super::reply::valid_id(id).then(|| id.to_owned())
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_from_file_names() {
        let id = |n: &str| id_from_file_name(Path::new(n));
        assert_eq!(
            id("/p/libvsync_dest_jsonfile.so").as_deref(),
            Some("jsonfile")
        );
        assert_eq!(id("vsync_dest_a-1.dll").as_deref(), Some("a-1"));
        assert_eq!(id("libvsync_dest_x.dylib").as_deref(), Some("x"));
        assert_eq!(id("/p/my-plugin.so"), None);
        assert_eq!(id("/p/libvsync_dest_Bad.so"), None);
        assert_eq!(id("/p/libvsync_dest_x.so.1"), None);
    }
}
