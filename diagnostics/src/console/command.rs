//! Parsing a console line into a command, and the command table that `help` shows. Pure.
//!
//! It must never accept an argument the renderer could not print safely: a wearable serial is a
//! short run of letters, digits and `-_.:`, and anything unknown is refused with a usage line.

/// The most log lines `log [n]` shows.
pub const MAX_LOG_LINES: usize = 1000;
/// Log lines `log` shows without a count.
pub const DEFAULT_LOG_LINES: usize = 20;
/// The longest wearable serial `wearable <serial>` accepts.
pub const MAX_SERIAL_CHARS: usize = 64;

/// A command the technician typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Help(Option<&'static CommandHelp>),
    Status,
    Slots,
    Wearable(String),
    Gps,
    Battery,
    Storage,
    Network,
    Upload,
    UploadNow,
    Update,
    UpdateNow,
    Log(usize),
    Selftest,
    Version,
    Restart,
    Exit,
}

impl Command {
    /// Whether the command changes anything and so needs the service PIN.
    pub fn is_action(&self) -> bool {
        matches!(self, Self::UploadNow | Self::UpdateNow | Self::Restart)
    }
}

/// A command and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub command: Command,
    /// `--json`: one line of JSON instead of aligned text.
    pub json: bool,
    /// `--all`: no paging.
    pub all: bool,
}

/// Why a line is not a command.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("unknown command `{0}`; type help")]
    Unknown(String),
    #[error("unknown option `{0}`; options are --json and --all")]
    UnknownOption(String),
    #[error("usage: {}", .0.usage)]
    Usage(&'static CommandHelp),
    #[error("a wearable serial is letters, digits and - _ . : (at most {MAX_SERIAL_CHARS})")]
    BadSerial,
}

impl ParseError {
    /// Whether the line asked for JSON, so the error is given as JSON too.
    pub fn wants_json(line: &str) -> bool {
        line.split_whitespace().any(|w| w == "--json")
    }
}

/// One row of `help`.
#[derive(Debug, PartialEq, Eq, serde::Serialize)]
pub struct CommandHelp {
    pub name: &'static str,
    pub usage: &'static str,
    pub summary: &'static str,
}

/// Every command, in the order `help` lists them.
pub static COMMANDS: &[CommandHelp] = &[
    CommandHelp {
        name: "help",
        usage: "help [command]",
        summary: "list the commands, or explain one",
    },
    CommandHelp {
        name: "status",
        usage: "status",
        summary: "the dock: version, uptime, web page and its certificate, problems",
    },
    CommandHelp {
        name: "slots",
        usage: "slots",
        summary: "each slot: docked wearable serial, state, battery",
    },
    CommandHelp {
        name: "wearable",
        usage: "wearable <serial>",
        summary: "one wearable: last docking, data stored, battery, flags",
    },
    CommandHelp {
        name: "gps",
        usage: "gps",
        summary: "gpsd connection, fix and position of the dock",
    },
    CommandHelp {
        name: "battery",
        usage: "battery",
        summary: "dock power, temperatures, wearables with battery flags",
    },
    CommandHelp {
        name: "storage",
        usage: "storage",
        summary: "data folder, free space, database size",
    },
    CommandHelp {
        name: "network",
        usage: "network",
        summary: "network interfaces and their addresses",
    },
    CommandHelp {
        name: "upload",
        usage: "upload [now]",
        summary: "upload state; `upload now` starts one (needs the service PIN)",
    },
    CommandHelp {
        name: "update",
        usage: "update [now]",
        summary: "self-update state; `update now` installs a newer release (needs the service PIN)",
    },
    CommandHelp {
        name: "log",
        usage: "log [n]",
        summary: "the last n log lines (default 20, at most 1000)",
    },
    CommandHelp {
        name: "selftest",
        usage: "selftest",
        summary: "run the dock's checks",
    },
    CommandHelp {
        name: "version",
        usage: "version",
        summary: "the dock software version",
    },
    CommandHelp {
        name: "restart",
        usage: "restart",
        summary: "restart the dock service (needs the service PIN)",
    },
    CommandHelp {
        name: "exit",
        usage: "exit | quit",
        summary: "end the session (the console stays available)",
    },
];

/// The help row of a command name.
pub fn help_for(name: &str) -> Option<&'static CommandHelp> {
    let name = if name == "quit" { "exit" } else { name };
    COMMANDS.iter().find(|c| c.name == name)
}

fn usage(name: &str) -> ParseError {
    match help_for(name) {
        Some(help) => ParseError::Usage(help),
        None => ParseError::Unknown(name.to_owned()),
    }
}

/// Parses a line; `Ok(None)` for an empty one.
pub fn parse(line: &str) -> Result<Option<Invocation>, ParseError> {
    let mut json = false;
    let mut all = false;
    let mut words = Vec::new();
    for word in line.split_whitespace() {
        match word {
            "--json" => json = true,
            "--all" => all = true,
            option if option.starts_with("--") => {
                return Err(ParseError::UnknownOption(shorten(option)));
            }
            word => words.push(word),
        }
    }
    let Some((&name, args)) = words.split_first() else {
        return Ok(None);
    };
    let name = name.to_ascii_lowercase();
    let command = match (name.as_str(), args) {
        ("help", []) => Command::Help(None),
        ("help", [topic]) => match help_for(&topic.to_ascii_lowercase()) {
            Some(help) => Command::Help(Some(help)),
            None => return Err(ParseError::Unknown(shorten(topic))),
        },
        ("status", []) => Command::Status,
        ("slots", []) => Command::Slots,
        ("wearable", [serial]) => Command::Wearable(parse_serial(serial)?),
        ("gps", []) => Command::Gps,
        ("battery", []) => Command::Battery,
        ("storage", []) => Command::Storage,
        ("network", []) => Command::Network,
        ("upload", []) => Command::Upload,
        ("upload", [now]) if now.eq_ignore_ascii_case("now") => Command::UploadNow,
        ("update", []) => Command::Update,
        ("update", [now]) if now.eq_ignore_ascii_case("now") => Command::UpdateNow,
        ("log", []) => Command::Log(DEFAULT_LOG_LINES),
        ("log", [n]) => match n.parse::<usize>() {
            Ok(n) if (1..=MAX_LOG_LINES).contains(&n) => Command::Log(n),
            _ => return Err(usage("log")),
        },
        ("selftest", []) => Command::Selftest,
        ("version", []) => Command::Version,
        ("restart", []) => Command::Restart,
        ("exit" | "quit", []) => Command::Exit,
        (name, _) => return Err(usage(&shorten(name))),
    };
    Ok(Some(Invocation { command, json, all }))
}

fn parse_serial(serial: &str) -> Result<String, ParseError> {
    let ok = serial.chars().count() <= MAX_SERIAL_CHARS
        && serial
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'));
    if ok {
        Ok(serial.to_owned())
    } else {
        Err(ParseError::BadSerial)
    }
}

/// Typed words echoed back in an error are cut to a readable length.
fn shorten(word: &str) -> String {
    const MAX: usize = 32;
    if word.chars().count() <= MAX {
        word.to_owned()
    } else {
        let mut short: String = word.chars().take(MAX).collect();
        short.push_str("...");
        short
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(line: &str) -> Command {
        parse(line).unwrap().unwrap().command
    }

    #[test]
    fn every_listed_command_parses() {
        assert_eq!(command("help"), Command::Help(None));
        assert_eq!(command("help slots"), Command::Help(help_for("slots")));
        assert_eq!(command("help quit"), Command::Help(help_for("exit")));
        assert_eq!(command("status"), Command::Status);
        assert_eq!(command("slots"), Command::Slots);
        assert_eq!(
            command("wearable KW-000001"),
            Command::Wearable("KW-000001".into())
        );
        assert_eq!(command("gps"), Command::Gps);
        assert_eq!(command("battery"), Command::Battery);
        assert_eq!(command("storage"), Command::Storage);
        assert_eq!(command("network"), Command::Network);
        assert_eq!(command("upload"), Command::Upload);
        assert_eq!(command("upload now"), Command::UploadNow);
        assert_eq!(command("update"), Command::Update);
        assert_eq!(command("update now"), Command::UpdateNow);
        assert_eq!(command("log"), Command::Log(DEFAULT_LOG_LINES));
        assert_eq!(command("log 100"), Command::Log(100));
        assert_eq!(command("selftest"), Command::Selftest);
        assert_eq!(command("version"), Command::Version);
        assert_eq!(command("restart"), Command::Restart);
        assert_eq!(command("exit"), Command::Exit);
        assert_eq!(command("quit"), Command::Exit);
    }

    #[test]
    fn command_names_ignore_case_and_extra_spaces() {
        assert_eq!(command("  STATUS  "), Command::Status);
        assert_eq!(command("Upload  NOW"), Command::UploadNow);
    }

    #[test]
    fn options_may_stand_anywhere() {
        let invocation = parse("--json slots --all").unwrap().unwrap();
        assert_eq!(invocation.command, Command::Slots);
        assert!(invocation.json && invocation.all);
        let invocation = parse("log --json 5").unwrap().unwrap();
        assert_eq!(invocation.command, Command::Log(5));
        assert!(invocation.json && !invocation.all);
    }

    #[test]
    fn an_empty_line_is_no_command() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("   "), Ok(None));
    }

    #[test]
    fn an_unknown_command_says_so_and_points_to_help() {
        let err = parse("reboot").unwrap_err();
        assert_eq!(err.to_string(), "unknown command `reboot`; type help");
        let err = parse(&"x".repeat(200)).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("unknown command `{}...`; type help", "x".repeat(32))
        );
    }

    #[test]
    fn wrong_arguments_give_the_usage_line() {
        assert_eq!(parse("log many").unwrap_err().to_string(), "usage: log [n]");
        assert_eq!(parse("log 0").unwrap_err(), usage("log"));
        assert_eq!(parse("log 1001").unwrap_err(), usage("log"));
        assert_eq!(parse("status now").unwrap_err(), usage("status"));
        assert_eq!(parse("upload later").unwrap_err(), usage("upload"));
        assert_eq!(parse("update later").unwrap_err(), usage("update"));
        assert_eq!(parse("wearable").unwrap_err(), usage("wearable"));
        assert_eq!(
            parse("upload now --force").unwrap_err(),
            ParseError::UnknownOption("--force".into())
        );
    }

    #[test]
    fn a_serial_with_odd_characters_is_refused() {
        assert_eq!(parse("wearable KW/../1"), Err(ParseError::BadSerial));
        assert_eq!(parse("wearable Jürgen"), Err(ParseError::BadSerial));
        assert_eq!(
            parse(&format!("wearable {}", "K".repeat(65))),
            Err(ParseError::BadSerial)
        );
    }

    #[test]
    fn only_upload_now_update_now_and_restart_are_actions() {
        let actions: Vec<_> = [
            "status",
            "slots",
            "upload",
            "upload now",
            "update",
            "update now",
            "restart",
            "log 3",
            "selftest",
        ]
        .into_iter()
        .filter(|l| command(l).is_action())
        .collect();
        assert_eq!(actions, ["upload now", "update now", "restart"]);
    }

    #[test]
    fn help_lists_every_command_the_parser_knows() {
        for help in COMMANDS {
            assert!(parse(help.name).is_ok() || help.name == "wearable");
        }
    }
}
