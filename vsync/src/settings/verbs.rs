//! The typed settings of each verb, made from its flags (and, where a verb has one, the
//! environment variable that stands in for a flag). Commands take these, never clap types.

use std::path::PathBuf;
use std::time::Duration;

use vsync_crypto::secret::SecretText;

use super::audit::AuditSettings;
use super::environment::{Environment, Var};
use super::machine;
use crate::cli;
use crate::passphrase::input::PassphraseInput;

/// `vsync init`.
#[derive(Debug)]
pub struct InitSettings {
    /// The env.
    pub env: String,
    /// `--store`, else asked (default: a folder under the data home).
    pub store: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--vault-folder`.
    pub vault_folder: Option<String>,
    /// `--prefix`.
    pub prefix: Option<String>,
    /// `--audit on|off`.
    pub audit: Option<String>,
    /// `--yes`.
    pub yes: bool,
    /// `--adopt`.
    pub adopt: bool,
    /// S3: region, endpoint and credentials.
    pub s3: S3Settings,
    /// gs:// and az:// options.
    pub cloud: CloudStoreSettings,
    /// `$XDG_DATA_HOME`, for the default file:// bucket.
    pub data_home: Option<PathBuf>,
}

/// init's S3 settings. Region: `--s3-region` > `AWS_REGION` > `us-east-1`; endpoint:
/// `--s3-endpoint` > `AWS_ENDPOINT_URL` > AWS's endpoint of the region; credentials only from
/// the environment (or a profile, which replaces all of these). The secret never prints.
#[derive(Debug)]
pub struct S3Settings {
    /// The region.
    pub region: String,
    /// The endpoint URL.
    pub endpoint: String,
    /// `AWS_ACCESS_KEY_ID`, when set and not empty.
    pub access_key_id: Option<String>,
    /// `AWS_SECRET_ACCESS_KEY`, when set and not empty.
    pub secret_access_key: Option<SecretText>,
}

/// init's gs:// and az:// settings. The Azure account: `--azure-storage-account` > the URL's >
/// `AZURE_STORAGE_ACCOUNT_NAME`.
#[derive(Debug)]
pub struct CloudStoreSettings {
    /// `--gcs-endpoint`.
    pub gcs_endpoint: Option<String>,
    /// `--azure-storage-account`.
    pub azure_account: Option<String>,
    /// `AZURE_STORAGE_ACCOUNT_NAME`, when set and not empty.
    pub azure_account_env: Option<String>,
    /// `--azure-endpoint`.
    pub azure_endpoint: Option<String>,
    /// `AZURE_STORAGE_USE_EMULATOR` is `true` or `1`.
    pub azure_emulator: bool,
}

impl InitSettings {
    /// From the flags and the environment.
    pub fn resolve(a: cli::InitArgs, env: &Environment) -> Self {
        let region = a
            .s3_region
            .or_else(|| env.text(Var::AwsRegion).map(str::to_owned))
            .unwrap_or_else(|| "us-east-1".to_owned());
        let endpoint = a
            .s3_endpoint
            .or_else(|| env.non_empty_text(Var::AwsEndpointUrl).map(str::to_owned))
            .unwrap_or_else(|| format!("https://s3.{region}.amazonaws.com"));
        let emulator = env
            .non_empty_text(Var::AzureStorageUseEmulator)
            .is_some_and(|v| v.eq_ignore_ascii_case("true") || v == "1");
        Self {
            env: a.env,
            store: a.store,
            profile: a.profile,
            vault_folder: a.vault_folder,
            prefix: a.prefix,
            audit: a.audit,
            yes: a.yes,
            adopt: a.adopt,
            s3: S3Settings {
                region,
                endpoint,
                access_key_id: env.non_empty_text(Var::AwsAccessKeyId).map(str::to_owned),
                secret_access_key: env
                    .non_empty_text(Var::AwsSecretAccessKey)
                    .map(|s| SecretText::new(s.to_owned())),
            },
            cloud: CloudStoreSettings {
                gcs_endpoint: a.gcs_endpoint,
                azure_account: a.azure_storage_account,
                azure_account_env: env
                    .non_empty_text(Var::AzureStorageAccountName)
                    .map(str::to_owned),
                azure_endpoint: a.azure_endpoint,
                azure_emulator: emulator,
            },
            data_home: machine::data_home(env),
        }
    }
}

/// `vsync push`.
#[derive(Debug)]
pub struct PushSettings {
    /// The env.
    pub env: String,
    /// `--force`.
    pub force: bool,
    /// `--replace-key`.
    pub replace_key: bool,
    /// Audit controls.
    pub audit: AuditSettings,
}

/// `vsync pull`.
#[derive(Debug)]
pub struct PullSettings {
    /// The env.
    pub env: String,
    /// `--version` / `--at`.
    pub version: Option<String>,
    /// `--backup`.
    pub backup: bool,
    /// `--force`.
    pub force: bool,
    /// `--allow-rollback`.
    pub allow_rollback: bool,
    /// Audit controls.
    pub audit: AuditSettings,
}

/// `vsync export` (a `.share` file).
#[derive(Debug)]
pub struct ExportSettings {
    /// The env.
    pub env: String,
    /// `--out`.
    pub out: Option<PathBuf>,
    /// `--passphrase` / `--passphrase-file`.
    pub passphrase: PassphraseInput,
    /// `--force`.
    pub force: bool,
}

/// `vsync import` (a `.share` file).
#[derive(Debug)]
pub struct ImportSettings {
    /// The env.
    pub env: String,
    /// The file.
    pub file: PathBuf,
    /// `--passphrase` / `--passphrase-file`.
    pub passphrase: PassphraseInput,
}

/// `vsync keystore export`.
#[derive(Debug)]
pub struct KeystoreExportSettings {
    /// `--all`.
    pub all: bool,
    /// `--only-repo`.
    pub only_repo: Vec<String>,
    /// `--env`.
    pub envs: Vec<String>,
    /// `--profiles`.
    pub profiles: bool,
    /// `--out`.
    pub out: Option<PathBuf>,
    /// `--passphrase` / `--passphrase-file`.
    pub passphrase: PassphraseInput,
    /// `--force`.
    pub force: bool,
    /// This machine's name, for the default file name.
    pub host_name: Option<String>,
}

/// `vsync keystore import`.
#[derive(Debug)]
pub struct KeystoreImportSettings {
    /// The file.
    pub file: PathBuf,
    /// `--passphrase` / `--passphrase-file`.
    pub passphrase: PassphraseInput,
    /// `--force`.
    pub force: bool,
}

/// `vsync keystore …`.
#[derive(Debug)]
pub enum KeystoreVerb {
    /// `list`.
    List,
    /// `export`.
    Export(KeystoreExportSettings),
    /// `import`.
    Import(KeystoreImportSettings),
}

/// `vsync rotate-passphrase`.
#[derive(Debug)]
pub struct RotateSettings {
    /// The env.
    pub env: String,
    /// `--yes`.
    pub yes: bool,
    /// `--new-passphrase`.
    pub new_key: Option<crate::passphrase::input::ArgvSecret>,
    /// `--old-passphrase`.
    pub old_key: Option<crate::passphrase::input::ArgvSecret>,
    /// Test hook: stop after this write step.
    pub crash_after_step: Option<u8>,
}

/// `vsync run`.
#[derive(Debug)]
pub struct RunSettings {
    /// The env.
    pub env: String,
    /// `--no-override`.
    pub no_override: bool,
    /// `--allow-rollback`.
    pub allow_rollback: bool,
    /// `--redact`.
    pub redact: bool,
    /// The command and its arguments.
    pub command: Vec<String>,
}

/// `vsync audit`.
#[derive(Debug)]
pub struct AuditLogSettings {
    /// The env.
    pub env: String,
    /// `--action`.
    pub action: Option<String>,
    /// `--actor`.
    pub actor: Option<String>,
    /// `--since`.
    pub since: Option<String>,
    /// `--csv`.
    pub csv: bool,
    /// `--verify`.
    pub verify: bool,
}

/// `vsync profile …`.
#[derive(Debug)]
pub enum ProfileVerb {
    /// `list`.
    List,
    /// `show NAME`.
    Show(String),
    /// `add`.
    Add(ProfileAddSettings),
    /// `remove NAME [--yes]`.
    Remove(String, bool),
}

/// `vsync profile add`: what the flags give; the rest is asked for.
#[derive(Debug)]
pub struct ProfileAddSettings {
    /// Profile name.
    pub name: String,
    /// `--endpoint`.
    pub endpoint: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--bucket`.
    pub bucket: Option<String>,
    /// `--access-key-id`.
    pub access_key_id: Option<String>,
    /// `--secret-key-stdin`.
    pub secret_key_stdin: bool,
    /// `--prefix`.
    pub prefix: Option<String>,
}

impl From<cli::ProfileAddArgs> for ProfileAddSettings {
    fn from(a: cli::ProfileAddArgs) -> Self {
        Self {
            name: a.name,
            endpoint: a.endpoint,
            region: a.region,
            bucket: a.bucket,
            access_key_id: a.access_key_id,
            secret_key_stdin: a.secret_key_stdin,
            prefix: a.prefix,
        }
    }
}

/// `vsync restore-backup`.
#[derive(Debug)]
pub struct RestoreBackupSettings {
    /// The env.
    pub env: String,
    /// The backup: a timestamp or a path.
    pub backup: Option<String>,
    /// Unpack here instead.
    pub target_dir: Option<PathBuf>,
    /// `--list`.
    pub list: bool,
}

/// `vsync plugins check`.
#[derive(Debug)]
pub struct PluginCheckSettings {
    /// The plugin file.
    pub path: PathBuf,
    /// `--opt name=value`.
    pub opt: Vec<String>,
    /// Per-call timeout (at least one second).
    pub timeout: Duration,
}

impl PushSettings {
    /// From the flags and the environment.
    pub fn resolve(a: cli::PushArgs, env: &Environment) -> Self {
        Self {
            audit: AuditSettings::resolve(a.audit, env),
            env: a.env,
            force: a.force,
            replace_key: a.replace_key,
        }
    }
}

impl PullSettings {
    /// From the flags and the environment.
    pub fn resolve(a: cli::PullArgs, env: &Environment) -> Self {
        Self {
            audit: AuditSettings::resolve(a.audit, env),
            env: a.env,
            version: a.version,
            backup: a.backup,
            force: a.force,
            allow_rollback: a.allow_rollback,
        }
    }
}
