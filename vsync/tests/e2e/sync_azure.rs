//! `vsync sync <env> --to azure --azure-vault https://127.0.0.1:PORT` against
//! tests/fakes/azure_kv_fake.py: the real binary, the real service-principal credential path
//! (AZURE_* variables, token from the fake's Entra endpoint) and the fake's CA trusted through
//! VSYNC_AZURE_CA_FILE only.

use std::path::{Path, PathBuf};
use std::process::Command;

use vsync_testkit::fakes::PythonFake;

use crate::harness::World;
use crate::require_keychain;

const TENANT: &str = "00000000-0000-0000-0000-000000000001";

struct Vault {
    _fake: PythonFake,
    url: String,
    ca: PathBuf,
}

impl Vault {
    fn start(dir: &Path) -> Option<Self> {
        let ca = dir.join("azure-ca.pem");
        let fake = PythonFake::spawn_tls(
            "azure_kv_fake.py",
            &["cryptography"],
            &["--ca-out", ca.to_str().unwrap(), "--tenant", TENANT],
        )?;
        Some(Self {
            url: fake.url(),
            _fake: fake,
            ca,
        })
    }

    /// The credentials and trust a CI job would set.
    fn env(&self) -> Vec<(String, String)> {
        [
            ("AZURE_TENANT_ID", TENANT),
            ("AZURE_CLIENT_ID", "vsync-test-client"),
            ("AZURE_CLIENT_SECRET", "vsync-test-secret"),
            ("AZURE_AUTHORITY_HOST", self.url.as_str()),
            ("VSYNC_AZURE_CA_FILE", self.ca.to_str().unwrap()),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
        .collect()
    }

    /// What the fake stores for `name` (its control endpoint), read with curl over the test CA.
    fn stored(&self, name: &str) -> serde_json::Value {
        let out = Command::new("curl")
            .args(["-sf", "--cacert", self.ca.to_str().unwrap()])
            .arg(format!("{}/_fake/secrets/{name}", self.url))
            .output()
            .expect("curl");
        assert!(out.status.success(), "no secret {name} in the fake");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn writes(&self) -> u64 {
        let out = Command::new("curl")
            .args(["-sf", "--cacert", self.ca.to_str().unwrap()])
            .arg(format!("{}/_fake/counts", self.url))
            .output()
            .expect("curl");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["PUT /secrets/{}"].as_u64().unwrap_or(0)
    }
}

#[test]
fn sync_to_azure_then_all_unchanged() {
    require_keychain!();
    let mut w = World::new();
    let Some(kv) = Vault::start(w.home.parent().unwrap()) else {
        return;
    };
    w.extra_env.extend(kv.env());
    w.init_push(
        "dev",
        &[("API_TOKEN", "tok-az-1a2b"), ("DB_PASS", "pw-az-3c4d")],
    );

    // `_` is refused by default, before any write, with the fix in the message
    let r = w
        .vsync(&["sync", "dev", "--to", "azure", "--azure-vault", &kv.url])
        .code(1);
    assert!(
        r.stdout.contains("--azure-name-map dash") || r.stderr.contains("--azure-name-map dash"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(kv.writes(), 0);

    // with the dash map: both created, tagged, plaintext as pushed
    let r = w
        .vsync(&[
            "sync",
            "dev",
            "--to",
            "azure",
            "--azure-vault",
            &kv.url,
            "--opt",
            "azure.name-map=dash",
        ])
        .ok();
    assert!(r.stdout.contains("2 create"), "{}\n{}", r.stdout, r.stderr);
    let s = kv.stored("API-TOKEN");
    assert_eq!(s["value"], "tok-az-1a2b");
    assert_eq!(s["tags"]["managed-by"], "vsync");
    assert_eq!(kv.stored("DB-PASS")["value"], "pw-az-3c4d");
    assert_eq!(kv.writes(), 2);

    // rerun (routing saved, no flags): everything unchanged, nothing written
    let r = w.vsync(&["sync", "dev", "--to", "azure"]).ok();
    assert!(
        r.stdout.contains("2 unchanged"),
        "{}\n{}",
        r.stdout,
        r.stderr
    );
    assert_eq!(kv.writes(), 2);
}
