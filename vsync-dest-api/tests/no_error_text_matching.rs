//! Destinations classify failures by type (SDK error kinds, HTTP status, service error codes),
//! not by searching an error's message text, which changes with SDK versions, languages and
//! wording. This test reads every destination's source (built-ins and the examples) and fails on
//! a `.contains(` whose receiver is error text: an error turned into a string, or a variable
//! named like a message.

use std::path::{Path, PathBuf};

/// Receivers that are error text, by how their expression ends.
const TEXT_RECEIVERS: &[&str] = &[
    "to_string()",
    "to_lowercase()",
    "to_ascii_lowercase()",
    "message",
    "msg",
    "text",
    "why",
    "detail",
    "reason",
    "body",
];

/// Known cases left to fix, each with the file and the receiver: the services answer these with
/// a generic error code and say what happened only in the message.
const KNOWN: &[(&str, &str)] = &[];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The expression `.contains(` is called on, as far back as a plain path or call chain goes.
fn receiver(before: &str) -> &str {
    let start = before
        .rfind(|c: char| !(c.is_alphanumeric() || "_.()?:".contains(c)))
        .map_or(0, |i| i + 1);
    &before[start..]
}

/// Every `(file, line, receiver)` that matches text.
fn offenders(root: &Path) -> Vec<(String, usize, String)> {
    let mut files = Vec::new();
    for group in ["destinations", "examples"] {
        for krate in std::fs::read_dir(root.join(group)).unwrap().flatten() {
            let src = krate.path().join("src");
            if src.is_dir() {
                rust_files(&src, &mut files);
            }
        }
    }
    files.sort();
    let mut found = Vec::new();
    for f in files {
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let text = std::fs::read_to_string(&f).unwrap();
        // unit tests may check what a message says; only the code under test classifies
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for (n, line) in code.lines().enumerate() {
            let mut rest = line.split("//").next().unwrap_or("");
            while let Some(i) = rest.find(".contains(") {
                let recv = receiver(&rest[..i]).to_owned();
                if TEXT_RECEIVERS.iter().any(|t| recv.ends_with(t)) {
                    found.push((rel.clone(), n + 1, recv));
                }
                rest = &rest[i + 1..];
            }
        }
    }
    found
}

#[test]
fn no_destination_classifies_an_error_by_its_message_text() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let found = offenders(&root);
    let new: Vec<_> = found
        .iter()
        .filter(|(file, _, recv)| !KNOWN.iter().any(|(f, r)| f == file && recv == r))
        .collect();
    assert!(
        new.is_empty(),
        "classify by the error's type, status or code, not its text: {new:?}"
    );
    // the allow-list only holds cases that still exist
    for (f, r) in KNOWN {
        assert!(
            found.iter().any(|(file, _, recv)| file == f && recv == r),
            "{f}: `{r}.contains(` is gone: drop it from KNOWN"
        );
    }
}

#[test]
fn the_scan_sees_the_shapes_it_forbids() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("destinations/x/src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::create_dir_all(dir.path().join("examples")).unwrap();
    std::fs::write(
        src.join("lib.rs"),
        "fn a(e: &E) -> bool { e.to_string().contains(\"name\") }\n\
         fn b(t: &str) -> bool { let text = t; text.contains(\"timeout\") }\n\
         fn c(s: &str) -> bool { s.contains('_') }\n\
         #[cfg(test)] fn d(e: &E) { assert!(e.message.contains(\"x\")) }\n",
    )
    .unwrap();
    let got: Vec<String> = offenders(dir.path())
        .into_iter()
        .map(|(_, _, r)| r)
        .collect();
    assert_eq!(got, ["e.to_string()", "text"]);
}
