//! Test support shared by vsync's crates and the cross-crate tests.

pub mod conformance;
pub mod fakes;
pub mod services;
pub mod vectors;
