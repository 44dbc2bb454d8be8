//! The sync engine: registry of destinations, planning, bounded/limited/retried apply,
//! receipts. `commands::sync` drives it and prints.

pub mod engine;
pub mod plan_file;
pub mod policy;
pub mod progress;
pub mod provenance;
pub mod receipt;
pub mod registry;
pub mod retry;
