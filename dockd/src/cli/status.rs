//! `dockd status`: what the dock has stored, per wearable, plus the certificate fingerprint, GPS,
//! dock power, the pseudonym key in use (its source and public id) and the upload queue — asked of
//! the running daemon through its control socket, or read from the database when none runs
//! (`dockd::control::commands::status` builds the document either way). It must never print a
//! badge tag or a display name.

use std::process::ExitCode;

use dockd::config::Config;
use dockd::control::protocol::Command;
use serde_json::Value;

/// A JSON number or string as text (`-` for null), for the table.
fn text(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

pub(super) fn status(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let status = super::ask(config, Command::Status)?;
    if json {
        println!("{status}");
        return Ok(ExitCode::SUCCESS);
    }
    let no_list = Vec::new();
    let wearables = status["wearables"].as_array().unwrap_or(&no_list);
    println!(
        "{:<16} {:>5} {:>9} {:>12} {:>8} {:>11}",
        "WEARABLE", "SLOT", "SEGMENTS", "SAMPLES", "ALERTS", "QUARANTINED"
    );
    for w in wearables {
        println!(
            "{:<16} {:>5} {:>9} {:>12} {:>8} {:>11}",
            text(&w["serial"]),
            text(&w["slot"]),
            text(&w["segments_stored"]),
            text(&w["samples_stored"]),
            text(&w["alerts_stored"]),
            text(&w["quarantined"])
        );
    }
    if wearables.is_empty() {
        println!("(no wearable has docked yet)");
    }
    match (status["web_certificate_sha256"].as_str(), config.web.tls) {
        (Some(fingerprint), _) => println!("\nWeb certificate SHA-256: {fingerprint}"),
        (None, true) => println!("\nWeb certificate: not made yet (the daemon makes it at start)"),
        (None, false) => println!("\nWeb page: plain HTTP (web.tls = false)"),
    }
    match serde_json::from_value::<diagnostics::time_sync::ClockSync>(status["clock"].clone()) {
        Ok(clock) => println!("Clock: {}.", clock.words()),
        Err(_) => println!("Clock: unknown (the daemon did not say)"),
    }
    // `mode` comes from the latest record, `last_fix_ms` and the position from the latest fix.
    let gps = &status["gps"];
    match (gps["mode"].is_null(), gps["last_fix_ms"].is_null()) {
        (true, _) => println!("GPS: no record (no [gps] gpsd, or no report yet)"),
        (false, false) => println!(
            "GPS: mode {} ({} satellites used); last fix {:.6}, {:.6}",
            gps["mode"],
            gps["satellites_used"]
                .as_u64()
                .map_or("?".to_owned(), |n| n.to_string()),
            gps["lat"].as_f64().unwrap_or(f64::NAN),
            gps["lon"].as_f64().unwrap_or(f64::NAN)
        ),
        (false, true) => println!("GPS: mode {}, no fix recorded yet", gps["mode"]),
    }
    match status["dock_power"]["summary"].as_str() {
        Some(summary) => println!("Dock power: {summary}"),
        None => println!("Dock power: no reading yet"),
    }
    let key = &status["pseudonym_key"];
    if key.is_null() {
        println!("Pseudonym key: not recorded yet (the daemon records it at start)");
    } else {
        let ids: Vec<&str> = key["key_ids_used"]
            .as_array()
            .map(|ids| ids.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        println!(
            "Pseudonym key: {}, id {}{}",
            match key["source"].as_str() {
                Some("site") => "the site's key ([privacy] site_key_file)",
                _ => "this dock's own key (pseudonym.key in the data folder)",
            },
            text(&key["key_id"]),
            match ids.len() {
                0 | 1 => String::new(),
                n => format!(" ({n} keys used so far: {})", ids.join(", ")),
            }
        );
    }
    let upload = &status["upload"];
    match upload["target"].as_str() {
        None => println!("Cloud upload: not configured (no [upload] section)"),
        Some(target) => {
            println!(
                "Cloud upload: {target}; {} items ({} bytes) queued, {} dead letters{}",
                text(&upload["queued_items"]),
                text(&upload["queued_bytes"]),
                text(&upload["dead_letters"]),
                upload["last_success_ms"]
                    .as_i64()
                    .map_or(", nothing delivered yet".to_owned(), |ms| format!(
                        ", last success at {ms} (Unix ms)"
                    ))
            );
            if let Some(reason) = upload["paused"].as_str() {
                println!("Cloud upload is paused: {reason}");
            } else if let Some(error) = upload["last_error"].as_str() {
                println!("Cloud upload's last error: {error}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
