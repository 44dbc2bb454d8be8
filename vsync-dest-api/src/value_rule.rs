//! The one place a destination checks a value before sending it: text or bytes, under the
//! service's size limit, non-empty where the service refuses empty values. The errors name the
//! key and the limit, never the value (nor its length).

use crate::{DestError, DestErrorKind, SecretItem};

/// Why a value cannot be sent to a destination.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// The destination stores text and the value is not UTF-8.
    #[error("the value of {key} is not UTF-8 text, and this destination stores text only")]
    NotText {
        /// The env key.
        key: String,
    },
    /// The value is over the destination's limit.
    #[error("the value of {key} is larger than {limit} bytes, this destination's limit")]
    TooLong {
        /// The env key.
        key: String,
        /// The limit, in bytes.
        limit: usize,
    },
    /// The destination does not store empty values.
    #[error("the value of {key} is empty, and this destination does not store empty values")]
    Empty {
        /// The env key.
        key: String,
    },
}

impl ValueError {
    /// The key concerned.
    pub fn key(&self) -> &str {
        match self {
            Self::NotText { key } | Self::TooLong { key, .. } | Self::Empty { key } => key,
        }
    }
}

impl From<ValueError> for DestError {
    fn from(e: ValueError) -> Self {
        let key = e.key().to_owned();
        DestError::new(DestErrorKind::InvalidValue, e.to_string()).with_key(key)
    }
}

impl SecretItem {
    /// The value's bytes, when they are at most `limit` bytes long.
    pub fn bytes_value(&self, limit: usize) -> Result<&[u8], ValueError> {
        let v = self.value.expose();
        if v.len() > limit {
            return Err(ValueError::TooLong {
                key: self.key.clone(),
                limit,
            });
        }
        Ok(v)
    }

    /// The value as text, when it is UTF-8 and at most `limit` bytes long (`usize::MAX`: no
    /// limit).
    pub fn text_value(&self, limit: usize) -> Result<&str, ValueError> {
        let v = self.bytes_value(limit)?;
        std::str::from_utf8(v).map_err(|_| ValueError::NotText {
            key: self.key.clone(),
        })
    }

    /// [`Self::bytes_value`] for a destination that refuses empty values.
    pub fn non_empty_value(&self, limit: usize) -> Result<&[u8], ValueError> {
        match self.bytes_value(limit)? {
            [] => Err(ValueError::Empty {
                key: self.key.clone(),
            }),
            v => Ok(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SecretBytes;

    fn item(v: &[u8]) -> SecretItem {
        SecretItem::plain("API_KEY", SecretBytes::new(v.to_vec()))
    }

    #[test]
    fn text_within_the_limit_is_returned() {
        assert_eq!(item(b"h\xc3\xa9").text_value(3), Ok("hé"));
        assert_eq!(item(b"").text_value(0), Ok(""));
    }

    #[test]
    fn each_refusal_is_typed_names_the_key_and_never_the_value() {
        let secret = b"hunter2-\xff";
        let cases = [
            (item(secret).text_value(64).unwrap_err(), "NotText"),
            (item(b"hunter2-x").text_value(4).unwrap_err(), "TooLong"),
            (item(b"hunter2-x").bytes_value(4).unwrap_err(), "TooLong"),
            (item(b"").non_empty_value(4).unwrap_err(), "Empty"),
        ];
        for (e, variant) in cases {
            assert!(format!("{e:?}").starts_with(variant), "{e:?}");
            let d = DestError::from(e.clone());
            assert_eq!(d.kind, DestErrorKind::InvalidValue);
            assert_eq!(d.key.as_deref(), Some("API_KEY"));
            let shown = format!("{d} {d:?} {e}");
            assert!(shown.contains("API_KEY"), "{shown}");
            assert!(!shown.contains("hunter2"), "value leaked: {shown}");
        }
        assert_eq!(
            item(b"12345").text_value(4),
            Err(ValueError::TooLong {
                key: "API_KEY".into(),
                limit: 4
            })
        );
    }

    #[test]
    fn the_limit_is_inclusive() {
        assert!(item(b"1234").text_value(4).is_ok());
        assert!(item(b"1234").non_empty_value(4).is_ok());
        assert!(item(b"12345").bytes_value(4).is_err());
    }
}
