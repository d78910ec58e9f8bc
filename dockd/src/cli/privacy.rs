//! `dockd privacy verify` (the audit trail's hash chain: where it breaks), `dockd privacy
//! report` (the data inventory and the controls' state) and `dockd purge --now`: asked of the
//! running daemon through its control socket, or run on the database when none runs. It renders
//! their answers; verify and report must never write to the database or repair a break.

use std::process::ExitCode;

use dockd::config::Config;
use dockd::control::commands::ChainState;
use dockd::control::protocol::Command;
use dockd::store::purge::Purged;
use serde_json::Value;

/// Prints the chain's state; exits 1 when it is broken or not chained yet.
pub(super) fn privacy_verify(config: &Config) -> anyhow::Result<ExitCode> {
    let report: ChainState = serde_json::from_value(super::ask(config, Command::PrivacyVerify)?)?;
    match (&report.problem, &report.head) {
        (None, Some((id, link))) => {
            println!(
                "The audit trail is intact: {} entries, each linked to the one before, up to entry {id} (link {}).",
                report.entries,
                link.get(..16).unwrap_or(link)
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
    let purged: Purged = serde_json::from_value(super::ask(config, Command::PurgeNow)?)?;
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
    let report = super::ask(config, Command::PrivacyReport)?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let text = |value: &Value| value.as_str().unwrap_or_default().to_owned();
    if report["encryption_at_rest"].as_bool() == Some(true) {
        println!("Encryption at rest: on ({}).", text(&report["encryption"]));
        println!(
            "Database key: {} (kept outside the data folder; never shown).",
            text(&report["database_key_file"])
        );
    } else {
        println!("Encryption at rest: off.");
    }
    println!(
        "Pseudonym key: the {}'s, {}.",
        text(&report["pseudonym_key_source"]),
        text(&report["pseudonym_key_file"])
    );
    println!(
        "Last purge: {}.",
        report["last_purge_ms"]
            .as_i64()
            .map_or("never".to_owned(), |ms| ms.to_string())
    );
    println!("Audit chain: {}", text(&report["audit_chain"]));
    println!(
        "Upload: {}.",
        if report["upload_configured"].as_bool() == Some(true) {
            "configured; the tables below marked \"leaves\" are sent as those record kinds"
        } else {
            "not configured; nothing leaves the dock"
        }
    );
    println!();
    let none = Vec::new();
    for row in report["inventory"].as_array().unwrap_or(&none) {
        let leaves = if row["leaves_dock"].as_bool() == Some(true) {
            let kinds: Vec<&str> = row["record_kinds"]
                .as_array()
                .unwrap_or(&none)
                .iter()
                .filter_map(Value::as_str)
                .collect();
            format!("leaves as {}", kinds.join(", "))
        } else {
            "stays on the dock".to_owned()
        };
        println!(
            "{:<18} {:<17} {:<14} {leaves}\n{:<18} {}",
            text(&row["table"]),
            text(&row["class"]),
            retention(&row["retention"]),
            "",
            text(&row["holds"])
        );
    }
    let unclassified: Vec<&str> = report["unclassified_tables"]
        .as_array()
        .unwrap_or(&none)
        .iter()
        .filter_map(Value::as_str)
        .collect();
    if !unclassified.is_empty() {
        println!(
            "\nNot classified by this build's inventory: {}.",
            unclassified.join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A table's retention rule (`dockd::privacy::Retention` as JSON, tagged by `rule`) in words.
fn retention(rule: &Value) -> String {
    let field = |name: &str| match &rule[name] {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    match rule["rule"].as_str().unwrap_or_default() {
        "until_deleted" => "until deleted".to_owned(),
        "kept" => "kept".to_owned(),
        "until_uploaded" => "until uploaded".to_owned(),
        "days" => format!("{} d after {}", field("days"), field("after")),
        "configured" => format!("retention_days.{}", field("key")),
        "current" => "current only".to_owned(),
        "until_badge_reused" => "until the badge is on the roster again".to_owned(),
        other => other.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dockd::privacy::Retention;

    #[test]
    fn every_retention_rule_reads_in_words_from_its_json() {
        for (rule, words) in [
            (Retention::UntilDeleted, "until deleted"),
            (Retention::Kept, "kept"),
            (Retention::UntilUploaded, "until uploaded"),
            (
                Retention::UntilBadgeReused,
                "until the badge is on the roster again",
            ),
            (
                Retention::Days {
                    days: 90,
                    after: "their shift ended",
                },
                "90 d after their shift ended",
            ),
            (
                Retention::Configured {
                    key: "samples",
                    after: "x",
                },
                "retention_days.samples",
            ),
            (Retention::Current, "current only"),
        ] {
            assert_eq!(retention(&serde_json::to_value(rule).unwrap()), words);
        }
    }
}
