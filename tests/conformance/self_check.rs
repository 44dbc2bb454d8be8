//! The harness checks its own rules on small temporary corpora before the real run: an unknown
//! category fails, a `.bin` without `.json` fails, a placeholder is skipped, a category that
//! needs bytes fails without them, and a negative case passes only on the exact class.

use std::fs;
use std::path::{Path, PathBuf};

use vsync_testkit::vectors;

use crate::{Tally, run_corpus};

struct Temp(PathBuf);

impl Drop for Temp {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn corpus(tag: &str, files: &[(&str, &[u8])]) -> std::io::Result<Temp> {
    let dir = std::env::temp_dir().join(format!(
        "vsync-conformance-self-{tag}-{}",
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&dir);
    for (rel, content) in files {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent)?;
        }
        fs::write(p, content)?;
    }
    Ok(Temp(dir))
}

/// The passed, failed and skipped counts a case expects.
const fn counts(passed: usize, failed: usize, skipped: usize) -> Tally {
    Tally {
        passed,
        failed,
        skipped,
    }
}

fn tally(dir: &Path) -> Tally {
    run_corpus(&vectors::load(dir), None, &mut std::io::sink())
}

fn seal_json(
    category: &str,
    remote: &str,
    embedded: &str,
    payload_hex: &str,
    error: &str,
) -> Vec<u8> {
    format!(
        r#"{{"category":"{category}","description":"self-check","inputs":{{"remote_ts":"{remote}"}},
            "expected":{{"embedded_ts":{embedded},"payload_hex":{payload_hex},"error":{error}}}}}"#
    )
    .into_bytes()
}

/// A fallback-chain vector whose key `K` is in the env and the defaults (not the vault), so the
/// env must win.
fn chain_json(source: &str, has: &str) -> Vec<u8> {
    format!(
        r#"{{"category":"fallback-chain","description":"self-check","inputs":{{"bin":null,
            "vault":{{"V":"1"}},"env":{{"K":"from-env"}},"defaults":{{"K":"from-default"}},
            "queries":["K"]}},"expected":{{"results":[{{"key":"K","value":"from-env",
            "source":"{source}","has":{has}}}],"error":null}}}}"#
    )
    .into_bytes()
}

/// A vector of `category` with no inputs that expects no error.
fn bare_json(category: &str) -> Vec<u8> {
    format!(r#"{{"category":"{category}","expected":{{"error":null}}}}"#).into_bytes()
}

/// A rule: its name, the files of its corpus, and the tally the harness must produce.
type Case = (&'static str, Vec<(&'static str, Vec<u8>)>, Tally);

/// Run every rule; `Ok(count)` when all hold.
pub(crate) fn run() -> Result<usize, Vec<String>> {
    let seal = b"RQEM000120260429-103045{}".to_vec();
    let ok_json = seal_json(
        "rqem0001-manifest",
        "20260429-103045",
        "\"20260429-103045\"",
        "\"7b7d\"",
        "null",
    );
    let cases: Vec<Case> = vec![
        (
            "a good positive vector passes",
            vec![
                ("rqem0001-manifest/ok.json", ok_json.clone()),
                ("rqem0001-manifest/ok.bin", seal.clone()),
            ],
            counts(1, 0, 0),
        ),
        (
            "an unknown category fails loudly",
            vec![("rqe9-future/x.json", bare_json("rqe9-future"))],
            counts(0, 1, 0),
        ),
        (
            "a .bin without its .json fails",
            vec![
                ("rqem0001-manifest/ok.json", ok_json.clone()),
                ("rqem0001-manifest/ok.bin", seal.clone()),
                ("rqem0001-manifest/orphan.bin", seal.clone()),
            ],
            counts(1, 1, 0),
        ),
        (
            "a placeholder object is skipped, not passed",
            vec![(
                "sls1-share/example.json",
                br#"{"placeholder": true}"#.to_vec(),
            )],
            counts(0, 0, 1),
        ),
        (
            "a category that needs bytes fails without a .bin",
            vec![("rqem0001-manifest/ok.json", ok_json.clone())],
            counts(0, 1, 0),
        ),
        (
            "a negative case needs the exact class, not any error",
            vec![
                (
                    "rqem0001-manifest/bad.json",
                    seal_json(
                        "rqem0001-manifest",
                        "20260429-103045",
                        "null",
                        "null",
                        "\"WrongPassphraseError\"",
                    ),
                ),
                (
                    "rqem0001-manifest/bad.bin",
                    b"XQEM000120260429-103045{}".to_vec(),
                ),
            ],
            counts(0, 1, 0),
        ),
        (
            "a positive case compares every field",
            vec![
                (
                    "rqem0001-manifest/p.json",
                    seal_json(
                        "rqem0001-manifest",
                        "20260429-103045",
                        "\"20260429-103045\"",
                        "\"7b7e\"",
                        "null",
                    ),
                ),
                ("rqem0001-manifest/p.bin", seal.clone()),
            ],
            counts(0, 1, 0),
        ),
        (
            "a runtime vector without its inputs fails, never skips",
            vec![("fallback-chain/x.json", bare_json("fallback-chain"))],
            counts(0, 1, 0),
        ),
        (
            "a fallback-chain vector runs through a real handle",
            vec![("fallback-chain/ok.json", chain_json("env", "true"))],
            counts(1, 0, 0),
        ),
        (
            "a fallback-chain vector with the wrong source fails",
            vec![("fallback-chain/bad.json", chain_json("default", "true"))],
            counts(0, 1, 0),
        ),
        (
            "an unknown error-taxonomy scenario fails loudly",
            vec![(
                "error-taxonomy/x.json",
                br#"{"category":"error-taxonomy","inputs":{"bin":null,"scenario":"dns-flap"},
                    "expected":{"error":"S3UnreachableError"}}"#
                    .to_vec(),
            )],
            counts(0, 1, 0),
        ),
    ];
    let mut errors = Vec::new();
    let n = cases.len();
    for (i, (rule, files, want)) in cases.into_iter().enumerate() {
        let files: Vec<(&str, &[u8])> = files.iter().map(|(p, b)| (*p, b.as_slice())).collect();
        match corpus(&i.to_string(), &files) {
            Ok(dir) => {
                let got = tally(&dir.0);
                if got != want {
                    errors.push(format!(
                        "rule \"{rule}\" broken: want {want:?}, got {got:?}"
                    ));
                }
            }
            Err(e) => errors.push(format!("rule \"{rule}\": cannot build a temp corpus: {e}")),
        }
    }
    if errors.is_empty() {
        Ok(n)
    } else {
        Err(errors)
    }
}
