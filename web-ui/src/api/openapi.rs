//! The OpenAPI 3 document of `/api/v1`, served at `/api/v1/openapi.json`: the dock's own JSON
//! routes described here, the analysis, roster, admin and diagnostics routes merged from
//! `crate::analysis`, `crate::roster`, `crate::admin` and `crate::diagnostics`. It owns the
//! document; a test holds it against the real route tables, so it must never describe a route
//! that does not exist nor leave one out.

use axum::Json;
use serde_json::{Value, json};

/// `GET /api/v1/openapi.json`.
pub(crate) async fn openapi() -> Json<Value> {
    Json(document())
}

/// The whole document.
pub(crate) fn document() -> Value {
    let mut paths = dock_paths();
    let mut schemas = dock_schemas();
    for (group_paths, group_schemas) in [
        (
            crate::analysis::openapi_paths(),
            crate::analysis::openapi_schemas(),
        ),
        (
            crate::roster::openapi_paths(),
            crate::roster::openapi_schemas(),
        ),
        (
            crate::admin::openapi_paths(),
            crate::admin::openapi_schemas(),
        ),
        (
            crate::diagnostics::openapi_paths(),
            crate::diagnostics::openapi_schemas(),
        ),
    ] {
        if let (Some(all), Value::Object(group)) = (paths.as_object_mut(), group_paths) {
            all.extend(group);
        }
        if let (Some(all), Value::Object(group)) = (schemas.as_object_mut(), group_schemas) {
            all.extend(group);
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "dockd local API",
            "version": "1",
            "description": "The dock's own API, on the dock's network only. Sign in with POST /api/v1/login; send the session cookie with every request and the X-CSRF-Token header with every state change."
        },
        "security": [{ "session": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "session": { "type": "apiKey", "in": "cookie", "name": "dockd_session" },
                "csrf": { "type": "apiKey", "in": "header", "name": "X-CSRF-Token" }
            },
            "schemas": schemas
        }
    })
}

// Schema builders every group's fragment shares, so the whole document spells a type one way.

/// A reference to the component schema `name`.
pub(crate) fn reference(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// An answer described in words whose JSON body is the component schema `schema`.
pub(crate) fn answer(description: &str, schema: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/json": { "schema": reference(schema) } }
    })
}

pub(crate) fn string() -> Value {
    json!({ "type": "string" })
}

pub(crate) fn integer() -> Value {
    json!({ "type": "integer", "format": "int64" })
}

pub(crate) fn number() -> Value {
    json!({ "type": "number" })
}

pub(crate) fn boolean() -> Value {
    json!({ "type": "boolean" })
}

/// `schema` or `null`.
pub(crate) fn nullable(schema: Value) -> Value {
    json!({ "oneOf": [schema, { "type": "null" }] })
}

pub(crate) fn array(items: Value) -> Value {
    json!({ "type": "array", "items": items })
}

/// An object whose every property is required (always present, `null` where not known).
pub(crate) fn object(description: &str, properties: Value) -> Value {
    let required: Vec<String> = properties
        .as_object()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    object_with(description, &required, properties)
}

/// An object with only the `required` properties always present.
pub(crate) fn object_with(description: &str, required: &[String], properties: Value) -> Value {
    json!({
        "type": "object",
        "description": description,
        "required": required,
        "properties": properties,
    })
}

fn dock_paths() -> Value {
    let unauthorised = json!({ "description": "Not signed in." });
    json!({
        "/api/v1/status": { "get": {
            "summary": "The dock's slots and what each wearable is doing.",
            "responses": { "200": answer("The dock now.", "DockSnapshot"), "401": unauthorised }
        }},
        "/api/v1/events": { "get": {
            "summary": "Server-sent `status` events carrying the DockSnapshot, on connect and on every change.",
            "responses": {
                "200": { "description": "An event stream.", "content": { "text/event-stream": {} } },
                "401": unauthorised,
                "403": { "description": "A foreign Origin." }
            }
        }},
        "/api/v1/login": { "post": {
            "summary": "Sign in; sets the session cookie.",
            "security": [],
            "requestBody": { "required": true, "content": { "application/json": { "schema": reference("Credentials") } } },
            "responses": {
                "200": answer("Signed in.", "Session"),
                "401": { "description": "Wrong user name or password." },
                "429": { "description": "Too many attempts, or a sign-in from this address is already being checked; see Retry-After." },
                "503": { "description": "The dock is busy checking other sign-ins; see Retry-After." }
            }
        }},
        "/api/v1/logout": { "post": {
            "summary": "Sign out: ends the session and clears the cookie.",
            "security": [{ "session": [], "csrf": [] }],
            "responses": {
                "204": { "description": "Signed out." },
                "401": unauthorised,
                "403": { "description": "A missing or wrong CSRF token, or a foreign Origin." }
            }
        }},
        "/api/v1/session": { "get": {
            "summary": "Who is signed in, and the CSRF token for state changes.",
            "responses": { "200": answer("The session.", "Session"), "401": unauthorised }
        }},
        "/api/v1/openapi.json": { "get": {
            "summary": "This document.",
            "responses": { "200": { "description": "OpenAPI 3.", "content": { "application/json": {} } }, "401": unauthorised }
        }}
    })
}

fn dock_schemas() -> Value {
    let string = json!({ "type": "string" });
    json!({
        "Credentials": { "type": "object", "required": ["username", "password"], "properties": {
            "username": string, "password": string
        }},
        "Session": { "type": "object", "properties": {
            "user": string, "role": { "type": "string", "enum": ["admin", "supervisor", "technician"] },
            "csrf_token": string
        }},
        "DockSnapshot": { "type": "object", "description": "The dock now: its name, version, clock and one entry per slot.", "properties": {
            "dock": string, "version": string, "now_ms": { "type": "integer" },
            "slots": { "type": "array", "items": { "type": "object" } }
        }}
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::{ROUTES, Verb};

    /// `(method, path)` of every JSON route the site serves: the dock's table and each group's
    /// own route list (analysis, roster, admin, diagnostics).
    fn served() -> BTreeSet<(String, String)> {
        let mut routes: BTreeSet<(String, String)> = ROUTES
            .iter()
            .filter(|r| r.path.starts_with("/api/"))
            .map(|r| {
                let verb = match r.verb {
                    Verb::Get => "get",
                    Verb::Post => "post",
                };
                (verb.to_owned(), r.path.to_owned())
            })
            .collect();
        for path in crate::analysis::API_ROUTES
            .into_iter()
            .chain(crate::diagnostics::API_ROUTES)
        {
            routes.insert(("get".to_owned(), path.to_owned()));
        }
        for (verb, path) in crate::roster::API_ROUTES
            .iter()
            .chain(crate::admin::API_ROUTES)
        {
            routes.insert((verb.to_ascii_lowercase(), (*path).to_owned()));
        }
        routes
    }

    fn described() -> BTreeSet<(String, String)> {
        let doc = document();
        doc["paths"]
            .as_object()
            .into_iter()
            .flatten()
            .flat_map(|(path, methods)| {
                methods
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(move |(method, _)| (method.clone(), path.clone()))
            })
            .collect()
    }

    #[test]
    fn the_document_describes_exactly_the_json_routes_the_site_serves() {
        assert_eq!(described(), served());
    }

    #[test]
    fn no_group_overwrites_another_groups_path_or_schema() {
        let groups = [
            (dock_paths(), dock_schemas()),
            (
                crate::analysis::openapi_paths(),
                crate::analysis::openapi_schemas(),
            ),
            (
                crate::roster::openapi_paths(),
                crate::roster::openapi_schemas(),
            ),
            (
                crate::admin::openapi_paths(),
                crate::admin::openapi_schemas(),
            ),
            (
                crate::diagnostics::openapi_paths(),
                crate::diagnostics::openapi_schemas(),
            ),
        ];
        let count = |pick: fn(&(Value, Value)) -> &Value| {
            groups
                .iter()
                .map(|group| pick(group).as_object().unwrap().len())
                .sum::<usize>()
        };
        let doc = document();
        assert_eq!(doc["paths"].as_object().unwrap().len(), count(|g| &g.0));
        assert_eq!(
            doc["components"]["schemas"].as_object().unwrap().len(),
            count(|g| &g.1)
        );
    }

    #[test]
    fn every_reference_points_at_a_schema_that_exists() {
        let doc = document();
        let text = doc.to_string();
        let schemas = doc["components"]["schemas"].as_object().unwrap();
        for reference in text.split("#/components/schemas/").skip(1) {
            let name: String = reference.chars().take_while(|c| *c != '"').collect();
            assert!(schemas.contains_key(&name), "missing schema {name}");
        }
        assert_eq!(doc["openapi"], "3.0.3");
    }
}
