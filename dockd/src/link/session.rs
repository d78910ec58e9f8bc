//! The dock's side of one docked wearable's request/response exchange (protocol.md §2): sequence
//! numbers, retries and resync, as a pure state machine. It owns the retry rules; it must never
//! do I/O or keep time: the driver writes the bytes it returns, feeds it what it reads, and calls
//! `on_timeout` when its 2 s timer for the last write fires.

use super::frame::{FrameDecoder, FrameError};
use super::message::{MessageError, Request, Response, kind};

/// Sends of one request in all: the first and 3 retries.
pub const ATTEMPTS: u8 = 4;

/// What the driver must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The answer to the request: its expected response type or `ERROR`.
    Response(Response),
    /// A link error: write these bytes (the same request, same seq) again and restart the timer.
    Retransmit(Vec<u8>),
    /// The request is lost: the session is over and the wearable is treated as undocked.
    Failed(LinkError),
}

/// Why a session ended.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum LinkError {
    #[error("wearable did not answer in {attempts} attempts")]
    NoResponse { attempts: u8 },
    #[error("link stayed corrupt for {attempts} attempts; last: {last}")]
    Corrupt { attempts: u8, last: FrameError },
    #[error("wearable answered seq {actual} instead of {expected} ({attempts} attempts)")]
    WrongSeq {
        attempts: u8,
        expected: u16,
        actual: u16,
    },
    #[error("wearable's answer cannot be decoded: {0}")]
    BadMessage(MessageError),
    #[error("no request is waiting for an answer")]
    NoRequest,
}

/// One wearable's link, from the dock's side. One request at a time (no pipelining).
#[derive(Debug, Default)]
pub struct Session {
    decoder: FrameDecoder,
    /// Seq of the latest request; the first request gets 1.
    seq: u16,
    /// Sends of the latest request; 0 before the first.
    attempts: u8,
    /// The latest request's frame, kept for retransmits.
    frame: Vec<u8>,
    /// The response type due, while a request is in flight.
    awaiting: Option<u8>,
    /// Whether a request before the latest one exists, whose retries may still be answered.
    has_previous: bool,
    /// Set when bytes of an answer we already gave up on may still arrive (the tail of a frame
    /// we blamed or cut off): noise before the next frame is that tail and costs no attempt.
    resyncing: bool,
}

/// A link error within one attempt.
enum Fault {
    Frame(FrameError),
    Seq(u16),
    Message(MessageError),
}

impl Session {
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a request with a fresh seq and returns the bytes to write.
    ///
    /// Anything still buffered is dropped; if that was part of a frame (a late duplicate being
    /// received), its tail is skipped as noise rather than blamed on this request.
    pub fn begin(&mut self, request: &Request) -> Vec<u8> {
        self.has_previous = self.attempts > 0;
        self.seq = self.seq.wrapping_add(1);
        self.attempts = 1;
        self.resyncing = self.decoder.buffered() > 0;
        self.decoder.clear();
        self.frame = request.encode_frame(self.seq);
        self.awaiting = Some(request.response_kind());
        self.frame.clone()
    }

    /// Feeds bytes read from the link. `None`: keep waiting (the timer keeps running).
    ///
    /// With no request in flight the bytes are unsolicited (late duplicates): complete frames
    /// are dropped and only a partial one is kept, for [`begin`](Self::begin) to cut.
    pub fn on_input(&mut self, bytes: &[u8]) -> Option<Step> {
        self.decoder.push(bytes);
        let Some(response_kind) = self.awaiting else {
            while self.decoder.next_frame().is_some() {}
            return None;
        };
        while let Some(next) = self.decoder.next_frame() {
            let fault = match next {
                // Noise, with or without a stray magic, while the tail of an answer we gave up
                // on may still be arriving.
                Err(
                    FrameError::Garbage { .. } | FrameError::BadVersion(_) | FrameError::TooLong(_),
                ) if self.resyncing => {
                    continue;
                }
                Err(error) => Fault::Frame(error),
                Ok(frame) => {
                    self.resyncing = false;
                    if frame.seq == self.seq {
                        match decode_answer(response_kind, frame.kind, &frame.payload) {
                            Ok(response) => {
                                self.awaiting = None;
                                return Some(Step::Response(response));
                            }
                            Err(error) => Fault::Message(error),
                        }
                    } else if self.has_previous && frame.seq == self.seq.wrapping_sub(1) {
                        // A late answer to a retry of the previous request. The wearable answers
                        // in order, so no older request can still be answered.
                        continue;
                    } else {
                        Fault::Seq(frame.seq)
                    }
                }
            };
            return Some(self.retry_or_fail(fault));
        }
        None
    }

    /// The 2 s timer fired: drops any partial frame (a corrupted length may announce bytes that
    /// never come) and retransmits, or fails after the last attempt.
    pub fn on_timeout(&mut self) -> Step {
        if self.awaiting.is_none() {
            return Step::Failed(LinkError::NoRequest);
        }
        self.decoder.clear();
        if self.attempts >= ATTEMPTS {
            self.awaiting = None;
            return Step::Failed(LinkError::NoResponse {
                attempts: self.attempts,
            });
        }
        self.retransmit()
    }

    /// Sends of the current (or last) request so far.
    pub fn attempts(&self) -> u8 {
        self.attempts
    }

    fn retry_or_fail(&mut self, fault: Fault) -> Step {
        if self.attempts < ATTEMPTS {
            return self.retransmit();
        }
        self.awaiting = None;
        let attempts = self.attempts;
        Step::Failed(match fault {
            Fault::Frame(last) => LinkError::Corrupt { attempts, last },
            Fault::Seq(actual) => LinkError::WrongSeq {
                attempts,
                expected: self.seq,
                actual,
            },
            Fault::Message(error) => LinkError::BadMessage(error),
        })
    }

    fn retransmit(&mut self) -> Step {
        self.attempts += 1;
        // What is left of the answer we gave up on may still arrive.
        self.resyncing = true;
        Step::Retransmit(self.frame.clone())
    }
}

/// A CRC-valid frame of the right seq as the answer to the request: its expected type or ERROR.
fn decode_answer(expected: u8, kind: u8, payload: &[u8]) -> Result<Response, MessageError> {
    if kind != expected && kind != kind::ERROR {
        return Err(MessageError::UnexpectedResponse {
            expected,
            actual: kind,
        });
    }
    Response::decode(kind, payload)
}

#[cfg(test)]
mod tests {
    use super::super::frame::encode_frame;
    use super::super::message::{Info, WearableConfig, error_code};
    use super::*;
    use proptest::prelude::*;

    fn config_answer(seq: u16) -> Vec<u8> {
        Response::Config(WearableConfig::default()).encode_frame(seq)
    }

    fn flipped(mut frame: Vec<u8>, bit: usize) -> Vec<u8> {
        frame[bit / 8] ^= 1 << (bit % 8);
        frame
    }

    fn started() -> (Session, Vec<u8>) {
        let mut session = Session::new();
        let request = session.begin(&Request::GetConfig);
        (session, request)
    }

    fn answered(session: &mut Session, bytes: &[u8]) -> Response {
        match session.on_input(bytes) {
            Some(Step::Response(response)) => response,
            other => panic!("expected a response, got {other:?}"),
        }
    }

    #[test]
    fn the_first_request_has_seq_1_and_its_answer_is_returned() {
        let (mut session, request) = started();
        assert_eq!(request, encode_frame(kind::GET_CONFIG, 1, &[]));
        assert_eq!(session.attempts(), 1);
        assert_eq!(
            answered(&mut session, &config_answer(1)),
            Response::Config(WearableConfig::default())
        );
    }

    #[test]
    fn a_bit_flipped_response_is_retransmitted_with_the_same_bytes() {
        let (mut session, request) = started();
        let corrupt = flipped(config_answer(1), 8 * 14 + 3);
        assert_eq!(session.on_input(&corrupt), Some(Step::Retransmit(request)));
        assert_eq!(session.attempts(), 2);
        assert_eq!(
            answered(&mut session, &config_answer(1)),
            Response::Config(WearableConfig::default())
        );
    }

    #[test]
    fn four_corrupt_responses_fail_the_session() {
        let (mut session, request) = started();
        for attempt in 2..=ATTEMPTS {
            let corrupt = flipped(config_answer(1), 8 * 20);
            assert_eq!(
                session.on_input(&corrupt),
                Some(Step::Retransmit(request.clone()))
            );
            assert_eq!(session.attempts(), attempt);
        }
        let Some(Step::Failed(LinkError::Corrupt {
            attempts: 4,
            last: FrameError::BadCrc { .. },
        })) = session.on_input(&flipped(config_answer(1), 8 * 20))
        else {
            panic!("the fourth corrupt answer must end the session");
        };
        assert_eq!(
            session.on_input(&config_answer(1)),
            None,
            "nothing is awaited any more"
        );
    }

    #[test]
    fn a_late_duplicate_of_the_previous_request_is_dropped_without_costing_an_attempt() {
        let (mut session, request) = started();
        assert_eq!(session.on_timeout(), Step::Retransmit(request));
        // The slow first answer arrives; the retry's answer will follow it.
        answered(&mut session, &config_answer(1));
        session.begin(&Request::List);
        let mut input = config_answer(1);
        input.extend(Response::Segments(vec![]).encode_frame(2));
        assert_eq!(answered(&mut session, &input), Response::Segments(vec![]));
        assert_eq!(session.attempts(), 1);
    }

    #[test]
    fn a_late_duplicate_cut_at_the_next_request_is_skipped_as_noise() {
        let (mut session, _) = started();
        let duplicate = config_answer(1);
        let mut input = config_answer(1);
        input.extend_from_slice(&duplicate[..7]);
        answered(&mut session, &input);
        session.begin(&Request::List);
        let mut input = duplicate[7..].to_vec();
        input.extend(Response::Segments(vec![]).encode_frame(2));
        assert_eq!(answered(&mut session, &input), Response::Segments(vec![]));
        assert_eq!(session.attempts(), 1);
    }

    #[test]
    fn a_frame_of_an_unrelated_seq_is_a_link_error() {
        let (mut session, request) = started();
        assert_eq!(
            session.on_input(&config_answer(77)),
            Some(Step::Retransmit(request))
        );
        for _ in 2..ATTEMPTS {
            session.on_timeout();
        }
        let failed = session.on_input(&config_answer(77));
        assert_eq!(
            failed,
            Some(Step::Failed(LinkError::WrongSeq {
                attempts: 4,
                expected: 1,
                actual: 77
            }))
        );
    }

    #[test]
    fn the_first_request_has_no_previous_seq_to_forgive() {
        let mut session = Session::new();
        let request = session.begin(&Request::GetConfig);
        assert_eq!(
            session.on_input(&config_answer(0)),
            Some(Step::Retransmit(request))
        );
    }

    #[test]
    fn an_undecodable_answer_of_the_right_seq_is_retried_then_fails_as_bad_message() {
        let (mut session, request) = started();
        let short = encode_frame(kind::CONFIG, 1, &[1, 2, 3]);
        assert_eq!(session.on_input(&short), Some(Step::Retransmit(request)));
        for _ in 2..ATTEMPTS {
            session.on_timeout();
        }
        let error = MessageError::BadLength {
            kind: kind::CONFIG,
            len: 3,
            need: 16,
        };
        assert_eq!(
            session.on_input(&short),
            Some(Step::Failed(LinkError::BadMessage(error)))
        );
    }

    #[test]
    fn an_answer_of_the_wrong_type_is_a_link_error() {
        let (mut session, request) = started();
        assert_eq!(
            session.on_input(&Response::Ok.encode_frame(1)),
            Some(Step::Retransmit(request))
        );
    }

    #[test]
    fn an_error_answers_any_request() {
        let (mut session, _) = started();
        let error = Response::Error {
            code: error_code::BUSY,
            message: "busy".to_owned(),
        };
        assert_eq!(answered(&mut session, &error.encode_frame(1)), error);
    }

    #[test]
    fn timeouts_retransmit_then_fail_after_four_attempts() {
        let (mut session, request) = started();
        for attempt in 2..=ATTEMPTS {
            assert_eq!(session.on_timeout(), Step::Retransmit(request.clone()));
            assert_eq!(session.attempts(), attempt);
        }
        assert_eq!(
            session.on_timeout(),
            Step::Failed(LinkError::NoResponse { attempts: 4 })
        );
        assert_eq!(session.on_timeout(), Step::Failed(LinkError::NoRequest));
    }

    #[test]
    fn a_timeout_drops_a_frame_whose_corrupted_length_never_completes() {
        let (mut session, request) = started();
        let mut answer = config_answer(1);
        answer[9] = 0x01; // len 16 → 272: the frame now waits for bytes that never come
        assert_eq!(session.on_input(&answer), None);
        assert_eq!(session.on_timeout(), Step::Retransmit(request));
        assert_eq!(
            answered(&mut session, &config_answer(1)),
            Response::Config(WearableConfig::default())
        );
    }

    #[test]
    fn garbage_instead_of_an_answer_is_retransmitted_once_and_its_tail_costs_nothing() {
        let (mut session, request) = started();
        let mut answer = config_answer(1);
        answer[0] = b'X'; // the answer's magic is hit
        assert_eq!(
            session.on_input(&answer[..10]),
            Some(Step::Retransmit(request))
        );
        assert_eq!(session.on_input(&answer[10..]), None);
        assert_eq!(session.attempts(), 2);
        assert_eq!(
            answered(&mut session, &config_answer(1)),
            Response::Config(WearableConfig::default())
        );
    }

    #[test]
    fn a_response_split_into_one_byte_chunks_is_reassembled() {
        let mut session = Session::new();
        session.begin(&Request::Hello { proto_max: 1 });
        let info = Info {
            serial: "KW-000123".to_owned(),
            model: 1,
            hw_rev: 3,
            fw_major: 1,
            fw_minor: 4,
            fw_patch: 2,
            proto_ver: 1,
            clock_valid: true,
            charging: true,
            haptics_enabled: true,
            boot_count: 42,
            device_ms: 1_763_800_123_456,
            batt_soc: 76,
            batt_health: 93,
            batt_cycles: 311,
            batt_mv: 3987,
            batt_temp_dc: -15,
            worker: None,
            segments: 0,
        };
        let wire = Response::Info(info.clone()).encode_frame(1);
        let (last, head) = wire.split_last().unwrap();
        for byte in head {
            assert_eq!(session.on_input(std::slice::from_ref(byte)), None);
        }
        assert_eq!(answered(&mut session, &[*last]), Response::Info(info));
    }

    #[test]
    fn seq_wraps_around() {
        let mut session = Session {
            seq: u16::MAX,
            attempts: 1,
            ..Session::new()
        };
        let request = session.begin(&Request::GetConfig);
        assert_eq!(request, encode_frame(kind::GET_CONFIG, 0, &[]));
        let mut input = config_answer(u16::MAX);
        input.extend(config_answer(0));
        answered(&mut session, &input);
    }

    proptest! {
        #[test]
        fn one_flipped_bit_anywhere_costs_exactly_one_attempt(bit in 0usize..(16 + 16) * 8) {
            let (mut session, request) = started();
            let corrupt = flipped(config_answer(1), bit);
            let step = session.on_input(&corrupt);
            // A flip in the length may leave the frame waiting for bytes: the timer retries.
            let step = step.unwrap_or_else(|| session.on_timeout());
            prop_assert_eq!(step, Step::Retransmit(request));
            prop_assert_eq!(answered(&mut session, &config_answer(1)), Response::Config(WearableConfig::default()));
            prop_assert_eq!(session.attempts(), 2);
        }
    }
}
