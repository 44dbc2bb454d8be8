//! Keeping values out of CI logs: GitHub `::add-mask::` lines from `vsync run` and `vsync ci
//! mask` (only under GITHUB_ACTIONS=true for `run`), and `vsync run --redact` filtering the
//! child's output however it is split into writes.

use base64::Engine;

use crate::harness::World;
use crate::require_keychain;

const PEM_ONE_LINE: &str =
    r"-----BEGIN PRIVATE KEY-----\nMIIEvAIBADANBgkqhkiG9w0B\n-----END PRIVATE KEY-----";
const JSONISH: &str = r#"pa"ss\w/rd 100%"#;
const TOKEN: &str = "tok-5f0e1d2c3b4a";

/// `dev` pushed with a PEM key kept on one line, a value needing JSON and URL escapes, a token
/// and a value too short to mask. Values are not registered as secrets with the harness: the
/// mask lines carry them on purpose.
fn pushed_world() -> World {
    let mut w = World::pushed(
        "dev",
        &[
            ("PEM", PEM_ONE_LINE),
            ("PW", JSONISH),
            ("APP_TOKEN", TOKEN),
            ("SHORT", "abc"),
        ],
    );
    w.secrets.clear();
    w
}

fn mask_lines(stdout: &str) -> Vec<&str> {
    stdout
        .lines()
        .filter_map(|l| l.strip_prefix("::add-mask::"))
        .collect()
}

fn assert_all_forms_masked(stdout: &str) {
    let masks = mask_lines(stdout);
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(JSONISH);
    for want in [
        // PEM: whole (as stored) and each line
        PEM_ONE_LINE,
        "-----BEGIN PRIVATE KEY-----",
        "MIIEvAIBADANBgkqhkiG9w0B",
        "-----END PRIVATE KEY-----",
        // the value itself, '%' escaped as a workflow command requires
        r#"pa"ss\w/rd 100%25"#,
        // JSON-escaped
        r#"pa\"ss\\w/rd 100%25"#,
        // URL-encoded ('%' of the encoding escaped again)
        "pa%2522ss%255Cw%252Frd%2520100%2525",
        // base64
        b64.as_str(),
        TOKEN,
    ] {
        assert!(masks.contains(&want), "no mask {want:?} in {masks:?}");
    }
    assert!(
        !masks.iter().any(|m| m.contains("abc")),
        "a value under 4 characters got a mask: {masks:?}"
    );
}

#[test]
fn run_in_github_actions_masks_every_form_of_every_value_first() {
    require_keychain!();
    let mut w = pushed_world();
    w.set_env("GITHUB_ACTIONS", "true");
    let r = w
        .vsync(&["run", "dev", "--", "sh", "-c", "echo child-started"])
        .ok();
    assert_all_forms_masked(&r.stdout);
    let first_child_line = r.stdout.lines().position(|l| l == "child-started").unwrap();
    let lines: Vec<&str> = r.stdout.lines().collect();
    let last_mask = lines
        .iter()
        .rposition(|l| l.starts_with("::add-mask::"))
        .unwrap();
    assert!(
        last_mask < first_child_line,
        "masks come before the child's output"
    );
    r.stderr_has("SHORT");
    r.stderr_has("4 characters");
}

#[test]
fn ci_mask_prints_the_same_masks() {
    require_keychain!();
    let mut w = pushed_world();
    w.set_env("GITHUB_ACTIONS", "true");
    let r = w.vsync(&["ci", "mask", "dev"]).ok();
    assert_all_forms_masked(&r.stdout);
    assert!(r.stdout.lines().all(|l| l.starts_with("::add-mask::")));
}

#[test]
fn run_outside_github_actions_prints_no_masks() {
    require_keychain!();
    let mut w = pushed_world();
    w.set_env("GITHUB_ACTIONS", "false");
    let mut values: Vec<String> = [PEM_ONE_LINE, JSONISH, TOKEN]
        .iter()
        .map(|s| s.to_string())
        .collect();
    w.secrets.append(&mut values);
    let r = w.vsync(&["run", "dev", "--", "true"]).ok();
    assert!(!r.stdout.contains("::add-mask::"), "{}", r.stdout);
}

/// Writes the value of $APP_TOKEN to stdout and the base64 of $PW to stderr, one byte per
/// write with pauses between them, then a value at the very end with no newline, and exits 7.
const DRIBBLE: &str = r#"
import base64, os, sys, time
def dribble(fd, text):
    for b in text.encode():
        os.write(fd, bytes([b]))
        time.sleep(0.002)
dribble(1, "token=" + os.environ["APP_TOKEN"] + ";\n")
dribble(2, "pw=" + base64.b64encode(os.environ["PW"].encode()).decode() + "\n")
dribble(1, "plain text stays\n")
dribble(1, os.environ["APP_TOKEN"])
sys.exit(7)
"#;

#[test]
fn redact_catches_values_written_one_byte_at_a_time_and_passes_the_exit_code() {
    require_keychain!();
    let mut w = pushed_world();
    w.set_env("GITHUB_ACTIONS", "false");
    let b64 = base64::engine::general_purpose::STANDARD_NO_PAD.encode(JSONISH);
    w.secret(TOKEN);
    w.secret(JSONISH);
    w.secret(&b64);
    let r = w
        .vsync(&["run", "dev", "--redact", "--", "python3", "-c", DRIBBLE])
        .code(7);
    assert_eq!(
        r.stdout,
        "token=[vsync:APP_TOKEN];\nplain text stays\n[vsync:APP_TOKEN]"
    );
    r.stderr_has("pw=[vsync:PW]");
    assert!(
        r.stderr.contains("SHORT"),
        "the unredacted short value is named: {}",
        r.stderr
    );
}
