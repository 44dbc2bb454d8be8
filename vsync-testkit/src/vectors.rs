//! Loader for the conformance corpus (`shared/test-vectors`, layout in its README).
//!
//! `<root>/<category>/<name>.json` (+ optional `<name>.bin`), one directory per category and
//! nothing nested below. [`load`] walks in sorted order, pairs `.json` with `.bin`, skips
//! `"placeholder": true` objects, and reports every lint problem (a `.bin` without `.json`,
//! a nested directory, an unreadable or non-object JSON, a `category` field that disagrees with
//! its directory, an unexpected file) instead of stopping at the first. Which categories exist
//! is the harness's business: [`Corpus::unknown_categories`] helps it fail loudly.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// The variable naming the corpus folder.
pub const ENV_VAR: &str = "VSYNC_VECTORS_DIR";

/// The nine categories the corpus README defines.
pub const KNOWN_CATEGORIES: [&str; 9] = [
    "asset-path",
    "config-blob",
    "error-taxonomy",
    "fallback-chain",
    "rqe1-decrypt",
    "rqe1-decrypt-error",
    "rqe1-rqem0001-bundle",
    "rqem0001-manifest",
    "sls1-share",
];

/// The repository root (the workspace folder holding this crate).
#[must_use]
pub fn repo_root() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}

/// The corpus folder: `$VSYNC_VECTORS_DIR` (a relative value is taken from the repository
/// root), else `../shared/test-vectors` from the repository root.
#[must_use]
pub fn default_dir() -> PathBuf {
    match std::env::var_os(ENV_VAR).filter(|v| !v.is_empty()) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                repo_root().join(dir)
            }
        }
        None => repo_root().join("../shared/test-vectors"),
    }
}

/// One vector: its metadata object and its bytes, if it has a `.bin`.
#[derive(Debug, Clone)]
pub struct Vector {
    /// The directory name.
    pub category: String,
    /// The file stem shared by the `.json` and the `.bin`.
    pub name: String,
    /// Path of the `.json`.
    pub json_path: PathBuf,
    /// The whole JSON object.
    pub meta: Map<String, Value>,
    /// The `.bin` bytes, when the file exists.
    pub bin: Option<Vec<u8>>,
}

impl Vector {
    /// `category/name`.
    #[must_use]
    pub fn id(&self) -> String {
        format!("{}/{}", self.category, self.name)
    }

    /// The `description` field (empty when absent).
    #[must_use]
    pub fn description(&self) -> &str {
        self.meta
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or("")
    }

    /// The `inputs` object (empty when absent).
    #[must_use]
    pub fn inputs(&self) -> &Map<String, Value> {
        self.object("inputs")
    }

    /// The `expected` object (empty when absent).
    #[must_use]
    pub fn expected(&self) -> &Map<String, Value> {
        self.object("expected")
    }

    /// The object under `name` in the metadata, empty when absent or not an object.
    fn object(&self, name: &str) -> &Map<String, Value> {
        static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
        self.meta
            .get(name)
            .and_then(Value::as_object)
            .unwrap_or_else(|| EMPTY.get_or_init(Map::new))
    }

    /// A string input, if present and a string.
    #[must_use]
    pub fn input_str(&self, key: &str) -> Option<&str> {
        self.inputs().get(key).and_then(Value::as_str)
    }

    /// `expected.error`: `Ok(None)` for a positive case, `Ok(Some(class))` for a negative one,
    /// `Err` when the field is missing or not a string/null.
    ///
    /// # Errors
    /// A message naming the problem.
    pub fn expected_error(&self) -> Result<Option<&str>, String> {
        match self.expected().get("error") {
            Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err("expected.error is neither null nor a string".into()),
            None => Err("expected.error is missing".into()),
        }
    }
}

/// A lint problem found while walking the corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The offending path.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

/// The loaded corpus.
#[derive(Debug, Clone, Default)]
pub struct Corpus {
    /// The folder that was walked.
    pub root: PathBuf,
    /// Vectors in sorted (category, name) order.
    pub vectors: Vec<Vector>,
    /// `category/name` of objects skipped because of `"placeholder": true`.
    pub placeholders: Vec<String>,
    /// Lint problems; each one is a failure.
    pub problems: Vec<Problem>,
}

impl Corpus {
    /// Categories present in the corpus that are not in `known`, sorted.
    #[must_use]
    pub fn unknown_categories(&self, known: &[&str]) -> Vec<String> {
        let mut out: Vec<String> = self
            .vectors
            .iter()
            .map(|v| v.category.clone())
            .filter(|c| !known.contains(&c.as_str()))
            .collect();
        out.dedup();
        out
    }
}

fn sorted_entries(dir: &Path, problems: &mut Vec<Problem>) -> Vec<PathBuf> {
    match fs::read_dir(dir) {
        Ok(rd) => {
            let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
            v.sort();
            v
        }
        Err(e) => {
            problems.push(Problem {
                path: dir.to_path_buf(),
                message: format!("cannot read: {e}"),
            });
            Vec::new()
        }
    }
}

fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

/// Walk a corpus folder. A missing or empty folder is a problem, not a panic.
#[must_use]
pub fn load(root: &Path) -> Corpus {
    let mut corpus = Corpus {
        root: root.to_path_buf(),
        ..Corpus::default()
    };
    if !root.is_dir() {
        corpus.problems.push(Problem {
            path: root.to_path_buf(),
            message: format!("corpus folder not found (set {ENV_VAR})"),
        });
        return corpus;
    }
    for cat_path in sorted_entries(root, &mut corpus.problems) {
        if is_hidden(&cat_path) {
            continue;
        }
        if !cat_path.is_dir() {
            // README.md and other top-level notes are not vectors.
            continue;
        }
        let category = cat_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        load_category(&mut corpus, &cat_path, &category);
    }
    if corpus.vectors.is_empty() && corpus.placeholders.is_empty() && corpus.problems.is_empty() {
        corpus.problems.push(Problem {
            path: root.to_path_buf(),
            message: "corpus holds no vectors".into(),
        });
    }
    corpus
}

fn load_category(corpus: &mut Corpus, dir: &Path, category: &str) {
    // stem -> (json, bin)
    let mut pairs: BTreeMap<String, (Option<PathBuf>, Option<PathBuf>)> = BTreeMap::new();
    for path in sorted_entries(dir, &mut corpus.problems) {
        if is_hidden(&path) {
            continue;
        }
        if path.is_dir() {
            corpus.problems.push(Problem {
                path,
                message: "nested directory (the corpus has one level of categories)".into(),
            });
            continue;
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        match path.extension().and_then(|e| e.to_str()) {
            Some("json") => pairs.entry(stem).or_default().0 = Some(path),
            Some("bin") => pairs.entry(stem).or_default().1 = Some(path),
            _ => corpus.problems.push(Problem {
                path,
                message: "unexpected file (only <name>.json and <name>.bin belong here)".into(),
            }),
        }
    }
    for (name, (json, bin)) in pairs {
        let Some(json_path) = json else {
            if let Some(bin) = bin {
                corpus.problems.push(Problem {
                    path: bin,
                    message: "a .bin without its .json".into(),
                });
            }
            continue;
        };
        let meta = match fs::read(&json_path)
            .map_err(|e| e.to_string())
            .and_then(|b| {
                serde_json::from_slice::<Value>(&b).map_err(|e| format!("invalid JSON: {e}"))
            }) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                corpus.problems.push(Problem {
                    path: json_path,
                    message: "not a JSON object".into(),
                });
                continue;
            }
            Err(message) => {
                corpus.problems.push(Problem {
                    path: json_path,
                    message,
                });
                continue;
            }
        };
        if meta.get("placeholder") == Some(&Value::Bool(true)) {
            corpus.placeholders.push(format!("{category}/{name}"));
            continue;
        }
        if let Some(c) = meta.get("category")
            && c.as_str() != Some(category)
        {
            corpus.problems.push(Problem {
                path: json_path,
                message: format!("category field {c} differs from its directory {category:?}"),
            });
            continue;
        }
        let bin = match bin.map(|p| {
            fs::read(&p).map_err(|e| Problem {
                path: p,
                message: format!("cannot read: {e}"),
            })
        }) {
            None => None,
            Some(Ok(b)) => Some(b),
            Some(Err(p)) => {
                corpus.problems.push(p);
                continue;
            }
        };
        corpus.vectors.push(Vector {
            category: category.to_owned(),
            name,
            json_path,
            meta,
            bin,
        });
    }
}

/// Decode lowercase or uppercase hex (even length).
///
/// # Errors
/// A message for odd length or a non-hex character.
pub fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err(format!("odd-length hex ({} chars)", s.len()));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(|| format!("invalid hex at offset {i}"))
        })
        .collect()
}

/// Lowercase hex.
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    struct TempCorpus(PathBuf);

    impl TempCorpus {
        fn new(tag: &str) -> Self {
            let mut b = [0u8; 8];
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            b.copy_from_slice(&(t as u64).to_le_bytes());
            let dir = std::env::temp_dir().join(format!(
                "vsync-vectors-{tag}-{}-{}",
                std::process::id(),
                hex(&b)
            ));
            fs::create_dir_all(&dir).unwrap();
            Self(dir)
        }

        fn file(&self, rel: &str, content: &[u8]) -> &Self {
            let p = self.0.join(rel);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, content).unwrap();
            self
        }
    }

    impl Drop for TempCorpus {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn meta(category: &str) -> String {
        format!(
            r#"{{"category":"{category}","description":"d","inputs":{{}},"expected":{{"error":null}}}}"#
        )
    }

    #[test]
    fn pairs_and_sorts() {
        let c = TempCorpus::new("pairs");
        c.file("README.md", b"# notes")
            .file("b-cat/z.json", meta("b-cat").as_bytes())
            .file("b-cat/a.json", meta("b-cat").as_bytes())
            .file("b-cat/a.bin", b"\x00\x01")
            .file("a-cat/x.json", meta("a-cat").as_bytes());
        let corpus = load(&c.0);
        assert!(corpus.problems.is_empty(), "{:?}", corpus.problems);
        let ids: Vec<String> = corpus.vectors.iter().map(Vector::id).collect();
        assert_eq!(ids, ["a-cat/x", "b-cat/a", "b-cat/z"]);
        assert_eq!(corpus.vectors[1].bin.as_deref(), Some(&b"\x00\x01"[..]));
        assert_eq!(corpus.vectors[2].bin, None);
        assert_eq!(corpus.vectors[0].expected_error(), Ok(None));
        assert_eq!(corpus.unknown_categories(&["a-cat"]), ["b-cat"]);
        assert!(corpus.unknown_categories(&KNOWN_CATEGORIES).len() == 2);
    }

    #[test]
    fn bin_without_json_is_a_problem() {
        let c = TempCorpus::new("orphan");
        c.file("rqe1-decrypt/ok.json", meta("rqe1-decrypt").as_bytes())
            .file("rqe1-decrypt/orphan.bin", b"RQE1");
        let corpus = load(&c.0);
        assert_eq!(corpus.vectors.len(), 1);
        assert_eq!(corpus.problems.len(), 1);
        assert!(corpus.problems[0].message.contains(".bin without"));
    }

    #[test]
    fn placeholders_are_skipped() {
        let c = TempCorpus::new("placeholder");
        c.file("sls1-share/example.json", br#"{"placeholder": true}"#)
            .file("sls1-share/real.json", meta("sls1-share").as_bytes());
        let corpus = load(&c.0);
        assert_eq!(corpus.placeholders, ["sls1-share/example"]);
        assert_eq!(corpus.vectors.len(), 1);
        assert!(corpus.problems.is_empty());
    }

    #[test]
    fn malformed_things_are_problems() {
        let c = TempCorpus::new("malformed");
        c.file("cat/bad.json", b"{not json")
            .file("cat/list.json", b"[1,2]")
            .file("cat/moved.json", meta("other").as_bytes())
            .file("cat/notes.txt", b"hi")
            .file("cat/deeper/x.json", meta("cat").as_bytes());
        let corpus = load(&c.0);
        assert!(corpus.vectors.is_empty());
        assert_eq!(corpus.problems.len(), 5, "{:?}", corpus.problems);
    }

    #[test]
    fn missing_or_empty_corpus_is_a_problem() {
        let c = TempCorpus::new("empty");
        assert_eq!(load(&c.0).problems.len(), 1);
        assert_eq!(load(&c.0.join("nope")).problems.len(), 1);
    }

    #[test]
    fn real_corpus_loads_cleanly() {
        let dir = default_dir();
        if !dir.is_dir() {
            return; // not every checkout has shared/ beside it
        }
        let corpus = load(&dir);
        assert!(corpus.problems.is_empty(), "{:?}", corpus.problems);
        assert!(corpus.unknown_categories(&KNOWN_CATEGORIES).is_empty());
        assert!(corpus.vectors.len() >= 35);
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(unhex("00ff10").unwrap(), [0, 255, 16]);
        assert_eq!(hex(&[0, 255, 16]), "00ff10");
        assert!(unhex("abc").is_err());
        assert!(unhex("zz").is_err());
        assert!(unhex("é1").is_err());
    }
}
