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
