//! Provenance through the real binary (docs/provenance.md, docs/attestation.md): every writing
//! `vsync sync` to the GitHub fake and OpenBao records a sealed entry; `vsync releases` lists
//! them, `vsync why` answers per destination at a release or time, `sync --attest` writes an
//! in-toto Statement naming the bundle object's digest. Values never show anywhere.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sha2::Digest;
use vsync_testkit::fakes::PythonFake;
use vsync_testkit::services::{self, VaultService};

use crate::harness::{Run, World, arg, git};
use crate::require_keychain;

const TOK_V1: &str = "prov-tok-v1-7qK2";
const TOK_V2: &str = "prov-tok-v2-9wL5";
const DB: &str = "prov-db-3xM8";

struct Dests {
    _gh: PythonFake,
    vault: VaultService,
    routing: Vec<String>,
}

/// A world with `dev` pushed, a git checkout with one commit, and the GitHub fake and OpenBao
/// to sync to; the CI variables of a GitHub Actions run are set.
fn setup() -> Option<(World, Dests)> {
    let mut w = World::new();
    let gh = PythonFake::spawn("github_fake.py", &["nacl"], &[])?;
    let vault = services::require_vault();
    for (k, v) in [
        ("GITHUB_TOKEN", "test-token".to_owned()),
        ("GITHUB_API_URL", gh.url()),
        ("VAULT_TOKEN", vault.token.clone()),
        ("GITHUB_RUN_ID", "4242".to_owned()),
        ("GITHUB_SERVER_URL", "https://github.example".to_owned()),
        ("GITHUB_REPOSITORY", "acme/app".to_owned()),
    ] {
        w.set_env(k, &v);
    }
    git(&w.repo_dir, &["config", "user.email", "rel@example.com"]);
    git(&w.repo_dir, &["config", "user.name", "Rel Eng"]);
    git(&w.repo_dir, &["commit", "-q", "--allow-empty", "-m", "one"]);
    w.init_push("dev", &[("API_TOKEN", TOK_V1), ("DB_PASS", DB)]);
    let routing = [
        "--github-repo",
        "acme/app",
        "--vault-addr",
        &vault.addr,
        "--vault-mount",
        "secret",
        "--vault-path",
        &format!("e2e/{}", w.repo),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    Some((
        w,
        Dests {
            _gh: gh,
            vault,
            routing,
        },
    ))
}

fn sync(w: &World, d: &Dests, extra: &[&str]) -> Run {
    let mut a = vec!["sync", "dev", "--to", "github,hashivault", "--no-progress"];
    a.extend(d.routing.iter().map(String::as_str));
    a.extend_from_slice(extra);
    w.vsync(&a)
}

fn provenance_dir(w: &World) -> PathBuf {
    w.prefix("dev").join("sync/provenance")
}

fn provenance_objects(w: &World) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(provenance_dir(w))
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

fn read_json(p: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The fingerprint the attestation records for `key` at `target`.
fn attested_fp(statement: &Value, target: &str, key: &str) -> String {
    statement["predicate"]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["target"] == target)
        .and_then(|t| {
            t["keys"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["key"] == key)
        })
        .and_then(|k| k["fp"].as_str())
        .unwrap_or_else(|| panic!("no fp for {target}/{key} in {statement}"))
        .to_owned()
}

/// No canary value, nor its unkeyed SHA-256, in `bytes`.
#[track_caller]
fn assert_clean(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    for v in [TOK_V1, TOK_V2, DB] {
        assert!(!text.contains(v), "{what} holds a value");
        assert!(
            !text.contains(&sha256_hex(v.as_bytes())),
            "{what} holds an unkeyed hash"
        );
    }
}

/// `vsync why KEY --env dev <point> --json` as JSON (the run must succeed).
fn why_json(w: &World, key: &str, point: &[&str]) -> Value {
    let mut argv = vec!["why", key, "--env", "dev"];
    argv.extend_from_slice(point);
    argv.push("--json");
    w.vsync(&argv).ok().json()
}

#[test]
fn releases_why_and_attest_across_two_releases() {
    require_keychain!();
    let Some((mut w, d)) = setup() else { return };
    let home = w.home.clone();
    let att1 = home.join("att-v1.json");
    let att2 = home.join("att-v2.json");

    // v1: the release comes from the tag at HEAD
    git(&w.repo_dir, &["tag", "v1"]);
    let r = sync(&w, &d, &["--attest", arg(&att1)]).ok();
    r.stderr_has("provenance recorded:");
    r.stderr_has("(release v1)");
    assert_eq!(crate::harness::mode(&att1), 0o600);
    let s1 = read_json(&att1);
    assert_eq!(s1["_type"], "https://in-toto.io/Statement/v1");
    let bundle1 = w.latest("dev");
    let object1 = std::fs::read(w.prefix("dev").join(format!("versions/{bundle1}.enc"))).unwrap();
    assert_eq!(s1["subject"][0]["digest"]["sha256"], sha256_hex(&object1));
    assert_eq!(
        s1["subject"][0]["name"],
        format!("vsync-bundle:{}/dev@{bundle1}", w.repo)
    );
    assert!(
        s1["predicateType"]
            .as_str()
            .unwrap()
            .starts_with("https://")
    );
    assert_eq!(s1["predicate"]["release"], "v1");
    assert_eq!(s1["predicate"]["bundle"]["ts"], bundle1.as_str());
    assert_eq!(
        s1["predicate"]["ci"]["url"],
        "https://github.example/acme/app/actions/runs/4242"
    );
    assert!(
        s1["predicate"].get("who").is_none(),
        "the person stays in the bucket"
    );
    let fp1 = attested_fp(&s1, "github", "API_TOKEN");
    assert_eq!(fp1.len(), 64);
    assert_eq!(fp1, attested_fp(&s1, "hashivault", "API_TOKEN"));

    // a plan records nothing
    sync(&w, &d, &["--plan"]).ok();
    assert_eq!(provenance_objects(&w).len(), 1);

    // v2: a changed value, a new commit, the release named by the flag
    w.push_env("dev", &[("API_TOKEN", TOK_V2), ("DB_PASS", DB)]);
    git(&w.repo_dir, &["commit", "-q", "--allow-empty", "-m", "two"]);
    sync(&w, &d, &["--release", "v2", "--attest", arg(&att2)]).ok();
    let s2 = read_json(&att2);
    let fp2 = attested_fp(&s2, "github", "API_TOKEN");
    assert_ne!(fp1, fp2);
    let objects = provenance_objects(&w);
    assert_eq!(objects.len(), 2, "{objects:?}");
    for o in &objects {
        assert_clean("a provenance object", &std::fs::read(o).unwrap());
    }
    assert_clean("the v1 attestation", &std::fs::read(&att1).unwrap());
    assert_clean("the v2 attestation", &std::fs::read(&att2).unwrap());

    // releases: newest first, with commit, tag and CI run
    let v = w.vsync(&["releases", "dev", "--json"]).ok().json();
    let e = v["entries"].as_array().unwrap();
    assert_eq!(e.len(), 2, "{v}");
    assert_eq!(e[0]["release"], "v2");
    assert_eq!(e[0]["tag"], Value::Null);
    assert_eq!(e[1]["release"], "v1");
    assert_eq!(e[1]["tag"], "v1");
    assert_ne!(e[0]["commit"], e[1]["commit"]);
    assert_eq!(e[1]["commit"].as_str().unwrap().len(), 40);
    assert_eq!(e[0]["ci"]["system"], "github-actions");
    assert_eq!(e[0]["ci"]["run_id"], "4242");
    assert_eq!(e[0]["who"]["git_email"], "rel@example.com");
    assert_eq!(e[0]["keys"], 2);
    let targets: Vec<&str> = e[0]["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["github", "hashivault"]);
    assert_eq!(e[0]["targets"][0]["written"], 1, "DB_PASS was unchanged");
    assert_eq!(v["unreadable"].as_array().unwrap().len(), 0);
    let r = w.vsync(&["releases", "dev"]).ok();
    let (i2, i1) = (r.stdout.find("v2").unwrap(), r.stdout.find("v1").unwrap());
    assert!(i2 < i1, "newest first:\n{}", r.stdout);
    r.stdout_has("ci: github-actions https://github.example/acme/app/actions/runs/4242");

    // why at v1: the v1 value everywhere, changed since
    let v = why_json(&w, "API_TOKEN", &["--release", "v1"]);
    let dests = v["destinations"].as_array().unwrap();
    assert_eq!(dests.len(), 2, "{v}");
    for dst in dests {
        assert_eq!(dst["fp"], fp1.as_str(), "{v}");
        assert_eq!(dst["current"], "changed_since", "{v}");
        assert_eq!(dst["written"]["release"], "v1");
        assert_eq!(dst["written"]["bundle_ts"], bundle1.as_str());
        assert!(
            dst["written"]["who"]
                .as_str()
                .unwrap()
                .starts_with("rel@example.com"),
            "{v}"
        );
    }
    // why at v2 (the env is the repo's only one): the v2 value, the same as the vault's
    let v = w
        .vsync(&["why", "API_TOKEN", "--release", "v2", "--json"])
        .ok()
        .json();
    for dst in v["destinations"].as_array().unwrap() {
        assert_eq!(dst["fp"], fp2.as_str(), "{v}");
        assert_eq!(dst["current"], "same", "{v}");
    }
    let r = w
        .vsync(&["why", "API_TOKEN", "--env", "dev", "--release", "v2"])
        .ok();
    r.stdout_has("same");
    r.stdout_has(&fp2[..12]);
    // an unchanged key: written at v1, found unchanged at v2
    let v = why_json(&w, "DB_PASS", &["--release", "v2"]);
    let gh = &v["destinations"][0];
    assert_eq!(gh["written"]["release"], "v1", "{v}");
    assert_eq!(gh["confirmed"]["release"], "v2", "{v}");
    assert_eq!(gh["current"], "same");

    // --at: the v1 entry's own time is before v2's
    let v1_time = w.vsync(&["releases", "dev", "--json"]).ok().json()["entries"][1]["time"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = why_json(&w, "API_TOKEN", &["--at", &v1_time]);
    for dst in v["destinations"].as_array().unwrap() {
        assert_eq!(dst["fp"], fp1.as_str(), "{v}");
    }
    w.vsync(&["why", "API_TOKEN", "--env", "dev", "--at", "2000-01-01"])
        .code(3)
        .stderr_has("at or before 2000-01-01");

    // unknown key, unknown release, bad time
    w.vsync(&["why", "NOPE", "--env", "dev"])
        .code(3)
        .stderr_has("no sync recorded NOPE");
    w.vsync(&["why", "API_TOKEN", "--env", "dev", "--release", "v9"])
        .code(3)
        .stderr_has("recorded releases: v2, v1");
    w.vsync(&["why", "API_TOKEN", "--env", "dev", "--at", "yesterday"])
        .code(2);
    let _ = &d.vault;
}

#[test]
fn unreadable_entries_are_reported_not_skipped() {
    require_keychain!();
    let Some((w, d)) = setup() else { return };
    sync(&w, &d, &["--release", "r1"]).ok();
    let good = provenance_objects(&w).remove(0);
    let mut bytes = std::fs::read(&good).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let dir = provenance_dir(&w);
    std::fs::write(dir.join("20990101T000000000Z-g0-aaaaaaaaaaaa.enc"), &bytes).unwrap();
    std::fs::write(
        dir.join("20990101T000000001Z-g0-bbbbbbbbbbbb.enc"),
        b"not RQE1",
    )
    .unwrap();

    let r = w.vsync(&["releases", "dev", "--json"]).code(4);
    let v = r.json();
    assert_eq!(
        v["entries"].as_array().unwrap().len(),
        1,
        "the good one is listed"
    );
    let bad = v["unreadable"].as_array().unwrap();
    assert_eq!(bad.len(), 2, "{v}");
    assert_eq!(bad[0]["object"], "20990101T000000000Z-g0-aaaaaaaaaaaa");
    assert_eq!(bad[0]["after_rotation"], false);
    r.stderr_has("2 provenance entries could not be read");
    let r = w.vsync(&["releases", "dev"]).code(4);
    r.stdout_has("r1");
    r.stderr_has("provenance entry 20990101T000000000Z-g0-aaaaaaaaaaaa: does not decrypt");

    // why still answers from the good entry, then exits 4
    let r = w
        .vsync(&["why", "API_TOKEN", "--env", "dev", "--json"])
        .code(4);
    assert_eq!(r.json()["destinations"].as_array().unwrap().len(), 2);

    // --attest needs a writing sync of the pushed vault
    sync(&w, &d, &["--plan", "--attest", "x.json"]).code(2);
    sync(&w, &d, &["--from-local", "--attest", "x.json"]).code(2);
    // an attestation that cannot be written fails the run, after the sync did its work
    let nowhere = w.home.join("no-such-folder/att.json");
    sync(&w, &d, &["--attest", arg(&nowhere)])
        .code(1)
        .stderr_has("--attest: could not write");

    // an entry that cannot be recorded is a warning, not a failed sync
    std::fs::remove_dir_all(&dir).unwrap();
    std::fs::write(&dir, b"a file where the folder goes").unwrap();
    sync(&w, &d, &[])
        .ok()
        .stderr_has("could not record the provenance entry");
}

#[test]
fn an_applied_pinned_plan_is_recorded_on_the_same_destinations() {
    require_keychain!();
    let Some((mut w, d)) = setup() else { return };
    sync(&w, &d, &["--release", "p1"]).ok();
    w.push_env("dev", &[("API_TOKEN", TOK_V2), ("DB_PASS", DB)]);
    let plan = w.home.join("plan.json");
    sync(&w, &d, &["--plan-out", arg(&plan)]).ok();
    assert_eq!(
        provenance_objects(&w).len(),
        1,
        "a saved plan records nothing"
    );
    let att = w.home.join("att.json");
    let apply = ["sync", "--apply", arg(&plan), "--no-progress"];
    w.vsync(&[&apply[..], &["--release", "p2", "--attest", arg(&att)]].concat())
        .ok()
        .stderr_has("(release p2)");
    assert_eq!(provenance_objects(&w).len(), 2);
    assert_clean(
        "the attestation of an applied plan",
        &std::fs::read(&att).unwrap(),
    );
    // the same two destinations as the plain sync (a changing summary does not split them)
    let v = w
        .vsync(&["why", "API_TOKEN", "--env", "dev", "--json"])
        .ok()
        .json();
    let dests = v["destinations"].as_array().unwrap();
    assert_eq!(dests.len(), 2, "{v}");
    for dst in dests {
        assert_eq!(dst["written"]["release"], "p2", "{v}");
        assert_eq!(dst["current"], "same", "{v}");
    }
    let v = why_json(&w, "API_TOKEN", &["--release", "p1"]);
    for dst in v["destinations"].as_array().unwrap() {
        assert_eq!(dst["current"], "changed_since", "{v}");
    }
}
