//! One module per verb.

pub mod audit;
pub mod audit_verify;
pub mod ci;
pub mod diff;
pub mod doctor;
pub mod init;
pub mod key;
pub mod keystore;
pub mod plugin_check;
pub mod plugins;
pub mod profile;
pub mod pull;
pub mod push;
pub mod releases;
pub mod restore_backup;
pub mod rollback;
pub mod rotate;
pub mod run_cmd;
pub mod runtime_token;
pub mod share;
pub mod status;
pub mod sync;
pub mod use_env;
pub mod versions;
pub mod why;
