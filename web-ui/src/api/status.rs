//! `GET /api/v1/status`: the dock snapshot as one JSON document. It must never reshape the view
//! types: their serde form is the API contract the live script and other clients rely on.

use axum::{Extension, Json, extract::State};

use crate::{DockSnapshot, SharedView, access::CurrentUser};

pub(crate) async fn status(
    State(view): State<SharedView>,
    user: Option<Extension<CurrentUser>>,
) -> Json<DockSnapshot> {
    let role = user.map(|Extension(user)| user.role);
    Json(view.snapshot().for_role(role))
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
    async fn who_wears_a_wearable_and_its_counts_are_in_the_json_only_for_roles_that_see_workers() {
        let site = crate::testing::TestSite::new(false);
        for (role, shown) in [
            (crate::access::Role::Admin, true),
            (crate::access::Role::Supervisor, true),
            (crate::access::Role::Technician, false),
        ] {
            let client = site.signed_in("someone", role);
            let text = body_text(get(client, "/api/v1/status").await).await;
            let body: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert_eq!(body["slots"][1]["worker"] == "Worker 2", shown, "{role:?}");
            assert_eq!(text.contains("worker"), shown, "{role:?}: {text}");
            // A technician gets device health only: no counts from the wear either.
            assert_eq!(body["slots"][1]["alerts_stored"] == 3, shown, "{role:?}");
            assert_eq!(text.contains("alerts"), shown, "{role:?}: {text}");
            assert_eq!(text.contains("samples"), shown, "{role:?}: {text}");
            assert_eq!(body["slots"][1]["battery_soc"], 80);
        }
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
