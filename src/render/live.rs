//! The live terminal view: a timestamped, coloured line per state change,
//! and a status line at the bottom that keeps itself current.

use std::time::Duration;

use console::Style;
use indicatif::{ProgressBar, ProgressStyle};

use super::plain::summary_text;
use super::view::{View, short_duration};
use super::{Output, Renderer};
use crate::manager::{Envelope, Event, State};

/// indicatif status line on stdout, state changes printed above it.
pub struct Live {
    out: Output,
    view: View,
    bar: ProgressBar,
}

impl Live {
    /// Starts the status line.
    pub fn new(out: Output) -> Live {
        let bar = ProgressBar::with_draw_target(None, super::draw_target(super::Stream::Stdout));
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .expect("static template")
                .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
        );
        bar.enable_steady_tick(Duration::from_millis(250));
        Live {
            out,
            view: View::default(),
            bar,
        }
    }

    fn state_style(&self, state: State) -> Style {
        let s = self.out.style();
        match state {
            State::Connected => s.green().bold(),
            State::Degraded | State::Stalled => s.yellow().bold(),
            State::Disconnected | State::Failed => s.red().bold(),
            State::Reconnecting => s.magenta().bold(),
            State::Connecting => s.cyan(),
        }
    }

    fn status_line(&self) -> String {
        let Some(state) = self.view.state else {
            return "starting".into();
        };
        let s = self.out.style();
        let mut parts = vec![self.state_style(state).apply_to(state.as_str()).to_string()];
        if let Some((attempt, delay, at)) = self.view.reconnect.filter(|_| state.is_down()) {
            let left = delay.saturating_sub(at.elapsed());
            let warning = self
                .view
                .warning
                .as_deref()
                .unwrap_or("backend unavailable");
            parts.push(
                s.clone()
                    .black()
                    .on_yellow()
                    .apply_to(format!(" ⚠ {warning} "))
                    .to_string(),
            );
            parts.push(format!(
                "reconnect attempt {attempt}, next in {}",
                short_duration(left)
            ));
        } else {
            parts.push(format!("queue {}", self.view.queue_text()));
            let progress = self.view.progress_text();
            if !progress.is_empty() {
                parts.push(progress);
            }
            let running = self.view.running.text();
            if !running.is_empty() {
                parts.push(running);
            }
            let recent = self.view.recent.text();
            if !recent.is_empty() {
                parts.push(format!("jobs {recent}"));
            }
            if let Some(ms) = self.view.latency_ms {
                parts.push(format!("{ms:.1} ms"));
            }
        }
        parts.push(
            s.dim()
                .apply_to(format!(
                    "{} in state",
                    short_duration(self.view.since.elapsed())
                ))
                .to_string(),
        );
        parts.join(" · ")
    }
}

impl Renderer for Live {
    fn event(&mut self, envelope: &Envelope) -> std::io::Result<()> {
        self.view.apply(envelope);
        let ts = humantime::format_rfc3339_seconds(envelope.at);
        match &envelope.event {
            Event::State { state, reason, .. } => {
                let name = self
                    .state_style(*state)
                    .apply_to(format!("{:<12}", state.as_str()));
                self.bar
                    .println(format!("{ts} {name} {} {reason}", envelope.url));
            }
            Event::Warning { fallback, message } => {
                let style = if fallback.is_some() {
                    self.out.style().black().on_yellow()
                } else {
                    self.out.style().yellow()
                };
                self.bar.println(format!(
                    "{ts} {}",
                    style.apply_to(format!("warning: {message}"))
                ));
            }
            Event::Job(job) => {
                if let Some(text) = super::jobs::job_line(job) {
                    let style = self.out.style().red();
                    self.bar.println(format!("{ts} {}", style.apply_to(text)));
                }
            }
            Event::Summary(summary) => {
                self.bar.finish_and_clear();
                self.out.println(&summary_text(summary))?;
                return Ok(());
            }
            _ => {}
        }
        self.bar.set_message(self.status_line());
        Ok(())
    }

    fn tick(&mut self) {
        self.bar.set_message(self.status_line());
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
        let _ = console::Term::stdout().show_cursor();
    }
}
