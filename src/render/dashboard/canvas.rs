//! A frame as a grid of styled cells: text is clipped to the rectangle it
//! is drawn in, wide characters take two cells, and control characters
//! never reach the terminal. [`Canvas::changes_since`] writes what differs
//! from the frame before, for [`super::paint::Painter`].

use unicode_width::UnicodeWidthChar;

/// The colours the dashboard uses (the 8 basic ANSI ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    /// SGR 30 / 40.
    Black,
    /// SGR 31 / 41.
    Red,
    /// SGR 32 / 42.
    Green,
    /// SGR 33 / 43.
    Yellow,
    /// SGR 35 / 45.
    Magenta,
    /// SGR 36 / 46.
    Cyan,
}

impl Color {
    fn code(self) -> u8 {
        match self {
            Color::Black => 0,
            Color::Red => 1,
            Color::Green => 2,
            Color::Yellow => 3,
            Color::Magenta => 5,
            Color::Cyan => 6,
        }
    }
}

/// How a cell looks; the default is the terminal's own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    fg: Option<Color>,
    bg: Option<Color>,
    bold: bool,
    dim: bool,
    reversed: bool,
}

impl Style {
    /// The terminal's default look.
    pub const fn new() -> Style {
        Style {
            fg: None,
            bg: None,
            bold: false,
            dim: false,
            reversed: false,
        }
    }

    /// With foreground `c`.
    pub const fn fg(mut self, c: Color) -> Style {
        self.fg = Some(c);
        self
    }

    /// With background `c`.
    pub const fn bg(mut self, c: Color) -> Style {
        self.bg = Some(c);
        self
    }

    /// Bold.
    pub const fn bold(mut self) -> Style {
        self.bold = true;
        self
    }

    /// Dim.
    pub const fn dim(mut self) -> Style {
        self.dim = true;
        self
    }

    /// The SGR sequence that sets exactly this style (from a reset).
    fn sgr(self, into: &mut String) {
        into.push_str("\x1b[0");
        for (on, code) in [(self.bold, 1), (self.dim, 2), (self.reversed, 7)] {
            if on {
                into.push_str(&format!(";{code}"));
            }
        }
        if let Some(c) = self.fg {
            into.push_str(&format!(";3{}", c.code()));
        }
        if let Some(c) = self.bg {
            into.push_str(&format!(";4{}", c.code()));
        }
        into.push('m');
    }
}

/// A rectangle of cells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    /// Left column.
    pub x: u16,
    /// Top row.
    pub y: u16,
    /// Columns.
    pub w: u16,
    /// Rows.
    pub h: u16,
}

impl Rect {
    /// The inside of a border around `self`.
    pub fn inner(self) -> Rect {
        Rect {
            x: self.x + 1,
            y: self.y + 1,
            w: self.w.saturating_sub(2),
            h: self.h.saturating_sub(2),
        }
    }
}

/// One cell: `'\0'` is the right half of a wide character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Cell {
    ch: char,
    style: Style,
}

const BLANK: Cell = Cell {
    ch: ' ',
    style: Style::new(),
};

/// The grid one frame is composed on.
pub struct Canvas {
    w: u16,
    h: u16,
    cells: Vec<Cell>,
}

impl Canvas {
    /// A blank `w`×`h` grid.
    pub fn new(w: u16, h: u16) -> Canvas {
        Canvas {
            w,
            h,
            cells: vec![BLANK; usize::from(w) * usize::from(h)],
        }
    }

    /// The whole grid.
    pub fn area(&self) -> Rect {
        Rect {
            x: 0,
            y: 0,
            w: self.w,
            h: self.h,
        }
    }

    fn at(&mut self, x: u16, y: u16) -> Option<&mut Cell> {
        if x >= self.w || y >= self.h {
            return None;
        }
        self.cells
            .get_mut(usize::from(y) * usize::from(self.w) + usize::from(x))
    }

    /// Writes `text` from (`x`, `y`), at most `max` columns and never past
    /// the grid; returns the columns used.
    pub fn text(&mut self, x: u16, y: u16, max: u16, text: &str, style: Style) -> u16 {
        let mut used = 0u16;
        for ch in text.chars() {
            // A control character would move the cursor: show U+FFFD.
            let (ch, w) = match ch.width() {
                Some(0) => continue,
                Some(w) if !ch.is_control() => (ch, w as u16),
                _ => ('\u{fffd}', 1),
            };
            if used + w > max || x.saturating_add(used + w) > self.w {
                break;
            }
            if let Some(c) = self.at(x + used, y) {
                *c = Cell { ch, style };
            }
            if w == 2
                && let Some(c) = self.at(x + used + 1, y)
            {
                *c = Cell { ch: '\0', style };
            }
            used += w;
        }
        used
    }

    /// Writes styled pieces one after another within `max` columns.
    pub fn spans(&mut self, x: u16, y: u16, max: u16, spans: &[(&str, Style)]) -> u16 {
        let mut used = 0;
        for (text, style) in spans {
            used += self.text(x + used, y, max - used, text, *style);
        }
        used
    }

    /// Blanks `r`.
    pub fn clear(&mut self, r: Rect) {
        for y in r.y..r.y.saturating_add(r.h) {
            for x in r.x..r.x.saturating_add(r.w) {
                if let Some(c) = self.at(x, y) {
                    *c = BLANK;
                }
            }
        }
    }

    /// Reverses the colours of row `y` within `r` (the selection).
    pub fn reverse_row(&mut self, r: Rect, y: u16) {
        for x in r.x..r.x.saturating_add(r.w) {
            if let Some(c) = self.at(x, y) {
                c.style.reversed = true;
            }
        }
    }

    /// A plain border around `r` with `title` in its top edge; the inside
    /// is blanked and returned.
    pub fn boxed(&mut self, r: Rect, title: &str) -> Rect {
        if r.w < 2 || r.h < 2 {
            self.clear(r);
            return Rect { w: 0, h: 0, ..r };
        }
        self.clear(r);
        let (right, bottom) = (r.x + r.w - 1, r.y + r.h - 1);
        for x in r.x + 1..right {
            self.text(x, r.y, 1, "─", Style::new());
            self.text(x, bottom, 1, "─", Style::new());
        }
        for y in r.y + 1..bottom {
            self.text(r.x, y, 1, "│", Style::new());
            self.text(right, y, 1, "│", Style::new());
        }
        for (x, y, corner) in [
            (r.x, r.y, "┌"),
            (right, r.y, "┐"),
            (r.x, bottom, "└"),
            (right, bottom, "┘"),
        ] {
            self.text(x, y, 1, corner, Style::new());
        }
        self.text(r.x + 1, r.y, r.w - 2, title, Style::new());
        r.inner()
    }

    /// The grid's columns and rows.
    pub fn size(&self) -> (u16, u16) {
        (self.w, self.h)
    }

    /// Appends to `into` what turns `before` (a grid of the same size) into
    /// this one: per row, runs of changed cells, each a cursor move and
    /// the cells with their styles, ending in the default style. Runs
    /// closer than a cursor move costs are merged.
    pub fn changes_since(&self, before: &Canvas, into: &mut String) {
        const GAP: usize = 8;
        let w = usize::from(self.w);
        if w == 0 || before.size() != self.size() {
            return;
        }
        for (y, (new, old)) in self.cells.chunks(w).zip(before.cells.chunks(w)).enumerate() {
            let mut x = 0;
            while let Some(start) = (x..w).find(|&i| new[i] != old[i]) {
                let mut end = start;
                let mut i = start + 1;
                while i < w && i <= end + GAP {
                    if new[i] != old[i] {
                        end = i;
                    }
                    i += 1;
                }
                run(new, old, y, (start, end), into);
                x = end + 1;
            }
        }
    }

    /// Each row as text with SGR codes, trailing blanks dropped, ending in
    /// the default style; `true` beside a row that fills the width.
    #[cfg(test)]
    pub fn lines(&self) -> Vec<(String, bool)> {
        let w = usize::from(self.w).max(1);
        self.cells
            .chunks(w)
            .map(|row| {
                let end = row.iter().rposition(|c| *c != BLANK).map_or(0, |i| i + 1);
                let mut line = String::new();
                let mut style = Style::new();
                for c in &row[..end] {
                    if c.style != style {
                        style = c.style;
                        style.sgr(&mut line);
                    }
                    if c.ch != '\0' {
                        line.push(c.ch);
                    }
                }
                if style != Style::new() {
                    line.push_str("\x1b[0m");
                }
                (line, end == row.len())
            })
            .collect()
    }
}

/// Writes cells `start..=end` of row `y`, widened so that no wide
/// character, old or new, is cut in half (a terminal blanks a whole wide
/// character when half of it is overwritten).
fn run(
    new: &[Cell],
    old: &[Cell],
    y: usize,
    (mut start, mut end): (usize, usize),
    into: &mut String,
) {
    while start > 0 && (new[start].ch == '\0' || old[start].ch == '\0') {
        start -= 1;
    }
    while end + 1 < new.len() && (new[end + 1].ch == '\0' || old[end + 1].ch == '\0') {
        end += 1;
    }
    into.push_str(&format!("\x1b[{};{}H", y + 1, start + 1));
    // Every run starts and ends in the default style.
    let mut style = Style::new();
    for c in &new[start..=end] {
        if style != c.style {
            style = c.style;
            style.sgr(into);
        }
        if c.ch != '\0' {
            into.push(c.ch);
        }
    }
    if style != Style::new() {
        into.push_str("\x1b[0m");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_clipped_and_controls_are_inert() {
        let mut c = Canvas::new(6, 1);
        assert_eq!(c.text(0, 0, 4, "a\x1b[2Jbcdef", Style::new()), 4);
        assert_eq!(c.lines()[0], ("a\u{fffd}[2".to_string(), false));
    }

    #[test]
    fn wide_characters_take_two_cells_and_never_overflow() {
        let mut c = Canvas::new(5, 1);
        assert_eq!(c.text(0, 0, 5, "日本語", Style::new()), 4);
        assert_eq!(c.lines()[0].0, "日本");
    }

    #[test]
    fn styles_are_reset_at_the_end_of_a_line() {
        let mut c = Canvas::new(4, 1);
        c.text(0, 0, 4, "ab", Style::new().fg(Color::Red).bold());
        assert_eq!(c.lines()[0].0, "\x1b[0;1;31mab\x1b[0m");
    }

    #[test]
    fn a_box_has_its_title_in_the_top_edge() {
        let mut c = Canvas::new(8, 3);
        let inner = c.boxed(c.area(), " t ");
        assert_eq!(
            inner,
            Rect {
                x: 1,
                y: 1,
                w: 6,
                h: 1
            }
        );
        let lines: Vec<String> = c.lines().into_iter().map(|l| l.0).collect();
        assert_eq!(lines, ["┌ t ───┐", "│      │", "└──────┘"]);
    }
}
