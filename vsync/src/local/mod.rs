//! Local state on this machine: the config tree under `<base>` (docs/formats.md §9), written atomically
//! with 0600 files in 0700 folders.

pub mod backups;
pub mod config;
pub mod fsutil;
pub mod paths;
pub mod profile;
