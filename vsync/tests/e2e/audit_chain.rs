//! `vsync audit --verify` against tampered logs, on the `file://` bucket and on S3 (SeaweedFS):
//! each row pushes chain, each push seals the chain head in its bundle; an edited, removed or
//! inserted row, or a tail cut below a sealed head, is exit 4 naming it; rows written the way
//! upstream writes them are "unverified", not tampering, and upstream's reader still reads the log.

use std::process::Command;

use serde_json::Value;
use vsync_vault::audit::SealedHead;
use vsync_vault::store::{Bucket, StoreSpec};

use crate::harness::{World, arg, run_upstream};
use crate::require_keychain;

/// Where a world's `audit.csv` lives, read and written behind vsync's back (the attacker).
trait Log {
    fn read(&self) -> String;
    fn write(&self, text: &str);
}

struct FileLog(std::path::PathBuf);

impl Log for FileLog {
    fn read(&self) -> String {
        std::fs::read_to_string(&self.0).unwrap()
    }
    fn write(&self, text: &str) {
        std::fs::write(&self.0, text).unwrap();
    }
}

struct S3Log {
    bucket: Bucket,
    key: String,
    rt: tokio::runtime::Runtime,
}

impl Log for S3Log {
    fn read(&self) -> String {
        let f = self
            .rt
            .block_on(self.bucket.get(&self.key))
            .unwrap()
            .unwrap();
        String::from_utf8(f.bytes.to_vec()).unwrap()
    }
    fn write(&self, text: &str) {
        self.rt
            .block_on(self.bucket.put(&self.key, text.as_bytes().to_vec()))
            .unwrap();
    }
}

fn verify(w: &World, env: &str, code: i32) -> Value {
    w.vsync(&["audit", env, "--verify", "--json"])
        .code(code)
        .json()
}

fn first_finding(v: &Value) -> (String, Option<u64>) {
    let f = &v["findings"][0];
    (f["kind"].as_str().unwrap().to_owned(), f["row"].as_u64())
}

/// `field` of every object in the report's `list`.
fn column<'a>(v: &'a Value, list: &str, field: &str) -> Vec<&'a str> {
    v[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[field].as_str().unwrap())
        .collect()
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(str::to_owned).collect()
}

fn join(lines: &[String]) -> String {
    let mut s = lines.join("\n");
    s.push('\n');
    s
}

/// An upstream-style append (tests/interop/upstream_audit.py) on the log, wherever it lives.
fn upstream_append(log: &dyn Log, action: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.csv");
    std::fs::write(&path, log.read()).unwrap();
    run_upstream("upstream_audit.py", &["append", arg(&path), action, ""]);
    log.write(&std::fs::read_to_string(&path).unwrap());
}

/// The log as upstream's reader sees it (tests/interop/upstream_audit.py).
fn upstream_read(log: &dyn Log) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("audit.csv");
    std::fs::write(&path, log.read()).unwrap();
    let out = run_upstream("upstream_audit.py", &["read", arg(&path)]);
    serde_json::from_slice::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Put `lines` in place of the log: the report of `audit --verify`, which must say tampered.
fn tampered(w: &World, env: &str, log: &dyn Log, lines: &[String]) -> Value {
    log.write(&join(lines));
    verify(w, env, 4)
}

fn push_note(w: &mut World, env: &str, n: usize) {
    w.write_env(env, &[("K", &format!("value-{n}"))]);
    w.vsync(&["push", env, "--note", &format!("row-{n}")]).ok();
}

/// The whole story on one bucket: four pushes, then each kind of tampering on a copy of the
/// clean log, then upstream's writer and reader next to ours.
fn tamper_story(w: &mut World, env: &str, log: &dyn Log) {
    for n in 1..=4 {
        push_note(w, env, n);
    }
    let v = verify(w, env, 0);
    assert_eq!(v["ok"], true);
    let statuses = column(&v, "rows", "status");
    assert_eq!(statuses, vec!["verified"; 4]);
    let heads = column(&v, "versions", "head");
    assert_eq!(heads, vec!["matches"; 4]);
    // The newest push's own row comes after its sealed head.
    assert_eq!(v["unsealed_tail"], 1);
    let clean = log.read();
    assert!(clean.starts_with(
        "ts,action,version_ts,hostname,local_ip,os_user,git_email,vsync_version,bun_version,meta,chain\n"
    ));
    let l = lines(&clean);

    // A field of a middle row edited.
    let mut edited = l.clone();
    edited[2] = edited[2].replace("row-2", "row-7");
    let v = tampered(w, env, log, &edited);
    assert_eq!(first_finding(&v), ("edited".to_owned(), Some(2)));
    w.vsync(&["audit", env, "--verify"])
        .code(4)
        .stderr_has("row 2 was edited");

    // A row removed.
    let mut removed = l.clone();
    removed.remove(2);
    let v = tampered(w, env, log, &removed);
    assert_eq!(first_finding(&v), ("removed".to_owned(), Some(2)));

    // A forged row inserted (a copy of row 2 with another note and its chain cell).
    let mut inserted = l.clone();
    inserted.insert(3, l[2].replace("row-2", "row-forged"));
    let v = tampered(w, env, log, &inserted);
    assert_eq!(first_finding(&v), ("inserted".to_owned(), Some(3)));

    // The tail cut below the head the last push sealed (it sealed three rows).
    let v = tampered(w, env, log, &l[..3]);
    assert_eq!(first_finding(&v), ("truncated".to_owned(), None));
    assert!(
        v["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("sealed 3 rows, the log has 2")
    );

    // Upstream's writer appends (no chain): unverified, not tampering; our next row covers it.
    log.write(&clean);
    upstream_append(log, "pull");
    let v = verify(w, env, 0);
    assert_eq!(v["rows"][4]["status"], "unverified");
    push_note(w, env, 6);
    let v = verify(w, env, 0);
    assert_eq!(v["rows"][4]["status"], "unverified");
    assert_eq!(v["rows"][5]["status"], "verified");
    // Upstream's reader reads every row, ours included, field by field.
    let rows = upstream_read(log);
    assert_eq!(rows.len(), 6);
    assert_eq!(rows[4]["action"], "pull");
    assert_eq!(rows[4]["hostname"], "upstream-host");
    assert_eq!(rows[5]["action"], "push");
    assert_eq!(rows[5]["meta"], "{\"note\":\"row-6\"}");
    assert_eq!(rows[0]["meta"], "{\"note\":\"row-1\"}");
    // And an edit of that upstream row is caught by the chained row after it.
    let mut l = lines(&log.read());
    l[5] = l[5].replace("upstream-host", "elsewhere");
    let v = tampered(w, env, log, &l);
    assert_eq!(first_finding(&v), ("edited".to_owned(), Some(6)));
}

#[test]
fn audit_chain_file_bucket() {
    require_keychain!(python);
    let mut w = World::with_env("dev");
    let log = FileLog(w.prefix("dev").join("audit.csv"));
    tamper_story(&mut w, "dev", &log);
}

#[test]
fn audit_chain_s3() {
    require_keychain!(python);
    let Some((s3, mut w)) = crate::s3::s3_setup() else {
        return;
    };
    let bucket = Bucket::open(&StoreSpec::S3 {
        bucket: s3.bucket.clone(),
        allow_http: s3.endpoint.starts_with("http://"),
        endpoint: Some(s3.endpoint.clone()),
        region: "us-east-1".into(),
        access_key_id: s3.access.clone(),
        secret_access_key: s3.secret.clone(),
    })
    .unwrap();
    let log = S3Log {
        bucket,
        key: format!("{}/prod/audit.csv", w.repo),
        rt: tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    };
    tamper_story(&mut w, "prod", &log);
}

/// The head sits in the zip archive comment, inside the encryption: upstream's extractor
/// (Info-ZIP `unzip -q -o`) unpacks the bundle as before and prints nothing about it.
#[test]
fn sealed_head_is_invisible_to_upstreams_unzip() {
    require_keychain!();
    if Command::new("unzip").arg("-v").output().is_err() {
        eprintln!("skipped: no unzip");
        return;
    }
    let mut w = World::with_env("dev");
    push_note(&mut w, "dev", 1);
    push_note(&mut w, "dev", 2);
    let ts = w.latest("dev");
    let (key, salt) = w.key_and_salt("dev");
    let object = std::fs::read(w.prefix("dev").join(format!("versions/{ts}.enc"))).unwrap();
    let dk = vsync_crypto::kdf::DerivedKey::derive(&key, &salt);
    let zip = vsync_crypto::bundle::open(&dk, &object, &ts).unwrap();
    let comment = vsync_vault::zip_bundle::archive_comment(&zip).unwrap();
    let head = SealedHead::from_comment(&comment).expect("a sealed head");
    assert_eq!(head.rows, 1);
    assert!(head.head.starts_with("c1."));
    let dir = tempfile::tempdir().unwrap();
    let zpath = dir.path().join("b.zip");
    std::fs::write(&zpath, &*zip).unwrap();
    let out_dir = dir.path().join("out");
    let out = Command::new("unzip")
        .args(["-q", "-o", arg(&zpath), "-d", arg(&out_dir)])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(out.stderr.is_empty());
    let env = std::fs::read_to_string(out_dir.join("infra/vault/dev/.env.dev")).unwrap();
    assert_eq!(env, "K=value-2\n");
    // And vsync itself pulls it.
    let b = World::second_machine(&w);
    b.vsync(&["pull", "dev"]).ok();
    assert_eq!(b.env_text("dev"), "K=value-2\n");
}

#[test]
fn verify_without_the_key_says_so() {
    require_keychain!();
    let mut w = World::with_env("dev");
    push_note(&mut w, "dev", 1);
    w.without_keychain();
    let r = w.vsync(&["audit", "dev", "--verify"]);
    assert!(r.code != 0 && r.code != 4, "{}", r.stderr);
    r.stderr_has("needs the vault key of");
    // Reading the log needs no key.
    w.vsync(&["audit", "dev", "--csv"]).ok();
}

/// After `rotate-passphrase` the old rows are chained under a key this machine no longer holds:
/// listed as "other-key", not as tampering; new rows chain on from them and verify.
#[test]
fn rows_chained_before_a_key_rotation_are_not_tampering() {
    require_keychain!();
    let mut w = World::with_env("dev");
    push_note(&mut w, "dev", 1);
    push_note(&mut w, "dev", 2);
    w.vsync(&["rotate-passphrase", "--env", "dev", "--yes"])
        .ok();
    w.vsync(&["pull", "dev"]).ok();
    push_note(&mut w, "dev", 5);
    let v = verify(&w, "dev", 0);
    let statuses = column(&v, "rows", "status");
    assert_eq!(statuses.len(), 5, "{v}");
    assert_eq!(statuses[..2], ["other-key", "other-key"]);
    assert_eq!(statuses[3..], ["verified", "verified"]);
    // Versions sealed under the old key cannot be opened with the new one: skipped, not failed.
    let heads = column(&v, "versions", "head");
    assert!(heads.contains(&"unreadable"), "{heads:?}");
    assert_eq!(heads.last(), Some(&"matches"));
    // The link from the new key's rows to the old ones still holds: cutting an old row shows.
    let path = w.prefix("dev").join("audit.csv");
    let mut l = lines(&std::fs::read_to_string(&path).unwrap());
    l.remove(2);
    std::fs::write(&path, join(&l)).unwrap();
    verify(&w, "dev", 4);
}
