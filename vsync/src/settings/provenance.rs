//! Provenance settings: the CI run a sync records (from the variables CI systems set), the
//! `--release` name, and the point in time `vsync why` asks about.

use super::environment::{Environment, Var};
use crate::error::{CliError, ExitKind};
use crate::sync::provenance::entry::CiRun;
use crate::sync::provenance::query::Point;

/// Longest release name or CI value recorded (longer ones are cut, CI values) or refused.
const MAX_TEXT: usize = 256;

/// `vsync releases` settings.
#[derive(Debug, Clone)]
pub struct ReleasesSettings {
    /// The env.
    pub env: String,
}

/// `vsync why` settings.
#[derive(Debug, Clone)]
pub struct WhySettings {
    /// The vault key asked about.
    pub key: String,
    /// `--env`, when given.
    pub env: Option<String>,
    /// Now, `--release`, or `--at` (normalised to ISO-8601 text).
    pub point: Point,
}

impl WhySettings {
    /// Check the flags: `--release` a plain name, `--at` a time.
    pub fn resolve(
        key: String,
        env: Option<String>,
        release: Option<String>,
        at: Option<String>,
    ) -> Result<Self, CliError> {
        let point = match (release, at) {
            (Some(r), _) => Point::Release(release_name(&r)?),
            (None, Some(t)) => Point::At(at_time(&t)?),
            (None, None) => Point::Now,
        };
        Ok(Self { key, env, point })
    }
}

/// A `--release` name: not empty, at most 256 characters, no control characters.
pub fn release_name(text: &str) -> Result<String, CliError> {
    let t = text.trim();
    if t.is_empty() || t.len() > MAX_TEXT || t.chars().any(char::is_control) {
        return Err(CliError::new(
            ExitKind::Usage,
            "--release: give a name of 1 to 256 characters without control characters",
        )
        .with_hint("e.g. --release v1.4.2"));
    }
    Ok(t.to_owned())
}

/// `--at`: an ISO-8601 UTC time at any precision from the day (`2026-12-06`,
/// `2026-12-06T11:00`, `2026-12-06T11:00:00.123Z`; a space may stand for `T`), or a version
/// timestamp `YYYYMMDD-HHMMSS`. Returned as ISO text without the `Z`.
pub fn at_time(text: &str) -> Result<String, CliError> {
    let bad = || {
        CliError::new(
            ExitKind::Usage,
            format!(
                "--at {:?}: expected an ISO-8601 UTC time (2026-12-06, 2026-12-06T11:00:00) or YYYYMMDD-HHMMSS",
                crate::output::untrusted(text)
            ),
        )
    };
    let t = text.trim();
    if vsync_vault::ts::is_bundle_ts(t) {
        let d = |r: std::ops::Range<usize>| &t[r];
        return Ok(format!(
            "{}-{}-{}T{}:{}:{}",
            d(0..4),
            d(4..6),
            d(6..8),
            d(9..11),
            d(11..13),
            d(13..15)
        ));
    }
    let t = t.strip_suffix('Z').unwrap_or(t).replacen(' ', "T", 1);
    // the shape of `2026-12-06T11:00:00.123`, cut at any field boundary
    const SHAPE: &str = "dddd-dd-ddTdd:dd:dd.ddd";
    let boundaries = [10, 16, 19, 21, 22, 23];
    if !boundaries.contains(&t.len()) {
        return Err(bad());
    }
    let fits = t.bytes().zip(SHAPE.bytes()).all(|(c, s)| match s {
        b'd' => c.is_ascii_digit(),
        other => c == other,
    });
    if !fits {
        return Err(bad());
    }
    Ok(t)
}

/// The CI run of this process, from the variables the CI systems set: GitHub Actions, GitLab
/// CI, Buildkite, CircleCI, Jenkins (first match wins). Values are cut to 256 characters.
pub fn ci_run(env: &Environment) -> Option<CiRun> {
    let get = |v: Var| {
        env.non_empty_text(v)
            .map(|s| s.trim().chars().take(MAX_TEXT).collect::<String>())
            .filter(|s| !s.is_empty())
    };
    if let Some(id) = get(Var::GithubRunId) {
        let server = get(Var::GithubServerUrl).unwrap_or_else(|| "https://github.com".into());
        let url = get(Var::GithubRepository).map(|repo| {
            let mut u = format!("{}/{repo}/actions/runs/{id}", server.trim_end_matches('/'));
            if let Some(n) = get(Var::GithubRunAttempt) {
                u.push_str(&format!("/attempts/{n}"));
            }
            u
        });
        return Some(CiRun {
            system: "github-actions".into(),
            url,
            run_id: Some(id),
            job_url: None,
        });
    }
    if let Some(url) = get(Var::CiPipelineUrl) {
        return Some(CiRun {
            system: "gitlab-ci".into(),
            url: Some(url),
            run_id: None,
            job_url: get(Var::CiJobUrl),
        });
    }
    let by_url = |system: &str, v: Var| {
        get(v).map(|url| CiRun {
            system: system.into(),
            url: Some(url),
            run_id: None,
            job_url: None,
        })
    };
    by_url("buildkite", Var::BuildkiteBuildUrl)
        .or_else(|| by_url("circleci", Var::CircleBuildUrl))
        .or_else(|| {
            get(Var::JenkinsUrl)
                .is_some()
                .then(|| by_url("jenkins", Var::BuildUrl))
                .flatten()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_run_url_from_its_three_variables() {
        let env = Environment::from_pairs(&[
            (Var::GithubRunId, "42"),
            (Var::GithubRepository, "acme/app"),
            (Var::GithubServerUrl, "https://ghe.example/"),
            (Var::GithubRunAttempt, "2"),
            (Var::CiPipelineUrl, "https://gitlab/p/1"),
        ]);
        let ci = ci_run(&env).unwrap();
        assert_eq!(ci.system, "github-actions");
        assert_eq!(
            ci.url.as_deref(),
            Some("https://ghe.example/acme/app/actions/runs/42/attempts/2")
        );
        let env =
            Environment::from_pairs(&[(Var::GithubRunId, "7"), (Var::GithubRepository, "o/r")]);
        assert_eq!(
            ci_run(&env).unwrap().url.as_deref(),
            Some("https://github.com/o/r/actions/runs/7")
        );
    }

    #[test]
    fn other_ci_systems_and_none() {
        let env = Environment::from_pairs(&[
            (Var::CiPipelineUrl, "https://gitlab/p/1"),
            (Var::CiJobUrl, "https://gitlab/j/2"),
        ]);
        let ci = ci_run(&env).unwrap();
        assert_eq!(
            (ci.system.as_str(), ci.job_url.as_deref()),
            ("gitlab-ci", Some("https://gitlab/j/2"))
        );
        // BUILD_URL alone is too common a name to mean Jenkins
        assert_eq!(
            ci_run(&Environment::from_pairs(&[(Var::BuildUrl, "x")])),
            None
        );
        let env = Environment::from_pairs(&[
            (Var::BuildUrl, "https://j/1"),
            (Var::JenkinsUrl, "https://j"),
        ]);
        assert_eq!(ci_run(&env).unwrap().system, "jenkins");
        assert_eq!(ci_run(&Environment::default()), None);
    }

    #[test]
    fn at_accepts_iso_at_any_precision_and_version_timestamps() {
        assert_eq!(at_time("2026-12-06").unwrap(), "2026-12-06");
        assert_eq!(at_time("2026-12-06 11:00").unwrap(), "2026-12-06T11:00");
        assert_eq!(
            at_time("2026-12-06T11:00:00.123Z").unwrap(),
            "2026-12-06T11:00:00.123"
        );
        assert_eq!(at_time("20261206-110000").unwrap(), "2026-12-06T11:00:00");
        for bad in [
            "",
            "yesterday",
            "2026-12-6",
            "2026-12-06T11",
            "2026-12-06T11:00:00+01:00",
        ] {
            assert_eq!(at_time(bad).unwrap_err().kind, ExitKind::Usage, "{bad}");
        }
    }

    #[test]
    fn release_names() {
        assert_eq!(release_name(" v1 ").unwrap(), "v1");
        assert!(release_name("").is_err());
        assert!(release_name("a\nb").is_err());
        assert!(release_name(&"x".repeat(300)).is_err());
    }
}
