//! Where the secrets go (a repository's secrets, or one of its environments'), read from the
//! routing, and the GitHub secret-name rule.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use vsync_dest_api::{Ctx, DestError, Routing, routing_str};

/// What an environment name keeps unescaped in a URL path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Where the secrets go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scope {
    pub owner: String,
    pub repo: String,
    /// `None` = repository secrets.
    pub environment: Option<String>,
}

impl Scope {
    /// The scope of `routing`. The environment defaults to the vsync env of `ctx`; without a
    /// context (summaries) it shows as `<vsync env>`.
    pub(crate) fn from_routing(routing: &Routing, ctx: Option<&Ctx>) -> Result<Self, DestError> {
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
        Ok(Self {
            owner: owner.to_string(),
            repo: name.to_string(),
            environment,
        })
    }

    /// The API path of the scope's secrets.
    pub(crate) fn base(&self) -> String {
        match &self.environment {
            None => format!("/repos/{}/{}/actions/secrets", self.owner, self.repo),
            Some(e) => format!(
                "/repos/{}/{}/environments/{}/secrets",
                self.owner,
                self.repo,
                utf8_percent_encode(e, SEGMENT)
            ),
        }
    }

    /// The API path of the repository itself.
    pub(crate) fn repo_path(&self) -> String {
        format!("/repos/{}/{}", self.owner, self.repo)
    }

    /// How messages and summaries name the scope.
    pub(crate) fn display(&self) -> String {
        match &self.environment {
            None => format!("repo={}/{} (repository secrets)", self.owner, self.repo),
            Some(e) => format!("repo={}/{}, environment={e}", self.owner, self.repo),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names_are_escaped_as_one_path_segment() {
        let s = Scope {
            owner: "o".into(),
            repo: "r".into(),
            environment: Some("prod/eu west~1.ä".into()),
        };
        assert_eq!(
            s.base(),
            "/repos/o/r/environments/prod%2Feu%20west~1.%C3%A4/secrets"
        );
    }
}
