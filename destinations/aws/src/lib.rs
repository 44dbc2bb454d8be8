//! The `aws` destination for `vsync sync`. Not implemented yet: the fan-out issue fills it.

/// The id users pass to `vsync sync --to`.
pub const ID: &str = "aws";
