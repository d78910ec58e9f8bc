//! The daemon's recent log lines, kept in memory for the technician's console (`log [n]`). It owns
//! a bounded ring of formatted lines; it must never hold more than [`LINES`] lines nor anything the
//! logs themselves may not carry (the logs never carry a badge tag, a name or a password).

use std::collections::VecDeque;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// Lines kept.
pub const LINES: usize = 1000;
/// A longer line is cut here.
const LINE_BYTES: usize = 1024;

fn ring() -> &'static Mutex<VecDeque<String>> {
    static RING: OnceLock<Mutex<VecDeque<String>>> = OnceLock::new();
    RING.get_or_init(|| Mutex::new(VecDeque::with_capacity(LINES)))
}

/// The last `n` lines, oldest first.
pub fn recent(n: usize) -> Vec<String> {
    let ring = match ring().lock() {
        Ok(ring) => ring,
        Err(poisoned) => poisoned.into_inner(),
    };
    let skip = ring.len().saturating_sub(n);
    ring.iter().skip(skip).cloned().collect()
}

fn push(text: &str) {
    let mut ring = match ring().lock() {
        Ok(ring) => ring,
        Err(poisoned) => poisoned.into_inner(),
    };
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let mut line = line.to_owned();
        if line.len() > LINE_BYTES {
            let mut cut = LINE_BYTES;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
        }
        if ring.len() == LINES {
            ring.pop_front();
        }
        ring.push_back(line);
    }
}

/// A `tracing_subscriber` writer into the ring: one formatted event per write, kept when dropped.
#[derive(Default)]
pub struct LogbookWriter(Vec<u8>);

impl Write for LogbookWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if !self.0.is_empty() {
            push(&String::from_utf8_lossy(&self.0));
            self.0.clear();
        }
        Ok(())
    }
}

impl Drop for LogbookWriter {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

/// Makes a [`LogbookWriter`] per event.
#[derive(Clone, Copy, Default)]
pub struct Logbook;

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Logbook {
    type Writer = LogbookWriter;

    fn make_writer(&'a self) -> Self::Writer {
        LogbookWriter::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_keeps_the_newest_lines_in_order_and_cuts_long_ones() {
        for i in 0..(LINES + 5) {
            let mut writer = Logbook.make_writer_for_test();
            writeln!(writer, "line {i}").unwrap();
        }
        let last = recent(3);
        assert_eq!(last.len(), 3);
        assert!(
            last[2].ends_with(&format!("line {}", LINES + 4)),
            "{last:?}"
        );
        assert!(recent(usize::MAX).len() <= LINES);
        push(&"x".repeat(5000));
        assert_eq!(recent(1)[0].len(), LINE_BYTES);
    }

    impl Logbook {
        fn make_writer_for_test(&self) -> LogbookWriter {
            tracing_subscriber::fmt::MakeWriter::make_writer(self)
        }
    }
}
