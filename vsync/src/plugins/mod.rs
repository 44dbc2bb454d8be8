//! Host side of destination plugins (docs/sync-contract.md §15.8, docs/plugins.md): discovery, vetting, and
//! running each plugin in a child process of its own ([`host`] in vsync, [`child`] in the
//! re-executed `vsync __plugin-host`), behind [`PluginDestination`], which makes a plugin look
//! like any built-in destination.

pub mod child;
pub mod dest;
pub mod discover;
pub mod frame;
pub mod host;
pub mod image;
#[allow(unsafe_code)]
pub mod load;
pub mod open;
pub mod redact;
pub mod reply;
pub mod vet;

pub use dest::PluginDestination;
pub use discover::{find_plugin, plugin_dirs, scan};
