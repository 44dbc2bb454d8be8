//! vsync's wire formats and key derivation. Pure and synchronous: no I/O, no async.
#![forbid(unsafe_code)]
