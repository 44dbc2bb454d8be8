//! The `vsync` binary: everything lives in the library so tests can drive it too.
use std::process::ExitCode;

fn main() -> ExitCode {
    vsync::main(std::env::args_os())
}
