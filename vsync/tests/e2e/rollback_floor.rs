//! Rollback protection on every reader (issue 10 item 1) and the high-water file (issue 11
//! item 2): after `latest` is written back to an older genuine version, every verb that follows
//! it refuses with exit 4 and pull's message, not only `pull`.

use vsync_testkit::services;

use crate::harness::{Run, World, mode};
use crate::require_keychain;

const OLD: &str = "old-revoked-api-key-1f3a";
const NEW: &str = "new-current-api-key-9c2e";

/// A bucket whose `latest` was written back from the second push to the first.
struct Rollback {
    first: String,
    second: String,
}

impl Rollback {
    /// Two pushes (`API_KEY=OLD`, then `API_KEY=NEW`), then `latest` written back to the first.
    fn of(w: &mut World) -> Self {
        w.init_push("dev", &[("API_KEY", OLD)]);
        let first = w.latest("dev");
        w.push_env("dev", &[("API_KEY", NEW)]);
        let second = w.latest("dev");
        assert!(second > first);
        let rb = Rollback { first, second };
        rb.point_at(w, &rb.first);
        rb
    }

    /// A fresh world with the rollback already done.
    fn world() -> (World, Self) {
        let mut w = World::new();
        let rb = Rollback::of(&mut w);
        (w, rb)
    }

    /// Write `latest` to `ts`.
    fn point_at(&self, w: &World, ts: &str) {
        std::fs::write(w.prefix("dev").join("latest"), ts).unwrap();
    }

    #[track_caller]
    fn refused(&self, r: Run) {
        let r = r.code(4);
        assert!(
            r.stderr.contains("possible rollback of the bucket")
                && r.stderr.contains(&self.first)
                && r.stderr.contains(&self.second)
                && r.stderr.contains("--allow-rollback"),
            "pull's rollback message expected:\n{}",
            r.stderr
        );
    }
}

/// `vsync run dev <flags> -- sh -c …` that exits 0 only when API_KEY holds OLD (values never
/// reach the output).
fn run_old(w: &World, flags: &[&str]) -> Run {
    let script = format!("test \"$API_KEY\" = '{OLD}'");
    w.vsync(&[&["run", "dev"], flags, &["--", "sh", "-c", &script]].concat())
}

#[test]
fn run_refuses_a_rolled_back_latest() {
    require_keychain!();
    let (w, rb) = Rollback::world();
    rb.refused(w.vsync(&["pull", "dev", "--force"]));
    rb.refused(run_old(&w, &[]));
    // The escape hatch works as on pull, and says what it accepted.
    run_old(&w, &["--allow-rollback"])
        .ok()
        .stderr_has("--allow-rollback");
}

#[test]
fn diff_refuses_a_rolled_back_latest_but_explicit_versions_are_a_choice() {
    require_keychain!();
    let (w, rb) = Rollback::world();
    rb.refused(w.vsync(&["diff", "dev"]));
    w.vsync(&["diff", "dev", "--from", &rb.first, "--to", &rb.second])
        .ok();
    w.vsync(&["diff", "dev", "--allow-rollback"]).ok();
    // `pull --version` names a version on purpose: not a rollback.
    w.vsync(&["pull", "dev", "--force", "--version", &rb.first])
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
    w.set_env("VAULT_TOKEN", &vault.token);
    let path = format!("e2e/{}", w.repo);
    let sync = |w: &World| {
        let to = ["sync", "dev", "--to", "hashivault", "--vault-addr"];
        let at = ["--vault-mount", "secret", "--vault-path", &path];
        w.vsync(&[&to[..], &[&vault.addr], &at].concat())
    };
    let rb = Rollback::of(&mut w);
    // Sync the newest version first (latest put back for a moment).
    rb.point_at(&w, &rb.second);
    sync(&w).ok();
    rb.point_at(&w, &rb.first);
    rb.refused(sync(&w));
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
    rb.refused(w.vsync(&["sync", "dev", "--to", "hashivault", "--dry-run=offline"]));
}

/// A CI machine of `w`'s repo and bucket with no memory of its own, in keyless mode.
fn ci_of(w: &World, token: &str, key: &str) -> World {
    let mut ci = World::keyless(w, token, key);
    ci.repo = w.repo.clone();
    ci.bucket = w.bucket.clone();
    ci
}

#[test]
fn keyless_run_and_status_refuse_a_rolled_back_latest() {
    require_keychain!();
    let (mut w, rb) = Rollback::world();
    // The runtime token minted before the rollback, and the key.
    rb.point_at(&w, &rb.second);
    let token = w.runtime_token("dev", &[]);
    let key = w.secret_key("dev");
    rb.point_at(&w, &rb.first);

    // A CI machine with no memory of its own: the token's floor refuses.
    let ci = ci_of(&w, &token, &key);
    rb.refused(run_old(&ci, &[]));
    rb.refused(ci.vsync(&["status"]));

    // The same floor from VSYNC_MIN_TS, with a token that carries none.
    let bare = w.runtime_token("dev", &["--allow-rollback"]);
    let mut ci2 = ci_of(&w, &bare, &key);
    run_old(&ci2, &[]).ok();
    ci2.set_env("VSYNC_MIN_TS", &rb.second);
    rb.refused(run_old(&ci2, &[]));

    // On the workstation itself, keyless mode uses the machine's own memory.
    w.set_env("VSYNC_CONFIG", &bare);
    w.set_env("VSYNC_PASSPHRASE", &key);
    rb.refused(run_old(&w, &[]));
}

#[test]
fn runtime_token_carries_the_floor_and_refuses_to_validate_a_rollback() {
    require_keychain!();
    let (w, rb) = Rollback::world();
    rb.refused(w.vsync(&["runtime-token", "--env", "dev"]));
    rb.point_at(&w, &rb.second);
    let token = w.runtime_token("dev", &[]);
    let cfg = vsync_crypto::cfg_blob::decode(&token).unwrap();
    assert_eq!(
        cfg.extra.get("minTs").and_then(|v| v.as_str()),
        Some(rb.second.as_str())
    );
}

#[test]
fn high_water_survives_a_ledger_rewritten_without_max_seen() {
    require_keychain!();
    let (w, rb) = Rollback::world();
    // An upstream vsync on this machine pulled the first version and rewrote the ledger whole:
    // no `max_seen_ts`, and `last_sync_ts` is the old version.
    let ledger_path = w.base().join(&w.repo).join("env_dev.ledger.json");
    let mut ledger: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&ledger_path).unwrap()).unwrap();
    let o = ledger.as_object_mut().unwrap();
    o.remove("max_seen_ts");
    o.insert("last_sync_ts".into(), rb.first.clone().into());
    o.insert("last_sync_op".into(), "pull".into());
    std::fs::write(&ledger_path, serde_json::to_string_pretty(&ledger).unwrap()).unwrap();
    rb.refused(w.vsync(&["pull", "dev", "--force"]));
    rb.refused(run_old(&w, &[]));
    let hw = w.base().join(&w.repo).join("highwater_dev.json");
    assert_eq!(mode(&hw), 0o600);
    // `status` and keystore discovery do not mistake the file for an env.
    let s = w.vsync(&["status", "--json"]).ok();
    let envs = s.json();
    assert_eq!(envs["envs"].as_array().unwrap().len(), 1, "{}", s.stdout);
}
