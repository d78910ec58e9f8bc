//! `GET /api/v1/events`: the dock snapshot as server-sent events, one `status` event on connect
//! and one after each change, for the live status page. It must never send more than one status
//! event per `MIN_GAP` per client, however fast the dock changes, and never buffer snapshots: a
//! slow client gets the newest state, not a backlog.

use std::time::Duration;

use axum::{
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use tokio_stream::{Stream, StreamExt, wrappers::WatchStream};

use crate::SharedView;

/// At most ~4 updates a second: enough for a progress bar to look live, cheap for a phone.
const MIN_GAP: Duration = Duration::from_millis(250);

/// How often a quiet stream sends a `ping` event. Unlike an SSE comment, the page script sees it,
/// so it can tell a quiet dock from a dead connection and show "reconnecting…".
const KEEP_ALIVE: Duration = Duration::from_secs(15);

pub(crate) async fn events(
    State(view): State<SharedView>,
    user: Option<axum::Extension<crate::access::CurrentUser>>,
) -> Sse<impl Stream<Item = Result<Event, axum::Error>>> {
    let role = user.map(|axum::Extension(user)| user.role);
    // The watch stream yields the current value at once, then once per change; changes made
    // while the throttle waits collapse into one, and the snapshot is taken when the event is
    // sent, so it is always the newest. The stream ends when the daemon shuts down (or drops
    // the sender).
    let closing = view.shutting_down();
    let changes = WatchStream::new(view.subscribe())
        .throttle(MIN_GAP)
        .map(move |_generation| {
            Event::default()
                .event("status")
                .json_data(view.snapshot().for_role(role))
                .inspect_err(|error| tracing::warn!(%error, "could not encode a status event"))
        });
    let stream = futures_util::StreamExt::take_until(changes, closing);
    let ping = Event::default().event("ping").data("{}");
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).event(ping))
}

#[cfg(test)]
mod tests {
    use axum::{
        body::Body,
        http::{StatusCode, header::CONTENT_TYPE},
    };
    use http_body_util::BodyExt;
    use tokio::time::{Instant, timeout};

    use super::*;
    use crate::{
        Progress,
        testing::{FakeDock, get, snapshot},
    };

    /// Reads the next complete event (`event` name, `data` as JSON) off the stream, failing the
    /// test if none arrives in time.
    async fn next_event(body: &mut Body, buffer: &mut String) -> (String, serde_json::Value) {
        while !buffer.contains("\n\n") {
            let frame = timeout(Duration::from_secs(30), body.frame())
                .await
                .expect("no event in time")
                .expect("stream ended")
                .unwrap();
            buffer.push_str(std::str::from_utf8(frame.data_ref().unwrap()).unwrap());
        }
        let end = buffer.find("\n\n").unwrap();
        let block: String = buffer.drain(..end + 2).collect();
        let field = |name: &str| {
            block
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .unwrap_or_default()
                .to_owned()
        };
        (
            field("event: "),
            serde_json::from_str(&field("data: ")).unwrap(),
        )
    }

    #[tokio::test]
    async fn sse_sends_a_first_event_on_connect_and_another_after_the_watch_changes() {
        let (dock, router) = FakeDock::router();
        let response = get(router, "/api/v1/events").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
        let (mut body, mut buffer) = (response.into_body(), String::new());

        let (name, data) = next_event(&mut body, &mut buffer).await;
        assert_eq!(name, "status");
        assert_eq!(data, serde_json::to_value(snapshot()).unwrap());

        dock.update(|snapshot| {
            snapshot.slots[0].progress = Some(Progress {
                done_bytes: 2_000_000,
                total_bytes: 3_400_000,
            });
        });
        let (name, data) = next_event(&mut body, &mut buffer).await;
        assert_eq!(name, "status");
        assert_eq!(data["slots"][0]["progress"]["done_bytes"], 2_000_000);
    }

    #[tokio::test]
    async fn a_technicians_live_events_never_say_who_wears_a_wearable_nor_their_counts() {
        let site = crate::testing::TestSite::new(false);
        let technician = site.signed_in("tina", crate::access::Role::Technician);
        let mut body = get(technician, "/api/v1/events").await.into_body();
        let mut buffer = String::new();
        let (_, data) = next_event(&mut body, &mut buffer).await;
        assert!(data["slots"][1].get("worker").is_none(), "{data}");
        assert!(data["slots"][1].get("alerts_stored").is_none(), "{data}");
        assert!(data["slots"][1].get("samples_stored").is_none(), "{data}");
        assert_eq!(data["slots"][1]["serial"], "KW-00102");
        let supervisor = site.signed_in("sam", crate::access::Role::Supervisor);
        let mut body = get(supervisor, "/api/v1/events").await.into_body();
        let (_, data) = next_event(&mut body, &mut String::new()).await;
        assert_eq!(data["slots"][1]["worker"], "Worker 2");
    }

    #[tokio::test]
    async fn the_stream_ends_when_the_dock_shuts_down() {
        let (dock, router) = FakeDock::router();
        let mut body = get(router, "/api/v1/events").await.into_body();
        next_event(&mut body, &mut String::new()).await;
        dock.shut_down();
        let end = timeout(Duration::from_secs(30), body.frame()).await;
        assert!(matches!(end, Ok(None)), "the stream went on after shutdown");
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_of_changes_becomes_one_event_with_the_newest_state_after_the_gap() {
        let (dock, router) = FakeDock::router();
        let mut body = get(router, "/api/v1/events").await.into_body();
        let mut buffer = String::new();
        next_event(&mut body, &mut buffer).await;
        let first_at = Instant::now();

        for done in 1..=10 {
            dock.update(|snapshot| snapshot.slots[0].bytes_pulled = done);
        }
        let (name, data) = next_event(&mut body, &mut buffer).await;
        assert_eq!(name, "status");
        assert_eq!(data["slots"][0]["bytes_pulled"], 10);
        assert!(first_at.elapsed() >= MIN_GAP);

        // Nothing else is queued: the next thing on the wire is the keep-alive ping.
        let (name, _) = next_event(&mut body, &mut buffer).await;
        assert_eq!(name, "ping");
    }

    #[tokio::test(start_paused = true)]
    async fn a_quiet_stream_sends_a_ping_event_the_page_can_see() {
        let (_dock, router) = FakeDock::router();
        let mut body = get(router, "/api/v1/events").await.into_body();
        let mut buffer = String::new();
        next_event(&mut body, &mut buffer).await;
        let quiet_since = Instant::now();
        let (name, data) = next_event(&mut body, &mut buffer).await;
        assert_eq!(name, "ping");
        assert_eq!(data, serde_json::json!({}));
        assert!(quiet_since.elapsed() >= KEEP_ALIVE);
    }
}
