#![allow(unreachable_pub)]
//! End-to-end tests of the `vsync` binary: real keychain (run under scripts/with-keychain),
//! real `file://` and S3 buckets, throwaway HOME and git checkout per test.

mod harness;

mod daily;
mod hostile;
mod interop;
mod rotate;
mod s3;
mod sync;
mod sync_fanout;
mod teams;
