//! Atomic, private file writes (temp file, fsync, rename; files 0600, folders 0700). The one
//! implementation is [`vsync_vault::fsutil`], shared with the ledger and the high-water file.

pub use vsync_vault::fsutil::{
    FsError, ensure_private_dir, read_optional, set_mode, write_atomic, write_private,
};
