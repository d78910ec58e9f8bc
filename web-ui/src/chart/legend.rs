//! A chart's legend under its x axis: one entry per series (a box for bars, a line with its dash
//! and mark for lines), a dashed limit and a shaded span, flowing left to right and wrapping at
//! the drawing's width. It must never write an entry's words unescaped.

use std::fmt::Write as _;

use super::frame::{AXIS, BAND, BASE, CHAR_W, LIMIT_DASH, ROW, WIDTH, dash, marker};
use crate::pages::Escaped;

/// What stands before an entry's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Swatch {
    /// A bar series' colour.
    Box,
    /// Series `index`'s line, with its dash and its mark.
    Line(usize),
    /// The dashed limit line.
    Limit,
    /// A shaded span.
    Band,
}

impl Swatch {
    fn width(self) -> f64 {
        match self {
            Swatch::Box => 12.0,
            Swatch::Line(_) | Swatch::Limit | Swatch::Band => 16.0,
        }
    }
}

struct Entry {
    swatch: Swatch,
    colour: &'static str,
    text: String,
    row: usize,
    x: f64,
}

/// The entries, laid out.
#[derive(Default)]
pub(super) struct Legend {
    entries: Vec<Entry>,
}

impl Legend {
    /// The top of the legend's first row.
    pub(super) fn top() -> f64 {
        BASE + 2.0 * ROW + 6.0
    }

    /// An entry for a series (`colour` is ignored for a limit or a span, which have their own).
    pub(super) fn add(&mut self, swatch: Swatch, colour: &'static str, text: String) {
        let colour = match swatch {
            Swatch::Limit => AXIS,
            Swatch::Band => BAND,
            Swatch::Box | Swatch::Line(_) => colour,
        };
        let wide = width(swatch, &text);
        let (mut row, mut x) = self.entries.last().map_or((0, 4.0), |last| {
            (last.row, last.x + width(last.swatch, &last.text))
        });
        if x > 4.0 && x + wide > WIDTH {
            row += 1;
            x = 4.0;
        }
        self.entries.push(Entry {
            swatch,
            colour,
            text,
            row,
            x,
        });
    }

    pub(super) fn rows(&self) -> usize {
        self.entries.last().map_or(0, |last| last.row + 1)
    }

    pub(super) fn draw(&self, out: &mut String) {
        let top = Legend::top();
        for entry in &self.entries {
            let (x, y) = (entry.x, top + ROW * entry.row as f64);
            let colour = entry.colour;
            let _ = match entry.swatch {
                Swatch::Box => write!(
                    out,
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"12\" height=\"12\" fill=\"{colour}\"/>"
                ),
                Swatch::Band => write!(
                    out,
                    "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"16\" height=\"12\" fill=\"{colour}\" \
                     stroke=\"{AXIS}\"/>"
                ),
                Swatch::Line(_) | Swatch::Limit => {
                    let (dash, mark) = match entry.swatch {
                        Swatch::Line(index) => {
                            (dash(index), marker(index, x + 8.0, y + 6.0, colour, None))
                        }
                        _ => (LIMIT_DASH.to_owned(), String::new()),
                    };
                    write!(
                        out,
                        "<line x1=\"{x:.1}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" \
                         stroke=\"{colour}\" stroke-width=\"2.5\"{dash}/>{mark}",
                        x + 16.0,
                        y + 6.0,
                        y + 6.0,
                    )
                }
            };
            let _ = writeln!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
                x + entry.swatch.width() + 4.0,
                y + 10.5,
                Escaped(&entry.text)
            );
        }
    }
}

/// An entry's width: its swatch, its words and the room before the next entry.
fn width(swatch: Swatch, text: &str) -> f64 {
    swatch.width() + 4.0 + text.chars().count() as f64 * CHAR_W + 14.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_flow_and_wrap_at_the_drawing_width() {
        let mut legend = Legend::default();
        for name in ["Bends", "Twists", "Lifts above shoulder", "Kneeling"] {
            legend.add(Swatch::Box, "#000", name.to_owned());
        }
        assert_eq!(legend.rows(), 2);
        let rows: Vec<usize> = legend.entries.iter().map(|e| e.row).collect();
        assert_eq!(rows, [0, 0, 1, 1]);
        assert!(
            legend
                .entries
                .iter()
                .all(|e| e.x + width(e.swatch, &e.text) <= WIDTH + 14.0)
        );
        assert_eq!(Legend::default().rows(), 0);
    }

    #[test]
    fn a_legend_draws_each_swatch_and_escapes_its_words() {
        let mut legend = Legend::default();
        legend.add(Swatch::Line(1), "#123456", "<b>Charge</b>".to_owned());
        legend.add(Swatch::Limit, "#000", "Goal".to_owned());
        legend.add(Swatch::Band, "#000", "On battery".to_owned());
        let mut out = String::new();
        legend.draw(&mut out);
        assert!(out.contains("&lt;b&gt;Charge&lt;/b&gt;") && !out.contains("<b>"));
        assert!(out.contains("stroke=\"#123456\" stroke-width=\"2.5\" stroke-dasharray=\"6 3\""));
        assert!(out.contains("<rect x=\"") && out.contains(&format!("fill=\"{BAND}\"")));
        assert!(out.contains("stroke-dasharray=\"5 3\""));
    }
}
