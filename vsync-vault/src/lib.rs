//! What a vault is, shared by the CLI and the runtime so both read the same bytes.
#![forbid(unsafe_code)]
