//! Listing objects when some names in the bucket are unusable.
//!
//! Anyone with write access to a bucket can create an object whose name holds a control
//! character. `object_store` refuses to turn such a name into a path and reports an error for
//! that one entry; letting it end the whole listing would make `vsync versions` fail for every
//! version. Those entries are skipped and reported (escaped) instead.

use futures::StreamExt;

use super::server_reply;
use crate::error::StoreError;
use crate::remote::Remote;
use crate::store::Bucket;

/// Keys under a prefix, and what had to be left out.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Usable keys, sorted byte-wise.
    pub keys: Vec<String>,
    /// Entries whose names could not be used, escaped for display.
    pub skipped: Vec<String>,
}

/// Whether a listing error concerns one entry's name (skip it) rather than the store itself.
fn bad_entry_name(e: &object_store::Error) -> Option<String> {
    match e {
        object_store::Error::InvalidPath { source } => {
            Some(crate::display::escape_short(&source.to_string()))
        }
        _ => None,
    }
}

impl Bucket {
    /// [`Bucket::list`], keeping going past entries whose names cannot be used.
    ///
    /// # Errors
    /// Any other listing failure.
    pub async fn list_report(&self, prefix: &str) -> Result<Listing, StoreError> {
        let p = if prefix.trim_matches('/').is_empty() {
            None
        } else {
            Some(self.path("list", prefix)?)
        };
        let walk = async {
            let mut out = Listing::default();
            let mut stream = self.store.list(p.as_ref());
            while let Some(item) = stream.next().await {
                match item {
                    Ok(meta) => out.keys.push(meta.location.to_string()),
                    Err(e) => match bad_entry_name(&e) {
                        Some(shown) => out.skipped.push(shown),
                        None => return Err(e),
                    },
                }
            }
            out.keys.sort();
            Ok(out)
        };
        let (res, reply) = server_reply::capture(walk).await;
        res.map_err(|e| self.map_error("list", prefix, e, reply))
    }
}

impl Remote {
    /// The version timestamps in the bucket, newest first, and the names that were skipped
    /// (unusable object names, or names in `versions/` that are not `<ts>.enc`).
    ///
    /// # Errors
    /// A listing failure.
    pub async fn list_versions_report(&self) -> Result<(Vec<String>, Vec<String>), StoreError> {
        let listing = self.bucket.list_report(&self.prefix.versions_dir()).await?;
        let mut skipped = listing.skipped;
        let mut out = Vec::new();
        for key in &listing.keys {
            match self.prefix.ts_of_version_key(key) {
                Some(ts) if crate::ts::is_bundle_ts(ts) => out.push(ts.to_owned()),
                _ => skipped.push(crate::display::escape_short(key)),
            }
        }
        out.sort_by(|a, b| b.cmp(a));
        out.dedup();
        Ok((out, skipped))
    }
}
