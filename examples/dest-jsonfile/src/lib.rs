//! `jsonfile`: an example vsync destination. It keeps the secrets of one target as a JSON
//! object (`{"NAME": "value", …}`) in the file given by the routing option `path`
//! (`--jsonfile-path`), written 0600 and atomically (temp file + rename). It can list, read
//! back and delete, so plans show `unchanged` and `--prune` works.
//!
//! Build: `cargo build -p dest-jsonfile` → `libvsync_dest_jsonfile.so`; install by copying it
//! into `~/.config/vsync/plugins/` (or pass `--plugin PATH`).
//!
//! Test hook: the routing option `fail_mode` makes it misbehave on purpose (`panic`,
//! `auth`, `fail_key:<NAME>`, `slow`; in `write_one` (`apply_one`) also `abort`, `exit` (status 0), `hang`
//! and `chatty`, which prints each value to stdout and stderr and then writes normally), so the
//! host's error paths can be tested.

// Printing is allowed here: the example plugin has a "chatty" mode that prints values on purpose, to test the host scrubbing them.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use vsync_dest_api::{
    Capabilities, Change, ChangeOp, Ctx, DestError, DestErrorKind, Destination, RemoteName,
    Routing, RoutingField, RoutingSchema, SecretBytes, SecretItem, WriteMode, name_rules,
    routing_str,
};

/// The largest value it stores.
const MAX_VALUE_BYTES: usize = 64 * 1024;

/// The destination.
#[derive(Debug, Default)]
pub struct JsonFile;

const RULE: name_rules::NameRule = name_rules::NameRule {
    allowed: name_rules::is_word,
    first: Some(name_rules::is_word_start),
    min_len: 1,
    max_len: 128,
    forbidden_prefixes: &[],
};

fn path(routing: &Routing) -> Result<PathBuf, DestError> {
    routing_str(routing, "path")
        .map(PathBuf::from)
        .ok_or_else(|| DestError::config("jsonfile needs --jsonfile-path"))
}

fn fail_mode(routing: &Routing) -> &str {
    routing_str(routing, "fail_mode").unwrap_or("")
}

fn io_err(what: &str, e: std::io::Error) -> DestError {
    DestError::new(DestErrorKind::Transient, format!("{what}: {}", e.kind()))
}

fn load(routing: &Routing) -> Result<BTreeMap<String, String>, DestError> {
    let p = path(routing)?;
    match std::fs::read(&p) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|_| {
            DestError::new(
                DestErrorKind::Conflict,
                "the JSON file is not an object of strings",
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(io_err("read", e)),
    }
}

fn store(routing: &Routing, map: &BTreeMap<String, String>) -> Result<(), DestError> {
    let p = path(routing)?;
    let dir = p
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        p.file_name().and_then(|n| n.to_str()).unwrap_or("jsonfile"),
        std::process::id()
    ));
    let bytes = serde_json::to_vec_pretty(map).map_err(|e| DestError::internal(e.to_string()))?;
    {
        use std::io::Write;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let mut f = opts.open(&tmp).map_err(|e| io_err("write", e))?;
        f.write_all(&bytes).map_err(|e| io_err("write", e))?;
        f.sync_all().map_err(|e| io_err("sync", e))?;
    }
    std::fs::rename(&tmp, &p).map_err(|e| io_err("rename", e))
}

// One process-wide lock: read-modify-write of the file must not interleave.
static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[async_trait::async_trait]
impl Destination for JsonFile {
    fn id(&self) -> &str {
        "jsonfile"
    }

    fn display_name(&self) -> &str {
        "JSON file"
    }

    fn capabilities(&self, routing: &Routing) -> Capabilities {
        Capabilities {
            write_mode: WriteMode::PerKey,
            can_list: true,
            can_read_values: true,
            can_delete: true,
            versioned: false,
            binary_values: false,
            max_value_bytes: Some(MAX_VALUE_BYTES),
            max_concurrency: Some(4),
            requests_per_second: Some(200.0),
            case_insensitive_names: routing_str(routing, "case_insensitive") == Some("true"),
        }
    }

    fn routing_schema(&self) -> RoutingSchema {
        vec![
            RoutingField {
                name: "path".into(),
                required: true,
                flag: "jsonfile-path".into(),
                prompt: "JSON file to write".into(),
                ..RoutingField::default()
            },
            RoutingField {
                name: "case_insensitive".into(),
                flag: "jsonfile-case-insensitive".into(),
                prompt: "treat names as case-insensitive (collision checks)".into(),
                ..RoutingField::default()
            },
            RoutingField {
                name: "fail_mode".into(),
                flag: "jsonfile-fail-mode".into(),
                prompt: "test hook: panic | auth | fail_key:<NAME> | slow | abort | exit | hang | chatty"
                    .into(),
                ..RoutingField::default()
            },
        ]
    }

    fn routing_summary(&self, routing: &Routing) -> String {
        format!("path={}", routing_str(routing, "path").unwrap_or("?"))
    }

    fn map_name(&self, _routing: &Routing, key: &str) -> Result<RemoteName, DestError> {
        RULE.check(key, key)?;
        Ok(RemoteName(key.to_owned()))
    }

    async fn preflight(&self, routing: &Routing, _ctx: &Ctx) -> Result<(), DestError> {
        match fail_mode(routing) {
            "panic" => panic!("jsonfile: deliberate panic (fail_mode=panic)"),
            "auth" => {
                return Err(DestError::new(
                    DestErrorKind::Auth,
                    "deliberate auth failure",
                ));
            }
            _ => {}
        }
        load(routing).map(|_| ())
    }

    async fn list(
        &self,
        routing: &Routing,
        _ctx: &Ctx,
    ) -> Result<Option<Vec<RemoteName>>, DestError> {
        Ok(Some(load(routing)?.into_keys().map(RemoteName).collect()))
    }

    async fn read_values(
        &self,
        routing: &Routing,
        names: &[RemoteName],
        _ctx: &Ctx,
    ) -> Result<Option<BTreeMap<RemoteName, SecretBytes>>, DestError> {
        let map = load(routing)?;
        Ok(Some(
            names
                .iter()
                .filter_map(|n| {
                    map.get(&n.0)
                        .map(|v| (n.clone(), SecretBytes::from_str_value(v)))
                })
                .collect(),
        ))
    }

    async fn write_one(
        &self,
        routing: &Routing,
        change: &Change,
        item: &SecretItem,
        _ctx: &Ctx,
    ) -> Result<ChangeOp, DestError> {
        if let Some(k) = fail_mode(routing).strip_prefix("fail_key:")
            && k == change.remote.0
        {
            return Err(DestError::new(DestErrorKind::Conflict, "deliberate failure").with_key(k));
        }
        match fail_mode(routing) {
            "slow" => std::thread::sleep(std::time::Duration::from_secs(3)),
            "abort" => std::process::abort(),
            "exit" => std::process::exit(0),
            "hang" => loop {
                std::thread::sleep(std::time::Duration::from_secs(60));
            },
            _ => {}
        }
        if fail_mode(routing) == "chatty" {
            // what a careless plugin might do: the host must keep its channel and scrub this
            let v = String::from_utf8_lossy(item.value.expose());
            println!("jsonfile: writing {} = {v}", item.key);
            eprintln!("jsonfile: wrote {} = {v}", item.key);
        }
        let value = item.text_value(MAX_VALUE_BYTES)?;
        let _g = LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut map = load(routing)?;
        let existed = map
            .insert(change.remote.0.clone(), value.to_owned())
            .is_some();
        store(routing, &map)?;
        Ok(ChangeOp::written(!existed))
    }

    async fn delete_one(
        &self,
        routing: &Routing,
        name: &RemoteName,
        _ctx: &Ctx,
    ) -> Result<(), DestError> {
        let _g = LOCK.lock().unwrap_or_else(|p| p.into_inner());
        let mut map = load(routing)?;
        if map.remove(&name.0).is_some() {
            store(routing, &map)?;
        }
        Ok(())
    }
}

vsync_dest_api::export_destination!(JsonFile, JsonFile);
