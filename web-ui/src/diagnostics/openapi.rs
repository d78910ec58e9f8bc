//! The OpenAPI 3 description of the diagnostics JSON routes, as fragments the site's
//! `/api/v1/openapi.json` merges: [`openapi_paths`] into `paths`, [`openapi_schemas`] into
//! `components.schemas`. It must list every route in `API_ROUTES` (the site's test checks), and
//! its schemas must name exactly the keys the view types serialise (a test compares them). No
//! schema here may have a worker field.

use serde_json::{Map, Value, json};

use crate::api::openapi::{
    answer, array, boolean, integer, nullable, number, object, reference, string,
};

use super::{API_ALL, API_GPS, API_POWER, API_WEARABLES, DEFAULT_DAYS, MAX_DAYS};

fn error(description: &str) -> Value {
    answer(description, "DiagnosticsError")
}

/// A GET route answering `schema`, with the `days` parameter.
fn read(summary: &str, schema: &str) -> Value {
    json!({ "get": {
        "summary": summary,
        "parameters": [{
            "name": "days",
            "in": "query",
            "required": false,
            "description": format!("How many days of history, {DEFAULT_DAYS} unless given."),
            "schema": { "type": "integer", "minimum": 1, "maximum": MAX_DAYS, "default": DEFAULT_DAYS }
        }],
        "responses": {
            "200": answer("The dock's figures now and over the last `days` days.", schema),
            "400": error("`days` is not a whole number from 1 to 90."),
            "401": { "description": "Not signed in." },
            "403": error("Not a technician or an admin."),
            "503": error("The dock could not read its diagnostics just now.")
        }
    }})
}

/// The `paths` entries of the diagnostics API.
pub fn openapi_paths() -> Value {
    let mut paths = Map::new();
    for (path, summary, schema) in [
        (
            API_ALL,
            "Everything the diagnostics page shows: GPS, dock power, wearable batteries, storage, the dock itself, cloud uploads, the self-updater.",
            "Diagnostics",
        ),
        (
            API_GPS,
            "The GPS now, its recorded fixes (oldest first) and its events (newest first).",
            "DiagnosticsGpsPart",
        ),
        (
            API_POWER,
            "The dock's power and temperatures now, and their recorded history (oldest first).",
            "DiagnosticsPowerPart",
        ),
        (
            API_WEARABLES,
            "Every wearable's battery by serial, flagged ones first.",
            "DiagnosticsWearablesPart",
        ),
    ] {
        paths.insert(path.to_owned(), read(summary, schema));
    }
    Value::Object(paths)
}

/// The `components.schemas` entries of the diagnostics API.
pub fn openapi_schemas() -> Value {
    let mode = json!({
        "type": "integer", "minimum": 0, "maximum": 3,
        "description": "gpsd's fix mode: 0 unknown, 1 no fix, 2 2D fix, 3 3D fix."
    });
    json!({
        "Diagnostics": object("The whole diagnostics page.", json!({
            "now_ms": integer(),
            "gps": reference("DiagnosticsGps"),
            "gps_history": array(reference("DiagnosticsGpsPoint")),
            "gps_events": array(reference("DiagnosticsGpsEvent")),
            "power": reference("DiagnosticsPower"),
            "power_history": array(reference("DiagnosticsPowerPoint")),
            "wearables": array(reference("DiagnosticsWearable")),
            "storage": reference("DiagnosticsStorage"),
            "host": reference("DiagnosticsHost"),
            "upload": nullable(reference("DiagnosticsUpload")),
            "update": reference("DiagnosticsUpdate")
        })),
        "DiagnosticsUpdate": object("The signed self-updater (configured false when the dock has no [update]).", json!({
            "configured": boolean(),
            "source": nullable(string()),
            "running": { "type": "string", "description": "The running version." },
            "on_trial": { "type": "boolean", "description": "Whether the running version is on trial: wearables are not erased until it passes its health check." },
            "window": { "oneOf": [{ "type": "string", "description": "The maintenance window, HH:MM-HH:MM site time." }, { "type": "null" }] },
            "last_check_ms": nullable(integer()),
            "last_result": { "oneOf": [{ "type": "string", "description": "What the last check found, a sentence." }, { "type": "null" }] },
            "offered": { "oneOf": [{ "type": "string", "description": "A newer release found, not installed yet." }, { "type": "null" }] },
            "events": array(reference("DiagnosticsUpdateEvent"))
        })),
        "DiagnosticsUpdateEvent": object("One thing the updater or the launcher did, newest first.", json!({
            "at_ms": integer(),
            "action": { "type": "string", "description": "checked, rejected, installed, trial, confirmed, rolled_back, packaged_newer or refused_slot." },
            "words": { "type": "string", "description": "The action in words." },
            "version": { "type": "string", "description": "The version concerned; empty when none." },
            "detail": string()
        })),
        "DiagnosticsUpload": object("The cloud upload queue (null when the dock has no [upload]: not configured).", json!({
            "target": { "type": "string", "description": "Where batches go, without a secret." },
            "queued_items": integer(),
            "queued_bytes": integer(),
            "oldest_ms": nullable(integer()),
            "last_success_ms": nullable(integer()),
            "last_error": { "oneOf": [{ "type": "string", "description": "The last failure, a sentence." }, { "type": "null" }] },
            "paused": { "oneOf": [{ "type": "string", "description": "Why the whole queue is paused, a sentence." }, { "type": "null" }] },
            "dead_letters": array(reference("DiagnosticsDeadLetter"))
        })),
        "DiagnosticsDeadLetter": object("A batch the receiver refused, parked until an admin retries or drops it.", json!({
            "id": { "type": "string", "description": "The batch id." },
            "kind": { "type": "string", "description": "The record kind, e.g. shift_summary, alert, dock_diag." },
            "day": { "type": "string", "description": "The site-local day, or unknown." },
            "items": integer(),
            "bytes": integer(),
            "reason": string(),
            "parked_ms": nullable(integer())
        })),
        "DiagnosticsGpsPart": object("The GPS part.", json!({
            "gps": reference("DiagnosticsGps"),
            "gps_history": array(reference("DiagnosticsGpsPoint")),
            "gps_events": array(reference("DiagnosticsGpsEvent"))
        })),
        "DiagnosticsPowerPart": object("The dock power part.", json!({
            "power": reference("DiagnosticsPower"),
            "power_history": array(reference("DiagnosticsPowerPoint"))
        })),
        "DiagnosticsWearablesPart": object("The wearable batteries part.", json!({
            "wearables": array(reference("DiagnosticsWearable"))
        })),
        "DiagnosticsGps": object("The GPS as it is now.", json!({
            "configured": boolean(),
            "connected": boolean(),
            "mode": mode,
            "lat": nullable(number()),
            "lon": nullable(number()),
            "alt_m": nullable(number()),
            "satellites_used": nullable(integer()),
            "satellites_seen": nullable(integer()),
            "hdop": nullable(number()),
            "last_fix_ms": nullable(integer()),
            "problem": nullable(string())
        })),
        "DiagnosticsGpsPoint": object("One recorded fix.", json!({
            "at_ms": integer(),
            "mode": mode,
            "satellites_used": nullable(integer()),
            "lat": nullable(number()),
            "lon": nullable(number())
        })),
        "DiagnosticsGpsEvent": object("A gpsd or receiver event.", json!({
            "at_ms": integer(),
            "kind": { "type": "string", "description": "connected, disconnected, no_gpsd, no_receiver, fix_lost or fix_regained." },
            "text": string()
        })),
        "DiagnosticsPower": object("The dock's own power and temperatures now.", json!({
            "summary": string(),
            "mains_online": nullable(boolean()),
            "batteries": array(reference("DiagnosticsDockBattery")),
            "thermal": array(reference("DiagnosticsThermal")),
            "problems": { "type": "array", "items": string() }
        })),
        "DiagnosticsDockBattery": object("A backup battery or UPS of the dock.", json!({
            "name": string(),
            "kind": { "type": "string", "description": "battery or UPS." },
            "status": nullable(string()),
            "capacity_pct": nullable(integer()),
            "health_pct": nullable(number()),
            "temperature_c": nullable(number()),
            "voltage_v": nullable(number())
        })),
        "DiagnosticsThermal": object("A thermal zone of the dock.", json!({
            "name": string(),
            "temp_c": nullable(number())
        })),
        "DiagnosticsPowerPoint": object("One stored power reading.", json!({
            "at_ms": integer(),
            "mains_online": nullable(boolean()),
            "battery_pct": nullable(integer()),
            "max_temp_c": nullable(number())
        })),
        "DiagnosticsWearable": object("One wearable's battery, by serial.", json!({
            "serial": string(),
            "last_docked_ms": nullable(integer()),
            "soc": nullable(integer()),
            "health_pct": nullable(integer()),
            "cycles": nullable(integer()),
            "temp_c": nullable(number()),
            "voltage_mv": nullable(integer()),
            "history": array(reference("DiagnosticsBatteryPoint")),
            "flags": array(reference("DiagnosticsBatteryFlag"))
        })),
        "DiagnosticsBatteryPoint": object("One battery reading (a docking or a DIAG record).", json!({
            "at_ms": integer(),
            "soc": integer(),
            "health_pct": nullable(integer()),
            "temp_c": number()
        })),
        "DiagnosticsBatteryFlag": object("Something wrong with a wearable's battery, in words.", json!({
            "kind": { "type": "string", "description": "low_health, hot_while_charging or fast_fade." },
            "reason": string(),
            "at_ms": integer()
        })),
        "DiagnosticsStorage": object("The dock's data folder.", json!({
            "data_dir": string(),
            "total_bytes": nullable(integer()),
            "available_bytes": nullable(integer()),
            "database_bytes": nullable(integer())
        })),
        "DiagnosticsHost": object("The dock itself.", json!({
            "dock_name": string(),
            "version": string(),
            "uptime_s": nullable(integer()),
            "interfaces": array(reference("DiagnosticsInterface")),
            "web_certificate_sha256": nullable(string()),
            "pseudonym_key": nullable(reference("DiagnosticsPseudonymKey")),
            "clock": reference("DiagnosticsClock")
        })),
        "DiagnosticsClock": object("Whether the system clock is synchronised (the kernel's NTP state; null: unknown). HTTPS, the upload's signatures and the wearables' clocks depend on it.", json!({
            "synchronised": nullable(json!({ "type": "boolean" })),
            "words": string()
        })),
        "DiagnosticsPseudonymKey": object("The key pseudonyms are made with, by its public id (never the key).", json!({
            "source": { "type": "string", "enum": ["site", "dock"] },
            "key_id": string()
        })),
        "DiagnosticsInterface": object("A network interface and its addresses.", json!({
            "name": string(),
            "addresses": { "type": "array", "items": string() }
        })),
        "DiagnosticsError": object("Why not, in words.", json!({ "error": string() }))
    })
}
