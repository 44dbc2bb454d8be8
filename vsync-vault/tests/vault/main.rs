//! Integration tests of vsync-vault: one binary, one module per area.
//!
//! S3 tests use `VSYNC_TEST_S3_*` (see `scripts/test-services env`). Without them they print
//! "skipped: no S3" and pass, unless `VSYNC_TEST_SERVICES=1`, which makes a missing S3 a failure.
//! Azure tests use Azurite (`VSYNC_TEST_AZURITE_*`) the same way; GCS tests start our GCS fake
//! (tests/fakes/gcs_fake.py, needs the `.ci/venv` Python) per test.

// Printing is allowed here: a test says on the console what it skipped.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod audit_chain;
mod cloud;
mod common;
mod envfile;
mod error_classes;
mod identity;
mod no_panic;
mod remote;
mod store;
mod zip;
