//! What the child of `vsync run` inherits. vsync's own credentials stay with vsync: the child
//! gets the vault's keys, not the means to open the vault.

/// Variables that carry vsync credentials (keyless mode's key and bootstrap blob, and the files
/// naming them). Removed from the inherited environment before the vault's keys are added, so a
/// vault that deliberately holds one of these names still passes it on.
pub const CREDENTIAL_VARS: &[&str] = &[
    "VSYNC_PASSPHRASE",
    "VSYNC_PASSPHRASE_FILE",
    "VSYNC_CONFIG",
    "VSYNC_CONFIG_FILE",
];

/// Remove every credential variable from what `cmd` inherits.
pub fn strip_credentials(cmd: &mut tokio::process::Command) {
    for name in CREDENTIAL_VARS {
        cmd.env_remove(name);
    }
}
