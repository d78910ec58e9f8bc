//! `dockd update --check | --now`: asks the running daemon's updater through its control socket
//! (it checks, installs in a slot and restarts into the new version on trial), or, with no daemon
//! running, checks — and installs into a slot the next start tries — by itself. It must never
//! replace the running binary, and never install as a user other than the data folder's owner
//! (the daemon's user could not read the slot).

use std::os::unix::fs::MetadataExt;
use std::process::ExitCode;

use dockd::clock::{Clock, SystemClock};
use dockd::config::Config;
use dockd::control::protocol::Command;
use dockd::update::manifest::Verdict;

pub(super) fn update(config: &Config, now: bool) -> anyhow::Result<ExitCode> {
    super::init_command_tracing();
    let runtime = super::runtime()?;
    runtime.block_on(async {
        if dockd::control::client::daemon_listens(config).await? {
            let command = if now {
                Command::UpdateNow
            } else {
                Command::UpdateCheck
            };
            return Ok(
                match dockd::control::client::ask_daemon(config, command).await {
                    Ok(answer) => {
                        println!("{}", answer["said"].as_str().unwrap_or_default());
                        ExitCode::SUCCESS
                    }
                    Err(error) => {
                        eprintln!("dockd update: {error}");
                        ExitCode::from(1)
                    }
                },
            );
        }
        let Some(settings) = &config.update else {
            anyhow::bail!(
                "self-update is not configured: set [update] manifest_url in the config file"
            );
        };
        let now_ms = SystemClock.now_ms();
        let checked = match dockd::update::install::check(settings, now_ms).await {
            Ok(checked) => checked,
            Err(error) => {
                eprintln!("dockd update: {error}");
                return Ok(ExitCode::from(1));
            }
        };
        let Verdict::Offer { version, .. } = &checked.verdict else {
            println!("dockd {} is up to date", dockd::version::text());
            return Ok(ExitCode::SUCCESS);
        };
        if !now {
            println!("{version} is available (running {})", dockd::version::text());
            return Ok(ExitCode::SUCCESS);
        }
        let data = &config.storage.data_dir;
        let owner = std::fs::metadata(data).map(|m| m.uid()).ok();
        if owner.is_some_and(|uid| uid != nix::unistd::geteuid().as_raw()) {
            anyhow::bail!(
                "no dockd runs, and {} belongs to another user: start dockd and ask again (it installs as its own user), or run this as that user",
                data.display()
            );
        }
        let slots = dockd::update::slots::Slots::new(data);
        match dockd::update::install::install(&slots, &checked, now_ms).await {
            Ok(version) => {
                println!(
                    "{version} installed; the next start of dockd tries it and keeps it only if it passes its health check"
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => {
                eprintln!("dockd update: {error}");
                Ok(ExitCode::from(1))
            }
        }
    })
}
