//! The default [`Fetcher`]: the bucket named in the config blob, through `vsync_vault::store`.
//! (Pending: vsync-vault's store module.)

use std::sync::Arc;

use vsync_crypto::cfg_blob::RuntimeConfig;

use crate::error::{Error, Unreachable};
use crate::fetch::Fetcher;

pub(crate) fn default_fetcher(cfg: &RuntimeConfig) -> Result<Arc<dyn Fetcher>, Error> {
    Err(Error::S3Unreachable {
        reason: Unreachable::Other,
        location: format!("bucket `{}`", cfg.bucket),
        key: "-".into(),
        detail: "this build has no bucket client yet".into(),
    })
}
