//! vsync destination `github`: GitHub Actions secrets through `octocrab`.
//!
//! Environment secrets by default, in the GitHub environment named like the vsync env (upstream
//! behaviour; `--github-environment NAME` picks another), or repository secrets with
//! `--github-scope repository`. Values
//! are sealed with the scope's public key (libsodium sealed box via `crypto_box`). Secrets are
//! write-only: no read-back, the engine's receipt detects unchanged values. Names follow GitHub's
//! rules (`^[A-Za-z_][A-Za-z0-9_]*$`, no `GITHUB_` prefix) and are upper-cased, as GitHub stores them.
//! Token from `GITHUB_TOKEN` or `GH_TOKEN`; `GITHUB_API_URL` for GitHub Enterprise and tests.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use vsync_dest_api::{
    Capabilities, Change, ChangeOp, Ctx, DestError, DestErrorKind, Destination, Plan, PlanOptions,
    RemoteName, Routing, RoutingField, RoutingSchema, SecretItem, WriteMode, routing_str,
};

/// GitHub's limit for one secret value.
pub const MAX_VALUE_BYTES: usize = 48 * 1024;
const DEFAULT_API: &str = "https://api.github.com";

pub use vsync_dest_api::EnvSource;

/// The `github` destination.
#[derive(Debug, Default)]
pub struct GitHub {
    env: EnvSource,
    /// Public key per scope path, fetched once per run.
    keys: Mutex<HashMap<String, (String, [u8; 32])>>,
    /// The client, built once: building it (TLS roots included) per request dominated the CPU.
    client: Mutex<Option<Octocrab>>,
}

/// Where the secrets go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub owner: String,
    pub repo: String,
    /// `None` = repository secrets.
    pub environment: Option<String>,
}

impl Scope {
    fn base(&self) -> String {
        match &self.environment {
            None => format!("/repos/{}/{}/actions/secrets", self.owner, self.repo),
            Some(e) => format!(
                "/repos/{}/{}/environments/{}/secrets",
                self.owner,
                self.repo,
                encode_segment(e)
            ),
        }
    }
    fn display(&self) -> String {
        match &self.environment {
            None => format!("repo={}/{} (repository secrets)", self.owner, self.repo),
            Some(e) => format!("repo={}/{}, environment={e}", self.owner, self.repo),
        }
    }
}

fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Checks a GitHub secret name; returns it upper-cased.
pub fn check_name(key: &str) -> Result<String, DestError> {
    let mut chars = key.chars();
    let ok_start = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !ok_start || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(DestError::invalid_name(
            key,
            format!(
                "{key:?} is not a valid GitHub secret name (letters, digits, _; not starting with a digit)"
            ),
        ));
    }
    let upper = key.to_ascii_uppercase();
    if upper.starts_with("GITHUB_") {
        return Err(DestError::invalid_name(
            key,
            format!(
                "{key:?}: GitHub secret names must not start with GITHUB_ (exclude it or rename it)"
            ),
        ));
    }
    Ok(upper)
}

impl GitHub {
    pub fn new() -> Self {
        Self::default()
    }
    /// Reads `GITHUB_TOKEN`/`GH_TOKEN`/`GITHUB_API_URL` from `env` instead of the process.
    pub fn with_env(env: EnvSource) -> Self {
        Self {
            env,
            keys: Mutex::default(),
            client: Mutex::default(),
        }
    }

    fn scope(&self, routing: &Routing, ctx: Option<&Ctx>) -> Result<Scope, DestError> {
        let repo = routing_str(routing, "repo").ok_or_else(|| {
            DestError::config("no GitHub repository: pass --github-repo owner/name")
        })?;
        let (owner, name) = repo
            .trim()
            .split_once('/')
            .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| {
                DestError::config(format!("--github-repo must be owner/name, not {repo:?}"))
            })?;
        // Upstream always wrote environment secrets into the GitHub environment named like the
        // vsync env (`gh secret set --env <env>`), so that is the default; repository secrets are
        // an explicit opt-in (`--github-scope repository`).
        let environment = match (
            routing_str(routing, "environment").map(str::trim),
            routing_str(routing, "scope").map(str::trim),
        ) {
            (Some(_), Some("repository")) => {
                return Err(DestError::config(
                    "--github-environment and --github-scope repository contradict each other",
                ));
            }
            (Some(e), _) if !e.is_empty() => Some(e.to_string()),
            (_, None | Some("" | "environment")) => match ctx {
                Some(c) if !c.env.is_empty() => Some(c.env.clone()),
                Some(_) => {
                    return Err(DestError::config(
                        "scope=environment needs --github-environment",
                    ));
                }
                // summaries without a context: the env is filled in at run time
                None => Some("<vsync env>".to_string()),
            },
            (_, Some("repository")) => None,
            (_, Some(other)) => {
                return Err(DestError::config(format!(
                    "github scope must be repository or environment, not {other:?}"
                )));
            }
        };
        Ok(Scope {
            owner: owner.to_string(),
            repo: name.to_string(),
            environment,
        })
    }

    fn client(&self) -> Result<Octocrab, DestError> {
        if let Some(c) = self.client.lock().expect("client cache").as_ref() {
            return Ok(c.clone());
        }
        let c = self.build_client()?;
        *self.client.lock().expect("client cache") = Some(c.clone());
        Ok(c)
    }

    fn build_client(&self) -> Result<Octocrab, DestError> {
        let token = self
            .env
            .get("GITHUB_TOKEN")
            .or_else(|| self.env.get("GH_TOKEN"))
            .ok_or_else(|| {
                DestError::new(
                    DestErrorKind::Auth,
                    "no GitHub token: set GITHUB_TOKEN or GH_TOKEN",
                )
            })?;
        let api = self
            .env
            .get("GITHUB_API_URL")
            .unwrap_or_else(|| DEFAULT_API.to_string());
        Octocrab::builder()
            .base_uri(api.as_str())
            .map_err(|_| DestError::config(format!("GITHUB_API_URL is not a valid URL: {api}")))?
            .personal_token(token)
            // the engine owns retries and honours Retry-After
            .add_retry_config(RetryConfig::None)
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(30)))
            .build()
            .map_err(|e| DestError::config(format!("GitHub client: {e}")))
    }

    async fn public_key(
        &self,
        gh: &Octocrab,
        scope: &Scope,
        refresh: bool,
    ) -> Result<(String, [u8; 32]), DestError> {
        let path = format!("{}/public-key", scope.base());
        if !refresh && let Some(k) = self.keys.lock().expect("key cache").get(&path) {
            return Ok(k.clone());
        }
        let (status, headers, body) = call(gh, "GET", &path, None).await?;
        if status == 404
            && let Some(env) = &scope.environment
        {
            return Err(self.missing_environment(gh, scope, env).await);
        }
        if status != 200 {
            return Err(http_error(
                status,
                &headers,
                &body,
                &scope.display(),
                "read the public key of",
            ));
        }
        #[derive(serde::Deserialize)]
        struct Pk {
            key_id: String,
            key: String,
        }
        let pk: Pk = serde_json::from_str(&body).map_err(|_| {
            DestError::internal(format!(
                "unexpected public-key response for {}",
                scope.display()
            ))
        })?;
        let raw = B64
            .decode(pk.key.trim())
            .ok()
            .and_then(|v| <[u8; 32]>::try_from(v).ok())
            .ok_or_else(|| {
                DestError::internal(format!(
                    "the public key of {} is not 32 bytes of base64",
                    scope.display()
                ))
            })?;
        let k = (pk.key_id, raw);
        self.keys.lock().expect("key cache").insert(path, k.clone());
        Ok(k)
    }

    /// A 404 on an environment's key: say whether the repository or the environment is missing,
    /// since a GitHub environment has to be created before it can hold secrets.
    async fn missing_environment(&self, gh: &Octocrab, scope: &Scope, env: &str) -> DestError {
        let repo = format!("/repos/{}/{}", scope.owner, scope.repo);
        match call(gh, "GET", &repo, None).await {
            Ok((200, _, _)) => DestError::new(
                DestErrorKind::NotFound,
                format!(
                    "GitHub environment {env:?} does not exist in {}/{}: create it (repository \
                     Settings > Environments), or pass --github-environment NAME or \
                     --github-scope repository",
                    scope.owner, scope.repo
                ),
            ),
            _ => DestError::new(
                DestErrorKind::NotFound,
                format!(
                    "GitHub repository {}/{} not found (or the token cannot see it)",
                    scope.owner, scope.repo
                ),
            ),
        }
    }

    async fn list_names(&self, gh: &Octocrab, scope: &Scope) -> Result<Vec<String>, DestError> {
        #[derive(serde::Deserialize)]
        struct Item {
            name: String,
        }
        #[derive(serde::Deserialize)]
        struct Page {
            total_count: usize,
            secrets: Vec<Item>,
        }
        let mut names = Vec::new();
        for page in 1.. {
            let path = format!("{}?per_page=100&page={page}", scope.base());
            let (status, headers, body) = call(gh, "GET", &path, None).await?;
            if status != 200 {
                return Err(http_error(
                    status,
                    &headers,
                    &body,
                    &scope.display(),
                    "list the secrets of",
                ));
            }
            let p: Page = serde_json::from_str(&body).map_err(|_| {
                DestError::internal(format!("unexpected secrets list for {}", scope.display()))
            })?;
            let n = p.secrets.len();
            names.extend(p.secrets.into_iter().map(|s| s.name));
            if n == 0 || names.len() >= p.total_count || page >= 1000 {
                break;
            }
        }
        names.sort();
        names.dedup();
        Ok(names)
    }
}

type Response = (u16, http::HeaderMap, String);

/// One raw request; only transport failures are errors here.
async fn call(
    gh: &Octocrab,
    method: &str,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<Response, DestError> {
    let res = match method {
        "GET" => gh._get(path).await,
        "PUT" => gh._put(path, body).await,
        "DELETE" => gh._delete(path, None::<&()>).await,
        _ => unreachable!("method {method}"),
    };
    let res = res.map_err(|e| transport_error(&e, path))?;
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = gh
        .body_to_string(res)
        .await
        .map_err(|e| transport_error(&e, path))?;
    Ok((status, headers, text))
}

fn transport_error(e: &octocrab::Error, path: &str) -> DestError {
    let text = format!("{e:?}").to_ascii_lowercase();
    let kind = if text.contains("timeout") || text.contains("timed out") {
        DestErrorKind::Timeout
    } else {
        DestErrorKind::Transient
    };
    let what = path.split('?').next().unwrap_or(path);
    DestError::new(kind, format!("cannot reach the GitHub API for {what}"))
}

/// Maps an HTTP answer to the docs/sync-contract.md §15.7 kinds. `body` is GitHub's error JSON (never a value).
fn http_error(
    status: u16,
    headers: &http::HeaderMap,
    body: &str,
    target: &str,
    op: &str,
) -> DestError {
    let gh_msg = serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str())
                .map(str::to_string)
        })
        .unwrap_or_default();
    let retry_after = headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let exhausted = headers
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        == Some("0");
    let (kind, msg) = match status {
        429 => (
            DestErrorKind::RateLimited,
            format!("GitHub rate-limited the request to {op} {target}"),
        ),
        403 if exhausted || retry_after.is_some() => (
            DestErrorKind::RateLimited,
            format!("GitHub rate-limited the request to {op} {target}"),
        ),
        401 => (
            DestErrorKind::Auth,
            format!(
                "GitHub rejected the token trying to {op} {target}: check GITHUB_TOKEN / GH_TOKEN"
            ),
        ),
        403 => (
            DestErrorKind::Auth,
            format!(
                "GitHub refused to {op} {target}: the token lacks access (needs secrets write permission)"
            ),
        ),
        404 => (
            DestErrorKind::NotFound,
            format!("{target} not found (or the token cannot see it) trying to {op} it"),
        ),
        422 => (
            DestErrorKind::InvalidValue,
            format!("GitHub rejected the request to {op} {target}"),
        ),
        s if s >= 500 => (
            DestErrorKind::Transient,
            format!("GitHub answered HTTP {s} trying to {op} {target}"),
        ),
        s => (
            DestErrorKind::Internal,
            format!("GitHub answered HTTP {s} trying to {op} {target}"),
        ),
    };
    let msg = if gh_msg.is_empty() {
        msg
    } else {
        format!("{msg}: {gh_msg}")
    };
    let mut e = DestError::new(kind, msg);
    if let (DestErrorKind::RateLimited, Some(d)) = (kind, retry_after) {
        e = e.with_retry_after(d);
    }
    e
}

#[async_trait::async_trait]
impl Destination for GitHub {
    fn id(&self) -> &str {
        "github"
    }
    fn display_name(&self) -> &str {
        "GitHub Actions"
    }
    fn capabilities(&self, _routing: &Routing) -> Capabilities {
        Capabilities {
            write_mode: WriteMode::PerKey,
            can_list: true,
            can_read_values: false,
            can_delete: true,
            versioned: false,
            binary_values: false,
            max_value_bytes: Some(MAX_VALUE_BYTES),
            max_concurrency: Some(4),
            requests_per_second: Some(10.0),
            case_insensitive_names: true,
        }
    }

    fn routing_schema(&self) -> RoutingSchema {
        let f =
            |name: &str, flag: &str, aliases: &[&str], prompt: &str, required: bool| RoutingField {
                name: name.into(),
                required,
                flag: flag.into(),
                aliases: aliases.iter().map(|s| (*s).to_string()).collect(),
                prompt: prompt.into(),
                default: None,
            };
        vec![
            f(
                "repo",
                "github-repo",
                &["gh-repo"],
                "GitHub repository (owner/name)",
                true,
            ),
            f(
                "environment",
                "github-environment",
                &["gh-environment"],
                "GitHub environment (environment secrets)",
                false,
            ),
            f(
                "scope",
                "github-scope",
                &[],
                "environment (default: the GitHub environment named like the vsync env) or repository",
                false,
            ),
        ]
    }

    fn routing_summary(&self, routing: &Routing) -> String {
        self.scope(routing, None)
            .map(|s| s.display())
            .unwrap_or_else(|e| e.message)
    }

    fn map_name(&self, _routing: &Routing, key: &str) -> Result<RemoteName, DestError> {
        check_name(key).map(RemoteName)
    }

    async fn preflight(&self, routing: &Routing, ctx: &Ctx) -> Result<(), DestError> {
        let scope = self.scope(routing, Some(ctx))?;
        let gh = self.client()?;
        self.public_key(&gh, &scope, true).await.map(|_| ())
    }

    async fn list(
        &self,
        routing: &Routing,
        ctx: &Ctx,
    ) -> Result<Option<Vec<RemoteName>>, DestError> {
        let scope = self.scope(routing, Some(ctx))?;
        let gh = self.client()?;
        Ok(Some(
            self.list_names(&gh, &scope)
                .await?
                .into_iter()
                .map(RemoteName)
                .collect(),
        ))
    }

    /// Create for names GitHub does not have, Upsert for the others (values cannot be read back;
    /// the engine's receipt refines Upsert into Unchanged/Update). Deletions (prune) are added by
    /// the engine from `list` and applied with `delete_one`.
    async fn plan(
        &self,
        routing: &Routing,
        items: &[SecretItem],
        opts: &PlanOptions,
        ctx: &Ctx,
    ) -> Result<Plan, DestError> {
        let scope = self.scope(routing, Some(ctx))?;
        let mut changes = Vec::with_capacity(items.len());
        let existing: BTreeSet<String> = if opts.offline {
            BTreeSet::new()
        } else {
            let gh = self.client()?;
            self.list_names(&gh, &scope).await?.into_iter().collect()
        };
        for it in items {
            let name = check_name(&it.key)?;
            let op = if opts.offline || existing.contains(&name) {
                ChangeOp::Upsert
            } else {
                ChangeOp::Create
            };
            changes.push(Change {
                source_key: Some(it.key.clone()),
                remote: RemoteName(name),
                op,
            });
        }
        Ok(Plan {
            target: self.id().to_string(),
            routing_summary: scope.display(),
            changes,
            warnings: Vec::new(),
        })
    }

    async fn apply_one(
        &self,
        routing: &Routing,
        change: &Change,
        item: Option<&SecretItem>,
        ctx: &Ctx,
    ) -> Result<ChangeOp, DestError> {
        let name = change.remote.0.as_str();
        match change.op {
            ChangeOp::Unchanged => return Ok(ChangeOp::Unchanged),
            ChangeOp::Delete => {
                return self
                    .delete_one(routing, &change.remote, ctx)
                    .await
                    .map(|()| ChangeOp::Delete);
            }
            _ => {}
        }
        let scope = self.scope(routing, Some(ctx))?;
        let item = item.ok_or_else(|| {
            DestError::internal(format!("no value given for {name}")).with_key(name)
        })?;
        let value = item.value.expose();
        if std::str::from_utf8(value).is_err() {
            return Err(DestError::new(
                DestErrorKind::InvalidValue,
                "GitHub secrets must be UTF-8 text",
            )
            .with_key(name));
        }
        if value.len() > MAX_VALUE_BYTES {
            return Err(DestError::new(
                DestErrorKind::InvalidValue,
                format!("value of {name} is larger than 48 KiB (the GitHub limit)"),
            )
            .with_key(name));
        }
        let gh = self.client()?;
        let path = format!("{}/{}", scope.base(), name);
        let target = format!("secret {name} in {}", scope.display());
        for attempt in 0..2 {
            let (key_id, pk) = self
                .public_key(&gh, &scope, attempt > 0)
                .await
                .map_err(|e| e.with_key(name))?;
            let sealed = crypto_box::PublicKey::from(pk)
                .seal(&mut crypto_box::aead::OsRng, value)
                .map_err(|_| {
                    DestError::internal(format!("sealing {name} failed")).with_key(name)
                })?;
            let body =
                serde_json::json!({ "encrypted_value": B64.encode(sealed), "key_id": key_id });
            let (status, headers, text) = call(&gh, "PUT", &path, Some(&body))
                .await
                .map_err(|e| e.with_key(name))?;
            match status {
                201 => return Ok(ChangeOp::Create),
                204 | 200 => return Ok(ChangeOp::Update),
                // the key may have rotated since we cached it: fetch it again once
                422 if attempt == 0 => continue,
                _ => {
                    return Err(
                        http_error(status, &headers, &text, &target, "write").with_key(name)
                    );
                }
            }
        }
        unreachable!("loop returns")
    }

    async fn delete_one(
        &self,
        routing: &Routing,
        name: &RemoteName,
        ctx: &Ctx,
    ) -> Result<(), DestError> {
        let scope = self.scope(routing, Some(ctx))?;
        let gh = self.client()?;
        let path = format!("{}/{}", scope.base(), name.0);
        let (status, headers, text) = call(&gh, "DELETE", &path, None)
            .await
            .map_err(|e| e.with_key(&name.0))?;
        match status {
            204 | 200 | 404 => Ok(()), // 404: already gone
            _ => Err(http_error(
                status,
                &headers,
                &text,
                &format!("secret {name} in {}", scope.display()),
                "delete",
            )
            .with_key(&name.0)),
        }
    }
}
