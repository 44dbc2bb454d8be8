//! The frames the host and a plugin child exchange: defined in vsync-dest-api beside the wire
//! types (so `fuzz/` reaches the parser without the CLI), used from here.

pub use vsync_dest_api::abi::frame::*;
