//! Provenance: which secret versions shipped with which release (docs/provenance.md).
//!
//! Every writing `vsync sync` records one sealed [`entry::Entry`] in the bucket ([`store`]):
//! who, from which commit/tag and CI run, which bundle, and per target the keys it holds with
//! keyed fingerprints. [`query`] answers `vsync releases` and `vsync why`; [`attest`] writes the
//! in-toto Statement of `sync --attest`; [`origin`] reads the checkout's commit and tag.

pub mod attest;
pub mod entry;
pub mod origin;
pub mod query;
pub mod store;
