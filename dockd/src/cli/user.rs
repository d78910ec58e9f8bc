//! `dockd user add`: creates or replaces a page user from a password on stdin, asked of the
//! running daemon through its control socket, or saved in the database when none runs; it must
//! never print or log the password.

use std::process::ExitCode;

use anyhow::Context;
use dockd::config::Config;
use dockd::control::commands::UserSaved;
use dockd::control::protocol::{Command, Password};
use web_ui::access::Role;

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
    let command = Command::UserAdd {
        name: name.to_owned(),
        role: role.as_str().to_owned(),
        password: Password::new(password),
        enable,
    };
    let saved: UserSaved = serde_json::from_value(super::ask(config, command)?)?;
    println!(
        "User `{}` ({}) saved in {}.",
        saved.name, saved.role, saved.database
    );
    Ok(ExitCode::SUCCESS)
}
