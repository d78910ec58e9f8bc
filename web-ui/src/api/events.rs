//! `GET /api/v1/events`: the dock snapshot as server-sent events, one `status` event on connect
//! and one after each change, for the live status page. It must never send more than one status
//! event per `MIN_GAP` per client, however fast the dock changes, never buffer snapshots (a slow
//! client gets the newest state, not a backlog), and never outlive its session: it checks the
//! session every `SESSION_CHECK` and ends once the session does (sign-out, expiry, or a user
//! removed, disabled or changed), and each event is cut for the session's role as it is then.

use std::{sync::Arc, time::Duration};

use axum::{
    Extension,
    extract::State,
    response::sse::{Event, KeepAlive, Sse},
};
use tokio::{
    sync::watch,
    time::{Instant, MissedTickBehavior, interval, sleep_until},
};
use tokio_stream::Stream;

use crate::{
    SharedView,
    access::{CurrentUser, Role},
    auth::{Auth, SessionId},
};

/// At most ~4 updates a second: enough for a progress bar to look live, cheap for a phone.
const MIN_GAP: Duration = Duration::from_millis(250);

/// How often a quiet stream sends a `ping` event. Unlike an SSE comment, the page script sees it,
/// so it can tell a quiet dock from a dead connection and show "reconnecting…".
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// How often an open stream checks that its session still stands: well within a second.
const SESSION_CHECK: Duration = Duration::from_millis(400);

pub(crate) async fn events(
    State(view): State<SharedView>,
    State(auth): State<Arc<Auth>>,
    user: Option<Extension<CurrentUser>>,
    session: Option<Extension<SessionId>>,
) -> Sse<impl Stream<Item = Result<Event, axum::Error>>> {
    let closing = view.shutting_down();
    let mut checks = interval(SESSION_CHECK);
    checks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let live = Live {
        changes: view.subscribe(),
        view,
        auth,
        session: session.map(|Extension(id)| id),
        role: user.map(|Extension(user)| user.role),
        checks,
        last_sent: None,
    };
    let stream = futures_util::stream::unfold(live, |mut live| async move {
        live.next_event().await.map(|event| (event, live))
    });
    let stream = futures_util::StreamExt::take_until(stream, closing);
    let ping = Event::default().event("ping").data("{}");
    Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).event(ping))
}

/// One open stream.
struct Live {
    view: SharedView,
    auth: Arc<Auth>,
    changes: watch::Receiver<u64>,
    /// The session the stream belongs to (`None` only on the preview router, without sign-in).
    session: Option<SessionId>,
    role: Option<Role>,
    checks: tokio::time::Interval,
    last_sent: Option<Instant>,
}

impl Live {
    /// The next `status` event: at once for the first, then after a change (changes while the
    /// gap runs collapse into one, and the snapshot is taken when the event is sent, so it is
    /// always the newest); `None` once the session is over or the dock stopped publishing.
    async fn next_event(&mut self) -> Option<Result<Event, axum::Error>> {
        if let Some(last) = self.last_sent {
            loop {
                tokio::select! {
                    changed = self.changes.changed() => {
                        changed.ok()?;
                        break;
                    }
                    _ = self.checks.tick() => self.check_session()?,
                }
            }
            sleep_until(last + MIN_GAP).await;
        }
        self.check_session()?;
        self.changes.borrow_and_update();
        self.last_sent = Some(Instant::now());
        Some(
            Event::default()
                .event("status")
                .json_data(self.view.snapshot().for_role(self.role))
                .inspect_err(|error| tracing::warn!(%error, "Could not encode a status event.")),
        )
    }

    /// `Some` while the session stands, taking its role as it is now; `None` once it ended.
    fn check_session(&mut self) -> Option<()> {
        if let Some(id) = &self.session {
            self.role = Some(self.auth.still_live(id)?.user.role);
        }
        Some(())
    }
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
    async fn the_stream_ends_within_a_second_of_its_session_ending_however_it_ends() {
        use crate::access::Role;
        let site = crate::testing::TestSite::new(false);
        let ends = ["sign-out", "demotion", "disabling", "removal"];
        for how in ends {
            site.accounts.change("sam", |standing| {
                standing.role = Role::Supervisor;
                standing.disabled = false;
            });
            let sam = site.signed_in("sam", Role::Supervisor);
            let mut body = get(sam.clone(), "/api/v1/events").await.into_body();
            let (_, data) = next_event(&mut body, &mut String::new()).await;
            assert_eq!(data["slots"][1]["worker"], "Worker 2");
            match how {
                "sign-out" => {
                    let out = crate::testing::request(
                        sam.clone(),
                        axum::http::Method::POST,
                        "/api/v1/logout",
                    )
                    .await;
                    assert_eq!(out.status(), StatusCode::NO_CONTENT);
                }
                "demotion" => site
                    .accounts
                    .change("sam", |standing| standing.role = Role::Technician),
                "disabling" => site
                    .accounts
                    .change("sam", |standing| standing.disabled = true),
                _ => site.accounts.remove("sam"),
            }
            let ended = timeout(Duration::from_secs(1), async {
                // Nothing but the end may come: no event with a name after the session ended.
                body.frame().await.map(|frame| frame.unwrap())
            })
            .await;
            assert!(matches!(ended, Ok(None)), "{how}: the stream went on");
        }
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
