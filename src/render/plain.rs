//! Plain lines for pipes and logs: no ANSI, no spinner, one line per thing
//! worth knowing.

use std::time::{Duration, Instant};

use super::view::{View, short_duration};
use super::{Output, Renderer};
use crate::manager::{Envelope, Event, Summary};

/// Timestamped lines on stdout.
pub struct Plain {
    out: Output,
    view: View,
    last_status_line: String,
    last_reconnect_line: Option<Instant>,
    throttle: Duration,
}

impl Plain {
    /// A plain renderer; reconnect attempts are reported at most once per
    /// `throttle` (the poll interval).
    pub fn new(out: Output, throttle: Duration) -> Plain {
        Plain {
            out,
            view: View::default(),
            last_status_line: String::new(),
            last_reconnect_line: None,
            throttle,
        }
    }

    fn line(&self, envelope: &Envelope, text: &str) -> std::io::Result<()> {
        let ts = humantime::format_rfc3339_millis(envelope.at);
        self.out.println(&format!("{ts} {} {text}", envelope.url))
    }
}

/// `uptime 99.5% · 1 outage (longest 3.2s) · 1 reconnect · watched 1m 5s`.
pub fn summary_text(s: &Summary) -> String {
    let plural = |n: u32, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    format!(
        "summary: uptime {:.1}% · {} (longest {}) · {} · watched {} · jobs {} completed, {} failed, {} cancelled",
        s.uptime_pct,
        plural(s.outages, "outage"),
        short_duration(Duration::from_millis(s.longest_outage_ms)),
        plural(s.reconnects, "reconnect"),
        short_duration(Duration::from_millis(s.duration_ms)),
        s.jobs_completed,
        s.jobs_failed,
        s.jobs_cancelled,
    )
}

impl Renderer for Plain {
    fn event(&mut self, envelope: &Envelope) -> std::io::Result<()> {
        self.view.apply(envelope);
        match &envelope.event {
            Event::State {
                state,
                previous,
                reason,
            } => {
                let from = previous.map(|p| format!(" (was {p})")).unwrap_or_default();
                self.line(envelope, &format!("{state}{from}: {reason}"))?;
            }
            Event::Status { .. } | Event::Queue { .. } | Event::Progress { .. } => {
                let mut text = format!("queue {}", self.view.queue_text());
                let progress = self.view.progress_text();
                if !progress.is_empty() {
                    text.push_str(&format!(" · {progress}"));
                }
                if let Some(v) = &self.view.version {
                    text = format!("ComfyUI {v} · {text}");
                }
                // Only changes are news; latency alone is not.
                if text != self.last_status_line {
                    self.line(envelope, &text)?;
                    self.last_status_line = text;
                }
            }
            Event::Warning { fallback, message } => {
                let prefix = if fallback.is_some() {
                    "warning: fallback"
                } else {
                    "warning"
                };
                self.line(envelope, &format!("{prefix}: {message}"))?;
            }
            Event::Reconnecting {
                attempt,
                error,
                next_delay,
            } => {
                if self
                    .last_reconnect_line
                    .is_none_or(|t| t.elapsed() >= self.throttle)
                {
                    self.last_reconnect_line = Some(Instant::now());
                    let why = error.as_ref().map_or("failed", |e| e.message.as_str());
                    self.line(
                        envelope,
                        &format!(
                            "reconnect attempt {attempt} failed: {why}; next in {}",
                            short_duration(*next_delay)
                        ),
                    )?;
                }
            }
            Event::Summary(s) => self.line(envelope, &summary_text(s))?,
            Event::Job(job) => {
                if let Some(text) = super::jobs::job_line(job) {
                    self.line(envelope, &text)?;
                }
            }
            Event::Attempt { .. } | Event::Retry { .. } => {}
        }
        Ok(())
    }
}
