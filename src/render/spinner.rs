//! A spinner on stderr for commands that wait, shown only on a terminal.
//! Dropping it clears the line and restores the cursor, on every exit path.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::Output;

/// A spinner line, or nothing when output is not live.
pub struct Spinner {
    bar: ProgressBar,
}

impl Spinner {
    /// Starts spinning with `message`, if `out` is live.
    pub fn start(out: &Output, message: impl Into<String>) -> Spinner {
        let bar = if out.live {
            let bar =
                ProgressBar::with_draw_target(None, super::draw_target(super::Stream::Stderr));
            let style = ProgressStyle::with_template("{spinner:.cyan} {msg}")
                .expect("static template")
                .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ ");
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(100));
            bar
        } else {
            ProgressBar::hidden()
        };
        bar.set_message(message.into());
        Spinner { bar }
    }

    /// Replaces the message.
    pub fn set(&self, message: impl Into<String>) {
        self.bar.set_message(message.into());
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}
