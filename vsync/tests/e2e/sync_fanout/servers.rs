//! The three servers of the fan-out tests (the GitHub fake, moto, OpenBao), and a Python helper
//! that reads and writes behind vsync's back through each server's own API.

use std::process::Command;

use vsync_testkit::fakes::{PythonFake, python_with};
use vsync_testkit::services::{self, MotoService, VaultService};

use crate::harness::World;

const GH_TOKEN: &str = "test-token";

/// Reads and writes behind vsync's back, through each server's own API.
const HELPER: &str = r#"
import base64, json, sys, urllib.request
op, args = sys.argv[1], sys.argv[2:]
def http(method, url, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
def sm(endpoint):
    import boto3
    return boto3.client("secretsmanager", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")
if op == "aws_get":
    try:
        print(sm(args[0]).get_secret_value(SecretId=args[1])["SecretString"], end="")
    except Exception:
        print("<absent>", end="")
elif op == "aws_put":
    sm(args[0]).put_secret_value(SecretId=args[1], SecretString=args[2])
elif op == "aws_create":
    sm(args[0]).create_secret(Name=args[1], SecretString=args[2])
elif op == "vault_read":
    st, body = http("GET", f"{args[0]}/v1/secret/data/{args[2]}", headers={"X-Vault-Token": args[1]})
    print(json.dumps(json.loads(body)["data"]["data"] if st == 200 else {}), end="")
elif op == "vault_write":
    st, _ = http("POST", f"{args[0]}/v1/secret/data/{args[2]}", {"data": json.loads(args[3])},
                 {"X-Vault-Token": args[1]})
    assert st in (200, 204), st
elif op == "post":
    st, _ = http("POST", args[0], json.loads(args[1]))
    assert st == 200, st
elif op == "gh_put":
    from nacl.public import PublicKey, SealedBox
    url, repo, scope, name, value = args
    base = f"{url}/repos/{repo}/actions/secrets" if scope == "-" else f"{url}/repos/{repo}/environments/{scope}/secrets"
    auth = {"Authorization": "Bearer test-token"}
    st, body = http("GET", base + "/public-key", headers=auth)
    pk = json.loads(body)
    sealed = SealedBox(PublicKey(base64.b64decode(pk["key"]))).encrypt(value.encode())
    st, _ = http("PUT", f"{base}/{name}", {"encrypted_value": base64.b64encode(sealed).decode(), "key_id": pk["key_id"]}, auth)
    assert st in (201, 204), st
elif op == "gh_delete":
    url, repo, scope, name = args
    st, _ = http("DELETE", f"{url}/repos/{repo}/environments/{scope}/secrets/{name}",
                 headers={"Authorization": "Bearer test-token"})
    assert st == 204, st
"#;

pub(super) fn helper(args: &[&str]) -> String {
    let py = python_with(&["boto3", "nacl"]).expect("the .ci/venv python with boto3 and PyNaCl");
    let out = Command::new(py)
        .arg("-c")
        .arg(HELPER)
        .args(args)
        .output()
        .expect("python helper");
    assert!(
        out.status.success(),
        "helper {}: {}",
        args[0],
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The three servers and this test's private corner of each.
pub(super) struct Servers {
    pub gh: PythonFake,
    pub moto: MotoService,
    pub vault: VaultService,
    /// AWS name prefix and Vault path, unique per test.
    pub prefix: String,
    pub path: String,
}

impl Servers {
    pub fn start(w: &mut World) -> Option<Self> {
        Self::start_with(w, &[])
    }

    /// As [`Servers::start`], the GitHub fake started with `gh_args` (e.g. `--delay-ms 100`).
    pub fn start_with(w: &mut World, gh_args: &[&str]) -> Option<Self> {
        let gh = PythonFake::spawn("github_fake.py", &["nacl"], gh_args)?;
        let moto = services::require_moto();
        let vault = services::require_vault();
        let prefix = format!("{}/", w.repo);
        let path = format!("e2e/{}", w.repo);
        for (k, v) in [
            ("GITHUB_TOKEN", GH_TOKEN.to_owned()),
            ("GITHUB_API_URL", gh.url()),
            ("AWS_ENDPOINT_URL", moto.endpoint.clone()),
            ("AWS_ACCESS_KEY_ID", "test".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
            ("VAULT_TOKEN", vault.token.clone()),
        ] {
            w.extra_env.push((k.into(), v));
        }
        Some(Self {
            gh,
            moto,
            vault,
            prefix,
            path,
        })
    }

    /// Routing flags for the first sync of a test.
    pub fn routing(&self) -> Vec<String> {
        [
            "--github-repo",
            "acme/app",
            "--aws-region",
            "us-east-1",
            "--aws-secret-prefix",
            &self.prefix,
            "--vault-addr",
            &self.vault.addr,
            "--vault-mount",
            "secret",
            "--vault-path",
            &self.path,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    }

    pub fn gh_plain(&self, scope: &str, name: &str) -> Option<String> {
        let r = services::http_request(
            "GET",
            &format!("{}/_fake/plaintext/acme/app/{scope}{name}", self.gh.url()),
            &[],
        )
        .unwrap();
        (r.status == 200).then_some(r.body)
    }

    pub fn aws(&self, key: &str) -> Option<String> {
        let v = helper(&[
            "aws_get",
            &self.moto.endpoint,
            &format!("{}{key}", self.prefix),
        ]);
        (v != "<absent>").then_some(v)
    }

    pub fn vault_map(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(&helper(&[
            "vault_read",
            &self.vault.addr,
            &self.vault.token,
            &self.path,
        ]))
        .unwrap()
    }

    /// Every server holds exactly `value` for `key` (GitHub in environment `dev`).
    #[track_caller]
    pub fn assert_everywhere(&self, key: &str, value: &str) {
        assert_eq!(
            self.gh_plain("dev/", key).as_deref(),
            Some(value),
            "github {key}"
        );
        assert_eq!(self.aws(key).as_deref(), Some(value), "aws {key}");
        assert_eq!(self.vault_map()[key], value, "hashivault {key}");
    }
}
