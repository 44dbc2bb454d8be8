//! `audit.csv` (docs/formats.md §12): the row, CSV quoting, the `meta` cell, a tolerant reader, and the
//! append protocol with ETag-conditional writes and retries; the chain that makes edits visible
//! (docs/audit-chain.md).

mod append;
mod chain;
mod csv_codec;
mod meta;
mod verify;

pub use append::{AppendOutcome, append, append_chained, appended_body, read};
pub use chain::{
    CHAIN_COLUMN, CHAIN_LABEL, ChainCell, ChainKey, HEAD_TAG, SealedHead, canonical, chain_row,
    tail,
};
pub use csv_codec::{AuditRow, csv_field, header_columns, parse_audit, parse_csv};
pub use meta::{MetaBuilder, MetaUsageError, MetaWarning, js_stringify};
pub use verify::{ChainWalk, Finding, RowCheck, RowNo, check_head, walk};

/// The header row, exactly (without the newline).
pub const HEADER: &str =
    "ts,action,version_ts,hostname,local_ip,os_user,git_email,vsync_version,bun_version,meta";

/// The column names in order.
pub const COLUMNS: [&str; 10] = [
    "ts",
    "action",
    "version_ts",
    "hostname",
    "local_ip",
    "os_user",
    "git_email",
    "vsync_version",
    "bun_version",
    "meta",
];

/// Maximum UTF-8 length of the meta cell before it is replaced by `{"_truncated":true}`.
pub const META_CAP: usize = 2048;

/// The cell written when the meta JSON exceeds [`META_CAP`].
pub const META_TRUNCATED: &str = r#"{"_truncated":true}"#;

/// How many times the append protocol tries (docs/formats.md §12.4).
pub const APPEND_ATTEMPTS: u32 = 3;
