//! `dockd user add`: creates or replaces a page user from a password on stdin; it must never print
//! or log the password.

use std::process::ExitCode;

use anyhow::Context;
use dockd::clock::{Clock, SystemClock};
use dockd::config::Config;
use web_ui::access::Role;

use super::runtime;

/// `dockd user add`: the password comes from stdin's first line, so it is never in the shell's
/// history or the process list; nothing secret is printed.
pub(super) fn user_add(
    config: &Config,
    name: &str,
    role: Role,
    enable: bool,
) -> anyhow::Result<ExitCode> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let password = line.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(
        !password.is_empty(),
        "no password on standard input: pipe it in, e.g. `dockd user add {name} --role {} --config FILE < password.txt`",
        role.as_str()
    );
    let user = dockd::accounts::new_user(name, role, password, SystemClock.now_ms())?;
    let db_path = config.database_path();
    // Before the first start too (to set the first admin): the key is made here if it must be.
    runtime()?.block_on(dockd::accounts::user_add(&config.database()?, user, enable))?;
    println!(
        "User `{name}` ({}) saved in {}.",
        role.as_str(),
        db_path.display()
    );
    Ok(ExitCode::SUCCESS)
}
