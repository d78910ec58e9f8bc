//! `GET /api/v1/status`: the dock snapshot as one JSON document. It must never reshape the view
//! types: their serde form is the API contract the live script and other clients rely on.

use axum::{Json, extract::State};

use crate::{DockSnapshot, SharedView};

pub(crate) async fn status(State(view): State<SharedView>) -> Json<DockSnapshot> {
    Json(view.snapshot())
}

#[cfg(test)]
mod tests {
    use axum::http::{StatusCode, header::CONTENT_TYPE};

    use crate::testing::{FakeDock, body_text, get, snapshot};

    #[tokio::test]
    async fn the_json_api_returns_the_snapshot() {
        let (_dock, router) = FakeDock::router();
        let response = get(router, "/api/v1/status").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        let body: serde_json::Value = serde_json::from_str(&body_text(response).await).unwrap();
        assert_eq!(body, serde_json::to_value(snapshot()).unwrap());
        assert_eq!(body["slots"][0]["state"], "pulling");
        assert_eq!(body["slots"][0]["progress"]["done_bytes"], 1_200_000);
        assert_eq!(body["slots"][3]["serial"], serde_json::Value::Null);
    }

    #[tokio::test]
    async fn the_json_api_shows_the_latest_state() {
        let (dock, router) = FakeDock::router();
        dock.update(|snapshot| snapshot.slots[0].bytes_pulled = 42);
        let body: serde_json::Value =
            serde_json::from_str(&body_text(get(router, "/api/v1/status").await).await).unwrap();
        assert_eq!(body["slots"][0]["bytes_pulled"], 42);
    }
}
