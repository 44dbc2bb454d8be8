//! The data that flows between the engine and a destination (docs/sync-contract.md §15.3). Everything here
//! except [`SecretItem`] is value-free and serializable.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::{DestError, SecretBytes};

/// Routing for one target: the stored `sync.<id>` object after flags were merged in.
pub type Routing = serde_json::Map<String, serde_json::Value>;

/// Per-target options given on the command line, option name (as in the schema) → value.
pub type OptionMap = BTreeMap<String, String>;

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemOrigin {
    /// A `KEY=value` line.
    Plain,
    /// The contents of a referenced file.
    File {
        /// The file read.
        path: PathBuf,
    },
}

/// One key to sync. Not `Serialize`: values reach a wire only through [`SecretBytes::expose`].
#[derive(Debug, Clone)]
pub struct SecretItem {
    /// The env-file key.
    pub key: String,
    /// The value.
    pub value: SecretBytes,
    /// Where it came from.
    pub origin: ItemOrigin,
}

impl SecretItem {
    /// A plain item.
    pub fn plain(key: impl Into<String>, value: SecretBytes) -> Self {
        Self {
            key: key.into(),
            value,
            origin: ItemOrigin::Plain,
        }
    }
}

/// How a destination writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WriteMode {
    /// One call per key, driven by the engine's pool.
    #[default]
    PerKey,
    /// The whole plan in one call.
    BulkAtomic,
    /// A newer mode this host does not know.
    #[serde(other)]
    Unknown,
}

/// What a destination can do (with the given routing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct Capabilities {
    /// Per key or bulk.
    pub write_mode: WriteMode,
    /// Can enumerate remote names in its managed scope.
    pub can_list: bool,
    /// Can read values back (false for write-only secrets such as GitHub's).
    pub can_read_values: bool,
    /// Can delete (needed for `--prune`).
    pub can_delete: bool,
    /// Keeps history.
    pub versioned: bool,
    /// Accepts non-UTF-8 values.
    pub binary_values: bool,
    /// Largest accepted value.
    pub max_value_bytes: Option<usize>,
    /// Concurrency cap hint (engine default 6).
    pub max_concurrency: Option<usize>,
    /// Rate limit hint for the engine's token bucket.
    pub requests_per_second: Option<f32>,
    /// Remote names compare case-insensitively (collision checks).
    pub case_insensitive_names: bool,
}

/// A remote secret name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RemoteName(pub String);

impl RemoteName {
    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for RemoteName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What happens (or happened) to one remote name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    /// New remote secret.
    Create,
    /// Existing secret, new value.
    Update,
    /// Same value already there; nothing to write.
    Unchanged,
    /// Written without knowing whether it exists or differs.
    Upsert,
    /// Removed (prune).
    Delete,
    /// A newer op this host does not know.
    #[serde(other)]
    Unknown,
}

impl ChangeOp {
    /// What a write did: `Create` when it made the name, `Update` when the name was there.
    pub fn written(created: bool) -> Self {
        if created { Self::Create } else { Self::Update }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Update => "update",
            Self::Unchanged => "unchanged",
            Self::Upsert => "upsert",
            Self::Delete => "delete",
            Self::Unknown => "unknown",
        }
    }

    /// Whether applying it writes anything.
    pub fn is_write(self) -> bool {
        !matches!(self, Self::Unchanged | Self::Unknown)
    }
}

/// One planned change. Names and ops only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    /// The env key (None for deletions).
    pub source_key: Option<String>,
    /// The remote name.
    pub remote: RemoteName,
    /// The op.
    pub op: ChangeOp,
}

/// A target's plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct Plan {
    /// Target id.
    pub target: String,
    /// e.g. `repo=o/r, environment=prod` (no values).
    pub routing_summary: String,
    /// The changes, in env-file order, deletions last.
    pub changes: Vec<Change>,
    /// Notes for the user.
    #[serde(default)]
    pub warnings: Vec<String>,
}

impl Plan {
    /// The remote names this plan deletes (prune), in plan order.
    pub fn deletions(&self) -> Vec<&RemoteName> {
        self.changes
            .iter()
            .filter(|c| c.op == ChangeOp::Delete)
            .map(|c| &c.remote)
            .collect()
    }
}

/// Options for planning.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanOptions {
    /// Include deletions of managed names no longer in the vault.
    pub prune: bool,
    /// No network: classify everything as Upsert.
    pub offline: bool,
}

/// Result of one key.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemOutcome {
    /// Done.
    Ok(ChangeOp),
    /// Failed with this error.
    Failed(DestError),
    /// Never started (cancelled, timed out, or an earlier abort).
    NotAttempted,
}

/// Result of an apply.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ApplyReport {
    /// Per remote name.
    pub outcomes: Vec<(RemoteName, ItemOutcome)>,
}

/// One routing option a destination declares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct RoutingField {
    /// Key in `sync.<id>` (e.g. `secretPrefix`).
    pub name: String,
    /// Whether a value is needed.
    pub required: bool,
    /// The CLI flag without dashes (e.g. `aws-secret-prefix`); the option name passed in
    /// [`OptionMap`] is `name`.
    pub flag: String,
    /// Other accepted flag spellings.
    pub aliases: Vec<String>,
    /// Prompt text / help.
    pub prompt: String,
    /// Default when neither flag nor config gives one.
    pub default: Option<String>,
}

impl RoutingField {
    /// An optional option `name` (its key in `sync.<id>`), given on the command line as
    /// `--flag`, described by `prompt`.
    pub fn new(name: &str, flag: &str, prompt: &str) -> Self {
        Self {
            name: name.into(),
            flag: flag.into(),
            prompt: prompt.into(),
            ..Self::default()
        }
    }

    /// Needed: resolution fails without it.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Other accepted flag spellings.
    #[must_use]
    pub fn aliases(mut self, aliases: &[&str]) -> Self {
        self.aliases = aliases.iter().map(|a| (*a).to_owned()).collect();
        self
    }

    /// The value when neither a flag nor the config gives one.
    #[must_use]
    pub fn default_value(mut self, value: &str) -> Self {
        self.default = Some(value.into());
        self
    }
}

/// A destination's routing options.
pub type RoutingSchema = Vec<RoutingField>;

/// Outcome of routing resolution.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resolved {
    /// The routing to use.
    pub routing: Routing,
    /// True when it differs from what was stored and should be saved.
    pub persist: bool,
}

/// Per-call context.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// Env name.
    pub env: String,
    /// Repo name.
    pub repo: String,
    /// Tripped by Ctrl-C or the global timeout.
    pub cancel: CancelFlag,
    /// When the whole run must stop.
    pub deadline: Option<Instant>,
}

impl Ctx {
    /// A context with no deadline.
    pub fn new(env: impl Into<String>, repo: impl Into<String>) -> Self {
        Self {
            env: env.into(),
            repo: repo.into(),
            cancel: CancelFlag::default(),
            deadline: None,
        }
    }

    /// Whether to stop now.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_set() || self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// A shared cancel flag.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// Trip it.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// Whether it was tripped.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Resolve routing from a schema: flag → stored config → default → `Config` error.
/// The shared default behind [`crate::Destination::resolve_routing`].
pub fn resolve_by_schema(
    schema: &[RoutingField],
    stored: Option<&serde_json::Value>,
    opts: &OptionMap,
) -> Result<Resolved, DestError> {
    let mut routing: Routing = stored
        .and_then(|v| v.as_object())
        .cloned()
        .unwrap_or_default();
    let mut persist = false;
    let mut missing = Vec::new();
    for f in schema {
        if let Some(v) = opts.get(&f.name) {
            let new = serde_json::Value::String(v.clone());
            if routing.get(&f.name) != Some(&new) {
                routing.insert(f.name.clone(), new);
                persist = true;
            }
            continue;
        }
        let present = routing
            .get(&f.name)
            .is_some_and(|v| !v.is_null() && v.as_str() != Some(""));
        if present {
            continue;
        }
        if let Some(d) = &f.default {
            routing.insert(f.name.clone(), serde_json::Value::String(d.clone()));
        } else if f.required {
            missing.push(format!("--{}", f.flag));
        }
    }
    for k in opts.keys() {
        if !schema.iter().any(|f| &f.name == k) {
            return Err(DestError::config(format!("unknown option {k:?}")));
        }
    }
    if !missing.is_empty() {
        return Err(DestError::config(format!(
            "missing routing: {}",
            missing.join(", ")
        )));
    }
    Ok(Resolved { routing, persist })
}

/// A string routing value.
pub fn routing_str<'a>(routing: &'a Routing, name: &str) -> Option<&'a str> {
    routing
        .get(name)
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
}
