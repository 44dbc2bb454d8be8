// Printing is allowed here: the harness says on the console what it skipped and why.
#![allow(unreachable_pub, clippy::print_stdout, clippy::print_stderr)]
//! End-to-end tests of the `vsync` binary: real keychain (run under scripts/with-keychain),
//! real `file://`, S3, GCS (fake) and Azure (Azurite) buckets, throwaway HOME and git checkout per test.

mod harness;

mod audit_chain;
mod ci_logs;
mod daily;
mod hostile;
mod interop;
mod keychain_items;
mod keyless_inputs;
mod limits;
mod plugin_crash;
mod plugin_kit;
mod provenance;
mod pull_backups;
mod push_guards;
mod rollback_floor;
mod rotate;
mod run_signals;
mod s3;
mod stores;
mod sync;
mod sync_azure;
mod sync_fanout;
mod sync_gcp;
mod teams;
mod upstream_flags;
mod vault_folder;
