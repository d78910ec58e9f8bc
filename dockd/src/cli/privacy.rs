//! `dockd privacy verify`: checks the audit trail's hash chain and says where it breaks. It reads
//! the database read-only, like `dockd status`; it must never write to it or repair a break.

use std::process::ExitCode;

use dockd::config::Config;
use dockd::store::Reader;

/// Prints the chain's state; exits 1 when it is broken or not chained yet.
pub(super) fn privacy_verify(config: &Config) -> anyhow::Result<ExitCode> {
    let reader = Reader::open(&config.database_path())?;
    let report = reader.audit_chain()?;
    match (&report.problem, &report.head) {
        (None, Some((id, link))) => {
            println!(
                "The audit trail is intact: {} entries, each linked to the one before, up to entry {id} (link {}).",
                report.entries,
                &link[..16]
            );
            match report.last_anchor {
                Some(anchored) => println!(
                    "It agrees with every anchor taken of it ({}); the newest covers entry {anchored}.",
                    report.anchors
                ),
                None => println!("No anchor has been taken yet."),
            }
            Ok(ExitCode::SUCCESS)
        }
        (None, None) => {
            println!("The audit trail is empty: nothing to verify yet.");
            Ok(ExitCode::SUCCESS)
        }
        (Some(problem), _) => {
            println!(
                "The audit trail is NOT intact ({} entries): {problem}.",
                report.entries
            );
            Ok(ExitCode::FAILURE)
        }
    }
}
