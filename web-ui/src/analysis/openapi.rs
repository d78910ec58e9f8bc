//! The OpenAPI 3 description of the analysis JSON routes, as fragments the site's
//! `/api/v1/openapi.json` merges: [`openapi_paths`] into `paths`, [`openapi_schemas`] into
//! `components.schemas`. It must list every JSON route `routes` registers (a test checks), and its
//! schemas must name exactly the keys the view types serialise (tests compare them).

use serde_json::{Value, json};

use crate::api::openapi::{answer, array, integer, nullable, number, object, reference, string};

use super::{API_OVERVIEW, API_TASKS, API_WORKER};

fn errors() -> Value {
    let error = json!({
        "content": { "application/json": { "schema": reference("AnalysisError") } }
    });
    let mut answers = json!({});
    for (code, text) in [
        ("400", "A query parameter is not valid."),
        ("403", "Not signed in as an administrator or supervisor."),
        ("503", "The analysis could not be read just now."),
    ] {
        let mut answer = error.clone();
        answer["description"] = json!(text);
        answers[code] = answer;
    }
    answers
}

fn ok(schema: &str, description: &str) -> Value {
    let mut answers = errors();
    answers["200"] = answer(description, schema);
    answers
}

fn query(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

/// The `paths` entries of the analysis API (keys are the routes as registered).
pub fn openapi_paths() -> Value {
    let mut worker_answers = ok("AnalysisWorker", "The worker, with one shift in detail.");
    worker_answers["404"] = json!({
        "description": "No such worker.",
        "content": { "application/json": { "schema": reference("AnalysisError") } }
    });
    let mut paths = json!({});
    paths[API_OVERVIEW] = json!({
        "get": {
            "tags": ["analysis"],
            "summary": "Today / shift overview: one row per worker of a day",
            "description": "Admins and supervisors only. Rows filtered by team and task, sorted as asked.",
            "parameters": [
                query("day", "Site-local day, YYYY-MM-DD; default the latest day with shifts.",
                      json!({ "type": "string", "format": "date" })),
                query("team", "Only workers of this team.", string()),
                query("task", "Only workers who spent time in this task.", string()),
                query("sort", "Order of the rows (default risk).", json!({
                    "type": "string",
                    "enum": ["risk", "name", "bends", "twists", "reaches", "zones", "alerts", "response"]
                })),
                query("dir", "Ascending or descending (default: names A–Z, figures worst first).",
                      json!({ "type": "string", "enum": ["asc", "desc"] })),
            ],
            "responses": ok("AnalysisOverview", "The day's workers."),
        }
    });
    paths[API_WORKER] = json!({
        "get": {
            "tags": ["analysis"],
            "summary": "One worker: shifts, one shift by hour, weekly trend, goal, advice",
            "description": "Admins and supervisors only. Every successful request is recorded in the audit log.",
            "parameters": [
                { "name": "id", "in": "path", "required": true,
                  "description": "The worker id from the overview.", "schema": integer() },
                query("shift", "Start of the shift to show in detail, Unix epoch ms; default the latest.", integer()),
            ],
            "responses": worker_answers,
        }
    });
    paths[API_TASKS] = json!({
        "get": {
            "tags": ["analysis"],
            "summary": "Tasks & hours: group figures by task, hour of day and team",
            "description": "Admins and supervisors only. For supervisors, groups below the site's minimum size have `figures: null`.",
            "responses": ok("AnalysisTasks", "The group figures."),
        }
    });
    paths
}

/// The `components.schemas` entries the paths refer to.
pub fn openapi_schemas() -> Value {
    let level = json!({ "type": "string", "enum": ["low", "medium", "high"] });
    let strings = array(string());
    json!({
        "AnalysisError": object("Why there is no answer, in words.", json!({ "error": string() })),
        "AnalysisRates": object("Movements per hour of wear.", json!({
            "bends": number(), "deep_bends": number(), "twists": number(),
            "lateral_bends": number(), "reaches": number(), "lifts": number(),
        })),
        "AnalysisZones": object("Seconds of wear in each ISO 11226 posture zone.", json!({
            "acceptable_s": number(), "conditional_s": number(), "not_acceptable_s": number(),
        })),
        "AnalysisOverview": object("The Today / shift overview.", json!({
            "day": nullable(string()), "previous_day": nullable(string()), "next_day": nullable(string()),
            "teams": strings, "tasks": strings, "workers": array(reference("AnalysisWorkerRow")),
        })),
        "AnalysisWorkerRow": object("One worker's day.", json!({
            "worker": integer(), "label": string(), "team": nullable(string()), "tasks": strings,
            "shifts": integer(), "wear_h": number(), "per_hour": reference("AnalysisRates"),
            "zones": reference("AnalysisZones"), "alerts": integer(),
            "median_response_ms": nullable(integer()), "risk_level": level, "reasons": strings,
            "work_restrictions_exceeded": array(reference("AnalysisWorkRestrictionExceeded")),
        })),
        "AnalysisWorkRestriction": crate::roster::work_restriction_schema(),
        "AnalysisWorkRestrictionExceeded": object(
            "One term of a work restriction a shift went beyond: what, and when (site-local \
             clock hours; empty when only the task is known). Supervisors and admins only.",
            json!({ "work_restriction": integer(), "what": string(), "when": strings }),
        ),
        "AnalysisWorker": object("One worker.", json!({
            "worker": integer(), "label": string(), "team": nullable(string()),
            "shifts": array(reference("AnalysisShiftSummary")),
            "shift": nullable(reference("AnalysisShift")),
            "weeks": array(reference("AnalysisWeek")),
            "trend": nullable(reference("AnalysisTrend")),
            "goal": nullable(reference("AnalysisGoal")),
            "advice": array(reference("AnalysisAdvice")),
            "work_restrictions": array(reference("AnalysisWorkRestriction")),
        })),
        "AnalysisShiftSummary": object("One shift.", json!({
            "start_ms": integer(), "end_ms": integer(), "local_day": string(),
            "start_time": string(), "end_time": string(), "wear_h": number(),
            "per_hour": reference("AnalysisRates"), "alerts": integer(), "risk_level": level,
            "work_restrictions_exceeded": array(reference("AnalysisWorkRestrictionExceeded")),
        })),
        "AnalysisShift": object("One shift in detail (the summary's keys and more).", json!({
            "start_ms": integer(), "end_ms": integer(), "local_day": string(),
            "start_time": string(), "end_time": string(), "wear_h": number(),
            "per_hour": reference("AnalysisRates"), "alerts": integer(), "risk_level": level,
            "zones": reference("AnalysisZones"), "median_response_ms": nullable(integer()),
            "uncorrected_alerts": integer(), "reasons": strings,
            "hours": array(reference("AnalysisHour")),
            "work_restrictions_exceeded": array(reference("AnalysisWorkRestrictionExceeded")),
        })),
        "AnalysisHour": object("One site-local clock hour of a shift.", json!({
            "hour_start_ms": integer(), "hour_of_day": integer(), "wear_s": number(),
            "bends": integer(), "deep_bends": integer(), "twists": integer(),
            "lateral_bends": integer(), "reaches": integer(), "lifts": integer(),
            "zones": nullable(reference("AnalysisZones")),
        })),
        "AnalysisWeek": object("One ISO week.", json!({
            "week": string(), "wear_h": number(),
            "per_hour": nullable(reference("AnalysisRates")), "alerts_per_day": nullable(number()),
        })),
        "AnalysisTrend": object("This week against last week.", json!({
            "week": string(), "previous": string(), "rows": array(reference("AnalysisTrendRow")),
        })),
        "AnalysisTrendRow": object("One figure in both weeks.", json!({
            "metric": string(), "label": string(), "this_week": number(), "last_week": number(),
            "change_pct": nullable(number()),
        })),
        "AnalysisGoal": object("Progress toward a daily goal.", json!({
            "description": string(), "limit": nullable(number()), "unit": string(),
            "days_total": integer(), "days_met": integer(), "current_streak": integer(),
            "best_streak": integer(), "days": array(reference("AnalysisGoalDay")),
        })),
        "AnalysisGoalDay": object("One day against the goal.", json!({
            "day": string(), "value": number(), "met": { "type": "boolean" },
        })),
        "AnalysisAdvice": object("A recommendation and its evidence.", json!({
            "text": string(), "evidence": string(),
        })),
        "AnalysisTasks": object("Group figures by task, hour of day and team.", json!({
            "from_day": nullable(string()), "to_day": nullable(string()),
            "min_group_workers": integer(), "site": reference("AnalysisGroup"),
            "tasks": array(reference("AnalysisGroup")), "hours": array(reference("AnalysisHourGroup")),
            "teams": array(reference("AnalysisGroup")), "advice": array(reference("AnalysisAdvice")),
        })),
        "AnalysisGroup": object("A task, team or the site; `figures` null when hidden.", json!({
            "name": string(), "workers": integer(), "shifts": integer(),
            "figures": nullable(reference("AnalysisGroupFigures")),
        })),
        "AnalysisHourGroup": object("A site-local hour of day over all days; `figures` null when hidden.", json!({
            "hour_of_day": integer(), "workers": integer(), "shifts": integer(),
            "figures": nullable(reference("AnalysisGroupFigures")),
        })),
        "AnalysisGroupFigures": object("A group's figures.", json!({
            "wear_h": number(), "per_hour": reference("AnalysisRates"),
            "high_risk_share": number(), "alerts_per_day": nullable(number()),
        })),
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use axum::http::StatusCode;

    use super::*;
    use crate::access::Role;
    use crate::analysis::{
        API_ROUTES,
        fake::{Fake, get_as, json as parse},
    };
    use crate::testing::check_against_schema;

    /// The path with its `{id}` filled, for a request.
    fn concrete(route: &str) -> String {
        route.replace("{id}", "12")
    }

    #[tokio::test]
    async fn every_json_route_is_registered_and_described() {
        let paths = openapi_paths();
        let described: BTreeSet<&str> = paths
            .as_object()
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        assert_eq!(described, API_ROUTES.into_iter().collect());
        let fake = Fake::new();
        for route in API_ROUTES {
            let (status, headers, _) =
                get_as(fake.router(), &concrete(route), Some(Role::Admin)).await;
            assert_eq!(status, StatusCode::OK, "{route}");
            assert_eq!(headers, "application/json", "{route}");
            assert!(
                paths[route]["get"]["responses"]["200"].is_object(),
                "{route}"
            );
        }
    }

    #[test]
    fn every_reference_resolves_to_a_schema() {
        let schemas = openapi_schemas();
        let text = format!("{}{}", openapi_paths(), schemas);
        let mut rest = text.as_str();
        let prefix = "#/components/schemas/";
        while let Some(at) = rest.find(prefix) {
            rest = &rest[at + prefix.len()..];
            let name: String = rest.chars().take_while(|c| *c != '"').collect();
            assert!(schemas.get(&name).is_some(), "{name} is not defined");
        }
    }

    #[tokio::test]
    async fn the_schemas_name_exactly_the_keys_the_api_answers_with() {
        let fake = Fake::new();
        let schemas = openapi_schemas();
        for (route, schema) in [
            (API_OVERVIEW, "AnalysisOverview"),
            (API_WORKER, "AnalysisWorker"),
            (API_TASKS, "AnalysisTasks"),
        ] {
            let (_, _, body) = get_as(fake.router(), &concrete(route), Some(Role::Admin)).await;
            check_against_schema(&schemas, &schemas[schema], &parse(&body), route);
        }
        let (_, _, body) = get_as(
            fake.router(),
            "/api/v1/analysis/workers/999",
            Some(Role::Admin),
        )
        .await;
        check_against_schema(&schemas, &schemas["AnalysisError"], &parse(&body), "error");
    }
}
