//! Puts frames on the terminal, rewriting only the rows that changed since
//! the last one: an idle fleet's frame differs in a few cells (the FOR
//! column, a sparkline), so most draws are a handful of short rows.

use std::io::Write;

use super::canvas::Canvas;

/// The rows last drawn, and the size they were drawn at.
#[derive(Default)]
pub struct Painter {
    size: (u16, u16),
    shown: Vec<String>,
}

impl Painter {
    /// Draws `canvas` (composed at `size`) into `out` as one write. A new
    /// size clears the screen first, since the terminal may have rewrapped
    /// or dropped what was there.
    pub fn draw(
        &mut self,
        out: &mut impl Write,
        size: (u16, u16),
        canvas: &Canvas,
    ) -> std::io::Result<()> {
        let mut bytes = String::new();
        if size != self.size {
            self.size = size;
            self.shown.clear();
            bytes.push_str("\x1b[0m\x1b[2J");
        }
        let lines = canvas.lines();
        self.shown.resize(lines.len(), String::new());
        for (y, (line, full)) in lines.into_iter().enumerate() {
            if self.shown[y] == line {
                continue;
            }
            bytes.push_str(&format!("\x1b[{};1H{line}", y + 1));
            // After the last column the cursor waits to wrap, and a clear
            // there would erase that column: only clear short rows.
            if !full {
                bytes.push_str("\x1b[K");
            }
            self.shown[y] = line;
        }
        if bytes.is_empty() {
            return Ok(());
        }
        out.write_all(bytes.as_bytes())?;
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::dashboard::canvas::Style;

    fn canvas(rows: &[&str]) -> Canvas {
        let mut c = Canvas::new(6, rows.len() as u16);
        for (y, r) in rows.iter().enumerate() {
            c.text(0, y as u16, 6, r, Style::new());
        }
        c
    }

    #[test]
    fn only_changed_rows_are_rewritten_and_a_resize_redraws_all() {
        let mut p = Painter::default();
        let mut out = Vec::new();
        p.draw(&mut out, (6, 3), &canvas(&["ab", "cd", "ef"]))
            .unwrap();
        let first = String::from_utf8(out).unwrap();
        assert!(first.starts_with("\x1b[0m\x1b[2J") && first.contains("\x1b[3;1Hef\x1b[K"));
        let mut out = Vec::new();
        p.draw(&mut out, (6, 3), &canvas(&["ab", "cX", "ef"]))
            .unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "\x1b[2;1HcX\x1b[K");
        let mut out = Vec::new();
        p.draw(&mut out, (6, 3), &canvas(&["ab", "cX", "ef"]))
            .unwrap();
        assert!(out.is_empty(), "an unchanged frame writes nothing");
        let mut out = Vec::new();
        p.draw(&mut out, (6, 3), &canvas(&["abcdef", "cX", "ef"]))
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\x1b[1;1Habcdef",
            "a full row is not cleared after"
        );
        let mut out = Vec::new();
        p.draw(&mut out, (7, 3), &canvas(&["abcdef", "cX", "ef"]))
            .unwrap();
        assert!(String::from_utf8(out).unwrap().contains("\x1b[2;1HcX"));
    }
}
