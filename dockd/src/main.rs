//! The `dockd` binary's edge: command line, logging, signals, exit codes. It owns nothing else and
//! must never hold logic a test would need — everything it starts lives in the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // Whatever dockd creates (database, WAL, keys, certificate) is its own: files 0600, folders 0700.
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o077));
    match cli::main() {
        Ok(code) => code,
        Err(error) => {
            eprintln!("dockd: {error:#}");
            ExitCode::from(1)
        }
    }
}
