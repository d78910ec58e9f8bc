//! `dockd privacy verify` (the audit trail's hash chain: where it breaks) and `dockd privacy
//! report` (the data inventory and the controls' state). Both read the database read-only, like
//! `dockd status`; they must never write to it or repair a break.

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

/// `dockd purge --now`: deletes for good what is past its retention, now.
pub(super) fn purge(config: &Config) -> anyhow::Result<ExitCode> {
    use dockd::clock::Clock;
    let now = dockd::clock::SystemClock.now_ms();
    let purged = super::runtime()?.block_on(dockd::privacy::purge_database(
        &config.database_path(),
        &config.privacy.retention_days,
        now,
    ))?;
    println!("Purged for good: {purged}.");
    if purged.reports_frozen > 0 {
        println!(
            "{} shift reports whose samples or alerts are gone are kept as they are and can no longer be re-analysed.",
            purged.reports_frozen
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the data inventory under this config and the controls' state (`--json`: the documented
/// keys).
pub(super) fn privacy_report(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let reader = Reader::open(&config.database_path())?;
    let report = dockd::privacy::report(config, &reader)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "Encryption at rest: {}.",
        if report.encryption_at_rest {
            "on"
        } else {
            "off"
        }
    );
    println!(
        "Pseudonym key: the {}'s, {}.",
        report.pseudonym_key_source, report.pseudonym_key_file
    );
    println!(
        "Last purge: {}.",
        report
            .last_purge_ms
            .map_or("never".to_owned(), |ms| ms.to_string())
    );
    println!("Audit chain: {}", report.audit_chain);
    println!(
        "Upload: {}.",
        if report.upload_configured {
            "configured; the tables below marked \"leaves\" are sent as those record kinds"
        } else {
            "not configured; nothing leaves the dock"
        }
    );
    println!();
    for row in &report.inventory {
        let leaves = if row.leaves_dock {
            format!("leaves as {}", row.record_kinds.join(", "))
        } else {
            "stays on the dock".to_owned()
        };
        println!(
            "{:<18} {:<17} {:<14} {leaves}\n{:<18} {}",
            row.table,
            serde_json::to_value(row.class)?
                .as_str()
                .unwrap_or_default(),
            retention(&row.retention),
            "",
            row.holds
        );
    }
    if !report.unclassified_tables.is_empty() {
        println!(
            "\nNot classified by this build's inventory: {}.",
            report.unclassified_tables.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn retention(rule: &dockd::privacy::Retention) -> String {
    use dockd::privacy::Retention;
    match rule {
        Retention::UntilDeleted => "until deleted".to_owned(),
        Retention::Kept => "kept".to_owned(),
        Retention::UntilUploaded => "until uploaded".to_owned(),
        Retention::Days { days, after } => format!("{days} d after {after}"),
        Retention::Configured { key, .. } => format!("retention_days.{key}"),
        Retention::Current => "current only".to_owned(),
        Retention::UntilBadgeReused => "until the badge is on the roster again".to_owned(),
    }
}
