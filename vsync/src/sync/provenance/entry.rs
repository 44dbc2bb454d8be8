//! One provenance entry: what a writing `vsync sync` did, who ran it, from which checkout, CI run
//! and bundle. Sealed with RQE1 under the bundle key, as receipts are; every value is named by
//! its keyed fingerprint ([`crate::sync::receipt::fingerprint`]), never by the value or an
//! unkeyed hash.

use serde::{Deserialize, Serialize};
use vsync_crypto::kdf::DerivedKey;

/// The `format` of entries this build writes and reads.
pub const FORMAT: &str = "vsync-provenance/1";

/// Who ran the sync: the columns an audit row names people by.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// `git config user.email` in the checkout (may be empty).
    #[serde(default)]
    pub git_email: String,
    /// The OS user (may be empty).
    #[serde(default)]
    pub os_user: String,
    /// This machine's name (may be empty).
    #[serde(default)]
    pub hostname: String,
}

impl Actor {
    /// How a person reads it: the git e-mail (else the OS user) `@` the machine.
    pub fn display(&self) -> String {
        let who = if self.git_email.is_empty() {
            &self.os_user
        } else {
            &self.git_email
        };
        if self.hostname.is_empty() {
            who.clone()
        } else {
            format!("{who}@{}", self.hostname)
        }
    }
}

/// The checkout the sync ran from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitState {
    /// `HEAD`'s commit id.
    pub commit: String,
    /// The tag pointing exactly at `HEAD`, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// The CI run the sync ran in, when the environment says so.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CiRun {
    /// `github-actions`, `gitlab-ci`, `buildkite`, `circleci` or `jenkins`.
    pub system: String,
    /// The run's (pipeline's, build's) URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The run id, where the system has one apart from the URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The job's URL (GitLab), when it differs from the run's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_url: Option<String>,
}

/// The version the sync read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleRef {
    /// Its `BUNDLE_TS`.
    pub ts: String,
    /// The key generation (`latest.manifest`), when the bucket has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<u64>,
    /// Hex SHA-256 of the version object's bytes as stored (ciphertext).
    pub sha256: String,
}

/// One key a target holds after the sync, as far as vsync knows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    /// The vault key (absent for a pruned remote name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The name at the destination.
    pub remote: String,
    /// create | update | upsert | unchanged | delete.
    pub op: String,
    /// Keyed fingerprint of the value (absent for a delete).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fp: Option<String>,
}

impl KeyRecord {
    /// Whether this sync sent (or deleted) the value, rather than finding it already there.
    pub fn wrote(&self) -> bool {
        self.op != "unchanged"
    }
}

/// One target of the sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TargetRecord {
    /// The target id (`github`, `aws`, a plugin id).
    pub target: String,
    /// The destination's routing summary (`repo=o/r, environment=prod`; never a value).
    #[serde(default)]
    pub routing: String,
    /// The resolved routing options (which repo, path, prefix…): with the target, what tells
    /// one destination from another (the summary may carry changing details).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub options: serde_json::Map<String, serde_json::Value>,
    /// ok | partial | failed.
    pub status: String,
    /// Keys that failed or were not attempted (not in `keys`).
    #[serde(default)]
    pub not_written: usize,
    /// Every key the destination holds from this sync, written or found unchanged.
    #[serde(default)]
    pub keys: Vec<KeyRecord>,
}

impl TargetRecord {
    /// What identifies the destination: the target id and its routing options (the same
    /// target id may point at several).
    pub fn destination_id(&self) -> (String, String) {
        let options = if self.options.is_empty() {
            self.routing.clone()
        } else {
            serde_json::Value::Object(self.options.clone()).to_string()
        };
        (self.target.clone(), options)
    }
}

/// The parser policy of the run, so a later reader shapes the vault the same way.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyRecord {
    /// `--exclude-property`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// `--inline-file-suffix`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inline_suffixes: Vec<String>,
}

/// One provenance entry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// [`FORMAT`].
    pub format: String,
    /// When the sync finished (`ISO_TS`, UTC, milliseconds).
    pub time: String,
    /// The repo identity.
    pub repo: String,
    /// The env.
    pub env: String,
    /// Who ran it.
    pub who: Actor,
    /// `--release`, else the exact tag at `HEAD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    /// The checkout, when it is a git work tree with a commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitState>,
    /// The CI run, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<CiRun>,
    /// The pushed version synced; absent with `--from-local`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bundle: Option<BundleRef>,
    /// The parser policy.
    #[serde(default)]
    pub policy: PolicyRecord,
    /// What each target holds.
    #[serde(default)]
    pub targets: Vec<TargetRecord>,
}

impl Entry {
    /// Distinct vault keys recorded across the targets.
    pub fn key_count(&self) -> usize {
        let mut keys: Vec<&str> = self
            .targets
            .iter()
            .flat_map(|t| t.keys.iter().filter_map(|k| k.key.as_deref()))
            .collect();
        keys.sort_unstable();
        keys.dedup();
        keys.len()
    }

    /// Writes (and deletes) this sync made across the targets.
    pub fn written_count(&self) -> usize {
        self.targets
            .iter()
            .map(|t| t.keys.iter().filter(|k| k.wrote()).count())
            .sum()
    }
}

/// Why a stored entry could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unreadable {
    /// The envelope did not open: tampered bytes, or another key.
    #[error("does not decrypt with this env's key (tampered, or sealed under another key)")]
    Sealed,
    /// It opened under an older key generation's name: written before a key rotation.
    #[error("sealed under the key of generation {0}, before a rotation")]
    OlderGeneration(u64),
    /// It opened, but is not an entry this build reads.
    #[error("not a provenance entry: {0}")]
    Malformed(String),
    /// It is an entry of another (repo, env).
    #[error("belongs to {0}, not to this env")]
    Foreign(String),
    /// The bucket did not give it back (removed since the listing, or a store error).
    #[error("could not be read from the bucket: {0}")]
    Fetch(String),
}

impl Unreadable {
    /// Whether this is expected after a key rotation rather than a sign of tampering.
    pub fn is_benign(&self) -> bool {
        matches!(self, Unreadable::OlderGeneration(_))
    }
}

/// Seal an entry.
pub fn seal(key: &DerivedKey, e: &Entry) -> Vec<u8> {
    let json = serde_json::to_vec(e).unwrap_or_default();
    vsync_crypto::rqe1::encrypt(key, &json)
}

/// Open a sealed entry of (repo, env).
pub fn open(key: &DerivedKey, bytes: &[u8], repo: &str, env: &str) -> Result<Entry, Unreadable> {
    let plain = vsync_crypto::rqe1::decrypt(key, bytes).map_err(|_| Unreadable::Sealed)?;
    let e: Entry = serde_json::from_slice(&plain).map_err(|err| {
        Unreadable::Malformed(format!("{} (line {})", err.classify_kind(), err.line()))
    })?;
    if e.format != FORMAT {
        return Err(Unreadable::Malformed(format!(
            "format {:?}",
            crate::output::untrusted(&e.format)
        )));
    }
    if e.repo != repo || !e.env.eq_ignore_ascii_case(env) {
        return Err(Unreadable::Foreign(format!(
            "{}/{}",
            crate::output::untrusted(&e.repo),
            crate::output::untrusted(&e.env)
        )));
    }
    Ok(e)
}

trait ClassifyKind {
    fn classify_kind(&self) -> &'static str;
}

impl ClassifyKind for serde_json::Error {
    fn classify_kind(&self) -> &'static str {
        match self.classify() {
            serde_json::error::Category::Io => "unreadable",
            serde_json::error::Category::Syntax => "not JSON",
            serde_json::error::Category::Data => "missing or mistyped fields",
            serde_json::error::Category::Eof => "truncated JSON",
        }
    }
}

/// A fresh object name: the UTC time (so names sort by time), the key generation the entry is
/// sealed under, and random hex (so two syncs in the same millisecond both keep theirs).
pub fn object_name(time: &str, generation: u64) -> String {
    let compact: String = time.chars().filter(char::is_ascii_alphanumeric).collect();
    let mut r = [0u8; 6];
    vsync_crypto::random::fill(&mut r);
    format!(
        "{compact}-g{generation}-{}",
        crate::plugins::discover::hex(&r)
    )
}

/// The key generation an object name says its entry is sealed under.
pub fn generation_of_name(name: &str) -> Option<u64> {
    name.split('-')
        .find_map(|part| part.strip_prefix('g'))
        .and_then(|g| g.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry() -> Entry {
        Entry {
            format: FORMAT.into(),
            time: "2026-12-06T11:00:00.123Z".into(),
            repo: "acme".into(),
            env: "dev".into(),
            targets: vec![TargetRecord {
                target: "github".into(),
                status: "ok".into(),
                keys: vec![KeyRecord {
                    key: Some("A".into()),
                    remote: "A".into(),
                    op: "create".into(),
                    fp: Some("ab".into()),
                }],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn seal_open_and_the_ways_an_entry_is_refused() {
        let k = DerivedKey::from_bytes([7; 32]);
        let e = entry();
        let sealed = seal(&k, &e);
        assert_eq!(open(&k, &sealed, "acme", "dev"), Ok(e.clone()));
        assert_eq!(
            open(&DerivedKey::from_bytes([8; 32]), &sealed, "acme", "dev"),
            Err(Unreadable::Sealed)
        );
        let mut bad = sealed.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        assert_eq!(open(&k, &bad, "acme", "dev"), Err(Unreadable::Sealed));
        assert!(matches!(
            open(&k, &sealed, "acme", "prod"),
            Err(Unreadable::Foreign(_))
        ));
        // a receipt sealed under the same key is not an entry
        let receipt = vsync_crypto::rqe1::encrypt(&k, br#"{"A":"ab"}"#);
        assert!(matches!(
            open(&k, &receipt, "acme", "dev"),
            Err(Unreadable::Malformed(_))
        ));
        let mut other = e;
        other.format = "vsync-provenance/9".into();
        assert!(matches!(
            open(&k, &seal(&k, &other), "acme", "dev"),
            Err(Unreadable::Malformed(_))
        ));
    }

    #[test]
    fn names_sort_by_time_and_carry_the_generation() {
        let a = object_name("2026-12-06T11:00:00.123Z", 0);
        let b = object_name("2026-12-06T11:00:01.000Z", 3);
        assert!(a < b, "{a} {b}");
        assert!(a.starts_with("20261206T110000123Z-g0-"));
        assert_eq!(generation_of_name(&b), Some(3));
        assert_ne!(object_name("2026-12-06T11:00:00.123Z", 0), a);
    }

    #[test]
    fn counts_keys_once_and_writes_per_target() {
        let mut e = entry();
        let mut t = e.targets[0].clone();
        t.target = "aws".into();
        t.keys[0].op = "unchanged".into();
        e.targets.push(t);
        assert_eq!(e.key_count(), 1);
        assert_eq!(e.written_count(), 1);
    }
}
