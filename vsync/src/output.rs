//! The only module that prints. Results go to stdout, warnings and errors to stderr; no colour
//! codes are ever written, so `NO_COLOR` and pipes get plain text.
//!
//! Much of what we print comes from the bucket (object names, audit rows, timestamps quoted in
//! errors), and whoever can write to the bucket controls it. Two layers keep it from driving
//! the terminal: [`untrusted`] escapes every control character, newlines included, in one
//! bucket-controlled field; and every line printed here passes [`terminal_safe`], which escapes
//! all control characters except the newlines and tabs our own text uses.
// The one module allowed to print (clippy::print_* warn everywhere else in the workspace).
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};

/// A field someone else controls (an object name, an audit column), escaped for one line:
/// `\n`, `\r`, `\u{1b}`, … instead of the raw characters.
pub fn untrusted(text: &str) -> Cow<'_, str> {
    vsync_vault::display::escape(text)
}

/// `text` with every control character except `\n` and `\t` escaped (ESC, CR, BEL, C1, bidi
/// overrides), so no line we print can move the cursor, recolour or rewrite the screen.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    vsync_vault::display::escape_where(text, |c| {
        c != '\n' && c != '\t' && vsync_vault::display::is_unsafe_char(c)
    })
}

use serde::Serialize;

/// One line of results on stdout. A closed pipe (e.g. `| head`) is not an error.
pub fn line(text: impl AsRef<str>) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{}", terminal_safe(text.as_ref()));
}

/// A JSON document on stdout (pretty, newline-terminated).
pub fn json<T: Serialize + ?Sized>(value: &T) {
    let mut out = io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, value);
    let _ = writeln!(out);
}

/// A warning on stderr.
pub fn warn(text: impl AsRef<str>) {
    eprintln!("warning: {}", terminal_safe(text.as_ref()));
}

/// A progress or notice line on stderr (keeps stdout clean for scripts).
pub fn note(text: impl AsRef<str>) {
    eprintln!("{}", terminal_safe(text.as_ref()));
}

/// An error and its hint on stderr.
pub fn error(message: &str, hint: Option<&str>) {
    eprintln!("error: {}", terminal_safe(message));
    if let Some(h) = hint {
        eprintln!("hint: {}", terminal_safe(h));
    }
}

/// Whether we may prompt: standard input and standard error are terminals.
pub fn interactive() -> bool {
    io::stdin().is_terminal() && io::stderr().is_terminal()
}

/// Ask a yes/no question on the terminal; `default` is taken on a bare Enter.
pub fn confirm(question: &str, default: bool) -> bool {
    if !interactive() {
        return false;
    }
    let suffix = if default { "[Y/n]" } else { "[y/N]" };
    eprint!("{question} {suffix} ");
    let _ = io::stderr().flush();
    let mut answer = String::new();
    if io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    match answer.trim().to_ascii_lowercase().as_str() {
        "" => default,
        "y" | "yes" => true,
        _ => false,
    }
}

/// Ask for a free-text answer on the terminal.
pub fn ask(question: &str) -> Option<String> {
    if !interactive() {
        return None;
    }
    eprint!("{question} ");
    let _ = io::stderr().flush();
    let mut answer = String::new();
    io::stdin().read_line(&mut answer).ok()?;
    Some(answer.trim().to_owned())
}

/// Write a secret to the terminal only (stderr is the terminal; stdout may be a pipe or log).
pub fn reveal_on_terminal(label: &str, secret: &str) {
    eprintln!("{label}: {secret}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_safe_keeps_layout_escapes_control() {
        assert!(matches!(terminal_safe("a\tb\nc ✓"), Cow::Borrowed(_)));
        assert_eq!(
            terminal_safe("x\u{1b}[2J\r\u{7}y\n"),
            "x\\u{1b}[2J\\r\\u{7}y\n"
        );
        assert_eq!(untrusted("row\nforged"), "row\\nforged");
    }
}
