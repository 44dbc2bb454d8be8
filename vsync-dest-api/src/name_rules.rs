//! Regex-free name validation helpers shared by destinations and the plugin host.

use std::collections::BTreeMap;

use crate::{DestError, RemoteName};

/// A declarative name rule (also the plugin manifest's `name_rule`, minus the regex).
#[derive(Debug, Clone, Copy)]
pub struct NameRule {
    /// Characters allowed anywhere.
    pub allowed: fn(char) -> bool,
    /// Characters allowed as the first one (None = same as `allowed`).
    pub first: Option<fn(char) -> bool>,
    /// Minimum length in characters.
    pub min_len: usize,
    /// Maximum length in characters.
    pub max_len: usize,
    /// Prefixes that are refused, compared case-insensitively.
    pub forbidden_prefixes: &'static [&'static str],
}

impl NameRule {
    /// Check `name` (the remote name) for `key` (the env key, used in the message).
    pub fn check(&self, key: &str, name: &str) -> Result<(), DestError> {
        let len = name.chars().count();
        if len < self.min_len || len > self.max_len {
            return Err(DestError::invalid_name(
                key,
                format!(
                    "name must be {}..={} characters, got {len}",
                    self.min_len, self.max_len
                ),
            ));
        }
        let mut chars = name.chars();
        if let (Some(first_ok), Some(c)) = (self.first, name.chars().next()) {
            if !first_ok(c) {
                return Err(DestError::invalid_name(
                    key,
                    format!("name may not start with {c:?}"),
                ));
            }
            chars.next();
        }
        if let Some(c) = chars.find(|c| !(self.allowed)(*c)) {
            return Err(DestError::invalid_name(
                key,
                format!("character {c:?} is not allowed"),
            ));
        }
        let upper = name.to_ascii_uppercase();
        if let Some(p) = self
            .forbidden_prefixes
            .iter()
            .find(|p| upper.starts_with(&p.to_ascii_uppercase()))
        {
            return Err(DestError::invalid_name(
                key,
                format!("names may not start with {p}"),
            ));
        }
        Ok(())
    }
}

/// `[A-Za-z0-9_]`.
pub fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `[A-Za-z_]`.
pub fn is_word_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

/// `[A-Za-z0-9_-]`.
pub fn is_word_or_dash(c: char) -> bool {
    is_word(c) || c == '-'
}

/// Groups of source keys whose remote names are equal (case-insensitively when asked).
/// Each group has at least two keys; the result is empty when there is no collision.
pub fn collisions<'a>(
    mapped: impl IntoIterator<Item = (&'a str, &'a RemoteName)>,
    case_insensitive: bool,
) -> Vec<(String, Vec<String>)> {
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (key, name) in mapped {
        let norm = if case_insensitive {
            name.0.to_ascii_lowercase()
        } else {
            name.0.clone()
        };
        seen.entry(norm).or_default().push(key.to_owned());
    }
    seen.into_iter().filter(|(_, v)| v.len() > 1).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const GH: NameRule = NameRule {
        allowed: is_word,
        first: Some(is_word_start),
        min_len: 1,
        max_len: 255,
        forbidden_prefixes: &["GITHUB_"],
    };

    #[test]
    fn github_like_rule() {
        assert!(GH.check("A", "API_KEY").is_ok());
        assert!(GH.check("A", "1ABC").is_err());
        assert!(GH.check("A", "A-B").is_err());
        assert!(GH.check("A", "github_token").is_err());
        assert!(GH.check("A", "").is_err());
    }

    #[test]
    fn collisions_case_insensitive() {
        let a = RemoteName("Foo".into());
        let b = RemoteName("FOO".into());
        let c = RemoteName("bar".into());
        let got = collisions([("Foo", &a), ("FOO", &b), ("bar", &c)], true);
        assert_eq!(got.len(), 1);
        assert!(collisions([("Foo", &a), ("FOO", &b)], false).is_empty());
    }
}
