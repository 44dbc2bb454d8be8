//! Rollback protection on every reader (issue 10 item 1) and the high-water file (issue 11
//! item 2): after `latest` is written back to an older genuine version, every verb that follows
//! it refuses with exit 4 and pull's message, not only `pull`.

use std::path::PathBuf;

use vsync_testkit::services;

use crate::harness::{Run, World};
use crate::require_keychain;

const OLD: &str = "old-revoked-api-key-1f3a";
const NEW: &str = "new-current-api-key-9c2e";

/// Two pushes (`API_KEY=OLD`, then `API_KEY=NEW`), then `latest` written back to the first:
/// returns the prefix folder in the bucket and the two version names.
fn rolled_back(w: &mut World) -> (PathBuf, String, String) {
    w.init("dev").ok();
    w.write_env("dev", &[("API_KEY", OLD)]);
    w.vsync(&["push", "dev"]).ok();
    let prefix = w.bucket.join(&w.repo).join("dev");
    let first = std::fs::read_to_string(prefix.join("latest")).unwrap();
    w.write_env("dev", &[("API_KEY", NEW)]);
    w.vsync(&["push", "dev"]).ok();
    let second = std::fs::read_to_string(prefix.join("latest")).unwrap();
    assert!(second > first);
    std::fs::write(prefix.join("latest"), &first).unwrap();
    (prefix, first, second)
}

#[track_caller]
fn refused(r: Run, first: &str, second: &str) {
    let r = r.code(4);
    assert!(
        r.stderr.contains("possible rollback of the bucket")
            && r.stderr.contains(first)
            && r.stderr.contains(second)
            && r.stderr.contains("--allow-rollback"),
        "pull's rollback message expected:\n{}",
        r.stderr
    );
}

/// `sh -c` that exits 0 only when API_KEY holds `value` (values never reach the output).
fn api_key_is(value: &str) -> String {
    format!("test \"$API_KEY\" = '{value}'")
}

#[test]
fn run_refuses_a_rolled_back_latest() {
    require_keychain!();
    let mut w = World::new();
    let (_, first, second) = rolled_back(&mut w);
    let pull = w.vsync(&["pull", "dev", "--force"]);
    refused(pull, &first, &second);
    let r = w.vsync(&["run", "dev", "--", "sh", "-c", &api_key_is(OLD)]);
    refused(r, &first, &second);
    // The escape hatch works as on pull, and says what it accepted.
    let r = w
        .vsync(&[
            "run",
            "dev",
            "--allow-rollback",
            "--",
            "sh",
            "-c",
            &api_key_is(OLD),
        ])
        .ok();
    assert!(r.stderr.contains("--allow-rollback"), "{}", r.stderr);
}

#[test]
fn diff_refuses_a_rolled_back_latest_but_explicit_versions_are_a_choice() {
    require_keychain!();
    let mut w = World::new();
    let (_, first, second) = rolled_back(&mut w);
    refused(w.vsync(&["diff", "dev"]), &first, &second);
    w.vsync(&["diff", "dev", "--from", &first, "--to", &second])
        .ok();
    w.vsync(&["diff", "dev", "--allow-rollback"]).ok();
    // `pull --version` names a version on purpose: not a rollback.
    w.vsync(&["pull", "dev", "--force", "--version", &first])
        .ok();
}

#[test]
fn sync_refuses_a_rolled_back_latest_and_the_server_keeps_the_new_value() {
    require_keychain!();
    let Some(vault) = services::vault() else {
        services::skip("sync_refuses_a_rolled_back_latest", "OpenBao");
        return;
    };
    let mut w = World::new();
    w.extra_env
        .push(("VAULT_TOKEN".into(), vault.token.clone()));
    let path = format!("e2e/{}", w.repo);
    let sync = |w: &World| {
        w.vsync(&[
            "sync",
            "dev",
            "--to",
            "hashivault",
            "--vault-addr",
            &vault.addr,
            "--vault-mount",
            "secret",
            "--vault-path",
            &path,
        ])
    };
    let (prefix, first, second) = rolled_back(&mut w);
    // Sync the newest version first (latest put back for a moment).
    std::fs::write(prefix.join("latest"), &second).unwrap();
    sync(&w).ok();
    std::fs::write(prefix.join("latest"), &first).unwrap();
    refused(sync(&w), &first, &second);
    let r = services::http_request(
        "GET",
        &format!("{}/v1/secret/data/{path}", vault.addr),
        &[("X-Vault-Token", vault.token.as_str())],
    )
    .unwrap();
    assert_eq!(r.status, 200);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(
        v["data"]["data"]["API_KEY"], NEW,
        "the old value reached the server"
    );
    // Offline dry runs read the same bundle and are held to the same floor.
    refused(
        w.vsync(&["sync", "dev", "--to", "hashivault", "--dry-run=offline"]),
        &first,
        &second,
    );
}

/// The runtime token minted before the rollback, and the key, for keyless mode.
fn keyless_inputs(w: &World) -> (String, String) {
    let token = w
        .vsync(&["runtime-token", "--env", "dev"])
        .ok()
        .stdout
        .trim()
        .to_owned();
    let (key, _) = w.key_and_salt("dev");
    (token, key)
}

#[test]
fn keyless_run_and_status_refuse_a_rolled_back_latest() {
    require_keychain!();
    let mut w = World::new();
    let (prefix, first, second) = rolled_back(&mut w);
    std::fs::write(prefix.join("latest"), &second).unwrap();
    let (token, key) = keyless_inputs(&w);
    w.secret(&key);
    std::fs::write(prefix.join("latest"), &first).unwrap();

    // A CI machine with no memory of its own: the token's floor refuses.
    let mut ci = World::new();
    ci.repo = w.repo.clone();
    ci.bucket = w.bucket.clone();
    ci.secrets = w.secrets.clone();
    ci.extra_env.push(("VSYNC_CONFIG".into(), token.clone()));
    ci.extra_env.push(("VSYNC_PASSPHRASE".into(), key.clone()));
    refused(
        ci.vsync(&["run", "dev", "--", "sh", "-c", &api_key_is(OLD)]),
        &first,
        &second,
    );
    refused(ci.vsync(&["status"]), &first, &second);

    // The same floor from VSYNC_MIN_TS, with a token that carries none.
    let bare = w
        .vsync(&["runtime-token", "--env", "dev", "--allow-rollback"])
        .ok()
        .stdout
        .trim()
        .to_owned();
    let mut ci2 = World::new();
    ci2.repo = w.repo.clone();
    ci2.bucket = w.bucket.clone();
    ci2.secrets = w.secrets.clone();
    ci2.extra_env.push(("VSYNC_CONFIG".into(), bare.clone()));
    ci2.extra_env.push(("VSYNC_PASSPHRASE".into(), key.clone()));
    ci2.vsync(&["run", "dev", "--", "sh", "-c", &api_key_is(OLD)])
        .ok();
    ci2.extra_env.push(("VSYNC_MIN_TS".into(), second.clone()));
    refused(
        ci2.vsync(&["run", "dev", "--", "sh", "-c", &api_key_is(OLD)]),
        &first,
        &second,
    );

    // On the workstation itself, keyless mode uses the machine's own memory.
    w.extra_env.push(("VSYNC_CONFIG".into(), bare));
    w.extra_env.push(("VSYNC_PASSPHRASE".into(), key));
    refused(
        w.vsync(&["run", "dev", "--", "sh", "-c", &api_key_is(OLD)]),
        &first,
        &second,
    );
}

#[test]
fn runtime_token_carries_the_floor_and_refuses_to_validate_a_rollback() {
    require_keychain!();
    let mut w = World::new();
    let (prefix, first, second) = rolled_back(&mut w);
    refused(w.vsync(&["runtime-token", "--env", "dev"]), &first, &second);
    std::fs::write(prefix.join("latest"), &second).unwrap();
    let token = w
        .vsync(&["runtime-token", "--env", "dev"])
        .ok()
        .stdout
        .trim()
        .to_owned();
    let cfg = vsync_crypto::cfg_blob::decode(&token).unwrap();
    assert_eq!(
        cfg.extra.get("minTs").and_then(|v| v.as_str()),
        Some(second.as_str())
    );
}

#[test]
fn high_water_survives_a_ledger_rewritten_without_max_seen() {
    require_keychain!();
    let mut w = World::new();
    let (_, first, second) = rolled_back(&mut w);
    // An upstream vsync on this machine pulled the first version and rewrote the ledger whole:
    // no `max_seen_ts`, and `last_sync_ts` is the old version.
    let ledger_path = w.base().join(&w.repo).join("env_dev.ledger.json");
    let mut ledger: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ledger_path).unwrap()).unwrap();
    let o = ledger.as_object_mut().unwrap();
    o.remove("max_seen_ts");
    o.insert("last_sync_ts".into(), first.clone().into());
    o.insert("last_sync_op".into(), "pull".into());
    std::fs::write(&ledger_path, serde_json::to_string_pretty(&ledger).unwrap()).unwrap();
    refused(w.vsync(&["pull", "dev", "--force"]), &first, &second);
    refused(
        w.vsync(&["run", "dev", "--", "sh", "-c", &api_key_is(OLD)]),
        &first,
        &second,
    );
    let hw = w.base().join(&w.repo).join("highwater_dev.json");
    assert_eq!(crate::harness::mode(&hw), 0o600);
    // `status` and keystore discovery do not mistake the file for an env.
    let s = w.vsync(&["status", "--json"]).ok();
    let envs: serde_json::Value = serde_json::from_str(&s.stdout).unwrap();
    assert_eq!(envs["envs"].as_array().unwrap().len(), 1, "{}", s.stdout);
}
