//! `dockd status`: what the dock has stored, per wearable, plus the certificate fingerprint, GPS,
//! dock power, the pseudonym key in use (its source and public id) and the upload queue, read through a read-only `Reader` (works while the daemon runs). It must never print
//! a badge tag or a display name.

use std::process::ExitCode;

use dockd::config::Config;
use dockd::store::Reader;

/// The page's certificate fingerprint for `dockd status`: `None` without TLS or before the
/// daemon made its certificate.
fn certificate_fingerprint(config: &Config) -> Option<String> {
    let path = dockd::web_tls::certificate_path(config)?;
    if !path.exists() {
        return None;
    }
    match dockd::web_tls::file_fingerprint(&path) {
        Ok(fingerprint) => Some(fingerprint),
        Err(error) => {
            eprintln!("warning: {error}");
            None
        }
    }
}

pub(super) fn status(config: &Config, json: bool) -> anyhow::Result<ExitCode> {
    let reader = Reader::open(&config.existing_database()?)?;
    let wearables = reader.wearable_totals()?;
    let fingerprint = certificate_fingerprint(config);
    // The dock's own diagnostics, from their own tables (never joined with the wearables').
    let latest = reader.latest_gps_fix(false)?;
    let fix = reader.latest_gps_fix(true)?;
    let gps = serde_json::json!({
        "mode": latest.as_ref().map(|f| f.mode),
        "lat": fix.as_ref().and_then(|f| f.lat),
        "lon": fix.as_ref().and_then(|f| f.lon),
        "alt_m": fix.as_ref().and_then(|f| f.alt_m),
        "satellites_used": latest.as_ref().and_then(|f| f.satellites_used),
        "last_fix_ms": fix.as_ref().map(|f| f.at_ms),
    });
    let power = reader.dock_power(0, 1)?.pop();
    let dock_power = power
        .as_ref()
        .and_then(|p| serde_json::from_str::<serde_json::Value>(&p.reading).ok())
        .map(|mut reading| {
            if let (Some(object), Some(p)) = (reading.as_object_mut(), power.as_ref()) {
                object.insert("at_ms".to_owned(), p.at_ms.into());
            }
            reading
        });
    // The key the daemon last started with, as it recorded it (never the key itself).
    let keys_used = reader.pseudonym_keys()?;
    let mut ids: Vec<&str> = Vec::new();
    for used in &keys_used {
        if !ids.contains(&used.key_id.as_str()) {
            ids.push(&used.key_id);
        }
    }
    let pseudonym_key = keys_used.last().map(|key| {
        serde_json::json!({
            "source": key.source,
            "key_id": key.key_id,
            "since_ms": key.since_ms,
            "key_ids_used": ids,
        })
    });
    // The upload queue as the daemon last recorded it (the driver persists its last error).
    let upload_status = reader.upload_status()?;
    let upload_paused = reader.upload_paused()?;
    let upload_target = config.upload.as_ref().map(|u| u.target.describe());
    if json {
        let mut upload = serde_json::to_value(&upload_status)?;
        if let Some(object) = upload.as_object_mut() {
            object.insert("configured".to_owned(), upload_target.is_some().into());
            object.insert("target".to_owned(), upload_target.clone().into());
            object.insert("paused".to_owned(), upload_paused.clone().into());
        }
        let list: Vec<_> = wearables
            .iter()
            .map(|w| {
                serde_json::json!({
                    "serial": w.serial,
                    "segments_stored": w.segments_stored,
                    "samples_stored": w.samples_stored,
                    "alerts_stored": w.alerts_stored,
                    "quarantined": w.quarantined,
                    "last_docked_ms": w.last_docked_ms,
                    "slot": w.last_slot,
                    "transport": w.last_transport,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "wearables": list,
                "web_certificate_sha256": fingerprint,
                "gps": gps,
                "dock_power": dock_power,
                "pseudonym_key": pseudonym_key,
                "upload": upload,
            })
        );
    } else {
        println!(
            "{:<16} {:>5} {:>9} {:>12} {:>8} {:>11}",
            "WEARABLE", "SLOT", "SEGMENTS", "SAMPLES", "ALERTS", "QUARANTINED"
        );
        for w in &wearables {
            println!(
                "{:<16} {:>5} {:>9} {:>12} {:>8} {:>11}",
                w.serial,
                w.last_slot.map_or("-".to_owned(), |s| s.to_string()),
                w.segments_stored,
                w.samples_stored,
                w.alerts_stored,
                w.quarantined
            );
        }
        if wearables.is_empty() {
            println!("(no wearable has docked yet)");
        }
        match (&fingerprint, config.web.tls) {
            (Some(fingerprint), _) => println!("\nWeb certificate SHA-256: {fingerprint}"),
            (None, true) => {
                println!("\nWeb certificate: not made yet (the daemon makes it at start)")
            }
            (None, false) => println!("\nWeb page: plain HTTP (web.tls = false)"),
        }
        match (&latest, &fix) {
            (None, _) => println!("GPS: no record (no [gps] gpsd, or no report yet)"),
            (Some(latest), Some(fix)) => println!(
                "GPS: mode {} ({} satellites used); last fix {:.6}, {:.6}",
                latest.mode,
                latest
                    .satellites_used
                    .map_or("?".to_owned(), |n| n.to_string()),
                fix.lat.unwrap_or(f64::NAN),
                fix.lon.unwrap_or(f64::NAN)
            ),
            (Some(latest), None) => println!("GPS: mode {}, no fix recorded yet", latest.mode),
        }
        match dock_power.as_ref().and_then(|p| p["summary"].as_str()) {
            Some(summary) => println!("Dock power: {summary}"),
            None => println!("Dock power: no reading yet"),
        }
        match keys_used.last() {
            Some(key) => println!(
                "Pseudonym key: {}, id {}{}",
                match key.source.as_str() {
                    "site" => "the site's key ([privacy] site_key_file)",
                    _ => "this dock's own key (pseudonym.key in the data folder)",
                },
                key.key_id,
                match ids.len() {
                    1 => String::new(),
                    n => format!(" ({n} keys used so far: {})", ids.join(", ")),
                }
            ),
            None => println!("Pseudonym key: not recorded yet (the daemon records it at start)"),
        }
        match &upload_target {
            None => println!("Cloud upload: not configured (no [upload] section)"),
            Some(target) => {
                let s = &upload_status;
                println!(
                    "Cloud upload: {target}; {} items ({} bytes) queued, {} dead letters{}",
                    s.queued_items,
                    s.queued_bytes,
                    s.dead_letters,
                    s.last_success_ms
                        .map_or(", nothing delivered yet".to_owned(), |ms| format!(
                            ", last success at {ms} (Unix ms)"
                        ))
                );
                if let Some(reason) = &upload_paused {
                    println!("Cloud upload is paused: {reason}");
                } else if let Some(error) = &s.last_error {
                    println!("Cloud upload's last error: {error}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
