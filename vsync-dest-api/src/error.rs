//! Typed destination errors (docs/sync-contract.md §15.7). Messages are built from names and statuses, never
//! from values. The engine branches only on [`DestError::retryable`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What went wrong, and so what the engine does about it.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DestErrorKind {
    /// Routing missing or invalid. Never retried; the target exits 1.
    Config,
    /// A required external tool is not on PATH. Never retried.
    ToolMissing,
    /// 401/403, not logged in, token expired. Never retried.
    Auth,
    /// Repo/project/vault/mount does not exist. Never retried.
    NotFound,
    /// The name is rejected by a rule or by the remote. Aborts the target before any write.
    InvalidName,
    /// Too large, empty where forbidden, binary where text is required.
    InvalidValue,
    /// Pending deletion, CAS mismatch, soft-deleted name.
    Conflict,
    /// Throttled: retried, honouring `retry_after`.
    RateLimited,
    /// 5xx, connection reset, DNS hiccup: retried.
    Transient,
    /// The call took too long: retried.
    Timeout,
    /// Ctrl-C or the global timeout.
    Cancelled,
    /// The capability is absent (e.g. prune without delete).
    Unsupported,
    /// A bug or a broken plugin.
    Internal,
}

impl DestErrorKind {
    /// Snake-case name, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::ToolMissing => "tool_missing",
            Self::Auth => "auth",
            Self::NotFound => "not_found",
            Self::InvalidName => "invalid_name",
            Self::InvalidValue => "invalid_value",
            Self::Conflict => "conflict",
            Self::RateLimited => "rate_limited",
            Self::Transient => "transient",
            Self::Timeout => "timeout",
            Self::Cancelled => "cancelled",
            Self::Unsupported => "unsupported",
            Self::Internal => "internal",
        }
    }

    /// Parse snake_case or PascalCase; unknown names become `Internal`.
    pub fn parse_lenient(s: &str) -> Self {
        let norm: String = s
            .chars()
            .filter(|c| *c != '_' && *c != '-')
            .collect::<String>()
            .to_ascii_lowercase();
        match norm.as_str() {
            "config" => Self::Config,
            "toolmissing" => Self::ToolMissing,
            "auth" => Self::Auth,
            "notfound" => Self::NotFound,
            "invalidname" => Self::InvalidName,
            "invalidvalue" => Self::InvalidValue,
            "conflict" => Self::Conflict,
            "ratelimited" => Self::RateLimited,
            "transient" => Self::Transient,
            "timeout" => Self::Timeout,
            "cancelled" | "canceled" => Self::Cancelled,
            "unsupported" => Self::Unsupported,
            _ => Self::Internal,
        }
    }
}

/// A destination error: a kind, a value-free message, optionally the key it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct DestError {
    /// What went wrong.
    pub kind: DestErrorKind,
    /// One line, no secret values.
    pub message: String,
    /// The env key (or remote name) concerned.
    pub key: Option<String>,
    /// For `RateLimited`: how long the remote asked us to wait.
    pub retry_after: Option<Duration>,
}

impl DestError {
    /// A new error.
    pub fn new(kind: DestErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            key: None,
            retry_after: None,
        }
    }

    /// Attach the key.
    #[must_use]
    pub fn with_key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Attach a retry-after hint.
    #[must_use]
    pub fn with_retry_after(mut self, d: Duration) -> Self {
        self.retry_after = Some(d);
        self
    }

    /// `Config` error.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(DestErrorKind::Config, message)
    }

    /// `InvalidName` error for `key`.
    pub fn invalid_name(key: &str, message: impl Into<String>) -> Self {
        Self::new(DestErrorKind::InvalidName, message).with_key(key)
    }

    /// `Unsupported` error.
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(DestErrorKind::Unsupported, message)
    }

    /// `Internal` error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(DestErrorKind::Internal, message)
    }

    /// Whether the engine retries: `RateLimited`, `Transient`, `Timeout`.
    pub fn retryable(&self) -> bool {
        matches!(
            self.kind,
            DestErrorKind::RateLimited | DestErrorKind::Transient | DestErrorKind::Timeout
        )
    }

    fn render(&self) -> String {
        match &self.key {
            Some(k) => format!("{}: {} ({})", k, self.message, self.kind.as_str()),
            None => format!("{} ({})", self.message, self.kind.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_kinds() {
        assert!(DestError::new(DestErrorKind::RateLimited, "x").retryable());
        assert!(DestError::new(DestErrorKind::Transient, "x").retryable());
        assert!(DestError::new(DestErrorKind::Timeout, "x").retryable());
        assert!(!DestError::new(DestErrorKind::Auth, "x").retryable());
        assert!(!DestError::config("x").retryable());
    }

    #[test]
    fn lenient_kind_names() {
        assert_eq!(
            DestErrorKind::parse_lenient("RateLimited"),
            DestErrorKind::RateLimited
        );
        assert_eq!(
            DestErrorKind::parse_lenient("rate_limited"),
            DestErrorKind::RateLimited
        );
        assert_eq!(
            DestErrorKind::parse_lenient("whatever"),
            DestErrorKind::Internal
        );
    }
}
