//! The JSON API, version 1: the same snapshot the status page shows, as a document and as a live
//! event stream. It must never accept request bodies yet (everything is GET) and never add fields
//! that identify workers.

mod events;
mod status;

use axum::{Router, routing::get};

use crate::SharedView;

/// The `/api/v1` routes.
pub(crate) fn routes() -> Router<SharedView> {
    Router::new()
        .route("/api/v1/status", get(status::status))
        .route("/api/v1/events", get(events::events))
}
