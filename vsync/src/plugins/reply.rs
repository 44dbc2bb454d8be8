//! The host's reading of what a plugin said (manifest, replies): defined in vsync-dest-api beside
//! the wire types (so `fuzz/` reaches the parser without the CLI), used from here.

pub use vsync_dest_api::abi::reply::*;
