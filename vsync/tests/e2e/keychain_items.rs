//! Secret Service items as upstream (Bun.secrets) reads and writes them: attributes
//! `xdg:schema=com.oven-sh.bun.Secret`, `service`, `account`, label `<service>/<account>`; one item
//! per account after every write; items that disagree are refused. Real gnome-keyring, checked
//! with `secret-tool` (scripts/with-keychain).

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::harness::{World, arg};
use crate::require_keychain;

const SCHEMA: &str = "com.oven-sh.bun.Secret";

/// What `secret-tool search --all service tools.vsync account <account>` shows. secret-tool prints
/// the header, label, secret and schema of each item on stdout and its attributes on stderr.
struct Items {
    count: usize,
    stdout: String,
    stderr: String,
}

impl Items {
    fn of(account: &str) -> Items {
        let out = Command::new("secret-tool")
            .args([
                "search",
                "--all",
                "service",
                "tools.vsync",
                "account",
                account,
            ])
            .output()
            .expect("secret-tool");
        let stdout = String::from_utf8(out.stdout).unwrap();
        Items {
            count: stdout.lines().filter(|l| l.starts_with('[')).count(),
            stdout,
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }

    /// Assert exactly one item, carrying upstream's identity and holding `key`.
    fn assert_one_upstream_item(&self, account: &str, key: &str) {
        assert_eq!(self.count, 1, "one item for {account}:\n{}", self.stdout);
        assert!(
            self.stdout.contains(&format!("\nschema = {SCHEMA}\n")),
            "xdg:schema is upstream's:\n{}",
            self.stdout
        );
        assert!(
            self.stdout
                .contains(&format!("\nlabel = tools.vsync/{account}\n")),
            "label <service>/<account>:\n{}",
            self.stdout
        );
        assert!(
            self.stdout.contains(&format!("\nsecret = {key}\n")),
            "the item holds the current key"
        );
        let mut attrs: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.starts_with("attribute."))
            .collect();
        attrs.sort();
        assert_eq!(
            attrs,
            vec![
                format!("attribute.account = {account}").as_str(),
                "attribute.service = tools.vsync"
            ],
            "service and account, nothing else besides the schema"
        );
    }
}

/// Store an item with `secret-tool store` (what upstream's libsecret call or an older vsync wrote).
fn store_item(label: &str, attrs: &[&str], value: &str) {
    let mut child = Command::new("secret-tool")
        .arg("store")
        .arg(format!("--label={label}"))
        .args(attrs)
        .stdin(Stdio::piped())
        .spawn()
        .expect("secret-tool store");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(value.as_bytes())
        .unwrap();
    assert!(child.wait().unwrap().success(), "secret-tool store failed");
}

/// Store an item exactly as upstream does (libsecret schema, attributes, label).
fn store_upstream_item(account: &str, value: &str) {
    store_item(
        &format!("tools.vsync/{account}"),
        &[
            "xdg:schema",
            SCHEMA,
            "service",
            "tools.vsync",
            "account",
            account,
        ],
        value,
    );
}

fn clear_items(account: &str) {
    let st = Command::new("secret-tool")
        .args(["clear", "service", "tools.vsync", "account", account])
        .status()
        .expect("secret-tool clear");
    assert!(st.success());
}

/// Export a share of `env` from `w`; returns (share file, passphrase file).
fn export(w: &mut World, env: &str) -> (PathBuf, PathBuf) {
    let pass = format!("share-pass-{}-{env}", w.repo);
    w.secret(&pass);
    let pf = w.home.join(format!("pass-{env}"));
    std::fs::write(&pf, &pass).unwrap();
    let share = w.home.join(format!("{env}.share"));
    w.export_share(env, &share, &pf).ok();
    (share, pf)
}

/// An item an older vsync wrote for `account` (no schema, a `username` attribute).
fn store_legacy_item(account: &str, value: &str) {
    store_item(
        "vsync key",
        &[
            "service",
            "tools.vsync",
            "account",
            account,
            "username",
            account,
        ],
        value,
    );
}

#[test]
fn init_writes_the_item_upstream_looks_up() {
    require_keychain!();
    let w = World::with_env("dev");
    let account = format!("{}/dev", w.repo);
    let key = w.key_text("dev");
    Items::of(&account).assert_one_upstream_item(&account, &key);
    // upstream's lookup: libsecret with its schema, which matches xdg:schema too
    let out = Command::new("secret-tool")
        .args([
            "lookup",
            "xdg:schema",
            SCHEMA,
            "service",
            "tools.vsync",
            "account",
            &account,
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), key);
}

#[test]
fn import_over_an_item_upstream_wrote_leaves_exactly_one_item() {
    require_keychain!();
    let mut a = World::with_env("dev");
    let key = a.secret_key("dev");
    let (share, pf) = export(&mut a, "dev");
    // The teammate's machine got the key from upstream earlier: one item, written the upstream way.
    let account = format!("{}/dev", a.repo);
    clear_items(&account);
    store_upstream_item(&account, &key);
    let mut b = a.other_machine();
    b.extra_env.retain(|(k, _)| k != "VSYNC_KEYCHAIN"); // the Secret Service, like `a`
    b.import_share("dev", &share, &pf).ok();
    Items::of(&account).assert_one_upstream_item(&account, &key);
}

#[test]
fn rotate_leaves_exactly_one_current_item() {
    require_keychain!();
    let mut a = World::pushed("prod", &[("DB", "rotate-one-item-42")]);
    let account = format!("{}/prod", a.repo);
    let old = a.secret_key("prod");
    // An item an older vsync wrote, holding the same key.
    store_legacy_item(&account, &old);
    a.vsync(&["rotate-passphrase", "--env", "prod", "--yes"])
        .ok();
    let new = a.secret_key("prod");
    assert_ne!(new, old);
    Items::of(&account).assert_one_upstream_item(&account, &new);
    assert_eq!(
        Items::of(&format!("{account}#rotating")).count,
        0,
        "no pending item left"
    );
    assert_eq!(a.env_from_bucket("prod"), "DB=rotate-one-item-42\n");
}

#[test]
fn items_holding_different_keys_are_refused_with_the_commands_to_fix_it() {
    require_keychain!();
    let mut a = World::pushed("dev", &[("TOKEN", "dup-items-value-7")]);
    let key = a.secret_key("dev");
    let (share, pf) = export(&mut a, "dev");
    let account = format!("{}/dev", a.repo);
    // A second item with another (well-formed) key: what an older vsync wrote next to upstream's
    // item (no schema, a `username` attribute). An item with upstream's exact attributes would
    // replace ours instead (libsecret stores with replace).
    let stale = a.secret("c3RhbGUta2V5LXN0YWxlLWtleS1zdGFsZS1rZXktMDE=");
    store_legacy_item(&account, stale);
    assert_eq!(Items::of(&account).count, 2);

    let out = a.home.join("key-out");
    for args in [
        vec!["pull", "dev", "--force"],
        vec!["key", "show", "dev", "--out", arg(&out)],
    ] {
        let r = a.vsync(&args).code(1);
        assert!(
            r.stderr.contains(&format!(
                "2 items in the Secret Service (D-Bus) hold different keys for {account}"
            )),
            "{args:?}: {}",
            r.stderr
        );
        assert!(
            r.stderr.contains(&format!(
                "secret-tool search --all service tools.vsync account {account}"
            )) && r.stderr.contains(&format!(
                "secret-tool clear service tools.vsync account {account}"
            )),
            "{args:?}: {}",
            r.stderr
        );
    }
    assert_eq!(
        Items::of(&account).count,
        2,
        "a refused read changes nothing"
    );

    // The fix the message gives works.
    clear_items(&account);
    a.import_share("dev", &share, &pf).ok();
    Items::of(&account).assert_one_upstream_item(&account, &key);
    a.vsync(&["pull", "dev", "--force"]).ok();
}
