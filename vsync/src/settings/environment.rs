//! Every environment variable the CLI reads, read here and nowhere else in `vsync/src` (a test
//! greps for strays). A variable is a [`Var`]: it cannot be read without being listed, and the
//! list is what `vsync --help` and docs/cli.md print. Each variable has exactly one rule (is an
//! empty value unset? what is the fallback?), written once in the accessors below.

use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Who acts on a variable: vsync's own, or a standard one it honours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    /// `VSYNC_*`.
    Vsync,
    /// Set by the OS, the shell or a CI system.
    Standard,
}

macro_rules! vars {
    ($($v:ident $name:literal $group:ident $meaning:literal;)*) => {
        /// An environment variable the CLI reads.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Var { $(#[doc = $meaning] $v,)* }

        impl Var {
            /// Every variable, in help order.
            pub const ALL: &[Var] = &[$(Var::$v,)*];

            /// Its name in the environment.
            pub fn name(self) -> &'static str {
                match self { $(Var::$v => $name,)* }
            }

            /// What it does, one line.
            pub fn meaning(self) -> &'static str {
                match self { $(Var::$v => $meaning,)* }
            }

            /// vsync's own or standard.
            pub fn group(self) -> Group {
                match self { $(Var::$v => Group::$group,)* }
            }
        }
    };
}

vars! {
    VsyncConfig "VSYNC_CONFIG" Vsync
        "keyless mode: a runtime token (`vsync runtime-token`); needs VSYNC_PASSPHRASE too";
    VsyncConfigFile "VSYNC_CONFIG_FILE" Vsync
        "keyless mode: a file holding the runtime token (when VSYNC_CONFIG is unset or empty)";
    VsyncPassphrase "VSYNC_PASSPHRASE" Vsync
        "keyless mode: the env's key, used instead of the keychain";
    VsyncPassphraseFile "VSYNC_PASSPHRASE_FILE" Vsync
        "keyless mode: a file holding the key (when VSYNC_PASSPHRASE is unset or empty)";
    VsyncMinTs "VSYNC_MIN_TS" Vsync
        "refuse a `latest` older than this version (YYYYMMDD-HHMMSS)";
    VsyncKeychain "VSYNC_KEYCHAIN" Vsync
        "keychain backend: secret-service, keyutils, macos or windows (default: the OS's)";
    VsyncLog "VSYNC_LOG" Vsync
        "`debug` prints details of failures, as --verbose does";
    VsyncAuditMeta "VSYNC_AUDIT_META" Vsync
        "a JSON object merged into every audit row's meta (--meta wins per key)";
    VsyncAuditNote "VSYNC_AUDIT_NOTE" Vsync
        "the audit row's note (--note wins)";
    VsyncBackupDir "VSYNC_BACKUP_DIR" Vsync
        "where pull keeps encrypted backups (default <config>/backups)";
    VsyncBackupKeep "VSYNC_BACKUP_KEEP" Vsync
        "how many backups to keep per env (default 5)";
    VsyncPluginDir "VSYNC_PLUGIN_DIR" Vsync
        "a folder searched for destination plugins before <config>/plugins";
    VsyncTestCrashAfterStep "VSYNC_TEST_CRASH_AFTER_STEP" Vsync
        "tests only: rotate-passphrase stops after this write step (1-5)";
    LocaldevconfigDir "LOCALDEVCONFIG_DIR" Standard
        "upstream's older backup folder (default ~/.config/localdevconfig), listed by restore-backup";
    Home "HOME" Standard
        "the home folder (USERPROFILE when unset)";
    UserProfile "USERPROFILE" Standard
        "the home folder on Windows";
    XdgConfigHome "XDG_CONFIG_HOME" Standard
        "the config base is $XDG_CONFIG_HOME/vsync (default ~/.config/vsync)";
    XdgDataHome "XDG_DATA_HOME" Standard
        "init's default file:// bucket is under $XDG_DATA_HOME/vsync (default ~/.local/share)";
    XdgRuntimeDir "XDG_RUNTIME_DIR" Standard
        "`vsync run` puts VSYNC_ASSET_DIR under it; also a sign of a session bus";
    DbusSessionBusAddress "DBUS_SESSION_BUS_ADDRESS" Standard
        "the session bus of the Secret Service keychain";
    Term "TERM" Standard
        "`dumb` turns the sync progress bar off";
    GithubActions "GITHUB_ACTIONS" Standard
        "`true`: `vsync run` prints ::add-mask:: lines, `vsync ci mask` may print to a terminal";
    GitlabCi "GITLAB_CI" Standard
        "`true`: `vsync run` suggests --redact (GitLab has no runtime masking)";
    User "USER" Standard
        "the audit row's OS user (USERNAME when unset)";
    UserName "USERNAME" Standard
        "the audit row's OS user on Windows";
    HostName "HOSTNAME" Standard
        "this machine's name (then HOST, COMPUTERNAME): audit rows, keystore's default file name";
    HostShort "HOST" Standard
        "this machine's name when HOSTNAME is unset";
    ComputerName "COMPUTERNAME" Standard
        "this machine's name on Windows";
    AwsAccessKeyId "AWS_ACCESS_KEY_ID" Standard
        "init with an s3:// bucket: the access key id written to the config (or --profile)";
    AwsSecretAccessKey "AWS_SECRET_ACCESS_KEY" Standard
        "init with an s3:// bucket: the secret key written to the config (or --profile)";
    AwsRegion "AWS_REGION" Standard
        "init: the S3 region when --s3-region is not given (default us-east-1)";
    AwsEndpointUrl "AWS_ENDPOINT_URL" Standard
        "init: the S3 endpoint when --s3-endpoint is not given";
    AzureStorageAccountName "AZURE_STORAGE_ACCOUNT_NAME" Standard
        "init with an az:// store: the account when --azure-storage-account is not given";
    AzureStorageUseEmulator "AZURE_STORAGE_USE_EMULATOR" Standard
        "init with an az:// store: `true` or `1` allows no account (Azurite)";
    GithubRunId "GITHUB_RUN_ID" Standard
        "sync provenance: the GitHub Actions run (with GITHUB_SERVER_URL, GITHUB_REPOSITORY)";
    GithubRunAttempt "GITHUB_RUN_ATTEMPT" Standard
        "sync provenance: the attempt of the GitHub Actions run";
    GithubServerUrl "GITHUB_SERVER_URL" Standard
        "sync provenance: the GitHub server of the run's URL (default https://github.com)";
    GithubRepository "GITHUB_REPOSITORY" Standard
        "sync provenance: owner/name of the repository running the workflow";
    CiPipelineUrl "CI_PIPELINE_URL" Standard
        "sync provenance: the GitLab CI pipeline";
    CiJobUrl "CI_JOB_URL" Standard
        "sync provenance: the GitLab CI job";
    BuildkiteBuildUrl "BUILDKITE_BUILD_URL" Standard
        "sync provenance: the Buildkite build";
    CircleBuildUrl "CIRCLE_BUILD_URL" Standard
        "sync provenance: the CircleCI job";
    JenkinsUrl "JENKINS_URL" Standard
        "sync provenance: set by Jenkins; BUILD_URL is read only when it is set";
    BuildUrl "BUILD_URL" Standard
        "sync provenance: the Jenkins build (with JENKINS_URL)";
}

/// Read by the store and destination libraries rather than the CLI (listed for completeness;
/// each library documents its own rule).
pub const LIBRARY_VARS: &[(&str, &str)] = &[
    (
        "GITHUB_TOKEN, GH_TOKEN, GITHUB_API_URL",
        "github destination: token and API base",
    ),
    (
        "AWS_* (AWS_PROFILE, AWS_REGION, …)",
        "aws destination and s3:// stores: the AWS SDK's usual chain",
    ),
    (
        "GOOGLE_APPLICATION_CREDENTIALS, GOOGLE_*",
        "gcp destination and gs:// stores: credentials",
    ),
    (
        "VSYNC_GCP_ENDPOINT, VSYNC_GCP_ANONYMOUS",
        "gcp destination: a test endpoint, no credentials",
    ),
    (
        "AZURE_* (AZURE_CLIENT_ID, AZURE_TENANT_ID, …)",
        "azure destination and az:// stores: credentials",
    ),
    (
        "VSYNC_AZURE_CA_FILE",
        "azure destination: extra trusted CA certificates (PEM)",
    ),
    (
        "VAULT_ADDR, VAULT_TOKEN, VAULT_NAMESPACE",
        "hashivault destination: server, token, namespace",
    ),
];

/// A snapshot of the variables in [`Var::ALL`]. The process's is taken once, on first use
/// ([`Environment::process`]); tests build their own with [`Environment::from_pairs`].
#[derive(Debug, Clone, Default)]
pub struct Environment {
    values: Vec<Option<OsString>>,
}

fn index(var: Var) -> usize {
    Var::ALL.iter().position(|v| *v == var).unwrap_or(0)
}

impl Environment {
    /// This process's environment (read once; vsync never changes its own environment).
    pub fn process() -> &'static Environment {
        static ENV: OnceLock<Environment> = OnceLock::new();
        ENV.get_or_init(|| Environment {
            values: Var::ALL
                .iter()
                .map(|v| std::env::var_os(v.name()))
                .collect(),
        })
    }

    /// An environment holding only `pairs` (for tests of the precedence rules).
    pub fn from_pairs(pairs: &[(Var, &str)]) -> Self {
        let mut values = vec![None; Var::ALL.len()];
        for (v, value) in pairs {
            values[index(*v)] = Some(OsString::from(value));
        }
        Self { values }
    }

    /// The raw value, set or not (an empty value counts as set).
    pub fn raw(&self, var: Var) -> Option<&OsStr> {
        self.values.get(index(var))?.as_deref()
    }

    /// The value when set and not empty.
    pub fn non_empty(&self, var: Var) -> Option<&OsStr> {
        self.raw(var).filter(|v| !v.is_empty())
    }

    /// The value as text when set and valid Unicode (an empty value counts as set).
    pub fn text(&self, var: Var) -> Option<&str> {
        self.raw(var)?.to_str()
    }

    /// The value as text when set, valid Unicode and not empty.
    pub fn non_empty_text(&self, var: Var) -> Option<&str> {
        self.text(var).filter(|v| !v.is_empty())
    }

    /// The value as a path when set and not empty.
    pub fn path(&self, var: Var) -> Option<PathBuf> {
        self.non_empty(var).map(PathBuf::from)
    }

    /// Whether the value is exactly `true` (how CI systems announce themselves).
    pub fn is_true(&self, var: Var) -> bool {
        self.text(var) == Some("true")
    }
}

/// The process environment's snapshot; what code outside `settings` calls.
pub fn env() -> &'static Environment {
    Environment::process()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Files of `vsync/src` that may read the process environment themselves, and why.
    const LATE_READS: &[(&str, &str)] = &[
        (
            "settings/environment.rs",
            "the one place: the snapshot of every listed variable",
        ),
        (
            "commands/run_cmd.rs",
            "--no-override asks whether the parent has each vault key; the keys are known only \
             after the vault is opened, and are not vsync's settings",
        ),
        (
            "plugins/host.rs",
            "a plugin child inherits an allow-listed copy of the whole environment (locale, \
             proxies, SDK credentials), which is passed on, not interpreted",
        ),
        (
            "reference.rs",
            "the test that regenerates docs/cli.md reads its bless switch (test code only)",
        ),
    ];

    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn the_environment_is_read_only_in_the_settings_layer() {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut strays = Vec::new();
        let mut allowed_seen = Vec::new();
        for f in files {
            let rel = f
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            let text = std::fs::read_to_string(&f).unwrap();
            let reads = text.matches(concat!("env::", "var")).count();
            if reads == 0 {
                continue;
            }
            if LATE_READS.iter().any(|(p, _)| *p == rel) {
                allowed_seen.push(rel);
            } else {
                strays.push(format!("{rel} ({reads})"));
            }
        }
        assert!(
            strays.is_empty(),
            "environment read outside vsync/src/settings (add a Var and an accessor): {strays:?}"
        );
        // an allow-list entry that no longer reads anything must go
        for (p, why) in LATE_READS {
            assert!(!why.is_empty());
            assert!(
                allowed_seen.iter().any(|s| s == p),
                "{p} no longer reads the environment"
            );
        }
    }

    #[test]
    fn every_variable_has_a_distinct_name_and_a_meaning() {
        let mut names: Vec<_> = Var::ALL.iter().map(|v| v.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Var::ALL.len());
        assert!(Var::ALL.iter().all(|v| !v.meaning().is_empty()));
        assert!(
            Var::ALL
                .iter()
                .all(|v| v.name().starts_with("VSYNC_") == (v.group() == Group::Vsync))
        );
    }

    #[test]
    fn empty_is_set_for_raw_and_unset_for_non_empty() {
        let e = Environment::from_pairs(&[(Var::Home, ""), (Var::Term, "dumb")]);
        assert!(e.raw(Var::Home).is_some());
        assert!(e.non_empty(Var::Home).is_none());
        assert_eq!(e.non_empty_text(Var::Term), Some("dumb"));
        assert!(e.raw(Var::User).is_none());
    }
}
