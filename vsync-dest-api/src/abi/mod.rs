//! The C ABI between the vsync host and a cdylib destination plugin (docs/sync-contract.md
//! §15.8), in four parts:
//!
//! - `wire`: the JSON that crosses the boundary (manifest, requests, replies, values);
//! - `dispatch`: the plugin side, answering one request with a [`Destination`](crate::Destination);
//! - `ffi`: the raw buffers and the [`export_destination!`](crate::export_destination) symbols —
//!   the only module of this crate allowed `unsafe`;
//! - [`frame`] and [`reply`]: the host side, reading what a plugin child sends back.

mod dispatch;
#[allow(unsafe_code)]
mod ffi;
pub mod frame;
pub mod reply;
mod wire;

pub use dispatch::dispatch;
#[doc(hidden)]
pub use ffi::{__call, __free, __manifest};
pub use ffi::{AbiVersionFn, CallFn, CancelFn, FreeFn, ManifestFn, VsyncBuf};
pub use wire::*;

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
