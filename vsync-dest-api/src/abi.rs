//! The C ABI between the vsync host and a cdylib destination plugin (docs/sync-contract.md §15.8), and the
//! [`export_destination!`](crate::export_destination) macro that implements the plugin side
//! over a normal [`Destination`].
//!
//! This is one of the two modules allowed `unsafe` (the other is the host loader): raw buffers
//! cross the boundary here. Everything else is JSON.

use std::collections::BTreeMap;
use std::ffi::{CString, c_char};
use std::sync::OnceLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::{
    ApplyReport, Capabilities, Change, ChangeOp, Ctx, DestError, DestErrorKind, Destination,
    ItemOrigin, ItemOutcome, OptionMap, Plan, PlanOptions, RemoteName, Routing, RoutingField,
    SecretBytes, SecretItem,
};

/// The ABI version (`vsync_dest_abi_version` must return it).
pub const VSYNC_DEST_ABI_VERSION: u32 = 1;
/// Oldest ABI the host accepts.
pub const MIN_SUPPORTED_ABI: u32 = 1;
/// The manifest and request `schema` this crate writes.
pub const WIRE_SCHEMA: u32 = 1;
/// rc: `out` holds `{"ok":…}`.
pub const RC_OK: i32 = 0;
/// rc: `out` holds `{"error":…}`.
pub const RC_ERROR: i32 = 1;
/// rc: ABI misuse; `out` untouched.
pub const RC_MISUSE: i32 = -1;
/// rc: the plugin panicked (caught).
pub const RC_PANIC: i32 = -2;

/// A plugin-allocated buffer, returned to the plugin's `vsync_dest_free` exactly once.
#[repr(C)]
#[derive(Debug)]
pub struct VsyncBuf {
    /// Start.
    pub ptr: *mut u8,
    /// Bytes used.
    pub len: usize,
    /// Allocation size.
    pub cap: usize,
}

impl VsyncBuf {
    /// The empty buffer (nothing to free).
    pub const fn empty() -> Self {
        Self {
            ptr: std::ptr::null_mut(),
            len: 0,
            cap: 0,
        }
    }
}

/// `vsync_dest_abi_version`.
pub type AbiVersionFn = unsafe extern "C" fn() -> u32;
/// `vsync_dest_manifest`.
pub type ManifestFn = unsafe extern "C" fn() -> *const c_char;
/// `vsync_dest_call`.
pub type CallFn = unsafe extern "C" fn(*const u8, usize, *mut VsyncBuf) -> i32;
/// `vsync_dest_free`.
pub type FreeFn = unsafe extern "C" fn(VsyncBuf);
/// `vsync_dest_cancel`.
pub type CancelFn = unsafe extern "C" fn(u64);

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

impl From<&ApplyReport> for WireReport {
    fn from(r: &ApplyReport) -> Self {
        Self {
            outcomes: r
                .outcomes
                .iter()
                .map(|(n, o)| {
                    let w = match o {
                        ItemOutcome::Ok(op) => WireOutcome::Ok(*op),
                        ItemOutcome::Failed(e) => WireOutcome::Failed(e.into()),
                        ItemOutcome::NotAttempted => WireOutcome::NotAttempted,
                    };
                    (n.clone(), w)
                })
                .collect(),
        }
    }
}

impl From<WireReport> for ApplyReport {
    fn from(r: WireReport) -> Self {
        Self {
            outcomes: r
                .outcomes
                .into_iter()
                .map(|(n, o)| {
                    let o = match o {
                        WireOutcome::Ok(op) => ItemOutcome::Ok(op),
                        WireOutcome::Failed(e) => ItemOutcome::Failed(e.into()),
                        WireOutcome::NotAttempted => ItemOutcome::NotAttempted,
                    };
                    (n, o)
                })
                .collect(),
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

fn de<T: for<'a> Deserialize<'a>>(v: serde_json::Value) -> Result<T, DestError> {
    serde_json::from_value(v).map_err(|e| DestError::internal(format!("bad payload: {e}")))
}

fn ok<T: Serialize>(v: T) -> Result<serde_json::Value, DestError> {
    serde_json::to_value(v).map_err(|e| DestError::internal(format!("cannot encode reply: {e}")))
}

/// Plugin side: answer one request with a destination. Used by [`export_destination!`];
/// public so a plugin can be tested without the C layer.
pub async fn dispatch(
    dest: &dyn Destination,
    req: Request,
) -> Result<serde_json::Value, DestError> {
    let mut ctx = Ctx::new(req.env.clone(), req.repo.clone());
    ctx.deadline = None;
    let routing = &req.routing;
    match req.op {
        Op::ResolveRouting => {
            let p: ResolvePayload = de(req.payload)?;
            let r = dest.resolve_routing(p.stored.as_ref(), &p.opts)?;
            ok(ResolveResult {
                routing: r.routing,
                persist: r.persist,
            })
        }
        Op::Capabilities => ok(dest.capabilities(routing)),
        Op::MapNames => {
            let p: NamesPayload = de(req.payload)?;
            let out: Vec<MappedName> = p
                .names
                .into_iter()
                .map(|k| match dest.map_name(routing, &k) {
                    Ok(n) => MappedName {
                        key: k,
                        name: Some(n.0),
                        error: None,
                    },
                    Err(e) => MappedName {
                        key: k,
                        name: None,
                        error: Some((&e).into()),
                    },
                })
                .collect();
            ok(out)
        }
        Op::Preflight => {
            dest.preflight(routing, &ctx).await?;
            ok(())
        }
        Op::List => ok(dest.list(routing, &ctx).await?),
        Op::ReadValues => {
            let p: NamesPayload = de(req.payload)?;
            let names: Vec<RemoteName> = p.names.into_iter().map(RemoteName).collect();
            let got = dest.read_values(routing, &names, &ctx).await?;
            ok(got.map(|m| {
                m.iter()
                    .map(|(n, v)| WireItem::encode(&n.0, v))
                    .collect::<Vec<_>>()
            }))
        }
        Op::Plan => {
            let p: PlanPayload = de(req.payload)?;
            let items = decode_items(p.items)?;
            ok(dest.plan(routing, &items, &p.opts, &ctx).await?)
        }
        Op::ApplyOne => {
            let p: ApplyOnePayload = de(req.payload)?;
            let item = p.item.map(WireItem::into_item).transpose()?;
            ok(dest
                .apply_one(routing, &p.change, item.as_ref(), &ctx)
                .await?)
        }
        Op::ApplyBulk => {
            let p: ApplyBulkPayload = de(req.payload)?;
            let items = decode_items(p.items)?;
            let r = dest.apply_bulk(routing, &p.plan, &items, &ctx).await?;
            ok(WireReport::from(&r))
        }
        Op::DeleteOne => {
            let p: NamesPayload = de(req.payload)?;
            let name = p
                .names
                .into_iter()
                .next()
                .ok_or_else(|| DestError::internal("delete_one without a name"))?;
            dest.delete_one(routing, &RemoteName(name), &ctx).await?;
            ok(())
        }
        Op::Unknown => Err(DestError::unsupported("unknown op")),
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

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("plugin runtime")
    })
}

fn into_buf(mut v: Vec<u8>) -> VsyncBuf {
    v.shrink_to_fit();
    let mut v = std::mem::ManuallyDrop::new(v);
    VsyncBuf {
        ptr: v.as_mut_ptr(),
        len: v.len(),
        cap: v.capacity(),
    }
}

/// Plugin side of `vsync_dest_manifest`: a process-lifetime NUL-terminated JSON string.
#[doc(hidden)]
pub fn __manifest(dest: &dyn Destination, version: &str) -> *const c_char {
    static M: OnceLock<CString> = OnceLock::new();
    M.get_or_init(|| {
        let json = serde_json::to_string(&manifest_of(dest, version)).unwrap_or_default();
        CString::new(json).unwrap_or_default()
    })
    .as_ptr()
}

/// Plugin side of `vsync_dest_call`.
///
/// # Safety
/// `req` must point to `req_len` readable bytes for the duration of the call, and `out` to a
/// writable `VsyncBuf`.
#[doc(hidden)]
pub unsafe fn __call(
    dest: &dyn Destination,
    req: *const u8,
    req_len: usize,
    out: *mut VsyncBuf,
) -> i32 {
    if out.is_null() || (req.is_null() && req_len > 0) {
        return RC_MISUSE;
    }
    // SAFETY: the caller guarantees `req` is valid for `req_len` bytes during this call; we
    // copy out of it before returning.
    let bytes: &[u8] = if req_len == 0 {
        &[]
    } else {
        unsafe { std::slice::from_raw_parts(req, req_len) }
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let reply = match serde_json::from_slice::<Request>(bytes) {
            Ok(r) => runtime().block_on(dispatch(dest, r)),
            Err(e) => Err(DestError::internal(format!("bad request: {e}"))),
        };
        match reply {
            Ok(v) => (RC_OK, serde_json::to_vec(&serde_json::json!({ "ok": v }))),
            Err(e) => (
                RC_ERROR,
                serde_json::to_vec(&serde_json::json!({ "error": WireError::from(&e) })),
            ),
        }
    }));
    match result {
        Ok((rc, Ok(v))) => {
            // SAFETY: `out` was checked non-null; the caller guarantees it is writable.
            unsafe { out.write(into_buf(v)) };
            rc
        }
        Ok((_, Err(_))) => RC_PANIC,
        Err(_) => RC_PANIC,
    }
}

/// Plugin side of `vsync_dest_free`: zeroize and release a buffer made by `__call`.
///
/// # Safety
/// `buf` must come from `__call` of this same library and be freed only once.
#[doc(hidden)]
pub unsafe fn __free(buf: VsyncBuf) {
    if buf.ptr.is_null() {
        return;
    }
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: ptr/len/cap are exactly what `into_buf` produced from a Vec<u8> in this
        // library's allocator, and the host hands each buffer back once.
        let mut v = unsafe { Vec::from_raw_parts(buf.ptr, buf.len, buf.cap) };
        v.zeroize();
    });
}

/// Export a [`Destination`] as a vsync plugin: generates the five `extern "C"` symbols of
/// docs/sync-contract.md §15.8. `$ctor` is an expression building the destination (evaluated once).
///
/// ```ignore
/// vsync_dest_api::export_destination!(MyDest, MyDest::default());
/// ```
#[macro_export]
macro_rules! export_destination {
    ($ty:ty, $ctor:expr) => {
        fn __vsync_dest_instance() -> &'static $ty {
            static D: ::std::sync::OnceLock<$ty> = ::std::sync::OnceLock::new();
            D.get_or_init(|| $ctor)
        }

        /// ABI version (checked first by the host).
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn vsync_dest_abi_version() -> u32 {
            $crate::abi::VSYNC_DEST_ABI_VERSION
        }

        /// Static manifest JSON.
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn vsync_dest_manifest() -> *const ::std::ffi::c_char {
            match ::std::panic::catch_unwind(|| {
                $crate::abi::__manifest(__vsync_dest_instance(), env!("CARGO_PKG_VERSION"))
            }) {
                Ok(p) => p,
                Err(_) => ::std::ptr::null(),
            }
        }

        /// One JSON call.
        ///
        /// # Safety
        /// See the ABI: `req` valid for `req_len` bytes, `out` writable.
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn vsync_dest_call(
            req: *const u8,
            req_len: usize,
            out: *mut $crate::abi::VsyncBuf,
        ) -> i32 {
            let d = match ::std::panic::catch_unwind(__vsync_dest_instance) {
                Ok(d) => d,
                Err(_) => return $crate::abi::RC_PANIC,
            };
            // SAFETY: forwarded caller contract.
            unsafe { $crate::abi::__call(d, req, req_len, out) }
        }

        /// Free a buffer returned by `vsync_dest_call`.
        ///
        /// # Safety
        /// Only buffers from this library, once each.
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn vsync_dest_free(buf: $crate::abi::VsyncBuf) {
            // SAFETY: forwarded caller contract.
            unsafe { $crate::abi::__free(buf) }
        }

        /// Best-effort cancellation (calls are short; nothing to do).
        #[allow(unsafe_code)]
        #[unsafe(no_mangle)]
        pub extern "C" fn vsync_dest_cancel(_call_id: u64) {}
    };
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
