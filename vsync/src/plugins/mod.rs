//! Host side of destination plugins (sync.md §15.8): discovery, vetting, loading, and the
//! [`ffi::FfiDestination`] wrapper that makes a plugin look like any built-in.

pub mod discover;
pub mod ffi;
#[allow(unsafe_code)]
pub mod load;

pub use discover::{find_plugin, plugin_dirs, scan};
pub use ffi::FfiDestination;
