//! [`UnknownFields`]: the fields of a format this version does not know, kept for the round trip.

use core::fmt;
use core::ops::{Deref, DerefMut};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Fields a newer writer added, kept so that rewriting a file does not drop them
/// (`#[serde(flatten)]` into the format's struct). `Debug` lists their names only: a field this
/// version does not know may hold anything, a secret included, so a derived `Debug` of the
/// containing struct stays safe to log.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UnknownFields(pub Map<String, Value>);

impl fmt::Debug for UnknownFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl From<Map<String, Value>> for UnknownFields {
    fn from(map: Map<String, Value>) -> Self {
        Self(map)
    }
}

impl Deref for UnknownFields {
    type Target = Map<String, Value>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for UnknownFields {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_names_the_fields_and_hides_their_values() {
        let mut u = UnknownFields::default();
        u.insert("future".into(), Value::from("hunter2"));
        assert_eq!(format!("{u:?}"), r#"["future"]"#);
        // serde sees the plain map (flattened into the containing object)
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"{"future":"hunter2"}"#
        );
    }
}
