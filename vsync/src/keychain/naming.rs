//! Where a (repo, env) key lives in each OS store: the identity upstream (Bun.secrets) uses, so a
//! key written by either tool is found by the other. One place, shared by every store.
//!
//! | store | item |
//! |---|---|
//! | Secret Service | attributes `xdg:schema=com.oven-sh.bun.Secret`, `service`, `account`; label `<service>/<account>` |
//! | macOS Keychain | generic password, service `tools.vsync`, account `<repo>/<env>` |
//! | Windows Credential Manager | generic credential, TargetName `tools.vsync/<repo>/<env>`, the key as a UTF-8 blob |
//! | kernel keyring (vsync only) | user key, description `tools.vsync:<repo>/<env>` |

use std::collections::HashMap;

/// The keychain service name shared with upstream.
pub const SERVICE: &str = "tools.vsync";

/// The libsecret schema upstream stores and looks up with (its lookups match the schema name).
pub const SCHEMA: &str = "com.oven-sh.bun.Secret";

/// The attribute libsecret keeps the schema name in.
pub const SCHEMA_ATTRIBUTE: &str = "xdg:schema";

/// The keychain account of a (repo, env): `<repo>/<env>` (env not lower-cased).
pub fn account(repo: &str, env: &str) -> String {
    format!("{repo}/{env}")
}

/// The account holding a key while `rotate-passphrase` moves it in: `<repo>/<env>#rotating`.
/// A separate account, so it is never one of the duplicates of the main entry.
pub fn pending_account(repo: &str, env: &str) -> String {
    format!("{}#rotating", account(repo, env))
}

/// The item label upstream writes: `<service>/<account>`.
pub fn label(account: &str) -> String {
    format!("{SERVICE}/{account}")
}

/// What finds every Secret Service item of `account`: ours, upstream's, and those older vsync
/// builds wrote without the schema attribute.
pub fn search_attributes(account: &str) -> HashMap<&'static str, &str> {
    HashMap::from([("service", SERVICE), ("account", account)])
}

/// The attributes a new Secret Service item carries: exactly upstream's set.
pub fn item_attributes(account: &str) -> HashMap<&'static str, &str> {
    HashMap::from([
        (SCHEMA_ATTRIBUTE, SCHEMA),
        ("service", SERVICE),
        ("account", account),
    ])
}

/// The Windows Credential Manager TargetName upstream uses: `<service>/<account>`.
pub fn windows_target(account: &str) -> String {
    format!("{SERVICE}/{account}")
}

/// The kernel-keyring description (kept from earlier vsync builds; upstream has no such store).
pub fn keyutils_description(account: &str) -> String {
    format!("{SERVICE}:{account}")
}

/// `s` quoted for a POSIX shell when it needs it, for commands printed in hints.
pub fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/@:+-=,#".contains(c));
    if plain {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_matches_upstream() {
        assert_eq!(
            account("github.com/acme/api", "prod"),
            "github.com/acme/api/prod"
        );
        assert_eq!(label("r/dev"), "tools.vsync/r/dev");
        assert_eq!(windows_target("r/dev"), "tools.vsync/r/dev");
        let attrs = item_attributes("r/dev");
        assert_eq!(attrs.len(), 3);
        assert_eq!(attrs["xdg:schema"], "com.oven-sh.bun.Secret");
        assert_eq!(attrs["service"], "tools.vsync");
        assert_eq!(attrs["account"], "r/dev");
        // The search is a subset of the item's attributes, so it finds items with and without
        // the schema attribute.
        for (k, v) in search_attributes("r/dev") {
            assert_eq!(attrs[k], v);
        }
        assert_ne!(pending_account("r", "dev"), account("r", "dev"));
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(
            shell_word("github.com/acme/api/prod"),
            "github.com/acme/api/prod"
        );
        assert_eq!(shell_word("a b/dev"), "'a b/dev'");
        assert_eq!(shell_word("it's/dev"), r"'it'\''s/dev'");
        assert_eq!(shell_word(""), "''");
    }
}
