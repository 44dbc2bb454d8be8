//! Test support shared by vsync's crates and the cross-crate tests.

// Printing is allowed here: test support: says on stderr when a test skips itself for want of a server.
#![allow(clippy::print_stdout, clippy::print_stderr)]

pub mod conformance;
pub mod fakes;
pub mod services;
pub mod source;
pub mod vectors;
