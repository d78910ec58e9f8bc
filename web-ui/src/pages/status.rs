//! The dock status page: one tile per slot, rendered on the server so it is complete without
//! JavaScript; `assets/status.js` then keeps the tiles live from the event stream. It must never
//! show worker identities, and never put view text into the page unescaped.
//! The tile markup is mirrored by `renderSlot` in `assets/status.js`: change both together.

use std::fmt;

use axum::{extract::State, http::StatusCode, response::Response};

use super::{
    Shell, Visitor,
    escape::Escaped,
    format::{bytes, count, counted, time_element},
};
use crate::{DockSnapshot, Progress, SharedView, SlotView, assets};

/// `GET /`. Not cacheable: a stale copy would show a pull as still running to a visitor
/// without JavaScript, or after "back".
///
/// Signed in, the shell adds the navigation and the account bar with the sign-out button.
pub(crate) async fn page(State(view): State<SharedView>, visitor: Visitor) -> Response {
    let snapshot = view
        .snapshot()
        .for_role(visitor.user().map(|user| user.role));
    let title = format!("{} · Dock status", snapshot.dock);
    // Without JavaScript the indicator stays as rendered here; the script takes it over.
    let live = format!(
        "<p class=\"status-line\">\
         <span id=\"live\" class=\"live\" data-live=\"off\">Snapshot: reload to update</span> \
         <span class=\"updated\">Updated <span id=\"updated\">{}</span></span></p>\n",
        time_element(snapshot.now_ms, true),
    );
    let footer = format!(
        "<footer class=\"foot\">dockd {}</footer>\n",
        Escaped(&snapshot.version)
    );
    Shell::new(&title)
        .heading(&snapshot.dock)
        .header(&live)
        .current("/")
        .script(assets::STATUS_JS)
        .footer(&footer)
        .render(
            StatusCode::OK,
            visitor.viewer(),
            &Tiles(&snapshot).to_string(),
        )
}

/// The tiles, one per slot.
struct Tiles<'a>(&'a DockSnapshot);

impl fmt::Display for Tiles<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let snapshot = self.0;
        f.write_str("<ul id=\"slots\" class=\"tiles\">\n")?;
        if snapshot.slots.is_empty() {
            f.write_str("<li class=\"tile\">This dock reports no slots.</li>\n")?;
        }
        for slot in &snapshot.slots {
            Tile(slot).fmt(f)?;
        }
        f.write_str("</ul>\n")
    }
}

/// One slot's tile. Every line is plain words; what is absent is left out rather than shown
/// as a zero or a dash.
struct Tile<'a>(&'a SlotView);

impl fmt::Display for Tile<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slot = self.0;
        write!(
            f,
            "<li class=\"tile\" data-state=\"{}\">\n<div class=\"tile-head\"><h2>Slot {}</h2>\
             <span class=\"state\">{}</span></div>\n",
            slot.state.as_str(),
            slot.slot,
            Escaped(&slot.state_text),
        )?;
        match &slot.serial {
            Some(serial) => writeln!(
                f,
                "<p class=\"serial\">Wearable <strong>{}</strong></p>",
                Escaped(serial)
            )?,
            None => f.write_str("<p class=\"serial\">No wearable</p>\n")?,
        }
        if let Some(worker) = &slot.worker {
            writeln!(
                f,
                "<p class=\"worker\">Worn by <strong>{}</strong></p>",
                Escaped(worker)
            )?;
        }
        if let Some(battery) = battery_text(slot.battery_soc, slot.charging) {
            writeln!(f, "<p class=\"battery\">{battery}</p>")?;
        }
        if let Some(progress) = slot.progress {
            Bar(progress).fmt(f)?;
        }
        if let Some(advice) = &slot.advice {
            writeln!(
                f,
                "<p class=\"advice\"><strong>What to do:</strong> {}</p>",
                Escaped(advice)
            )?;
        }
        if slot.quarantined > 0 {
            writeln!(
                f,
                "<p class=\"quarantine\">{}</p>",
                quarantine_text(slot.quarantined)
            )?;
        }
        let facts = Facts(slot).to_string();
        if !facts.is_empty() {
            write!(f, "<dl class=\"facts\">\n{facts}</dl>\n")?;
        }
        f.write_str("</li>\n")
    }
}

/// The tile's numbers as `<dl>` rows; empty when there is nothing to count.
struct Facts<'a>(&'a SlotView);

impl fmt::Display for Facts<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slot = self.0;
        if slot.segments_total > 0 || slot.bytes_pulled > 0 {
            writeln!(
                f,
                "<div><dt>Pulled</dt><dd>{} of {}, {}</dd></div>",
                count(slot.segments_pulled.into()),
                counted(slot.segments_total.into(), "log", "logs"),
                bytes(slot.bytes_pulled),
            )?;
        }
        if slot.serial.is_some() {
            // Readings and alerts only for roles that see workers (`for_role` removed them else).
            write!(
                f,
                "<div><dt>Stored on dock</dt><dd>{}",
                counted(slot.segments_stored, "log", "logs"),
            )?;
            if let Some(figures) = slot.worker_figures {
                write!(
                    f,
                    ", {}, {}",
                    counted(figures.samples_stored, "reading", "readings"),
                    counted(figures.alerts_stored, "alert", "alerts"),
                )?;
            }
            f.write_str("</dd></div>\n")?;
        }
        if let Some(docked) = slot.last_docked_ms {
            writeln!(
                f,
                "<div><dt>Last docked</dt><dd>{}</dd></div>",
                time_element(docked, false)
            )?;
        }
        Ok(())
    }
}

/// The pull's progress bar with the same numbers in words (the bar alone says nothing to a
/// screen reader or a glance from across the room).
struct Bar(Progress);

impl fmt::Display for Bar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Progress {
            done_bytes,
            total_bytes,
        } = self.0;
        if total_bytes == 0 {
            // Size not known yet: an indeterminate bar.
            return writeln!(
                f,
                "<div class=\"pull\"><progress aria-label=\"Pull progress\"></progress>\
                 <p class=\"pull-text\">{} pulled</p></div>",
                bytes(done_bytes)
            );
        }
        let done = done_bytes.min(total_bytes);
        let percent = u128::from(done) * 100 / u128::from(total_bytes);
        writeln!(
            f,
            "<div class=\"pull\"><progress aria-label=\"Pull progress\" max=\"{total_bytes}\" \
             value=\"{done}\">{percent}%</progress>\
             <p class=\"pull-text\">{} of {} ({percent}%)</p></div>",
            bytes(done),
            bytes(total_bytes),
        )
    }
}

/// `Battery 82%, charging`; `None` when there is nothing to say.
fn battery_text(soc: Option<u8>, charging: bool) -> Option<String> {
    match (soc, charging) {
        (Some(soc), true) => Some(format!("Battery {soc}%, charging")),
        (Some(soc), false) => Some(format!("Battery {soc}%")),
        (None, true) => Some("Charging".to_owned()),
        (None, false) => None,
    }
}

/// Quarantine in words a supervisor can act on: nothing is lost, support can look at it.
fn quarantine_text(quarantined: u32) -> String {
    if quarantined == 1 {
        "1 damaged log kept on the dock for support; the wearable keeps its copy.".to_owned()
    } else {
        format!(
            "{} damaged logs kept on the dock for support; the wearable keeps its copies.",
            count(quarantined.into())
        )
    }
}

#[cfg(test)]
mod tests {
    use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};

    use super::*;
    use crate::{
        SlotState,
        testing::{FakeDock, body_text, get, slot},
    };

    #[tokio::test]
    async fn the_page_lists_every_slots_serial_and_a_progress_bar_for_a_pulling_slot() {
        let (_dock, router) = FakeDock::router();
        let response = get(router, "/").await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/html; charset=utf-8");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        let html = body_text(response).await;
        for serial in ["KW-00101", "KW-00102", "KW-00103"] {
            assert!(html.contains(serial), "{serial} missing from the page");
        }
        assert!(html.contains(
            "<progress aria-label=\"Pull progress\" max=\"3400000\" value=\"1200000\">35%</progress>"
        ));
        assert!(html.contains("1.2 MB of 3.4 MB (35%)"));
        assert_eq!(html.matches("<progress").count(), 1);
        assert_eq!(html.matches("<li class=\"tile\"").count(), 4);
    }

    #[tokio::test]
    async fn the_page_has_the_site_navigation_for_the_signed_in_role() {
        let (_dock, supervisor) = FakeDock::router();
        let html = body_text(get(supervisor, "/").await).await;
        assert!(html.contains("<a href=\"/\" aria-current=\"page\">Dock</a>"));
        assert!(html.contains("<a href=\"/overview\">Today</a>"));
        assert!(!html.contains("href=\"/settings\""));
        let site = crate::testing::TestSite::new(false);
        let technician = site.signed_in("tina", crate::access::Role::Technician);
        let html = body_text(get(technician, "/").await).await;
        assert!(html.contains("class=\"site-nav\""));
        assert!(!html.contains("href=\"/overview\""));
    }

    #[tokio::test]
    async fn the_tiles_say_who_wears_each_wearable_and_their_counts_to_supervisors_and_never_to_technicians()
     {
        let (dock, supervisor) = FakeDock::router();
        dock.update(|snapshot| snapshot.slots[0].worker = Some("<Ana & Bo>".to_owned()));
        let html = body_text(get(supervisor, "/").await).await;
        assert!(
            html.contains("Worn by <strong>&lt;Ana &amp; Bo&gt;</strong>"),
            "{html}"
        );
        assert!(html.contains("Worn by <strong>Worker 2</strong>"));
        let site = crate::testing::TestSite::new(false);
        let technician = site.signed_in("tina", crate::access::Role::Technician);
        let html = body_text(get(technician, "/").await).await;
        assert!(
            !html.contains("Worn by") && !html.contains("Worker 2"),
            "{html}"
        );
        assert!(html.contains("KW-00102"));
        // Device health only: no counts stored from the wear, which add up to a worker's alerts.
        assert!(
            !html.contains("alert") && !html.contains("reading"),
            "{html}"
        );
        assert!(html.contains("<dd>10 logs</dd>") && html.contains("Battery 80%"));
    }

    #[tokio::test]
    async fn a_hostile_serial_and_texts_are_escaped() {
        let (dock, router) = FakeDock::router();
        dock.update(|snapshot| {
            snapshot.dock = "<b>dock</b>".to_owned();
            snapshot.slots[0].serial = Some("<script>alert(1)</script>".to_owned());
            snapshot.slots[0].state_text = "\"><img src=x>".to_owned();
            snapshot.slots[0].advice = Some("<a href=javascript:x>".to_owned());
        });
        let html = body_text(get(router, "/").await).await;
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!html.contains("<b>dock"));
        assert!(!html.contains("<img"));
        assert!(!html.contains("<a href=javascript"));
        // The only script is the page's own, and it is not inline.
        assert_eq!(html.matches("<script").count(), 1);
        assert!(html.contains("<script src=\"/assets/status.js\" defer></script>"));
    }

    #[test]
    fn an_errored_slot_says_what_to_do_and_a_done_slot_shows_its_counts() {
        let mut errored = slot(2, SlotState::Error);
        errored.state_text = "Could not pull the logs".to_owned();
        errored.advice = Some("Take the wearable out and dock it again.".to_owned());
        let html = Tile(&errored).to_string();
        assert!(html.contains("data-state=\"error\""));
        assert!(
            html.contains("<strong>What to do:</strong> Take the wearable out and dock it again.")
        );

        let mut done = slot(3, SlotState::Done);
        done.segments_pulled = 5;
        done.segments_total = 5;
        done.bytes_pulled = 3_400_000;
        done.segments_stored = 1_204;
        done.worker_figures = Some(crate::WorkerFigures {
            samples_stored: 1_080_000,
            alerts_stored: 1,
        });
        let html = Tile(&done).to_string();
        assert!(html.contains("<dd>5 of 5 logs, 3.4 MB</dd>"));
        assert!(html.contains("<dd>1,204 logs, 1,080,000 readings, 1 alert</dd>"));
        assert!(!html.contains("<progress"));
        done.worker_figures = None;
        assert!(Tile(&done).to_string().contains("<dd>1,204 logs</dd>"));
    }

    #[test]
    fn quarantined_logs_are_explained_in_plain_words() {
        let mut one = slot(1, SlotState::Done);
        one.quarantined = 1;
        assert!(
            Tile(&one).to_string().contains(
                "1 damaged log kept on the dock for support; the wearable keeps its copy."
            )
        );
        let mut two = slot(1, SlotState::Done);
        two.quarantined = 2;
        assert!(Tile(&two).to_string().contains("2 damaged logs"));
        assert!(
            !Tile(&slot(1, SlotState::Done))
                .to_string()
                .contains("damaged")
        );
    }

    #[test]
    fn an_empty_slot_shows_no_wearable_and_no_made_up_numbers() {
        let mut empty = slot(4, SlotState::Empty);
        empty.serial = None;
        empty.battery_soc = None;
        empty.charging = false;
        empty.last_docked_ms = None;
        let html = Tile(&empty).to_string();
        assert!(html.contains("No wearable"));
        assert!(!html.contains("Battery"));
        assert!(!html.contains("Stored on dock"));
        assert!(!html.contains("Last docked"));
        assert!(!html.contains("<dl"));
    }

    #[test]
    fn last_docked_is_a_time_element_in_utc_for_the_script_to_localise() {
        let mut docked = slot(1, SlotState::Docked);
        docked.last_docked_ms = Some(1_709_211_909_750);
        assert!(Tile(&docked).to_string().contains(
            "<dt>Last docked</dt><dd><time datetime=\"2024-02-29T13:05:09Z\">2024-02-29 13:05 UTC</time></dd>"
        ));
    }

    #[test]
    fn a_pull_of_unknown_size_shows_an_indeterminate_bar_and_overshoot_is_capped() {
        let unknown = Bar(Progress {
            done_bytes: 0,
            total_bytes: 0,
        })
        .to_string();
        assert!(unknown.contains("<progress aria-label=\"Pull progress\"></progress>"));
        let over = Bar(Progress {
            done_bytes: 12,
            total_bytes: 10,
        })
        .to_string();
        assert!(over.contains("max=\"10\" value=\"10\">100%"));
    }

    #[test]
    fn battery_is_described_only_with_what_is_known() {
        assert_eq!(
            battery_text(Some(82), true).as_deref(),
            Some("Battery 82%, charging")
        );
        assert_eq!(
            battery_text(Some(82), false).as_deref(),
            Some("Battery 82%")
        );
        assert_eq!(battery_text(None, true).as_deref(), Some("Charging"));
        assert_eq!(battery_text(None, false), None);
    }
}
