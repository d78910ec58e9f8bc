//! The console's line editor, sans-IO: bytes from the serial line go in one at a time, and out
//! come what to echo and finished lines. It owns CR/LF/CRLF handling, backspace and delete over
//! whole UTF-8 characters, Ctrl-C, Ctrl-D, Ctrl-U, skipping ANSI escape sequences, and the line
//! length limit.
//!
//! It must never echo a byte it was not sure is a printable character (no raw control bytes, no
//! invalid UTF-8, nothing of an escape sequence), never hold more than [`MAX_LINE_BYTES`] of a
//! line, and never echo a masked line (the service PIN) as typed.

/// The longest line the console accepts, in bytes of UTF-8.
pub const MAX_LINE_BYTES: usize = 256;

/// The longest escape sequence skipped before the editor gives up on it (a terminal's longest
/// key sequences are under 10 bytes; noise can make endless ones).
const MAX_ESCAPE_BYTES: usize = 32;

const CTRL_C: u8 = 0x03;
const CTRL_D: u8 = 0x04;
const BACKSPACE: u8 = 0x08;
const LF: u8 = b'\n';
const CR: u8 = b'\r';
const CTRL_U: u8 = 0x15;
const ESC: u8 = 0x1b;
const DEL: u8 = 0x7f;

/// What the editor asks the console to do after a byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineEvent {
    /// Send these bytes back to the terminal.
    Echo(Vec<u8>),
    /// A finished line, at most [`MAX_LINE_BYTES`] bytes (the console moves to a new line).
    Line(String),
    /// Ctrl-C: the line so far is dropped.
    Interrupt,
    /// Ctrl-D on an empty line: the technician ends the session.
    Eof,
    /// A line longer than [`MAX_LINE_BYTES`] ended and was dropped; say so once.
    TooLong,
}

/// How typed characters are echoed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EchoMode {
    /// Echo each character as typed.
    #[default]
    Plain,
    /// Echo `*` for each character (the service PIN).
    Masked,
    /// Echo nothing, not even an erase (a PIN typed while PIN entry is locked: not even its
    /// length shows).
    Hidden,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Escape {
    None,
    /// ESC seen.
    Start,
    /// ESC [ seen: parameters until a final byte.
    Csi(usize),
    /// ESC O seen: one more byte (SS3: F1–F4, keypad arrows).
    Ss3,
}

/// The state of the line being typed.
#[derive(Debug, Clone)]
pub struct LineEditor {
    line: String,
    /// The line grew past the limit: it is dropped when it ends, and nothing more is echoed.
    too_long: bool,
    escape: Escape,
    /// Bytes of a UTF-8 character still incomplete, and how many it needs in all.
    utf8: Vec<u8>,
    utf8_len: usize,
    /// The previous byte was CR: a LF right after it belongs to the same line end.
    after_cr: bool,
    echo: EchoMode,
}

impl Default for LineEditor {
    fn default() -> Self {
        Self::new()
    }
}

impl LineEditor {
    pub fn new() -> Self {
        Self {
            line: String::new(),
            too_long: false,
            escape: Escape::None,
            utf8: Vec::with_capacity(4),
            utf8_len: 0,
            after_cr: false,
            echo: EchoMode::Plain,
        }
    }

    /// Changes how the next characters are echoed (the console masks the PIN line).
    pub fn set_echo(&mut self, echo: EchoMode) {
        self.echo = echo;
    }

    pub fn echo(&self) -> EchoMode {
        self.echo
    }

    /// The line typed so far.
    pub fn current(&self) -> &str {
        &self.line
    }

    /// The previous byte, consumed by someone else (the pager), was a CR: a LF right after it
    /// is part of that line end and must not end another line.
    pub fn note_cr(&mut self) {
        self.after_cr = true;
    }

    /// Feeds many bytes; the events in order.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<LineEvent> {
        bytes.iter().filter_map(|&b| self.push(b)).collect()
    }

    /// Feeds one byte.
    pub fn push(&mut self, byte: u8) -> Option<LineEvent> {
        let after_cr = std::mem::replace(&mut self.after_cr, false);
        if self.escape != Escape::None {
            if byte < 0x20 || byte == DEL {
                // A control byte cuts an escape sequence short (Esc then Enter) and counts.
                self.escape = Escape::None;
            } else {
                self.skip_escape(byte);
                return None;
            }
        }
        if self.utf8_len > 0 {
            if (0x80..0xc0).contains(&byte) {
                self.utf8.push(byte);
                if self.utf8.len() == self.utf8_len {
                    self.utf8_len = 0;
                    let bytes = std::mem::take(&mut self.utf8);
                    return match std::str::from_utf8(&bytes) {
                        Ok(s) => s.chars().next().and_then(|c| self.insert(c)),
                        Err(_) => None,
                    };
                }
                return None;
            }
            // Not a continuation byte: the partial character is dropped, this byte counts.
            self.utf8.clear();
            self.utf8_len = 0;
        }
        match byte {
            CR => {
                self.after_cr = true;
                Some(self.finish())
            }
            LF if after_cr => None,
            LF => Some(self.finish()),
            CTRL_C => {
                self.clear();
                Some(LineEvent::Interrupt)
            }
            CTRL_D if self.line.is_empty() && !self.too_long => Some(LineEvent::Eof),
            BACKSPACE | DEL => self.erase_char(),
            CTRL_U => self.kill_line(),
            ESC => {
                self.escape = Escape::Start;
                None
            }
            0x20..=0x7e => self.insert(char::from(byte)),
            0xc2..=0xdf => self.start_utf8(byte, 2),
            0xe0..=0xef => self.start_utf8(byte, 3),
            0xf0..=0xf4 => self.start_utf8(byte, 4),
            // Other control bytes, stray continuation bytes and bytes never valid in UTF-8.
            _ => None,
        }
    }

    fn skip_escape(&mut self, byte: u8) {
        self.escape = match self.escape {
            Escape::Start => match byte {
                b'[' => Escape::Csi(0),
                b'O' => Escape::Ss3,
                // A two-byte sequence (Alt+key and the like): this byte ends it.
                _ => Escape::None,
            },
            Escape::Csi(n) => match byte {
                // Parameter and intermediate bytes.
                0x20..=0x3f if n + 1 < MAX_ESCAPE_BYTES => Escape::Csi(n + 1),
                // A final byte, a byte no sequence holds, or an endless sequence: it ends here.
                _ => Escape::None,
            },
            Escape::Ss3 | Escape::None => Escape::None,
        };
    }

    fn start_utf8(&mut self, byte: u8, len: usize) -> Option<LineEvent> {
        self.utf8.clear();
        self.utf8.push(byte);
        self.utf8_len = len;
        None
    }

    fn insert(&mut self, c: char) -> Option<LineEvent> {
        if c.is_control() || self.too_long {
            return None;
        }
        if self.line.len() + c.len_utf8() > MAX_LINE_BYTES {
            self.too_long = true;
            return None;
        }
        self.line.push(c);
        match self.echo {
            EchoMode::Plain => Some(LineEvent::Echo(c.to_string().into_bytes())),
            EchoMode::Masked => Some(LineEvent::Echo(b"*".to_vec())),
            EchoMode::Hidden => None,
        }
    }

    fn erase_char(&mut self) -> Option<LineEvent> {
        if self.too_long {
            // The line is dropped whatever follows; there is nothing sensible to erase.
            return None;
        }
        let erased = self.line.pop();
        (erased.is_some() && self.echo != EchoMode::Hidden)
            .then(|| LineEvent::Echo(b"\x08 \x08".to_vec()))
    }

    fn kill_line(&mut self) -> Option<LineEvent> {
        let shown = match self.echo {
            EchoMode::Hidden => 0,
            EchoMode::Plain | EchoMode::Masked => self.line.chars().count(),
        };
        self.clear();
        (shown > 0).then(|| LineEvent::Echo(b"\x08 \x08".repeat(shown)))
    }

    fn clear(&mut self) {
        self.line.clear();
        self.too_long = false;
        self.utf8.clear();
        self.utf8_len = 0;
        self.escape = Escape::None;
    }

    fn finish(&mut self) -> LineEvent {
        let too_long = self.too_long;
        let line = std::mem::take(&mut self.line);
        self.clear();
        if too_long {
            LineEvent::TooLong
        } else {
            LineEvent::Line(line)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn lines(events: &[LineEvent]) -> Vec<String> {
        events
            .iter()
            .filter_map(|e| match e {
                LineEvent::Line(l) => Some(l.clone()),
                _ => None,
            })
            .collect()
    }

    fn echoed(events: &[LineEvent]) -> Vec<u8> {
        events
            .iter()
            .filter_map(|e| match e {
                LineEvent::Echo(b) => Some(b.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }

    #[test]
    fn cr_lf_and_crlf_each_end_exactly_one_line() {
        let mut editor = LineEditor::new();
        let events = editor.feed(b"status\rslots\nversion\r\nhelp\r\r\n");
        assert_eq!(lines(&events), ["status", "slots", "version", "help", ""]);
    }

    #[test]
    fn typed_characters_are_echoed_as_they_come() {
        let mut editor = LineEditor::new();
        let events = editor.feed(b"gps\r");
        assert_eq!(echoed(&events), b"gps");
        assert_eq!(events.last(), Some(&LineEvent::Line("gps".into())));
    }

    #[test]
    fn backspace_and_delete_erase_one_character_each() {
        let mut editor = LineEditor::new();
        let events = editor.feed(b"slotz\x7fs\r");
        assert_eq!(lines(&events), ["slots"]);
        assert_eq!(echoed(&events), b"slotz\x08 \x08s");
        let events = editor.feed(b"log 9\x089\x08\x0810\r");
        assert_eq!(lines(&events), ["log10"]);
    }

    #[test]
    fn backspace_erases_a_whole_multibyte_character() {
        let mut editor = LineEditor::new();
        let events = editor.feed("aé€😀".as_bytes());
        assert_eq!(echoed(&events), "aé€😀".as_bytes());
        editor.feed(b"\x7f\x7f");
        assert_eq!(editor.current(), "aé");
        editor.feed(b"\x7f\x7f\x7f");
        assert_eq!(editor.current(), "");
    }

    #[test]
    fn backspace_on_an_empty_line_echoes_nothing() {
        let mut editor = LineEditor::new();
        assert_eq!(editor.feed(b"\x7f\x08"), []);
    }

    #[test]
    fn ctrl_u_kills_the_line_and_erases_it_on_screen() {
        let mut editor = LineEditor::new();
        editor.feed(b"wearable");
        let events = editor.feed(b"\x15");
        assert_eq!(echoed(&events), b"\x08 \x08".repeat(8));
        assert_eq!(lines(&editor.feed(b"gps\r")), ["gps"]);
    }

    #[test]
    fn ctrl_c_drops_the_line() {
        let mut editor = LineEditor::new();
        let events = editor.feed(b"upload n\x03gps\r");
        assert!(events.contains(&LineEvent::Interrupt));
        assert_eq!(lines(&events), ["gps"]);
    }

    #[test]
    fn ctrl_d_ends_the_session_only_on_an_empty_line() {
        let mut editor = LineEditor::new();
        assert_eq!(editor.feed(b"\x04"), [LineEvent::Eof]);
        let events = editor.feed(b"gp\x04s\r");
        assert!(!events.contains(&LineEvent::Eof));
        assert_eq!(lines(&events), ["gps"]);
    }

    #[test]
    fn arrow_keys_and_other_escape_sequences_are_skipped_entirely() {
        let mut editor = LineEditor::new();
        let events = editor.feed(b"st\x1b[Aat\x1b[1;5Dus\x1bOP\x1bx\r");
        assert_eq!(lines(&events), ["status"]);
        assert!(!echoed(&events).contains(&ESC));
    }

    #[test]
    fn escape_then_enter_still_ends_the_line() {
        let mut editor = LineEditor::new();
        assert_eq!(lines(&editor.feed(b"gps\x1b\r")), ["gps"]);
        assert_eq!(lines(&editor.feed(b"gps\x1b[12\r")), ["gps"]);
    }

    #[test]
    fn control_bytes_and_invalid_utf8_are_neither_kept_nor_echoed() {
        let mut editor = LineEditor::new();
        let events = editor.feed(b"g\x00\x07\x01p\xff\xfe\x80s\xc3(\xe2\x82\r");
        assert_eq!(lines(&events), ["gps("]);
        assert_eq!(echoed(&events), b"gps(");
    }

    #[test]
    fn c1_control_characters_are_dropped() {
        let mut editor = LineEditor::new();
        // U+009B, the 8-bit CSI, as UTF-8.
        let events = editor.feed(b"a\xc2\x9bb\r");
        assert_eq!(lines(&events), ["ab"]);
    }

    #[test]
    fn a_line_at_the_limit_is_accepted() {
        let mut editor = LineEditor::new();
        let mut input = vec![b'a'; MAX_LINE_BYTES];
        input.push(b'\r');
        assert_eq!(lines(&editor.feed(&input)), ["a".repeat(MAX_LINE_BYTES)]);
    }

    #[test]
    fn an_over_long_line_is_dropped_once_it_ends_and_said_once() {
        let mut editor = LineEditor::new();
        let mut input = vec![b'a'; 10_000];
        input.extend_from_slice(b"\rgps\r");
        let events = editor.feed(&input);
        assert_eq!(
            events.iter().filter(|e| **e == LineEvent::TooLong).count(),
            1
        );
        assert_eq!(lines(&events), ["gps"]);
        assert_eq!(echoed(&events).len(), MAX_LINE_BYTES + 3);
    }

    #[test]
    fn masked_echo_shows_stars_but_keeps_the_characters() {
        let mut editor = LineEditor::new();
        editor.set_echo(EchoMode::Masked);
        let events = editor.feed(b"4711\r");
        assert_eq!(echoed(&events), b"****");
        assert_eq!(lines(&events), ["4711"]);
    }

    #[test]
    fn a_hidden_line_echoes_nothing_not_even_its_erasures() {
        let mut editor = LineEditor::new();
        editor.set_echo(EchoMode::Hidden);
        let events = editor.feed(b"4712\x7f1\x15471100\r");
        assert_eq!(echoed(&events), b"");
        assert_eq!(lines(&events), ["471100"]);
    }

    #[test]
    fn a_lf_after_a_cr_the_pager_took_is_not_another_line() {
        let mut editor = LineEditor::new();
        editor.note_cr();
        assert_eq!(editor.feed(b"\n"), []);
        assert_eq!(lines(&editor.feed(b"\n")), [""]);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_nor_make_a_line_over_the_limit(
            bytes in proptest::collection::vec(any::<u8>(), 0..2000),
            masked in any::<bool>(),
        ) {
            let mut editor = LineEditor::new();
            if masked {
                editor.set_echo(EchoMode::Masked);
            }
            for event in editor.feed(&bytes) {
                match event {
                    LineEvent::Line(line) => {
                        prop_assert!(line.len() <= MAX_LINE_BYTES);
                        prop_assert!(!line.chars().any(char::is_control));
                    }
                    LineEvent::Echo(echo) => {
                        prop_assert!(!echo.contains(&ESC));
                        prop_assert!(echo.iter().all(|&b| b == BACKSPACE || b >= 0x20));
                        prop_assert!(std::str::from_utf8(&echo).is_ok());
                    }
                    _ => {}
                }
                prop_assert!(editor.current().len() <= MAX_LINE_BYTES);
            }
        }
    }
}
