//! The `dockd` binary's edge: command line, logging, signals, exit codes. It owns nothing else and
//! must never hold logic a test would need — everything it starts lives in the library.

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    bound_malloc_arenas();
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

/// glibc's malloc gives each thread that allocates under contention an arena of its own (up to 8
/// per core), and freed memory stays in them: with the pulls' conversion threads, the writer and
/// tokio's workers that was ~30 MB of peak RSS at 24 slots. Two arenas cost no measurable speed
/// (the bench ran faster). Set here, before any thread starts, so the bound holds however dockd
/// is started.
fn bound_malloc_arenas() {
    // SAFETY: `mallopt` only sets a tuning parameter of glibc's allocator; it is called before any
    // other thread exists, and `M_ARENA_MAX` with a positive value is a documented, valid setting.
    #[allow(unsafe_code)]
    let _ = unsafe { libc::mallopt(libc::M_ARENA_MAX, 2) };
}
