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

mod block;

use std::borrow::Cow;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

pub use block::Block;
use block::Stream;

/// Held while something writes to the terminal, so a prompt, a progress line and a target's
/// block never cut into each other (targets of one sync run at the same time).
static TERMINAL: Mutex<()> = Mutex::new(());
/// Whether a status line (a progress bar) is on screen and must be erased before other text.
static STATUS_SHOWN: AtomicBool = AtomicBool::new(false);

fn terminal() -> MutexGuard<'static, ()> {
    TERMINAL.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Erase the status line if one is drawn (the caller holds [`TERMINAL`]).
fn erase_status(err: &mut impl Write) {
    if STATUS_SHOWN.swap(false, Ordering::Relaxed) {
        let _ = write!(err, "\r\x1b[2K");
    }
}

/// One formatted line to `stream`, or to the block of the target printing it.
fn emit(stream: Stream, text: String) {
    let Some(text) = block::keep(stream, text) else {
        return;
    };
    let _t = terminal();
    let mut err = io::stderr().lock();
    erase_status(&mut err);
    // A closed pipe (e.g. `| head`) is not an error.
    let _ = match stream {
        Stream::Out => writeln!(io::stdout().lock(), "{text}"),
        Stream::Err => writeln!(err, "{text}"),
    };
}

/// A target's kept lines, in one piece.
fn write_block(lines: &[(Stream, String)]) {
    let _t = terminal();
    let mut out = io::stdout().lock();
    let mut err = io::stderr().lock();
    erase_status(&mut err);
    for (stream, text) in lines {
        let _ = match stream {
            Stream::Out => writeln!(out, "{text}"),
            Stream::Err => writeln!(err, "{text}"),
        };
    }
    let _ = out.flush();
}

/// Redraw the one-line status (a progress bar) on stderr. Skipped, not waited for, while a
/// prompt or another line holds the terminal: the next redraw catches up.
pub fn status(text: &str) {
    let Ok(_t) = TERMINAL.try_lock() else {
        return;
    };
    let mut err = io::stderr().lock();
    let _ = write!(err, "\r{}", terminal_safe(text));
    let _ = err.flush();
    STATUS_SHOWN.store(true, Ordering::Relaxed);
}

/// Erase the status line, if one is drawn.
pub fn clear_status() {
    let _t = terminal();
    let mut err = io::stderr().lock();
    erase_status(&mut err);
    let _ = err.flush();
}

/// Run a prompt with the terminal to itself: one question at a time even when several targets
/// ask, and (on the multi-threaded runtime) without stalling the other targets' requests.
fn prompt<R>(ask: impl FnOnce(&mut io::StderrLock<'static>) -> R) -> R {
    let run = || {
        let _t = terminal();
        let mut err = io::stderr().lock();
        erase_status(&mut err);
        ask(&mut err)
    };
    let multi = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if multi {
        tokio::task::block_in_place(run)
    } else {
        run()
    }
}

/// A field someone else controls (an object name, an audit column), escaped for one line:
/// `\n`, `\r`, `\u{1b}`, … instead of the raw characters.
pub fn untrusted(text: &str) -> Cow<'_, str> {
    vsync_vault::display::escape(text)
}

/// `text` with every control character except `\n` and `\t` escaped (ESC, CR, BEL, C1, bidi
/// overrides), so no line we print can move the cursor, recolour or rewrite the screen.
pub fn terminal_safe(text: &str) -> Cow<'_, str> {
    let unsafe_char = |c: char| c != '\n' && c != '\t' && vsync_vault::display::is_unsafe_char(c);
    if !text.chars().any(unsafe_char) {
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

use serde::Serialize;

/// One line of results on stdout. A closed pipe (e.g. `| head`) is not an error.
pub fn line(text: impl AsRef<str>) {
    emit(Stream::Out, terminal_safe(text.as_ref()).into_owned());
}

/// A JSON document on stdout (pretty, newline-terminated).
pub fn json<T: Serialize + ?Sized>(value: &T) {
    let _t = terminal();
    let mut out = io::stdout().lock();
    let _ = serde_json::to_writer_pretty(&mut out, value);
    let _ = writeln!(out);
}

/// A warning on stderr.
pub fn warn(text: impl AsRef<str>) {
    emit(
        Stream::Err,
        format!("warning: {}", terminal_safe(text.as_ref())),
    );
}

/// A progress or notice line on stderr (keeps stdout clean for scripts).
pub fn note(text: impl AsRef<str>) {
    emit(Stream::Err, terminal_safe(text.as_ref()).into_owned());
}

/// An error and its hint on stderr.
pub fn error(message: &str, hint: Option<&str>) {
    emit(Stream::Err, format!("error: {}", terminal_safe(message)));
    if let Some(h) = hint {
        emit(Stream::Err, format!("hint: {}", terminal_safe(h)));
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
    let answer = prompt(|err| {
        let _ = write!(err, "{question} {suffix} ");
        let _ = err.flush();
        let mut answer = String::new();
        io::stdin().read_line(&mut answer).ok().map(|_| answer)
    });
    let Some(answer) = answer else {
        return false;
    };
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
    prompt(|err| {
        let _ = write!(err, "{question} ");
        let _ = err.flush();
        let mut answer = String::new();
        io::stdin().read_line(&mut answer).ok()?;
        Some(answer.trim().to_owned())
    })
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
