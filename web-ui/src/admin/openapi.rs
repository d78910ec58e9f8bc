//! The OpenAPI 3 description of the admin JSON routes, as fragments the site's
//! `/api/v1/openapi.json` merges: [`openapi_paths`] into `paths`, [`openapi_schemas`] into
//! `components.schemas`. It must list every route in `API_ROUTES` (a test checks), and its
//! schemas must name exactly the keys the view types serialise (tests compare them). It never
//! shows an example password.

use serde_json::{Value, json};

use crate::api::openapi::{answer, integer, nullable, object, reference, string};

use super::{
    API_AUDIT, API_BASELINE, API_NUISANCE, API_SETTINGS, API_SITE, API_SUGGESTED, API_TASK_REMOVE,
    API_TASKS, API_THRESHOLDS, API_USER, API_USER_REMOVE, API_USERS,
};

fn role() -> Value {
    json!({ "type": "string", "enum": ["admin", "supervisor", "technician"] })
}

fn error(description: &str) -> Value {
    answer(description, "AdminError")
}

fn name_parameter(description: &str) -> Value {
    json!([{ "name": "name", "in": "path", "required": true, "description": description, "schema": string() }])
}

/// A state-changing route taking `body` (a schema name) as JSON or as the Settings page's form.
fn change(summary: &str, body: Option<&str>, parameters: Option<Value>) -> Value {
    let mut operation = json!({
        "summary": summary,
        "security": [{ "session": [], "csrf": [] }],
        "responses": {
            "200": answer("Done; `done` says what, in words.", "AdminDone"),
            "303": { "description": "A form post from the Settings page: back to /settings (the confirmation shown once, from the session) or /settings?problem=CODE." },
            "400": error("Refused, with the reason in plain words (a bad value, or a rule of the dock)."),
            "401": { "description": "Not signed in." },
            "403": error("Not an admin, or a missing or wrong CSRF token."),
            "413": error("The body is larger than 16 KiB."),
            "415": error("Neither application/json nor a form."),
            "503": error("The dock could not apply it just now.")
        }
    });
    let content = match body {
        Some(schema) => json!({
            "application/json": { "schema": reference(schema) },
            "application/x-www-form-urlencoded": { "schema": { "type": "object" } }
        }),
        None => json!({
            "application/json": { "schema": { "type": "object" } },
            "application/x-www-form-urlencoded": { "schema": { "type": "object" } }
        }),
    };
    operation["requestBody"] = json!({ "required": body.is_some(), "content": content });
    if let Some(parameters) = parameters {
        operation["parameters"] = parameters;
    }
    json!({ "post": operation })
}

/// The `paths` entries of the admin API (keys are the routes as registered).
pub fn openapi_paths() -> Value {
    let forbidden = error("Not signed in as an admin.");
    let mut paths = serde_json::Map::new();
    paths.insert(
        API_SETTINGS.to_owned(),
        json!({ "get": {
            "summary": "Users, site settings, tasks, wearable alert thresholds and whether each wearable runs them. Admins only.",
            "responses": {
                "200": { "description": "The settings.", "content": { "application/json": { "schema": reference("AdminSettings") } } },
                "401": { "description": "Not signed in." },
                "403": forbidden,
                "503": error("The dock could not read them just now.")
            }
        }}),
    );
    paths.insert(
        API_AUDIT.to_owned(),
        json!({ "get": {
            "summary": "The audit trail, newest first. Admins only; viewing it is itself recorded.",
            "parameters": [
                { "name": "before", "in": "query", "required": false, "description": "Only lines with a smaller id (the previous page's `older`).", "schema": integer() },
                { "name": "limit", "in": "query", "required": false, "description": "Lines at most, 1–1000 (default 100).", "schema": { "type": "integer", "minimum": 1, "maximum": 1000 } }
            ],
            "responses": {
                "200": { "description": "One page of lines.", "content": { "application/json": { "schema": reference("AuditPage") } } },
                "400": error("`before` or `limit` is not valid."),
                "401": { "description": "Not signed in." },
                "403": forbidden,
                "503": error("The dock could not read it just now.")
            }
        }}),
    );
    paths.insert(
        API_USERS.to_owned(),
        change(
            "Adds a user (name 1–32 of A–Z a–z 0–9 . _ - @; password 12–256 characters).",
            Some("AdminNewUser"),
            None,
        ),
    );
    paths.insert(
        API_USER.to_owned(),
        change(
            "Changes a user's role, disables or enables them, or sets a new password (in that order); ends all their sessions. An admin cannot disable themself.",
            Some("AdminUserUpdate"),
            Some(name_parameter("The user name.")),
        ),
    );
    paths.insert(
        API_USER_REMOVE.to_owned(),
        change(
            "Removes a user and ends their sessions. An admin cannot remove themself; the dock never removes its last admin.",
            None,
            Some(name_parameter("The user name.")),
        ),
    );
    paths.insert(
        API_SITE.to_owned(),
        change(
            "Sets the site's time zone, minimum group size (2–1000) and daily alert goal (0–1000).",
            Some("AdminSite"),
            None,
        ),
    );
    paths.insert(
        API_TASKS.to_owned(),
        change(
            "Adds a task, or replaces the one with the same name.",
            Some("AdminTask"),
            None,
        ),
    );
    paths.insert(
        API_TASK_REMOVE.to_owned(),
        change(
            "Removes a task.",
            None,
            Some(name_parameter("The task name.")),
        ),
    );
    paths.insert(
        API_THRESHOLDS.to_owned(),
        change(
            "Sets the wearables' alert thresholds; each wearable gets them at its next docking, or within a minute while docked, and confirms them by reading them back.",
            Some("AdminThresholds"),
            None,
        ),
    );
    paths.insert(
        API_SUGGESTED.to_owned(),
        change(
            "Copies the thresholds suggested from the site's own alerts (`GET /api/v1/nuisance`) into the site thresholds, the rest kept; refused when nothing can be suggested yet.",
            None,
            None,
        ),
    );
    paths.insert(
        API_BASELINE.to_owned(),
        change(
            "Sets the silent baseline: a new worker's wearable does not buzz for their first N days from their first wear (0–28; 0: off), then runs the suggested thresholds.",
            Some("AdminBaseline"),
            None,
        ),
    );
    paths.insert(
        API_NUISANCE.to_owned(),
        json!({ "get": {
            "summary": "The wearables' own alerts over the last 28 days, per site and per wearable (by serial): alerts per hour of wear, shares while walking and never corrected, suggested thresholds with their reasons, and each wearable's silent baseline. Admins only.",
            "responses": {
                "200": { "description": "The figures.", "content": { "application/json": { "schema": reference("AdminNuisance") } } },
                "401": { "description": "Not signed in." },
                "403": forbidden,
                "503": error("The dock could not read them just now.")
            }
        }}),
    );
    Value::Object(paths)
}

/// The `components.schemas` entries of the admin API.
pub fn openapi_schemas() -> Value {
    let number = json!({ "type": "number" });
    json!({
        "AdminSettings": object("Everything the Settings page shows.", json!({
            "users": { "type": "array", "items": reference("AdminUser") },
            "site": reference("AdminSite"),
            "tasks": { "type": "array", "items": reference("AdminTask") },
            "thresholds": reference("AdminThresholds"),
            "wearables": { "type": "array", "items": reference("AdminThresholdState") }
        })),
        "AdminUser": object("A user account (never its password).", json!({
            "name": string(), "role": role(), "disabled": { "type": "boolean" },
            "created_ms": integer()
        })),
        "AdminSite": object("Site-wide analysis settings.", json!({
            "time_zone": { "type": "string", "description": "IANA name, e.g. Europe/Berlin." },
            "min_group_workers": { "type": "integer", "minimum": 2, "maximum": 1000 },
            "goal_alerts_per_day": { "type": "integer", "minimum": 0, "maximum": 1000 }
        })),
        "AdminTask": object("A task; `null` load or lever arm: not known.", json!({
            "name": string(),
            "load_kg": nullable(number.clone()),
            "lever_arm_m": nullable(number.clone()),
            "windows": { "type": "array", "items": { "type": "string", "pattern": "^\\d\\d:\\d\\d-\\d\\d:\\d\\d$" } }
        })),
        "AdminThresholds": object("The wearables' alert thresholds (firmware defaults: 45°, 1000 ms, 60 °/s, haptics on, 25 Hz).", json!({
            "bend_alert_deg": { "type": "number", "minimum": 10, "maximum": 90 },
            "bend_hold_ms": { "type": "integer", "minimum": 0, "maximum": 10000 },
            "twist_alert_dps": { "type": "number", "minimum": 10, "maximum": 300 },
            "haptics": { "type": "boolean" },
            "rate_hz": { "type": "integer", "minimum": 1, "maximum": 100 }
        })),
        "AdminThresholdState": object("Whether one wearable runs the thresholds ordered for it (the site's; during its worker's silent baseline with haptics off; after it the suggested ones), and what it runs.", json!({
            "serial": string(),
            "state": { "type": "string", "enum": ["confirmed", "pending", "failed"] },
            "confirmed_ms": nullable(integer()),
            "problem": nullable(string()),
            "runs": nullable(reference("AdminThresholds"))
        })),
        "AdminNewUser": {
            "type": "object",
            "description": "A new user. `password_again`, if sent, must equal `password`.",
            "required": ["name", "role", "password"],
            "properties": {
                "name": { "type": "string", "pattern": "^[A-Za-z0-9._@-]{1,32}$" },
                "role": role(),
                "password": { "type": "string", "minLength": 12, "maxLength": 256, "format": "password" },
                "password_again": { "type": "string", "format": "password" }
            }
        },
        "AdminUserUpdate": {
            "type": "object",
            "description": "Any of: a new role, disabled true/false, a new password.",
            "properties": {
                "role": role(),
                "disabled": { "type": "boolean" },
                "password": { "type": "string", "minLength": 12, "maxLength": 256, "format": "password" },
                "password_again": { "type": "string", "format": "password" }
            }
        },
        "AuditPage": object("One page of the audit trail, newest first.", json!({
            "entries": { "type": "array", "items": reference("AuditLine") },
            "older": nullable(integer()),
            "chain": nullable(reference("AuditChain"))
        })),
        "AuditChain": object("The hash chain over the whole trail, checked when the newest page is read.", json!({
            "intact": { "type": "boolean" }, "finding": string()
        })),
        "AuditLine": object("One line of the audit trail.", json!({
            "id": integer(), "at_ms": integer(), "user": string(), "action": string(), "subject": string()
        })),
        "AdminBaseline": object("The silent baseline's length.", json!({
            "days": { "type": "integer", "minimum": 0, "maximum": 28 }
        })),
        "AdminNuisance": object("The wearables' own alerts over the window, and what the dock suggests.", json!({
            "window_days": integer(),
            "site": reference("AdminNuisanceFigures"),
            "wearables": { "type": "array", "items": reference("AdminWearableNuisance") },
            "silent_baseline_days": { "type": "integer", "minimum": 0, "maximum": 28 }
        })),
        "AdminNuisanceFigures": object("Alert figures over the window; shares are 0–1; `null`: nothing to divide by.", json!({
            "shifts": integer(),
            "wear_h": number.clone(),
            "alerts": integer(),
            "by_kind": reference("AdminAlertCounts"),
            "alerts_per_hour": nullable(number.clone()),
            "gait_share": nullable(number.clone()),
            "never_corrected_share": nullable(number.clone()),
            "gait_min": number.clone(),
            "gait_twist_p999_dps": nullable(number.clone()),
            "suggested": { "type": "array", "items": reference("AdminSuggestedThreshold") }
        })),
        "AdminAlertCounts": object("Alerts by kind.", json!({
            "bend": integer(), "twist": integer(), "prolonged_bend": integer(), "overreach": integer()
        })),
        "AdminSuggestedThreshold": object("One threshold's suggestion; `suggested` null: not enough data.", json!({
            "threshold": { "type": "string", "enum": ["twist_alert_dps", "bend_hold_ms"] },
            "current": number.clone(),
            "suggested": nullable(number.clone()),
            "reason": string()
        })),
        "AdminWearableNuisance": object("One wearable's figures and its roster worker's silent baseline.", json!({
            "serial": string(),
            "figures": reference("AdminNuisanceFigures"),
            "baseline": {
                "type": "object",
                "description": "`off`; `silent` until `until_ms` (null: from the first wear); `over` since `ended_ms`.",
                "required": ["state"],
                "properties": {
                    "state": { "type": "string", "enum": ["off", "silent", "over"] },
                    "until_ms": nullable(integer()),
                    "ended_ms": integer()
                }
            }
        })),
        "AdminDone": object("What was done, in words.", json!({ "done": string() })),
        "AdminError": object("Why not, in words.", json!({ "error": string() }))
    })
}
