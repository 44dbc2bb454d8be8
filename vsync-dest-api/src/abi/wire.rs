//! The JSON that crosses the plugin boundary: the manifest, requests and their payloads,
//! replies, errors and values. Values appear only as [`WireItem`]s (base64, redacted `Debug`,
//! zeroized on drop).

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use super::{VSYNC_DEST_ABI_VERSION, WIRE_SCHEMA};
use crate::{
    ApplyReport, Capabilities, Change, ChangeOp, DestError, DestErrorKind, Destination, ItemOrigin,
    ItemOutcome, OptionMap, Plan, PlanOptions, RemoteName, Routing, RoutingField, SecretBytes,
    SecretItem,
};

/// The plugin's static self-description.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Manifest schema (1).
    pub schema: u32,
    /// Destination id, `[a-z][a-z0-9-]{0,31}`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Plugin version (semver text).
    pub version: String,
    /// ABI it was built for.
    pub abi: u32,
    /// Whether concurrent calls are allowed.
    #[serde(default)]
    pub reentrant: bool,
    /// Capabilities (routing-independent view).
    #[serde(default)]
    pub capabilities: Capabilities,
    /// Routing options.
    #[serde(default)]
    pub routing_schema: Vec<RoutingField>,
    /// Optional name rule (informational).
    #[serde(default)]
    pub name_rule: Option<serde_json::Value>,
}

/// Operations a request can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Resolve routing.
    ResolveRouting,
    /// Capabilities for a routing.
    Capabilities,
    /// Batched name mapping.
    MapNames,
    /// Preflight.
    Preflight,
    /// List.
    List,
    /// Read values back.
    ReadValues,
    /// Plan.
    Plan,
    /// Apply one change.
    ApplyOne,
    /// Apply a whole plan.
    ApplyBulk,
    /// Delete one name.
    DeleteOne,
    /// An op this side does not know: answered `Unsupported`.
    #[serde(other)]
    Unknown,
}

/// A request (host → plugin).
#[derive(Debug, Serialize, Deserialize)]
pub struct Request {
    /// Wire schema.
    pub schema: u32,
    /// Id for cancellation.
    #[serde(default)]
    pub call_id: u64,
    /// The op.
    pub op: Op,
    /// Routing.
    #[serde(default)]
    pub routing: Routing,
    /// Env name.
    #[serde(default)]
    pub env: String,
    /// Repo name.
    #[serde(default)]
    pub repo: String,
    /// Op-specific payload.
    #[serde(default)]
    pub payload: serde_json::Value,
}

/// An error on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WireError {
    /// Kind, snake or Pascal case.
    pub kind: String,
    /// Message.
    #[serde(default)]
    pub message: String,
    /// Key concerned.
    #[serde(default)]
    pub key: Option<String>,
    /// Retry-after in milliseconds.
    #[serde(default)]
    pub retry_after_ms: Option<u64>,
}

impl From<&DestError> for WireError {
    fn from(e: &DestError) -> Self {
        Self {
            kind: e.kind.as_str().to_owned(),
            message: e.message.clone(),
            key: e.key.clone(),
            retry_after_ms: e
                .retry_after
                .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        }
    }
}

impl From<WireError> for DestError {
    fn from(w: WireError) -> Self {
        let mut e = DestError::new(DestErrorKind::parse_lenient(&w.kind), w.message);
        e.key = w.key;
        e.retry_after = w.retry_after_ms.map(std::time::Duration::from_millis);
        e
    }
}

/// A value on the wire: only in `plan`, `apply_*` and `read_values` payloads.
#[derive(Serialize, Deserialize)]
pub struct WireItem {
    /// Env key (or remote name for `read_values`).
    pub key: String,
    /// Base64 of the value.
    pub value_b64: String,
}

impl std::fmt::Debug for WireItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WireItem({}: <redacted>)", self.key)
    }
}

impl Drop for WireItem {
    fn drop(&mut self) {
        self.value_b64.zeroize();
    }
}

impl WireItem {
    /// Encode an item (an audited exposure point).
    pub fn encode(key: &str, value: &SecretBytes) -> Self {
        Self {
            key: key.to_owned(),
            value_b64: B64.encode(value.expose()),
        }
    }

    /// Decode into a value.
    pub fn decode(&self) -> Result<SecretBytes, DestError> {
        B64.decode(self.value_b64.as_bytes())
            .map(SecretBytes::new)
            .map_err(|_| DestError::internal(format!("{}: value_b64 is not base64", self.key)))
    }

    /// Decode into a plain item.
    pub fn into_item(self) -> Result<SecretItem, DestError> {
        Ok(SecretItem {
            key: self.key.clone(),
            value: self.decode()?,
            origin: ItemOrigin::Plain,
        })
    }
}

/// `map_names` result entry.
#[derive(Debug, Serialize, Deserialize)]
pub struct MappedName {
    /// Env key.
    pub key: String,
    /// Remote name, when valid.
    #[serde(default)]
    pub name: Option<String>,
    /// Why not.
    #[serde(default)]
    pub error: Option<WireError>,
}

/// Outcome on the wire.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WireOutcome {
    /// Done.
    Ok(ChangeOp),
    /// Failed.
    Failed(WireError),
    /// Not attempted.
    NotAttempted,
}

/// `apply_bulk` result.
#[derive(Debug, Serialize, Deserialize)]
pub struct WireReport {
    /// Outcomes.
    pub outcomes: Vec<(RemoteName, WireOutcome)>,
}

impl From<&ItemOutcome> for WireOutcome {
    fn from(o: &ItemOutcome) -> Self {
        match o {
            ItemOutcome::Ok(op) => Self::Ok(*op),
            ItemOutcome::Failed(e) => Self::Failed(e.into()),
            ItemOutcome::NotAttempted => Self::NotAttempted,
        }
    }
}

impl From<WireOutcome> for ItemOutcome {
    fn from(o: WireOutcome) -> Self {
        match o {
            WireOutcome::Ok(op) => Self::Ok(op),
            WireOutcome::Failed(e) => Self::Failed(e.into()),
            WireOutcome::NotAttempted => Self::NotAttempted,
        }
    }
}

impl From<&ApplyReport> for WireReport {
    fn from(r: &ApplyReport) -> Self {
        let outcomes = r.outcomes.iter().map(|(n, o)| (n.clone(), o.into()));
        Self {
            outcomes: outcomes.collect(),
        }
    }
}

impl From<WireReport> for ApplyReport {
    fn from(r: WireReport) -> Self {
        let outcomes = r.outcomes.into_iter().map(|(n, o)| (n, o.into()));
        Self {
            outcomes: outcomes.collect(),
        }
    }
}

/// Payload of `resolve_routing`.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ResolvePayload {
    /// Stored `sync.<id>`.
    #[serde(default)]
    pub stored: Option<serde_json::Value>,
    /// Command-line options.
    #[serde(default)]
    pub opts: OptionMap,
}

/// Result of `resolve_routing`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ResolveResult {
    /// Routing.
    pub routing: Routing,
    /// Save it?
    #[serde(default)]
    pub persist: bool,
}

/// Payload of `plan`.
#[derive(Debug, Serialize, Deserialize)]
pub struct PlanPayload {
    /// Items.
    pub items: Vec<WireItem>,
    /// Options.
    #[serde(default)]
    pub opts: PlanOptions,
}

/// Payload of `apply_one`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ApplyOnePayload {
    /// The change.
    pub change: Change,
    /// Its item (None for deletes).
    #[serde(default)]
    pub item: Option<WireItem>,
}

/// Payload of `apply_bulk`.
#[derive(Debug, Serialize, Deserialize)]
pub struct ApplyBulkPayload {
    /// The plan.
    pub plan: Plan,
    /// Items.
    pub items: Vec<WireItem>,
}

/// Payload of `read_values`, `delete_one` (one name) and `map_names` (keys).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct NamesPayload {
    /// Remote names (read_values, delete_one) or env keys (map_names).
    #[serde(default)]
    pub names: Vec<String>,
}

/// Build the manifest JSON of a destination.
pub fn manifest_of(dest: &dyn Destination, version: &str) -> Manifest {
    Manifest {
        schema: WIRE_SCHEMA,
        id: dest.id().to_owned(),
        name: dest.display_name().to_owned(),
        version: version.to_owned(),
        abi: VSYNC_DEST_ABI_VERSION,
        reentrant: true,
        capabilities: dest.capabilities(&Routing::new()),
        routing_schema: dest.routing_schema(),
        name_rule: None,
    }
}

/// Decode wire items.
pub fn decode_items(items: Vec<WireItem>) -> Result<Vec<SecretItem>, DestError> {
    items.into_iter().map(WireItem::into_item).collect()
}

/// Decode a `read_values` reply into a map.
pub fn decode_values(items: Vec<WireItem>) -> Result<BTreeMap<RemoteName, SecretBytes>, DestError> {
    items
        .into_iter()
        .map(|w| Ok((RemoteName(w.key.clone()), w.decode()?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_op_and_fields_tolerated() {
        let r: Request = serde_json::from_str(
            r#"{"schema":1,"call_id":3,"op":"teleport","routing":{},"future":1}"#,
        )
        .unwrap();
        assert_eq!(r.op, Op::Unknown);
    }

    #[test]
    fn error_kinds_both_cases() {
        let w: WireError = serde_json::from_str(
            r#"{"kind":"RateLimited","message":"slow","retry_after_ms":1500,"x":true}"#,
        )
        .unwrap();
        let e: DestError = w.into();
        assert_eq!(e.kind, DestErrorKind::RateLimited);
        assert_eq!(e.retry_after, Some(std::time::Duration::from_millis(1500)));
        let w: WireError = serde_json::from_str(r#"{"kind":"not_found"}"#).unwrap();
        assert_eq!(DestError::from(w).kind, DestErrorKind::NotFound);
    }

    #[test]
    fn wire_item_roundtrip_binary_and_redacted() {
        let v = SecretBytes::new(vec![0, 255, 10, 13]);
        let w = WireItem::encode("K", &v);
        assert!(!format!("{w:?}").contains(&w.value_b64));
        let json = serde_json::to_string(&w).unwrap();
        let back: WireItem = serde_json::from_str(&json).unwrap();
        assert_eq!(back.decode().unwrap(), v);
    }

    #[test]
    fn manifest_ignores_unknown_fields_and_modes() {
        let m: Manifest = serde_json::from_str(
            r#"{"schema":1,"id":"x","name":"X","version":"1","abi":1,"new":[],
                "capabilities":{"write_mode":"streaming","can_list":true}}"#,
        )
        .unwrap();
        assert_eq!(m.capabilities.write_mode, crate::WriteMode::Unknown);
        assert!(m.capabilities.can_list);
    }

    #[test]
    fn outcomes_roundtrip() {
        let r = ApplyReport {
            outcomes: vec![
                (RemoteName("A".into()), ItemOutcome::Ok(ChangeOp::Create)),
                (
                    RemoteName("B".into()),
                    ItemOutcome::Failed(DestError::new(DestErrorKind::Auth, "no")),
                ),
                (RemoteName("C".into()), ItemOutcome::NotAttempted),
            ],
        };
        let json = serde_json::to_string(&WireReport::from(&r)).unwrap();
        let back: WireReport = serde_json::from_str(&json).unwrap();
        assert_eq!(ApplyReport::from(back), r);
    }
}
