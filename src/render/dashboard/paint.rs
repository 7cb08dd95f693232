//! Puts frames on the terminal, writing only the cells that changed since
//! the last one: an idle fleet's frame differs in a few cells (the FOR
//! column, a sparkline), so most draws are a few short runs.

use std::io::Write;

use super::canvas::Canvas;

/// The frame last drawn.
#[derive(Default)]
pub struct Painter {
    shown: Option<Canvas>,
}

impl Painter {
    /// Draws `canvas` into `out` as one write. A new size clears the
    /// screen first, since the terminal may have rewrapped or dropped what
    /// was there.
    pub fn draw(&mut self, out: &mut impl Write, canvas: Canvas) -> std::io::Result<()> {
        let mut bytes = String::new();
        let shown = match self.shown.take() {
            Some(shown) if shown.size() == canvas.size() => shown,
            _ => {
                bytes.push_str("\x1b[0m\x1b[2J");
                let (w, h) = canvas.size();
                Canvas::new(w, h)
            }
        };
        canvas.changes_since(&shown, &mut bytes);
        self.shown = Some(canvas);
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
    use crate::render::dashboard::canvas::{Color, Style};

    fn canvas(w: u16, rows: &[&str]) -> Canvas {
        let mut c = Canvas::new(w, rows.len() as u16);
        for (y, r) in rows.iter().enumerate() {
            c.text(0, y as u16, w, r, Style::new());
        }
        c
    }

    fn draw(p: &mut Painter, c: Canvas) -> String {
        let mut out = Vec::new();
        p.draw(&mut out, c).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn only_changed_cells_are_rewritten_and_a_resize_redraws_all() {
        let mut p = Painter::default();
        let first = draw(&mut p, canvas(20, &["ab", "cd", "ef"]));
        assert_eq!(first, "\x1b[0m\x1b[2J\x1b[1;1Hab\x1b[2;1Hcd\x1b[3;1Hef");
        assert_eq!(draw(&mut p, canvas(20, &["ab", "cX", "ef"])), "\x1b[2;2HX");
        let same = draw(&mut p, canvas(20, &["ab", "cX", "ef"]));
        assert!(same.is_empty(), "an unchanged frame writes nothing");
        // Near changes go in one run, far ones in two.
        let far = draw(&mut p, canvas(20, &["Ab  c", "CX                 Z", "ef"]));
        assert_eq!(far, "\x1b[1;1HAb  c\x1b[2;1HC\x1b[2;20HZ");
        let resized = draw(&mut p, canvas(21, &["Ab  c", "cX", "ef"]));
        assert!(resized.starts_with("\x1b[0m\x1b[2J") && resized.contains("\x1b[2;1HcX"));
    }

    #[test]
    fn styled_runs_end_in_the_default_style_and_wide_characters_stay_whole() {
        let mut p = Painter::default();
        draw(&mut p, canvas(6, &["日本"]));
        let mut c = canvas(6, &["日"]);
        c.text(2, 0, 1, "x", Style::new().fg(Color::Red));
        assert_eq!(draw(&mut p, c), "\x1b[1;3H\x1b[0;31mx\x1b[0m ");
    }
}
