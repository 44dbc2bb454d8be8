//! Open the vault from the environment and print where each key comes from, never a value.
//!
//! ```sh
//! export VSYNC_CONFIG="$(vsync runtime-token --env dev)"
//! export VSYNC_PASSPHRASE_FILE=/run/secrets/vsync-passphrase   # from `vsync key show dev --out …`
//! cargo run -p vsync-runtime --example print_sources -- EXTRA_KEY_TO_CHECK …
//! ```
//!
//! Keys named on the command line are checked too, so you can see which ones fall through to
//! the process environment or are missing.

// Printing is allowed here: an example prints what it found.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let vault = match vsync_runtime::Vault::open_blocking() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("print_sources: {e} [{}]", e.class());
            return ExitCode::FAILURE;
        }
    };
    println!(
        "{vault}: version {}, {} keys, {} assets",
        vault.bundle_ts(),
        vault.keys().len(),
        vault.asset_names().len()
    );
    let mut names: Vec<String> = vault.keys().map(str::to_owned).collect();
    for extra in std::env::args().skip(1) {
        if !names.contains(&extra) {
            names.push(extra);
        }
    }
    for name in &names {
        println!("{name}\t{}", vault.source(name));
    }
    for asset in vault.asset_names() {
        println!("{asset}\tasset");
    }
    ExitCode::SUCCESS
}
