//! A spinner on stderr for commands that wait, shown only on a terminal.
//! Dropping it clears the line and restores the cursor, on every exit path.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::Output;

/// A spinner line, or nothing when output is not live.
pub struct Spinner {
    bar: ProgressBar,
    /// The output mode: the width of a forced spinner comes from it.
    out: Output,
    /// No `^C` echo while the spinner is shown; dropped after it is cleared.
    _echo: Option<super::tty::QuietEcho>,
}

impl Spinner {
    /// Starts spinning with `message`, if `out` is live.
    pub fn start(out: &Output, message: impl Into<String>) -> Spinner {
        let bar = if out.live {
            let bar =
                ProgressBar::with_draw_target(None, super::draw_target(out, super::Stream::Stderr));
            // `wide_msg`: a line that wraps cannot be cleared, so the
            // message is cut to the terminal at every draw.
            let style = ProgressStyle::with_template("{spinner:.cyan} {wide_msg}")
                .expect("static template")
                .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        } else {
            ProgressBar::hidden()
        };
        let echo = out
            .live
            .then(|| super::tty::QuietEcho::new(super::Stream::Stderr));
        let spinner = Spinner {
            bar,
            out: *out,
            _echo: echo,
        };
        spinner.set(message);
        spinner
    }

    /// Replaces the message, cut with `…` to fit the terminal.
    pub fn set(&self, message: impl Into<String>) {
        let width = super::width::budget(&self.out, super::Stream::Stderr).saturating_sub(2);
        self.bar
            .set_message(super::width::fit(&message.into(), width));
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        super::clear_live(&self.bar, super::Stream::Stderr, true);
    }
}
