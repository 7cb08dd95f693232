//! Output: turns statuses and events into text. Renderers only consume; they
//! never make requests.

pub mod human;
pub mod json;
pub mod spinner;

use std::io::Write;

use console::Style;

/// How output looks, decided once at start-up (see `config::output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    /// JSON on stdout instead of text.
    pub json: bool,
    /// ANSI colour on.
    pub color: bool,
    /// A terminal is watching: spinners and live lines allowed.
    pub live: bool,
    /// Print nothing at all.
    pub quiet: bool,
}

impl Output {
    /// Plain text, no colour, nothing live: what a pipe gets.
    pub const PLAIN: Output = Output {
        json: false,
        color: false,
        live: false,
        quiet: false,
    };

    /// A style that honours the colour decision.
    pub fn style(&self) -> Style {
        Style::new().force_styling(self.color)
    }

    /// Writes a line to stdout, unless quiet. A closed pipe is not an error
    /// worth a panic.
    pub fn println(&self, line: &str) -> std::io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()
    }

    /// Writes a line to stderr, unless quiet.
    pub fn eprintln(&self, line: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        }
    }

    /// The fallback warning, in its own style, on stderr.
    pub fn warn(&self, message: &str) {
        let style = Style::new().force_styling(self.color).yellow().bold();
        self.eprintln(&format!("{} {message}", style.apply_to("warning:")));
    }

    /// A note about what comfyctl chose (e.g. the auto-detected server).
    pub fn note(&self, message: &str) {
        let style = Style::new().force_styling(self.color).dim();
        self.eprintln(&style.apply_to(format!("comfyctl: {message}")).to_string());
    }
}
