//! A crate's own source, for the tests that scan it for a pattern it must not contain (the
//! environment read outside the settings layer, an error branched on by its class name).

use std::path::Path;

/// Every `.rs` file below `dir`: its path relative to `dir` (`/`-separated, so allow-lists read
/// the same on Windows) and its text.
///
/// # Panics
/// When `dir` or a file below it cannot be read.
#[must_use]
pub fn rust_sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect(dir, dir, &mut out);
    out.sort();
    out
}

/// `file: needle` for every one of `needles` that occurs in a `.rs` file below `dir` (empty
/// when none does).
#[must_use]
pub fn occurrences(dir: &Path, needles: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for (rel, text) in rust_sources(dir) {
        for needle in needles {
            if text.contains(needle) {
                found.push(format!("{rel}: {needle}"));
            }
        }
    }
    found
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            collect(root, &p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            let rel = p
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, std::fs::read_to_string(&p).unwrap()));
        }
    }
}
