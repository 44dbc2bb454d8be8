//! The contract between the vsync sync engine and its destinations.
//! The `Destination` trait and the plugin ABI arrive with the fan-out issue.

/// The plugin ABI version this host speaks. Plugins must export a matching `vsync_dest_abi_version`.
pub const ABI_VERSION: u32 = 1;
