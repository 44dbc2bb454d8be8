//! Showing text that someone else controls (object names, audit rows, vault folders from a share
//! file) without letting it drive the terminal.
//!
//! Anyone with write access to the bucket can put an ESC sequence, a carriage return or a
//! newline into an object name or `audit.csv`. Printed raw, that can rewrite the screen, forge
//! extra audit lines or hide a warning. [`escape`] turns every control character (C0, DEL, C1)
//! and the bidirectional-override characters into visible escapes.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal raw.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control()
        // Bidi embeddings, overrides and isolates can reorder what the reader sees.
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

/// `text` with every unsafe character written as `\n`, `\t`, `\r`, `\u{1b}`, …; borrowed when
/// there is nothing to escape.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_where(text, is_unsafe_char)
}

/// `text` with every character `unsafe_char` picks written as its escape (`\n`, `\u{1b}`, …);
/// borrowed when there is none. For a caller that lets some control characters through (the
/// CLI keeps its own line breaks and tabs).
pub fn escape_where(text: &str, unsafe_char: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !text.chars().any(&unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`escape`], cut to 60 characters (for names inside error messages).
pub fn escape_short(text: &str) -> String {
    const MAX: usize = 60;
    let mut out: String = escape(&text.chars().take(MAX).collect::<String>()).into_owned();
    if text.chars().count() > MAX {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_bidi_keeps_the_rest() {
        assert!(matches!(escape("plain ütf-8 ✓"), Cow::Borrowed(_)));
        assert_eq!(escape("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(escape("x\ny\rz\t"), "x\\ny\\rz\\t");
        assert_eq!(escape("\u{9b}31m"), "\\u{9b}31m");
        assert_eq!(escape("\u{7f}"), "\\u{7f}");
        assert_eq!(escape("a\u{202E}b"), "a\\u{202e}b");
        assert_eq!(escape_short(&"é".repeat(70)).chars().count(), 61);
    }
}
