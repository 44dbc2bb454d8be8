//! Opening against an in-memory bucket: the read chain, the fallback chain, assets, errors and
//! redaction.

#[path = "../common/mod.rs"]
mod common;

mod bootstrap;
mod handle;
mod integrity;
mod reads;

use std::sync::Arc;

use common::*;
use vsync_runtime::{Error, MemoryFetcher, Vault};

pub(crate) async fn open(fetcher: Arc<MemoryFetcher>) -> Result<Vault, Error> {
    Vault::open_with_fetcher(&blob(), PASSPHRASE, fetcher).await
}

pub(crate) async fn open_err(fetcher: Arc<MemoryFetcher>) -> Error {
    match open(fetcher).await {
        Ok(v) => panic!("expected an error, opened {v}"),
        Err(e) => e,
    }
}

pub(crate) fn object_key(ts: &str) -> String {
    format!("{PREFIX}versions/{ts}.enc")
}

pub(crate) fn sealed(ts: &str) -> Vec<u8> {
    vsync_crypto::bundle::seal(&key(), ts, &standard_zip()).unwrap()
}
