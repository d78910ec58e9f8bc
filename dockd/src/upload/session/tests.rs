//! Tests of `upload::session` and `upload::retry`: send, wait, pause, dead letter, split, status, and a week offline.

use proptest::prelude::*;

use super::*;
use crate::upload::retry::CAP_MS;
use crate::upload::testing::Rng;

const DAY_MS: i64 = 86_400_000;

fn ready(id: &str, items: u64, bytes: u64, oldest_ms: i64) -> Ready {
    Ready {
        id: id.into(),
        items,
        bytes,
        oldest_ms,
    }
}

/// A session holding batch `a` (oldest, large) and `b` (newer, small).
fn two_batches() -> Session {
    let mut s = Session::new(0, None);
    s.offer(ready("a", 10, 9000, 100));
    s.offer(ready("b", 3, 800, 200));
    s
}

#[test]
fn the_oldest_batch_goes_first_and_a_delivery_commits_it() {
    let mut s = two_batches();
    let mut rng = Rng::new(1);
    assert_eq!(s.poll(1000), Action::Send("a".into()));
    assert_eq!(s.poll(1000), Action::AwaitingOutcome);
    let v = s
        .on_outcome(1200, "a", &Outcome::Delivered, &mut rng)
        .unwrap();
    assert_eq!(v, Verdict::Commit("a".into()));
    assert_eq!(s.status().last_success_ms, Some(1200));
    assert_eq!(s.poll(1200), Action::Send("b".into()));
    s.on_outcome(1300, "b", &Outcome::Delivered, &mut rng)
        .unwrap();
    assert_eq!(s.poll(1300), Action::Idle);
}

#[test]
fn a_server_error_retries_the_same_batch_after_a_jittered_wait_of_at_most_ten_seconds() {
    let mut s = two_batches();
    let mut rng = Rng::new(2);
    assert_eq!(s.poll(0), Action::Send("a".into()));
    let Verdict::Retry { id, at_ms } = s
        .on_outcome(100, "a", &Outcome::ServerError(503), &mut rng)
        .unwrap()
    else {
        panic!("a 503 is retried")
    };
    assert_eq!(id, "a");
    assert!(
        (100..=100 + 500).contains(&at_ms),
        "the first wait is at most 0.5 s"
    );
    assert_eq!(
        s.status().last_error.as_deref(),
        Some("The receiver failed with HTTP 503.")
    );
    if at_ms > 100 {
        assert_eq!(s.poll(100), Action::Wait { until_ms: at_ms });
    }
    // While failing, the smallest batch probes; the failed batch stays queued.
    assert_eq!(s.poll(at_ms), Action::Send("b".into()));
    s.on_outcome(at_ms + 10, "b", &Outcome::Delivered, &mut rng)
        .unwrap();
    assert_eq!(s.status().last_error, None);
    assert_eq!(
        s.poll(at_ms + 10),
        Action::Send("a".into()),
        "no wait after a success"
    );
}

#[test]
fn a_429_retry_after_is_honoured() {
    let mut s = two_batches();
    let mut rng = Rng::new(3);
    s.poll(0);
    let outcome = Outcome::from_status(429, Some(120));
    let v = s.on_outcome(0, "a", &outcome, &mut rng).unwrap();
    assert_eq!(
        v,
        Verdict::Retry {
            id: "a".into(),
            at_ms: 120_000
        }
    );
    assert_eq!(s.poll(119_999), Action::Wait { until_ms: 120_000 });
}

#[test]
fn a_refused_token_pauses_the_queue_until_a_probe_succeeds_or_it_is_resumed() {
    let mut s = two_batches();
    let mut rng = Rng::new(4);
    s.poll(0);
    let v = s
        .on_outcome(10, "a", &Outcome::from_status(401, None), &mut rng)
        .unwrap();
    let Verdict::Pause { reason } = v else {
        panic!("401 pauses")
    };
    assert!(reason.contains("token or credentials"), "{reason}");
    assert_eq!(
        s.poll(20),
        Action::Paused {
            reason: reason.clone(),
            probe_at_ms: 10 + 30_000
        }
    );
    // The probe is the smallest batch; a second refusal keeps the pause.
    assert_eq!(s.poll(30_010), Action::Send("b".into()));
    s.on_outcome(30_020, "b", &Outcome::AuthRefused(403), &mut rng)
        .unwrap();
    assert!(s.paused().is_some());
    // New credentials: resumed, it sends at once (the oldest first again).
    s.resume();
    assert_eq!(s.poll(30_030), Action::Send("a".into()));
    s.on_outcome(30_040, "a", &Outcome::Delivered, &mut rng)
        .unwrap();
    assert_eq!(s.paused(), None);
}

#[test]
fn a_probe_that_succeeds_ends_the_pause() {
    let mut s = two_batches();
    let mut rng = Rng::new(5);
    s.poll(0);
    s.on_outcome(
        0,
        "a",
        &Outcome::Tls("certificate expired".into()),
        &mut rng,
    )
    .unwrap();
    assert_eq!(s.poll(30_000), Action::Send("b".into()));
    // A probe that cannot reach the receiver leaves the pause as it was.
    let v = s
        .on_outcome(30_100, "b", &Outcome::Timeout, &mut rng)
        .unwrap();
    assert!(matches!(v, Verdict::Pause { .. }));
    assert!(s.paused().is_some());
    assert_eq!(s.poll(60_100), Action::Send("b".into()));
    s.on_outcome(60_200, "b", &Outcome::Delivered, &mut rng)
        .unwrap();
    assert_eq!(s.paused(), None);
    assert_eq!(s.poll(60_200), Action::Send("a".into()));
}

#[test]
fn clock_skew_and_unexpected_answers_pause_too() {
    for outcome in [Outcome::ClockSkew, Outcome::from_status(404, None)] {
        let mut s = two_batches();
        s.poll(0);
        let v = s.on_outcome(0, "a", &outcome, &mut Rng::new(6)).unwrap();
        assert!(matches!(v, Verdict::Pause { .. }), "{outcome:?}");
    }
}

#[test]
fn a_refused_batch_is_parked_and_the_rest_continue() {
    let mut s = two_batches();
    let mut rng = Rng::new(7);
    s.poll(0);
    let v = s
        .on_outcome(5, "a", &Outcome::from_status(422, None), &mut rng)
        .unwrap();
    assert!(matches!(v, Verdict::DeadLetter { ref id, .. } if id == "a"));
    assert_eq!(s.status().dead_letters, 1);
    assert_eq!(s.poll(5), Action::Send("b".into()), "no wait, no pause");
}

#[test]
fn a_too_large_batch_is_split_and_a_single_too_large_record_is_parked() {
    let mut s = two_batches();
    let mut rng = Rng::new(8);
    s.poll(0);
    let v = s
        .on_outcome(0, "a", &Outcome::from_status(413, None), &mut rng)
        .unwrap();
    assert_eq!(v, Verdict::Split("a".into()));
    assert_eq!(s.ready().len(), 1);
    let mut one = Session::new(0, None);
    one.offer(ready("x", 1, 90_000_000, 0));
    one.poll(0);
    let v = one
        .on_outcome(0, "x", &Outcome::TooLarge, &mut rng)
        .unwrap();
    assert!(matches!(v, Verdict::DeadLetter { .. }));
    assert_eq!(one.status().dead_letters, 1);
}

#[test]
fn an_outcome_for_a_batch_not_in_flight_is_refused() {
    let mut s = two_batches();
    let mut rng = Rng::new(9);
    assert!(s.on_outcome(0, "a", &Outcome::Delivered, &mut rng).is_err());
    s.poll(0);
    assert_eq!(
        s.on_outcome(0, "b", &Outcome::Delivered, &mut rng),
        Err(NotInFlight("b".into()))
    );
}

#[test]
fn offering_a_batch_twice_queues_it_once() {
    let mut s = two_batches();
    s.offer(ready("a", 10, 9000, 100));
    assert_eq!(s.ready().len(), 2);
}

#[test]
fn the_status_has_the_shape_dockd_status_json_promises() {
    let mut s = Session::new(2, Some(5));
    s.set_queue(QueueFigures {
        items: 7,
        bytes: 900,
        oldest_ms: Some(3),
    });
    let json = serde_json::to_value(s.status()).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "queued_items": 7, "queued_bytes": 900, "oldest_ms": 3,
            "last_success_ms": 5, "last_error": null, "dead_letters": 2
        })
    );
    s.set_dead_letters(0);
    assert_eq!(s.status().dead_letters, 0);
}

#[test]
fn statuses_map_to_the_documented_outcomes() {
    assert_eq!(Outcome::from_status(204, None), Outcome::Delivered);
    assert_eq!(Outcome::from_status(500, None), Outcome::ServerError(500));
    assert_eq!(Outcome::from_status(408, None), Outcome::Timeout);
    assert_eq!(Outcome::from_status(403, None), Outcome::AuthRefused(403));
    assert_eq!(
        Outcome::from_status(400, None),
        Outcome::ContentRefused(400)
    );
    assert_eq!(Outcome::from_status(413, None), Outcome::TooLarge);
    assert_eq!(Outcome::from_status(301, None), Outcome::Unexpected(301));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// The receiver fails every attempt (5xx, resets, timeouts, 429 without Retry-After) for up
    /// to 7 days, then accepts everything. Nothing is ever paused or parked, every wait after a
    /// failure is at most 10 s, and the first attempt after it answers again starts within 10 s of
    /// its return (or of the end of the attempt in flight at that moment).
    #[test]
    fn after_an_outage_of_up_to_seven_days_the_first_attempt_comes_within_ten_seconds(
        outage_ms in 0i64..7 * DAY_MS,
        seed in any::<u64>(),
    ) {
        let mut s = two_batches();
        let mut rng = Rng::new(seed);
        let mut faults = Rng::new(seed ^ 0x5eed);
        let mut now = 0i64;
        let mut last_failure_end = 0i64;
        let mut attempts = 0u64;
        loop {
            match s.poll(now) {
                Action::Send(id) => {
                    attempts += 1;
                    if now >= outage_ms {
                        let limit = outage_ms.max(last_failure_end) + i64::try_from(CAP_MS).unwrap();
                        prop_assert!(now <= limit, "first attempt at {} > {}", now, limit);
                        let v = s.on_outcome(now + 50, &id, &Outcome::Delivered, &mut rng).unwrap();
                        prop_assert_eq!(v, Verdict::Commit(id));
                        break;
                    }
                    let (outcome, took_ms) = match faults.next_u64() % 4 {
                        0 => (Outcome::ServerError(503), 80),
                        1 => (Outcome::ConnectionLost, 5),
                        2 => (Outcome::Timeout, 30_000),
                        _ => (Outcome::TooManyRequests { retry_after_ms: None }, 20),
                    };
                    let end = now + took_ms;
                    match s.on_outcome(end, &id, &outcome, &mut rng).unwrap() {
                        Verdict::Retry { at_ms, .. } => {
                            prop_assert!(at_ms >= end && at_ms - end <= i64::try_from(CAP_MS).unwrap());
                        }
                        other => prop_assert!(false, "a retriable failure gave {:?}", other),
                    }
                    last_failure_end = end;
                    now = end;
                }
                Action::Wait { until_ms } => {
                    prop_assert!(until_ms > now);
                    now = until_ms;
                }
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        // Never gave up: both batches are still there to deliver (one just was).
        prop_assert_eq!(s.ready().len(), 1);
        prop_assert!(attempts >= 1);
        prop_assert_eq!(s.status().dead_letters, 0);
    }

    #[test]
    fn every_backoff_lies_within_its_full_jitter_bound(failures in 1u32..200, seed in any::<u64>()) {
        let mut rng = Rng::new(seed);
        let bound = retry::backoff_bound_ms(failures);
        prop_assert!(bound <= CAP_MS);
        prop_assert_eq!(bound, (retry::BASE_MS << (failures - 1).min(20)).min(CAP_MS));
        for _ in 0..20 {
            prop_assert!(retry::backoff_ms(failures, &mut rng) <= bound);
        }
    }
}

#[test]
fn a_batch_withdrawn_while_in_flight_frees_the_queue_for_the_next() {
    let mut s = two_batches();
    assert_eq!(s.poll(1000), Action::Send("a".into()));
    s.withdraw("a");
    assert_eq!(s.poll(1000), Action::Send("b".into()));
    assert!(s.ready().iter().all(|r| r.id != "a"));
}
