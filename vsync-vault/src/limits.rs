//! How big a bundle may be. One definition, used by the writer (`push` refuses a vault over a
//! limit before anything is uploaded) and by every reader (the zip-bomb guard of
//! [`crate::zip_bundle::ZipLimits`]), so a push can never produce a bundle that pull, run and
//! diff then refuse.

use crate::error::{Result, VaultError};

/// Most entries a bundle may hold, directories (the vault folder itself included) counted.
pub const MAX_ENTRIES: usize = 10_000;

/// Most bytes all files of a bundle may hold together, uncompressed.
pub const MAX_TOTAL_BYTES: u64 = 256 * 1024 * 1024;

/// Counts a vault as it is zipped and stops at the first entry that passes a limit.
#[derive(Debug)]
pub(crate) struct Budget {
    entries: usize,
    bytes: u64,
    max_entries: usize,
    max_bytes: u64,
}

impl Budget {
    /// A budget with the shared limits.
    pub(crate) fn new() -> Self {
        Self::with(MAX_ENTRIES, MAX_TOTAL_BYTES)
    }

    /// A budget with other limits (tests).
    pub(crate) fn with(max_entries: usize, max_bytes: u64) -> Self {
        Self {
            entries: 0,
            bytes: 0,
            max_entries,
            max_bytes,
        }
    }

    /// Count one entry named `path` holding `bytes` bytes (0 for a folder).
    pub(crate) fn add(&mut self, path: &str, bytes: u64) -> Result<()> {
        self.entries += 1;
        if self.entries > self.max_entries {
            return Err(too_big(path, "entries", self.max_entries as u64));
        }
        self.bytes = self.bytes.saturating_add(bytes);
        if self.bytes > self.max_bytes {
            return Err(too_big(path, "bytes", self.max_bytes));
        }
        Ok(())
    }
}

fn too_big(path: &str, what: &'static str, limit: u64) -> VaultError {
    VaultError::VaultTooBig {
        path: crate::display::escape_short(path),
        what,
        limit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_entry_that_passes() {
        let mut b = Budget::with(3, 100);
        b.add("dev", 0).unwrap();
        b.add("dev/a", 60).unwrap();
        match b.add("dev/big", 41).unwrap_err() {
            VaultError::VaultTooBig { path, what, limit } => {
                assert_eq!((path.as_str(), what, limit), ("dev/big", "bytes", 100));
            }
            e => panic!("{e}"),
        }
        let mut b = Budget::with(2, 100);
        b.add("a", 0).unwrap();
        b.add("b", 0).unwrap();
        let e = b.add("c", 0).unwrap_err();
        assert!(
            e.to_string().contains("`c`") && e.to_string().contains("2 entries"),
            "{e}"
        );
        assert_eq!(e.category(), crate::Category::Usage);
    }
}
