//! Command-line grammar (clap derive). Types only: commands never see these, [`crate::settings`]
//! turns them into typed settings first.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::passphrase::input::ArgvSecret;

/// Encrypted per-(repo, env) secrets in an object-store bucket, fanned out to where production runs.
#[derive(Debug, Parser)]
#[command(
    name = "vsync",
    version,
    about,
    arg_required_else_help = true,
    after_long_help = crate::settings::help::environment_section()
)]
pub struct Cli {
    /// Options every verb accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The verb to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every verb accepts.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Override the repo identity for this invocation (otherwise `.vsync`, then the origin remote).
    #[arg(long, global = true, value_name = "NAME")]
    pub repo: Option<String>,
    /// Print details of failures (same as VSYNC_LOG=debug).
    #[arg(short = 'v', long, global = true)]
    pub verbose: bool,
    /// Machine-readable output on read verbs.
    #[arg(long, global = true)]
    pub json: bool,
}

/// Every verb of the CLI.
// Parsed once per process and moved straight into the settings: the size of the `sync`
// variant costs nothing worth boxing it for.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Bind a (repo, env) to a bucket: create the key, the config and the vault folder.
    Init(InitArgs),
    /// Named bucket credentials on this machine.
    #[command(subcommand, alias = "profiles")]
    Profile(ProfileCommand),
    /// Every (repo, env) on this machine; bulk backup and restore.
    #[command(subcommand)]
    Keystore(KeystoreCommand),
    /// Encrypt the vault folder and upload it as a new version.
    Push(PushArgs),
    /// Download, verify, decrypt and unpack the latest version.
    Pull(PullArgs),
    /// List the versions in the bucket (no decryption).
    Versions(EnvArg),
    /// Point ./.env at the vault's .env.<env>.
    Use(UseArgs),
    /// Write a passphrase-sealed .share file (config + key) for a teammate.
    Export(ExportArgs),
    /// Install a .share file into the local config and keychain.
    Import(ImportArgs),
    /// Fan the vault's keys out to secret managers.
    Sync(SyncArgs),
    /// Mint the VSYNC_CONFIG bootstrap blob for an app.
    RuntimeToken(RuntimeTokenArgs),
    /// Re-key the vault under a new random key.
    RotatePassphrase(RotateArgs),
    /// Offline health report for this repo on this machine.
    Status(StatusArgs),
    /// Print the bucket's audit log.
    Audit(AuditArgs),
    /// Key-level difference (names only, never values) between local and latest, or two versions.
    Diff(DiffArgs),
    /// Make an old version's content the newest version.
    Rollback(RollbackArgs),
    /// Check git, keychain, bucket reach, credentials, conditional writes and .gitignore.
    Doctor(DoctorArgs),
    /// Reveal a vault key.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Run a command with the vault's keys in its environment.
    ///
    /// The child inherits this environment minus vsync's own credentials (VSYNC_PASSPHRASE,
    /// VSYNC_PASSPHRASE_FILE, VSYNC_CONFIG, VSYNC_CONFIG_FILE), plus the vault's keys and
    /// VSYNC_ASSET_DIR: a private folder (under $XDG_RUNTIME_DIR when set) holding the vault's
    /// other files. SIGTERM, SIGHUP, SIGINT and SIGQUIT sent to vsync are passed on to the child;
    /// when the child ends, the folder is removed and vsync exits with the child's code (128+N
    /// when a signal N killed it). Folders left by a run that was killed outright (SIGKILL) are
    /// removed by the next `vsync run`.
    ///
    /// In GitHub Actions (GITHUB_ACTIONS=true) vsync first prints an `::add-mask::` line to
    /// stdout for every value, as `vsync ci mask` does, so the log shows `***` instead.
    Run(RunArgs),
    /// Keep the vault's values out of CI logs.
    #[command(subcommand)]
    Ci(CiCommand),
    /// List or restore the encrypted copies of the vault that every pull keeps.
    ///
    /// Before replacing the vault folder, `vsync pull` writes the current vault, encrypted with
    /// this env's key like a bundle, to <base>/backups/<repo>/<env>-<YYYYMMDD-HHMMSS>.zip.enc
    /// (0600; the newest VSYNC_BACKUP_KEEP per env are kept, default 5; VSYNC_BACKUP_DIR replaces
    /// <base>/backups). Restoring swaps the backup into the vault folder in one step, after
    /// backing up what is there now. Files
    /// written by upstream vsync (<base>/backups/<env>-<ts>.zip.enc, or the older
    /// ~/.config/localdevconfig/) are listed and restored too.
    RestoreBackup(RestoreBackupArgs),
    /// Destination plugins.
    #[command(subcommand)]
    Plugins(PluginsCommand),
    /// Offline guide.
    Docs(DocsArgs),
    /// Print shell completions.
    Completions(CompletionsArgs),
    /// List the syncs recorded for an env (provenance), newest first: time, release, commit,
    /// who, CI run, targets and number of keys.
    ///
    /// Every `vsync sync` that writes records one encrypted entry in the bucket
    /// (docs/provenance.md). Entries that do not decrypt or parse are listed as unreadable and
    /// make the exit code 4 after the list is printed (entries sealed before a key rotation are
    /// noted, not counted).
    Releases(EnvArg),
    /// Which value of KEY each destination held at a release or time, who wrote it from which
    /// bundle, and whether the vault still holds it (same / changed since / removed).
    ///
    /// Values are compared by keyed fingerprint (HMAC under a key derived from the vault key),
    /// never shown. Exit 3 when the key or the release was never recorded (or nothing was
    /// recorded at or before --at); exit 4 after the answer when some entries are unreadable.
    Why(WhyArgs),
}

/// `vsync why`.
#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The vault key (as synced: after --inline-file-suffix, e.g. `TLS_CERT`).
    pub key: String,
    /// Environment name (default: the env `./.env` links to, or the repo's only configured env).
    #[arg(long)]
    pub env: Option<String>,
    /// As of the newest sync recorded for this release (`--release` or the tag of the synced checkout).
    #[arg(long, value_name = "NAME", conflicts_with = "at")]
    pub release: Option<String>,
    /// As of this UTC time: ISO-8601 at any precision (2026-12-06, 2026-12-06T11:00:00Z) or YYYYMMDD-HHMMSS.
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,
}

/// A verb that takes one env name.
#[derive(Debug, Args)]
pub struct EnvArg {
    /// Environment name (`^[a-z][a-z0-9_-]*$`, at most 64 characters).
    pub env: String,
}

/// `vsync runtime-token`.
#[derive(Debug, Args)]
pub struct RuntimeTokenArgs {
    /// Environment name (`^[a-z][a-z0-9_-]*$`, at most 64 characters).
    #[arg(long)]
    pub env: String,
    /// Do not check that the bucket holds a pushed version.
    #[arg(long)]
    pub no_validate: bool,
    /// Accept a `latest` older than one seen before; the token then carries no `minTs` floor.
    #[arg(long)]
    pub allow_rollback: bool,
}

/// `vsync rotate-passphrase`.
#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Environment name (`^[a-z][a-z0-9_-]*$`, at most 64 characters).
    #[arg(long)]
    pub env: String,
    /// Do not ask for confirmation (needed without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Use this new key instead of a generated one: 44 characters of standard base64 (32 bytes,
    /// e.g. `openssl rand -base64 32`). Upstream's flag; visible to other local users.
    #[arg(long, value_name = "KEY", value_parser = ArgvSecret::parse)]
    pub new_passphrase: Option<ArgvSecret>,
    /// The current key; it must open the latest version, and is used instead of the keychain's.
    /// Upstream's flag; visible to other local users.
    #[arg(long, value_name = "KEY", value_parser = ArgvSecret::parse)]
    pub old_passphrase: Option<ArgvSecret>,
}

/// `vsync init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Environment name.
    pub env: String,
    /// Bucket URL: file:///path (default), s3://bucket, gs://bucket, az://container.
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// S3 endpoint (MinIO, R2, SeaweedFS…).
    #[arg(long, value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// S3 region.
    #[arg(long, value_name = "REGION")]
    pub s3_region: Option<String>,
    /// GCS endpoint for gs:// (a test server); credentials come from GOOGLE_APPLICATION_CREDENTIALS.
    #[arg(long, value_name = "URL")]
    pub gcs_endpoint: Option<String>,
    /// Azure storage account for az:// (default: AZURE_STORAGE_ACCOUNT_NAME).
    #[arg(long, value_name = "NAME")]
    pub azure_storage_account: Option<String>,
    /// Azure blob endpoint for az:// (Azurite: http://127.0.0.1:10000/devstoreaccount1).
    #[arg(long, value_name = "URL")]
    pub azure_endpoint: Option<String>,
    /// Take bucket credentials from this profile.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Vault folder, relative to the repository root.
    #[arg(long, value_name = "PATH")]
    pub vault_folder: Option<String>,
    /// Object key prefix in the bucket (default `<repo>/<env>/`).
    #[arg(long, value_name = "PREFIX")]
    pub prefix: Option<String>,
    /// Audit log on or off.
    #[arg(long, value_name = "on|off")]
    pub audit: Option<String>,
    /// Answer yes to every question.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Set up a NEW key even though the bucket already holds versions of this env (they stay
    /// readable only with the old key; the first push needs --replace-key).
    #[arg(long)]
    pub adopt: bool,
}

/// `vsync profile …`.
#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List profiles.
    List,
    /// Show one profile (secrets masked).
    Show {
        /// Profile name.
        name: String,
    },
    /// Add a profile; the secret key is read from stdin.
    Add(ProfileAddArgs),
    /// Remove a profile.
    Remove {
        /// Profile name.
        name: String,
        /// Do not ask.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// `vsync profile add`.
#[derive(Debug, Args)]
pub struct ProfileAddArgs {
    /// Profile name.
    pub name: String,
    /// S3 endpoint.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// S3 region.
    #[arg(long)]
    pub region: Option<String>,
    /// Bucket name.
    #[arg(long)]
    pub bucket: Option<String>,
    /// Access key id.
    #[arg(long)]
    pub access_key_id: Option<String>,
    /// Read the secret access key from stdin (never from a flag).
    #[arg(long)]
    pub secret_key_stdin: bool,
    /// Optional key prefix.
    #[arg(long)]
    pub prefix: Option<String>,
}

/// `vsync keystore …`.
#[derive(Debug, Subcommand)]
pub enum KeystoreCommand {
    /// Every (repo, env) on this machine, and whether its key is present.
    List,
    /// Bulk backup of selected pairs (config + key) to a passphrase-sealed .keytree file.
    Export(KeystoreExportArgs),
    /// Restore a .keytree file on this machine.
    Import(KeystoreImportArgs),
}

/// `vsync keystore export`.
#[derive(Debug, Args)]
pub struct KeystoreExportArgs {
    /// Every pair and every profile on this machine.
    #[arg(long)]
    pub all: bool,
    /// Only these repos (repeatable).
    #[arg(long = "only-repo", value_name = "REPO")]
    pub only_repo: Vec<String>,
    /// Only these envs (repeatable).
    #[arg(long = "env", value_name = "ENV")]
    pub env: Vec<String>,
    /// Include the profiles (implied by --all).
    #[arg(long)]
    pub profiles: bool,
    /// Output file (default `./<hostname>.keytree`).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Read the passphrase from this file instead of generating one.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
    /// The passphrase itself (upstream's flag; visible to other local users, prefer --passphrase-file).
    #[arg(long, value_name = "PP", value_parser = ArgvSecret::parse, conflicts_with = "passphrase_file")]
    pub passphrase: Option<ArgvSecret>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `vsync keystore import`.
#[derive(Debug, Args)]
pub struct KeystoreImportArgs {
    /// The .keytree file.
    pub file: PathBuf,
    /// Read the passphrase from this file instead of prompting.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
    /// The passphrase itself (upstream's flag; visible to other local users, prefer --passphrase-file).
    #[arg(long, value_name = "PP", value_parser = ArgvSecret::parse, conflicts_with = "passphrase_file")]
    pub passphrase: Option<ArgvSecret>,
    /// Replace pairs and profiles that already exist here.
    #[arg(long)]
    pub force: bool,
}

/// Audit controls shared by push, pull, import, export, rotate-passphrase.
#[derive(Debug, Args, Default)]
pub struct AuditArgs2 {
    /// Do not append an audit row.
    #[arg(long)]
    pub no_audit: bool,
    /// Free-text note for the audit row.
    #[arg(long)]
    pub note: Option<String>,
    /// `key=value` for the audit row's meta cell (repeatable).
    #[arg(long, value_name = "K=V")]
    pub meta: Vec<String>,
}

/// `vsync push`.
#[derive(Debug, Args)]
pub struct PushArgs {
    /// Environment name.
    pub env: String,
    /// Push even when the remote advanced since your last pull (overwrites it).
    #[arg(long)]
    pub force: bool,
    /// Push even though your key does not open the current latest (a key lost for good): the
    /// env continues under your key and every teammate needs a new share file.
    #[arg(long)]
    pub replace_key: bool,
    /// Audit controls.
    #[command(flatten)]
    pub audit: AuditArgs2,
}

/// `vsync pull`.
#[derive(Debug, Args)]
pub struct PullArgs {
    /// Environment name.
    pub env: String,
    /// Pull this version instead of latest (`--at` is upstream's spelling).
    #[arg(long, value_name = "TS", visible_alias = "at")]
    pub version: Option<String>,
    /// Keep a plain copy of the current vault before replacing it.
    #[arg(long)]
    pub backup: bool,
    /// Replace local edits that were never pushed.
    #[arg(long)]
    pub force: bool,
    /// Accept a `latest` pointer older than one seen before.
    #[arg(long)]
    pub allow_rollback: bool,
    /// Audit controls.
    #[command(flatten)]
    pub audit: AuditArgs2,
}

/// `vsync use`.
#[derive(Debug, Args)]
pub struct UseArgs {
    /// Environment name.
    pub env: Option<String>,
    /// Where to put the link (default `<root>/.env`).
    #[arg(long)]
    pub link: Option<PathBuf>,
}

/// `vsync export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Environment name.
    pub env: String,
    /// Output file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Read the passphrase from this file instead of generating one.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
    /// The passphrase itself (upstream's flag; visible to other local users, prefer --passphrase-file).
    #[arg(long, value_name = "PP", value_parser = ArgvSecret::parse, conflicts_with = "passphrase_file")]
    pub passphrase: Option<ArgvSecret>,
    /// Overwrite an existing file.
    #[arg(long)]
    pub force: bool,
}

/// `vsync import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Environment name.
    pub env: String,
    /// The .share file.
    pub file: PathBuf,
    /// Read the passphrase from this file instead of prompting.
    #[arg(long)]
    pub passphrase_file: Option<PathBuf>,
    /// The passphrase itself (upstream's flag; visible to other local users, prefer --passphrase-file).
    #[arg(long, value_name = "PP", value_parser = ArgvSecret::parse, conflicts_with = "passphrase_file")]
    pub passphrase: Option<ArgvSecret>,
}

/// `vsync sync`.
#[derive(Debug, Args)]
pub struct SyncArgs {
    /// Environment name (with --apply: taken from the plan).
    #[arg(required_unless_present = "apply")]
    pub env: Option<String>,
    /// One target (upstream form); use --to for several.
    #[arg(conflicts_with = "to")]
    pub target: Option<String>,
    /// Targets, comma separated: github,aws,gcp,azure,hashivault or a plugin id (aliases gh, vault).
    #[arg(long, value_delimiter = ',')]
    pub to: Vec<String>,
    /// Show what would change (create/update/unchanged/delete, names only); write nothing.
    #[arg(long)]
    pub plan: bool,
    /// As --plan; `--dry-run=offline` does not contact the destinations at all (every key Upsert).
    #[arg(
        long,
        value_name = "offline",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "online"
    )]
    pub dry_run: Option<String>,
    /// Also delete managed remote names that left the vault (shown in the plan first).
    #[arg(long)]
    pub prune: bool,
    /// Do not ask before pruning (required without a terminal).
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Plan as --plan does (nothing written to any destination) and save the plan to FILE (0600)
    /// for a later `--apply`: the bundle, per target the routing, every operation with a keyed
    /// fingerprint of its value (never a value), and the remote state it was planned against.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["apply", "dry_run", "from_local"])]
    pub plan_out: Option<PathBuf>,
    /// Apply exactly the operations of a plan saved by --plan-out (env and targets come from
    /// it). Refused with exit 5, naming what moved, when the vault, the routing or a remote
    /// changed since; exit 4 when the file was edited. Deletions need --yes or a yes at the
    /// terminal.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["plan", "dry_run", "from_local"])]
    pub apply: Option<PathBuf>,
    /// With --plan-out: `md` prints a Markdown summary of the plan on stdout instead of the text
    /// plan (for a pull-request comment; names and shortened fingerprints, no values).
    #[arg(long, value_name = "text|md", requires = "plan_out", value_parser = ["text", "md"])]
    pub format: Option<String>,
    /// Parallel requests per target (capped by the destination).
    #[arg(long, default_value_t = 6)]
    pub jobs: usize,
    /// How many targets run at the same time (default: all of them; 1 runs them one after
    /// another). Each target's lines are printed together, in the order of --to.
    #[arg(long, value_name = "N")]
    pub targets_at_once: Option<usize>,
    /// Requests per second per target (default: the destination's published quota).
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,
    /// Give up after this many seconds (unstarted keys are reported not attempted).
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub timeout: u64,
    /// Sync the working copy instead of the pushed vault.
    #[arg(long)]
    pub from_local: bool,
    /// Accept a `latest` pointer older than one seen before (see `pull --allow-rollback`).
    #[arg(long)]
    pub allow_rollback: bool,
    /// Load a destination plugin from this file (repeatable).
    #[arg(long, value_name = "PATH")]
    pub plugin: Vec<PathBuf>,
    /// A key that is never pushed (repeatable, exact, case-sensitive; upstream parser policy).
    #[arg(long, value_name = "KEY")]
    pub exclude_property: Vec<String>,
    /// A key ending in SUFFIX names a file whose text is pushed under the key without the suffix
    /// (repeatable; relative paths are inside the vault folder; upstream parser policy).
    #[arg(long, value_name = "SUFFIX")]
    pub inline_file_suffix: Vec<String>,
    /// No progress bar on stderr.
    #[arg(long)]
    pub no_progress: bool,
    /// Per-target option `id.key=value` (repeatable), e.g. `--opt jsonfile.path=/tmp/x.json`.
    #[arg(long = "opt", value_name = "ID.KEY=VALUE")]
    pub opt: Vec<String>,
    /// jsonfile: the JSON file to write.
    #[arg(long)]
    pub jsonfile_path: Option<String>,
    /// github: owner/name.
    #[arg(long, alias = "gh-repo")]
    pub github_repo: Option<String>,
    /// github: the GitHub environment (default: the one named like the vsync env).
    #[arg(long)]
    pub github_environment: Option<String>,
    /// github: environment (default, upstream) or repository secrets.
    #[arg(long, value_name = "environment|repository")]
    pub github_scope: Option<String>,
    /// aws: region.
    #[arg(long)]
    pub aws_region: Option<String>,
    /// aws: name prefix (e.g. myapp/prod/).
    #[arg(long)]
    pub aws_secret_prefix: Option<String>,
    /// aws: per-key or json.
    #[arg(long)]
    pub aws_mode: Option<String>,
    /// aws: the secret holding the JSON object (mode json).
    #[arg(long)]
    pub aws_secret_name: Option<String>,
    /// hashivault: server address.
    #[arg(long)]
    pub vault_addr: Option<String>,
    /// hashivault: KV mount.
    #[arg(long)]
    pub vault_mount: Option<String>,
    /// hashivault: secret path.
    #[arg(long)]
    pub vault_path: Option<String>,
    /// gcp: project id.
    #[arg(long)]
    pub gcp_project: Option<String>,
    /// gcp: prefix of every secret id (also the managed scope of prune).
    #[arg(long)]
    pub gcp_prefix: Option<String>,
    /// gcp: `automatic`, or a comma-separated list of regions, for secrets vsync creates.
    #[arg(long, value_name = "automatic|REGION,…")]
    pub gcp_replication: Option<String>,
    /// gcp: extra labels for secrets vsync creates, `k=v,k2=v2`.
    #[arg(long, value_name = "K=V,…")]
    pub gcp_labels: Option<String>,
    /// azure: Key Vault name, or its https:// URL.
    #[arg(long)]
    pub azure_vault: Option<String>,
    /// azure: `none` (keys with `_` are refused) or `dash` (`_` becomes `-`).
    #[arg(long, value_name = "none|dash")]
    pub azure_name_map: Option<String>,
    /// Audit controls.
    #[command(flatten)]
    pub audit: AuditArgs2,
    /// The release this sync ships, recorded in its provenance entry (default: the git tag at
    /// HEAD, if any); `vsync why KEY --release NAME` asks about it later.
    #[arg(long, value_name = "NAME")]
    pub release: Option<String>,
    /// Also write an in-toto Statement of this sync to FILE (0600): the bundle's digest, the
    /// targets, remote names and keyed fingerprints, for signing (docs/attestation.md).
    #[arg(long, value_name = "FILE")]
    pub attest: Option<PathBuf>,
}

/// `vsync status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Exit 1 when any env is broken, print nothing.
    #[arg(long)]
    pub quiet: bool,
}

/// `vsync audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Environment name.
    pub env: String,
    /// Only rows with this action.
    #[arg(long)]
    pub action: Option<String>,
    /// Only rows by this actor.
    #[arg(long)]
    pub actor: Option<String>,
    /// Only rows at or after this time (ISO-8601 or YYYYMMDD-HHMMSS).
    #[arg(long)]
    pub since: Option<String>,
    /// Print raw CSV.
    #[arg(long)]
    pub csv: bool,
    /// Check the log's chain and the chain heads sealed in the bundle versions; exit 4 naming
    /// the first row edited, removed or inserted. Needs the vault key. Rows written by tools that
    /// do not chain are listed as unverified (docs/audit-chain.md).
    #[arg(long, conflicts_with_all = ["csv", "action", "actor", "since"])]
    pub verify: bool,
}

/// `vsync diff`.
#[derive(Debug, Args)]
pub struct DiffArgs {
    /// Environment name.
    pub env: String,
    /// Older version.
    #[arg(long, value_name = "TS", requires = "to")]
    pub from: Option<String>,
    /// Newer version.
    #[arg(long, value_name = "TS", requires = "from")]
    pub to: Option<String>,
    /// Accept a `latest` pointer older than one seen before (see `pull --allow-rollback`).
    #[arg(long)]
    pub allow_rollback: bool,
}

/// `vsync rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// Environment name.
    pub env: String,
    /// The version whose content becomes the newest version.
    pub ts: String,
}

/// `vsync doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Check this env only.
    pub env: Option<String>,
}

/// `vsync key …`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Reveal the key of an env (TTY with confirmation, or --out FILE written 0600).
    Show {
        /// Environment name.
        env: String,
        /// Write the key to this file (0600) instead of the terminal.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

/// `vsync run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Environment name.
    pub env: String,
    /// Keep the parent's value when a key exists in both.
    #[arg(long)]
    pub no_override: bool,
    /// Accept a `latest` pointer older than one seen before (see `pull --allow-rollback`).
    #[arg(long)]
    pub allow_rollback: bool,
    /// Replace every value in the child's output with [vsync:KEY], also its base64, URL-encoded
    /// and JSON-escaped forms and each line of a multi-line value.
    ///
    /// The child's stdout and stderr become pipes that vsync filters, so a program that checks for
    /// a terminal (colours, progress bars, prompts) sees none. The last few bytes of output (up to
    /// the longest value's length) are held until more output or the child's exit shows they are
    /// not the start of a value. Values shorter than 4 characters are not redacted (a note on
    /// stderr names their keys). This is the way to keep values out of GitLab CI logs, which have
    /// no runtime masking.
    #[arg(long)]
    pub redact: bool,
    /// The command and its arguments.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

/// `vsync ci …`.
#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Print GitHub Actions `::add-mask::` lines for every value of the latest version.
    ///
    /// One mask per value, per line of a multi-line value (PEM keys), and per derived form that
    /// commonly reaches logs: base64, URL-encoded, JSON-escaped. Values shorter than 4
    /// characters get no mask (it would hide every occurrence of those letters; a note on stderr
    /// names their keys). The lines contain the values, which is safe only where GitHub reads
    /// them: stdout of an Actions step. `vsync run` prints the same lines by itself when
    /// GITHUB_ACTIONS=true; this verb is for masking before other steps use the values. Refuses
    /// to print to a terminal outside GitHub Actions.
    Mask {
        /// Environment name.
        env: String,
    },
}

/// `vsync restore-backup`.
#[derive(Debug, Args)]
pub struct RestoreBackupArgs {
    /// Environment name.
    pub env: String,
    /// Which backup: its timestamp (YYYYMMDD-HHMMSS) or the path of a .zip.enc file (default: the newest).
    pub backup: Option<String>,
    /// Unpack into this new or empty folder instead of replacing the vault folder.
    pub target_dir: Option<PathBuf>,
    /// List the backups of this env, newest first, and restore nothing.
    #[arg(long)]
    pub list: bool,
}

/// `vsync plugins …`.
#[derive(Debug, Subcommand)]
pub enum PluginsCommand {
    /// List the plugins found: each vetted file runs in its own process to report its
    /// manifest; files refused by vetting (or by ENV's sha256 pins) are listed without running.
    List {
        /// Also check the sha256 pins of this env (`sync.<id>.plugin_sha256`).
        #[arg(long, value_name = "ENV")]
        env: Option<String>,
    },
    /// Run the conformance checks on a plugin file: load, manifest, names, then plan, write,
    /// list, read back, update and delete two random keys in a scratch scope.
    Check {
        /// The plugin shared library.
        path: PathBuf,
        /// A routing option of the scratch scope, `name=value` (repeatable); required options
        /// not given point into a fresh temporary folder.
        #[arg(long = "opt", value_name = "NAME=VALUE")]
        opt: Vec<String>,
        /// Seconds each call may take before the plugin counts as hung and is stopped.
        #[arg(long, value_name = "SECS", default_value_t = 60)]
        timeout: u64,
    },
}

/// `vsync docs`.
#[derive(Debug, Args)]
pub struct DocsArgs {
    /// Topic.
    pub topic: Option<String>,
}

/// `vsync completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// Shell: bash, zsh, fish, elvish, powershell.
    pub shell: String,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn grammar_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
