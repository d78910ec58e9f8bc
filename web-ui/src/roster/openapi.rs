//! The OpenAPI 3 description of the roster JSON routes, as fragments the site's
//! `/api/v1/openapi.json` merges: [`openapi_paths`] into `paths`, [`openapi_schemas`] into
//! `components.schemas`. It must list exactly the routes in `API_ROUTES` (a test checks), and its
//! schemas must name exactly the keys the view types serialise (tests compare them).

use serde_json::{Value, json};

use crate::api::openapi::{
    answer, array, boolean, integer, nullable, object, object_with, reference, string,
};

use super::{
    API_DELETE, API_END_WORK_RESTRICTION, API_EXPORT, API_OPT_OUT, API_ROSTER, API_WEARABLES,
    API_WORK_RESTRICTION, API_WORK_RESTRICTIONS, API_WORKER, API_WORKERS,
};

fn error(description: &str) -> Value {
    answer(description, "RosterError")
}

/// A change route: its request body (JSON, or the page's form with the `csrf` field), its answers.
fn change(summary: &str, description: &str, body: &str, success: &str, not_found: bool) -> Value {
    change_of(
        summary,
        description,
        body,
        success,
        not_found.then_some("worker"),
    )
}

/// [`change`], with `{id}` naming a `worker` or a `work restriction` when `names` says so.
fn change_of(
    summary: &str,
    description: &str,
    body: &str,
    success: &str,
    names: Option<&str>,
) -> Value {
    let mut responses = json!({
        "303": { "description": "A form was sent: back to /roster (the confirmation shown once, from the session) or /roster?problem=CODE." },
        "400": error("A field failed its check, the JSON did not fit, or the dock refused the change (in words)."),
        "403": error("Not signed in as an administrator or supervisor, or no CSRF token."),
        "413": error("The body is over 16 KiB."),
        "415": error("Neither application/json nor application/x-www-form-urlencoded."),
        "503": error("The roster could not be changed just now."),
    });
    responses[success] = answer("Done.", "RosterDone");
    let mut parameters = Vec::new();
    if let Some(names) = names {
        responses["404"] = error(&format!("The address does not name a {names} id."));
        parameters.push(json!({
            "name": "id", "in": "path", "required": true,
            "description": format!("The {names}'s id."), "schema": integer()
        }));
    }
    json!({
        "post": {
            "tags": ["roster"],
            "summary": summary,
            "description": format!(
                "{description} The page's forms send the same fields url-encoded, with `csrf`; \
                 there `worker` is empty for no one and `opted_out` is `true` or `false`."
            ),
            "security": [{ "session": [], "csrf": [] }],
            "parameters": parameters,
            "requestBody": {
                "required": true,
                "content": {
                    "application/json": { "schema": reference(body) },
                    "application/x-www-form-urlencoded": { "schema": reference(body) }
                }
            },
            "responses": responses,
        }
    })
}

/// The `paths` entries of the roster API (keys are the routes as registered).
pub fn openapi_paths() -> Value {
    let mut paths = json!({});
    paths[API_ROSTER] = json!({
        "get": {
            "tags": ["roster"],
            "summary": "The roster: wearables, workers with badge tags and names, tasks, teams",
            "description": "Admins and supervisors only; every request is recorded in the audit log. \
                            The only API that shows badge tags and display names.",
            "responses": {
                "200": {
                    "description": "The roster.",
                    "content": { "application/json": { "schema": reference("Roster") } }
                },
                "403": error("Not signed in as an administrator or supervisor."),
                "503": error("The roster could not be read just now."),
            }
        }
    });
    paths[API_WEARABLES] = change(
        "Assign a wearable to a worker, or to no one",
        "The wearable gets the assignment at its next docking (or now, if docked).",
        "RosterAssign",
        "200",
        false,
    );
    paths[API_WORKERS] = change(
        "Add a worker by badge tag",
        "Empty strings mean none. The answer's `worker` is the new worker's id.",
        "RosterNewWorker",
        "201",
        false,
    );
    paths[API_WORKER] = change(
        "Change a worker's display name, task and team",
        "Sets all three: a field left out, null or empty is cleared.",
        "RosterWorkerDetails",
        "200",
        true,
    );
    paths[API_OPT_OUT] = change(
        "Opt a worker out, or back in",
        "Opted out: data from their wearable is discarded at docking and their shift reports are \
         deleted; the samples and alerts stored before are no longer analysed or shown, and stay on \
         the dock (not deleted) until the retention purge removes them.",
        "RosterOptOut",
        "200",
        true,
    );
    let mut delete = change(
        "Delete a worker's data for good (administrators only)",
        "Deletes everything the dock holds about the worker: roster entry with badge tag and \
         name, samples, alerts, events, shift reports, work restrictions, the quarantined bytes \
         of their wearables' damaged segments and their records not yet in an upload batch. What \
         stays: the audit entry (recorded by the dock in the deletion's transaction, naming the \
         worker by id) and a tombstone, their keyed pseudonym, so that data still on a wearable \
         under their badge is discarded when it docks; adding the same badge tag to the roster \
         again lifts it. With cloud upload, a `worker_deleted` record is queued under every key \
         they were uploaded under. `confirm` must be true (on the form: the ticked box, \
         `confirm=yes`).",
        "RosterDelete",
        "200",
        true,
    );
    delete["post"]["responses"]["200"] = answer("Deleted.", "RosterDeleted");
    delete["post"]["responses"]["403"] =
        error("Not signed in as an administrator, or no CSRF token.");
    paths[API_DELETE] = delete;
    paths[API_EXPORT] = json!({
        "get": {
            "tags": ["roster"],
            "summary": "A worker's export, a tar archive (administrators only)",
            "description": "Everything the dock holds about the worker (the right of access), \
                streamed as it is made: person.json, roster.json, work_restrictions.json, \
                shift_reports.json, alerts.json, audit.json and their samples as zstd CSV in \
                parts samples.csv.zst.0001, … (`cat samples.csv.zst.* > samples.csv.zst` joins \
                them; the CSV header is in the first). The same files as `dockd worker export`. \
                Audited by the dock.",
            "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
            "responses": {
                "200": {
                    "description": "The archive.",
                    "content": {"application/x-tar": {"schema": {"type": "string", "format": "binary"}}}
                },
                "403": error("Not signed in as an administrator."),
                "404": error("No such worker.")
            }
        }
    });
    paths[API_WORK_RESTRICTIONS] = change(
        "Record a work restriction for a worker",
        "Return-to-work limits (health-related data: admins and supervisors only, audited, never \
         uploaded). At least one limit; `until_day` is required, `from_day` is today when left \
         out; days are the site's, both in force. On the form `no_deep_bends` is `on` when ticked.",
        "WorkRestrictionInput",
        "201",
        true,
    );
    paths[API_WORK_RESTRICTION] = change_of(
        "Change a work restriction's days and limits",
        "Replaces them all, with the same rules as recording one.",
        "WorkRestrictionInput",
        "200",
        Some("work restriction"),
    );
    paths[API_END_WORK_RESTRICTION] = change_of(
        "End a work restriction now",
        "It is no longer in force from today; one that has not started yet is withdrawn.",
        "WorkRestrictionEnd",
        "200",
        Some("work restriction"),
    );
    paths
}

/// A work restriction as the roster and the worker page answer it (one schema, named by each).
pub(crate) fn work_restriction_schema() -> Value {
    object(
        "A work restriction (health-related: admins and supervisors only). Days are the \
             site's `YYYY-MM-DD`, both in force.",
        json!({
            "id": integer(),
            "worker": integer(),
            "from_day": string(),
            "until_day": string(),
            "no_deep_bends": boolean(),
            "max_lifts_per_hour": nullable(integer()),
            "max_bends_per_hour": nullable(integer()),
            "max_load_kg": nullable(json!({ "type": "number" })),
            "terms": string(),
            "in_force": boolean(),
        }),
    )
}

/// The `components.schemas` entries the paths refer to.
pub fn openapi_schemas() -> Value {
    let name = |max: u32| json!({ "type": "string", "maxLength": max });
    let optional = |max: u32| nullable(name(max));
    json!({
        "RosterError": object("Why nothing changed, in words.", json!({ "error": string() })),
        "Roster": object("The roster page's data.", json!({
            "wearables": array(reference("RosterWearable")),
            "workers": array(reference("RosterWorker")),
            "tasks": array(string()),
            "teams": array(string()),
            "work_restrictions": array(reference("WorkRestriction")),
            "today": nullable(string()),
            "work_restrictions_kept_days": integer(),
        })),
        "WorkRestriction": work_restriction_schema(),
        "WorkRestrictionInput": object_with(
            "A work restriction's days and limits: at least one limit; per-hour limits 0–1000, \
             the load 0–100 kg; the end on or after the start.",
            &["until_day".to_owned()],
            json!({
                "from_day": nullable(string()),
                "until_day": string(),
                "no_deep_bends": boolean(),
                "max_lifts_per_hour": nullable(json!({ "type": "integer", "minimum": 0, "maximum": 1000 })),
                "max_bends_per_hour": nullable(json!({ "type": "integer", "minimum": 0, "maximum": 1000 })),
                "max_load_kg": nullable(json!({ "type": "number", "minimum": 0, "maximum": 100 })),
            }),
        ),
        "WorkRestrictionEnd": object_with("Nothing: the address says which.", &[], json!({})),
        "RosterWearable": object("One wearable and who it is assigned to.", json!({
            "serial": string(),
            "worker": nullable(integer()),
            "applied": boolean(),
            "last_docked_ms": nullable(integer()),
        })),
        "RosterWorker": object("One worker. Personal data: badge tag and display name.", json!({
            "id": integer(),
            "badge": string(),
            "pseudonym": string(),
            "display_name": nullable(string()),
            "task": nullable(string()),
            "team": nullable(string()),
            "opted_out_ms": nullable(integer()),
            "discarded_samples": integer(),
        })),
        "RosterDone": object("What a change did (no badge tag or name in it).", json!({
            "summary": string(),
            "worker": nullable(integer()),
        })),
        "RosterAssign": object("Assign a wearable; `worker` null is no one.", json!({
            "serial": string(),
            "worker": nullable(integer()),
        })),
        "RosterNewWorker": object_with(
            "A new worker. The badge tag is trimmed, 1–16 printable ASCII characters.",
            &["badge".to_owned()],
            json!({
                "badge": { "type": "string", "minLength": 1, "maxLength": 16 },
                "display_name": optional(80),
                "task": nullable(string()),
                "team": optional(40),
            }),
        ),
        "RosterWorkerDetails": object_with(
            "A worker's details; left out, null or empty clears.",
            &[],
            json!({
                "display_name": optional(80),
                "task": nullable(string()),
                "team": optional(40),
            }),
        ),
        "RosterOptOut": object("Opt out (true) or back in (false).", json!({
            "opted_out": boolean(),
        })),
        "RosterDelete": object("Confirms the deletion: must be true.", json!({
            "confirm": boolean(),
        })),
        "RosterDeleted": object(
            "What a worker's deletion did (no badge tag or name in it).",
            json!({
                "summary": string(),
                "worker": integer(),
                "deleted": reference("RosterDeletedData"),
            }),
        ),
        "RosterDeletedData": object("What went, by counts.", json!({
            "samples": integer(),
            "alerts": integer(),
            "events": integer(),
            "shift_reports": integer(),
            "work_restrictions": integer(),
            "quarantined_segments": integer(),
            "upload_items": integer(),
            "wearables_unassigned": integer(),
            "cloud_deletions": integer(),
        })),
    })
}
