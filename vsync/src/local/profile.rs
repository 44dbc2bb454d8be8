//! Named bucket credentials on this machine: `<base>/profiles/<name>.json`, plain pretty JSON,
//! 0600 in a 0700 folder (docs/formats.md §9.5).

use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::fsutil::{self, FsError};
use super::paths;

/// One profile.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    /// Always 1.
    pub version: u64,
    /// S3 endpoint URL.
    pub endpoint: String,
    /// Region.
    pub region: String,
    /// Bucket.
    pub bucket: String,
    /// Optional key prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// Unknown fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl fmt::Debug for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = [&self.endpoint, &self.region, &self.bucket];
        super::config::debug_s3_credentials(f, "Profile", location, &self.access_key_id)
    }
}

/// Profile failures.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// File I/O.
    #[error(transparent)]
    Fs(#[from] FsError),
    /// Bad name.
    #[error("profile name {0:?} is invalid: use 1-64 of A-Z a-z 0-9 . _ -")]
    BadName(String),
    /// Not there.
    #[error("no profile named {0:?}")]
    Missing(String),
    /// Already there.
    #[error("a profile named {0:?} already exists")]
    Exists(String),
    /// Unreadable.
    #[error("profile {name:?} is malformed: {reason}")]
    Malformed {
        /// Profile name.
        name: String,
        /// What is wrong.
        reason: String,
    },
}

/// `^[A-Za-z0-9._-]{1,64}$`
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && name != "."
        && name != ".."
}

fn path_of(base: &Path, name: &str) -> Result<PathBuf, ProfileError> {
    if !valid_name(name) {
        return Err(ProfileError::BadName(name.to_owned()));
    }
    Ok(paths::profiles_dir(base).join(format!("{name}.json")))
}

impl Profile {
    fn check(&self) -> Result<(), &'static str> {
        if self.version != 1 {
            return Err("version must be 1");
        }
        for (v, field) in [
            (&self.endpoint, "endpoint"),
            (&self.region, "region"),
            (&self.bucket, "bucket"),
            (&self.access_key_id, "accessKeyId"),
            (&self.secret_access_key, "secretAccessKey"),
        ] {
            if v.is_empty() {
                return Err(match field {
                    "endpoint" => "endpoint is empty",
                    "region" => "region is empty",
                    "bucket" => "bucket is empty",
                    "accessKeyId" => "accessKeyId is empty",
                    _ => "secretAccessKey is empty",
                });
            }
        }
        Ok(())
    }
}

/// Load one profile.
pub fn load(base: &Path, name: &str) -> Result<Profile, ProfileError> {
    let path = path_of(base, name)?;
    let raw =
        fsutil::read_optional(&path)?.ok_or_else(|| ProfileError::Missing(name.to_owned()))?;
    let p: Profile = serde_json::from_slice(&raw).map_err(|e| ProfileError::Malformed {
        name: name.to_owned(),
        reason: format!(
            "not JSON of the expected shape (line {} column {})",
            e.line(),
            e.column()
        ),
    })?;
    p.check().map_err(|r| ProfileError::Malformed {
        name: name.to_owned(),
        reason: r.to_owned(),
    })?;
    Ok(p)
}

/// Save a profile; refuses to replace an existing one unless `overwrite`.
pub fn save(
    base: &Path,
    name: &str,
    profile: &Profile,
    overwrite: bool,
) -> Result<PathBuf, ProfileError> {
    let path = path_of(base, name)?;
    if !overwrite && path.exists() {
        return Err(ProfileError::Exists(name.to_owned()));
    }
    profile.check().map_err(|r| ProfileError::Malformed {
        name: name.to_owned(),
        reason: r.to_owned(),
    })?;
    let mut json = serde_json::to_vec_pretty(profile).map_err(|e| ProfileError::Malformed {
        name: name.to_owned(),
        reason: e.to_string(),
    })?;
    json.push(b'\n');
    fsutil::ensure_private_dir(base)?;
    fsutil::write_private(&path, &json)?;
    Ok(path)
}

/// Remove a profile.
pub fn remove(base: &Path, name: &str) -> Result<(), ProfileError> {
    let path = path_of(base, name)?;
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(ProfileError::Missing(name.to_owned()))
        }
        Err(e) => Err(FsError::new("remove", &path, e).into()),
    }
}

/// Names of the profiles that parse, sorted. Unparsable files are skipped.
pub fn list(base: &Path) -> Vec<(String, Profile)> {
    let Ok(rd) = std::fs::read_dir(paths::profiles_dir(base)) else {
        return Vec::new();
    };
    let mut out: Vec<_> = rd
        .filter_map(Result::ok)
        .filter_map(|e| {
            e.file_name()
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .map(str::to_owned)
        })
        .filter_map(|name| load(base, &name).ok().map(|p| (name, p)))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A secret shown as its first two characters and a mask.
pub fn mask(secret: &str) -> String {
    let head: String = secret.chars().take(2).collect();
    format!("{head}{}", "*".repeat(8))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Profile {
        Profile {
            version: 1,
            endpoint: "http://127.0.0.1:8333".into(),
            region: "us-east-1".into(),
            bucket: "b".into(),
            prefix: None,
            access_key_id: "AK".into(),
            secret_access_key: "very-secret".into(),
            extra: Map::new(),
        }
    }

    #[test]
    fn save_list_load_remove() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path();
        let path = save(base, "ci", &sample(), false).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n") && text.contains("\n  \"endpoint\""));
        assert!(matches!(
            save(base, "ci", &sample(), false),
            Err(ProfileError::Exists(_))
        ));
        std::fs::write(paths::profiles_dir(base).join("junk.json"), b"{").unwrap();
        let names: Vec<_> = list(base).into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["ci"]);
        assert_eq!(load(base, "ci").unwrap().bucket, "b");
        assert!(matches!(load(base, "../x"), Err(ProfileError::BadName(_))));
        remove(base, "ci").unwrap();
        assert!(matches!(load(base, "ci"), Err(ProfileError::Missing(_))));
        assert!(!format!("{:?}", sample()).contains("very-secret"));
        assert_eq!(mask("very-secret"), "ve********");
    }
}
