//! The GitHub REST calls this destination makes, on a shared `octocrab` client: the scope's
//! public key, the names of its secrets, and raw requests whose status the caller interprets.

use std::time::Duration;

use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use vsync_dest_api::{DestError, DestErrorKind, EnvSource};

use crate::errors::{http_error, transport_error};
use crate::scope::Scope;
use crate::seal::{PublicKey, decode_public_key};

const DEFAULT_API: &str = "https://api.github.com";

/// Status, headers and body of one answer.
pub(crate) type Response = (u16, http::HeaderMap, String);

/// The HTTP verbs used.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Method {
    Get,
    Put,
    Delete,
}

/// A client for `GITHUB_API_URL` (default api.github.com) with the token of `GITHUB_TOKEN` or
/// `GH_TOKEN`.
pub(crate) fn build_client(env: &EnvSource) -> Result<Octocrab, DestError> {
    let token = env
        .get("GITHUB_TOKEN")
        .or_else(|| env.get("GH_TOKEN"))
        .ok_or_else(|| {
            DestError::new(
                DestErrorKind::Auth,
                "no GitHub token: set GITHUB_TOKEN or GH_TOKEN",
            )
        })?;
    let api = env
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

/// One raw request; only transport failures are errors here.
pub(crate) async fn call(
    gh: &Octocrab,
    method: Method,
    path: &str,
    body: Option<&serde_json::Value>,
) -> Result<Response, DestError> {
    let res = match method {
        Method::Get => gh._get(path).await,
        Method::Put => gh._put(path, body).await,
        Method::Delete => gh._delete(path, None::<&()>).await,
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

/// The scope's public key, from GitHub.
pub(crate) async fn public_key(gh: &Octocrab, scope: &Scope) -> Result<PublicKey, DestError> {
    let path = format!("{}/public-key", scope.base());
    let (status, headers, body) = call(gh, Method::Get, &path, None).await?;
    if status == 404
        && let Some(env) = &scope.environment
    {
        return Err(missing_environment(gh, scope, env).await);
    }
    if status != 200 {
        let what = "read the public key of";
        return Err(http_error(status, &headers, &body, &scope.display(), what));
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
    decode_public_key(pk.key_id, &pk.key, &scope.display())
}

/// A 404 on an environment's key: say whether the repository or the environment is missing,
/// since a GitHub environment has to be created before it can hold secrets.
async fn missing_environment(gh: &Octocrab, scope: &Scope, env: &str) -> DestError {
    let (owner, repo) = (&scope.owner, &scope.repo);
    match call(gh, Method::Get, &scope.repo_path(), None).await {
        Ok((200, _, _)) => DestError::new(
            DestErrorKind::NotFound,
            format!(
                "GitHub environment {env:?} does not exist in {owner}/{repo}: create it (repository \
                 Settings > Environments), or pass --github-environment NAME or \
                 --github-scope repository"
            ),
        ),
        _ => DestError::new(
            DestErrorKind::NotFound,
            format!("GitHub repository {owner}/{repo} not found (or the token cannot see it)"),
        ),
    }
}

/// Every secret name in the scope, sorted.
pub(crate) async fn list_names(gh: &Octocrab, scope: &Scope) -> Result<Vec<String>, DestError> {
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
        let (status, headers, body) = call(gh, Method::Get, &path, None).await?;
        if status != 200 {
            let what = "list the secrets of";
            return Err(http_error(status, &headers, &body, &scope.display(), what));
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
