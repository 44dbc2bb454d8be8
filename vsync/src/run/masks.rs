//! The text forms in which a vault value commonly reaches a CI log, and GitHub Actions'
//! `::add-mask::` workflow commands for them.
//!
//! A value is logged as itself, line by line when it spans lines (a PEM key printed by `cat`),
//! base64-encoded (`echo -n "$X" | base64`, Kubernetes manifests, HTTP basic auth), URL-encoded
//! (a password inside a connection string) or JSON-escaped (a config dumped as JSON). Both the
//! GitHub masks and `vsync run --redact` cover the same set of forms.
//!
//! `::add-mask::` is the one deliberate place where vsync writes a value to stdout: GitHub reads
//! workflow commands from the step's stdout and strips the command line itself from the log, so
//! the value never appears there, and every later occurrence is shown as `***`. It is printed only
//! when `GITHUB_ACTIONS=true` or when `vsync ci mask` is asked for explicitly.

use base64::Engine;
use zeroize::Zeroizing;

/// Values (and lines, and derived forms) shorter than this many characters are neither masked
/// nor redacted: a mask of "abc" or "1" hides every occurrence of those letters in the log and
/// makes it unreadable, while such a value is guessable anyway.
pub const MIN_CHARS: usize = 4;

/// Whether `s` is long enough to be masked or redacted.
pub fn long_enough(s: &str) -> bool {
    s.chars().count() >= MIN_CHARS
}

/// Every distinct form of `value` worth masking, without the ones shorter than [`MIN_CHARS`]:
/// the whole value, each of its lines (also when the lines are separated by a literal `\n`, as
/// in a PEM key kept on one env-file line), and the base64 (standard alphabet, unpadded, so that the
/// padded and unpadded encodings both contain it), URL-encoded and JSON-escaped forms of the
/// whole value. Empty when the value itself is too short.
pub fn forms(value: &str) -> Vec<Zeroizing<String>> {
    let mut out: Vec<Zeroizing<String>> = Vec::new();
    if !long_enough(value) {
        return out;
    }
    let mut add = |s: String| {
        let s = Zeroizing::new(s);
        if long_enough(&s) && !out.iter().any(|o| **o == *s) {
            out.push(s);
        }
    };
    add(value.to_owned());
    // A PEM key in an env file is one line with literal `\n` separators; the program using it
    // turns them into line breaks, and that is the form that gets printed.
    let unescaped = value
        .contains("\\n")
        .then(|| Zeroizing::new(value.replace("\\r\\n", "\n").replace("\\n", "\n")));
    for v in std::iter::once(value).chain(unescaped.as_deref().map(String::as_str)) {
        if v.contains('\n') {
            add(v.to_owned());
            for line in v.split('\n') {
                add(line.trim_end_matches('\r').to_owned());
            }
        }
    }
    add(base64::engine::general_purpose::STANDARD_NO_PAD.encode(value.as_bytes()));
    add(url_encode(value));
    add(json_escape(value));
    out
}

/// Percent-encoding of every byte outside RFC 3986's unreserved set, upper-case hex.
pub fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The value as it appears between the quotes of a JSON string.
pub fn json_escape(value: &str) -> String {
    let quoted = serde_json::Value::String(value.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}

/// The `::add-mask::` lines for one value, each ending in `\n`: one per form, except the whole
/// multi-line value (GitHub matches masks line by line, so its lines are masked instead).
pub fn github_mask_lines(value: &str) -> Vec<Zeroizing<String>> {
    forms(value)
        .into_iter()
        .filter(|f| !f.contains('\n'))
        .map(|f| Zeroizing::new(format!("::add-mask::{}\n", escape_command_data(&f))))
        .collect()
}

/// Workflow-command escaping of a command's data: `%`, CR and LF.
pub fn escape_command_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Write the masks for `entries` to stdout (flushed before returning, so GitHub has read them
/// before the child prints anything), and a note on stderr naming each key too short to mask.
pub fn emit_github_masks<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    for (key, value) in entries {
        if !long_enough(value) {
            if !value.is_empty() {
                note_too_short(key, "masked");
            }
            continue;
        }
        for line in github_mask_lines(value) {
            out.write_all(line.as_bytes())?;
        }
    }
    out.flush()
}

/// Tell the user that `key`'s value is left alone, and why.
pub fn note_too_short(key: &str, what: &str) {
    crate::output::warn(format!(
        "{key} is shorter than {MIN_CHARS} characters: not {what} (so short a pattern would hide \
         every occurrence of those letters)"
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: Vec<Zeroizing<String>>) -> Vec<String> {
        v.into_iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_multi_line_value_is_masked_line_by_line_never_whole() {
        let pem = "-----BEGIN KEY-----\r\nAAAAbbbbCCCC\r\n-----END KEY-----\r\n";
        let lines = strs(github_mask_lines(pem));
        assert!(lines.contains(&"::add-mask::-----BEGIN KEY-----\n".to_owned()));
        assert!(lines.contains(&"::add-mask::AAAAbbbbCCCC\n".to_owned()));
        assert!(lines.contains(&"::add-mask::-----END KEY-----\n".to_owned()));
        // the JSON form spans one line; the raw value never appears as one mask
        assert!(
            lines.contains(
                &"::add-mask::-----BEGIN KEY-----\\r\\nAAAAbbbbCCCC\\r\\n-----END KEY-----\\r\\n\n"
                    .to_owned()
            )
        );
        for l in &lines {
            assert_eq!(l.matches('\n').count(), 1, "{l:?}");
            assert!(!l.contains('\r'), "{l:?}");
        }
    }

    #[test]
    fn a_pem_key_on_one_line_with_literal_newlines_is_masked_line_by_line() {
        let one_line = r"-----BEGIN KEY-----\nAAAAbbbbCCCC\n-----END KEY-----";
        let lines = strs(github_mask_lines(one_line));
        for want in [
            "-----BEGIN KEY-----",
            "AAAAbbbbCCCC",
            "-----END KEY-----",
            one_line,
        ] {
            assert!(
                lines.contains(&format!("::add-mask::{want}\n")),
                "{want} in {lines:?}"
            );
        }
        // the unescaped whole is a redaction pattern, never a mask
        assert!(forms(one_line).iter().any(|f| f.contains('\n')));
    }

    #[test]
    fn derived_forms_are_base64_url_and_json() {
        let f = strs(forms("p@ss w/\"q\"%"));
        assert_eq!(
            f,
            vec![
                "p@ss w/\"q\"%".to_owned(),
                "cEBzcyB3LyJxIiU".to_owned(),
                "p%40ss%20w%2F%22q%22%25".to_owned(),
                "p@ss w/\\\"q\\\"%".to_owned(),
            ]
        );
    }

    #[test]
    fn workflow_command_data_is_escaped() {
        assert_eq!(escape_command_data("a%b\rc\nd"), "a%25b%0Dc%0Ad");
        let lines = strs(github_mask_lines("50%off"));
        assert_eq!(lines[0], "::add-mask::50%25off\n");
    }

    #[test]
    fn values_shorter_than_four_characters_get_nothing() {
        assert!(forms("abc").is_empty());
        assert!(forms("").is_empty());
        // four characters, even multi-byte ones, are enough
        assert!(!forms("äöüß").is_empty());
        // short lines of a long value are skipped, the value itself is not
        assert_eq!(strs(forms("ab\ncdefgh"))[..2], ["ab\ncdefgh", "cdefgh"]);
    }

    #[test]
    fn identical_forms_are_listed_once() {
        assert_eq!(strs(forms("plainvalue")).len(), 2); // itself and base64
    }
}
