//! `vsync sync <env> --to gcp` against `tests/fakes/gcp_sm_fake.py` (the Secret Manager REST
//! API): the binary's real client is pointed there with `VSYNC_GCP_ENDPOINT`, and gets its
//! credentials through the standard Google chain (`GOOGLE_APPLICATION_CREDENTIALS` naming an
//! `authorized_user` file whose token_uri is the fake's OAuth endpoint).

use serde_json::{Value, json};
use vsync_testkit::fakes::PythonFake;

use crate::harness::{World, arg, curl};

const PROJECT: &str = "p-e2e";

fn call(fake: &PythonFake, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    curl(method, &format!("{}{path}", fake.url()), body, None)
}

fn stored(fake: &PythonFake, id: &str) -> Option<Value> {
    let (st, body) = call(fake, "GET", &format!("/_fake/secret/{PROJECT}/{id}"), b"");
    (st == 200).then(|| serde_json::from_slice(&body).unwrap())
}

/// Plaintext of the newest version (base64 decoded by hand: the e2e crate has no base64 dep).
fn plaintext(fake: &PythonFake, id: &str) -> String {
    let s = stored(fake, id).unwrap_or_else(|| panic!("{id} not stored"));
    let b64 = s["versions"].as_array().unwrap().last().unwrap()["data_b64"]
        .as_str()
        .unwrap()
        .to_owned();
    use base64::Engine as _;
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap()
}

fn stat(fake: &PythonFake, name: &str) -> u64 {
    let (_, body) = call(fake, "GET", "/_fake/stats", b"");
    serde_json::from_slice::<Value>(&body).unwrap()[name]
        .as_u64()
        .unwrap_or(0)
}

/// A world whose vsync reaches the fake through ADC.
fn world(fake: &PythonFake) -> World {
    let mut w = World::new();
    reach_gcp_fake(&mut w, fake, "refresh-e2e");
    w
}

/// Point `w`'s vsync at the GCP fake: an authorized-user ADC file whose refresh token the fake
/// accepts, and the fake as the Secret Manager endpoint.
pub(crate) fn reach_gcp_fake(w: &mut World, fake: &PythonFake, refresh_token: &str) {
    let adc = w.home.join("adc.json");
    std::fs::write(
        &adc,
        json!({
            "type": "authorized_user",
            "client_id": "vsync-e2e",
            "client_secret": "not-a-real-secret",
            "refresh_token": refresh_token,
            "token_uri": format!("{}/token", fake.url()),
        })
        .to_string(),
    )
    .unwrap();
    w.set_env("GOOGLE_APPLICATION_CREDENTIALS", arg(&adc));
    w.set_env("VSYNC_GCP_ENDPOINT", &fake.url());
}

/// The GCP fake and a machine that pushed `pairs` to `dev`, when a keychain session is there.
fn setup(pairs: &[(&str, &str)]) -> Option<(PythonFake, World)> {
    if !crate::harness::keychain_ready() {
        return None;
    }
    let fake = PythonFake::spawn(
        "gcp_sm_fake.py",
        &[],
        &["--token", "tok-e2e", "--refresh-token", "refresh-e2e"],
    )?;
    let mut w = world(&fake);
    w.init_push("dev", pairs);
    Some((fake, w))
}

#[test]
fn sync_gcp_push_sync_rerun_plan_json() {
    let pairs = [("API_TOKEN", "tok-gcp-1a2b"), ("DB_PASS", "pw-gcp-3c4d")];
    let Some((fake, mut w)) = setup(&pairs) else {
        return;
    };

    // the first write is throttled once with Retry-After: the engine waits and retries
    let spec = json!({"count": 1, "status": 429, "retryAfter": 1, "match": ":addVersion"});
    assert_eq!(
        call(&fake, "POST", "/_fake/fail", spec.to_string().as_bytes()).0,
        200
    );
    let r = w
        .vsync(&["sync", "dev", "--to", "gcp", "--gcp-project", PROJECT])
        .ok();
    r.stdout_has("2 create");
    r.stdout_has("2 secrets synced to gcp");
    assert_eq!(plaintext(&fake, "API_TOKEN"), "tok-gcp-1a2b");
    assert_eq!(plaintext(&fake, "DB_PASS"), "pw-gcp-3c4d");
    assert_eq!(
        stored(&fake, "DB_PASS").unwrap()["labels"],
        json!({"managed-by": "vsync"})
    );
    // the throttled try never reached the store: two versions in all
    assert_eq!(stat(&fake, "addVersion"), 2);
    assert_eq!(
        stat(&fake, "throttled"),
        1,
        "the 429 was served and retried"
    );

    // rerun: the project was remembered, everything reads back unchanged, nothing written
    let r = w.vsync(&["sync", "dev", "--to", "gcp"]).ok();
    r.stdout_has("2 unchanged");
    assert_eq!(stat(&fake, "addVersion"), 2);

    // a value changed behind vsync's back shows up in the JSON plan as an update
    call(
        &fake,
        "POST",
        &format!("/_fake/set/{PROJECT}/DB_PASS"),
        b"hand-edited-5e6f",
    );
    w.secret("hand-edited-5e6f");
    let r = w.vsync(&["sync", "dev", "gcp", "--plan", "--json"]).ok();
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    let changes = &v[0]["plan"]["changes"];
    assert_eq!(changes[0]["remote"], "API_TOKEN", "{v}");
    assert_eq!(changes[0]["op"], "unchanged", "{v}");
    assert_eq!(changes[1]["op"], "update", "{v}");
    assert_eq!(
        plaintext(&fake, "DB_PASS"),
        "hand-edited-5e6f",
        "--plan wrote nothing"
    );
    w.vsync(&["sync", "dev", "--to", "gcp"]).ok();
    assert_eq!(plaintext(&fake, "DB_PASS"), "pw-gcp-3c4d");
}

#[test]
fn sync_gcp_wrong_credentials_and_invalid_names_fail_clearly() {
    let pairs = [("GOOD", "good-gcp-11"), ("bad.name", "bad-gcp-22")];
    let Some((fake, mut w)) = setup(&pairs) else {
        return;
    };

    // invalid id: the target aborts before any request reaches the service
    let r = w
        .vsync(&["sync", "dev", "--to", "gcp", "--gcp-project", PROJECT])
        .code(1);
    r.stderr_has("bad.name");
    assert_eq!(stat(&fake, "requests"), 0);

    w.push_env("dev", &[("GOOD", "good-gcp-11")]);
    // no credentials sent (the anonymous switch) → UNAUTHENTICATED, reported as an auth error
    w.set_env("VSYNC_GCP_ANONYMOUS", "1");
    let r = w.vsync(&["sync", "dev", "--to", "gcp"]).code(1);
    r.stderr_has("UNAUTHENTICATED");
    r.stderr_has("(auth)");
    assert!(stored(&fake, "GOOD").is_none());
}
