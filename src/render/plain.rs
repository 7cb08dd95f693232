//! Plain lines for pipes and logs: no spinner, one line per thing worth
//! knowing, and no ANSI unless `--color always` asked for it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::safe::term_safe;
use super::view::{View, short_duration};
use super::{Output, Renderer};
use crate::manager::{Envelope, Event, Summary};

/// What the plain renderer remembers about one server: its view, the last
/// status line it printed, and when it last reported a reconnect attempt.
/// Kept per server so that a fleet's lines never mix.
#[derive(Default)]
struct Server {
    view: View,
    last_status_line: String,
    last_reconnect_line: Option<Instant>,
}

/// Timestamped lines on stdout.
pub struct Plain {
    out: Output,
    servers: HashMap<Arc<str>, Server>,
    throttle: Duration,
}

impl Plain {
    /// A plain renderer; reconnect attempts are reported at most once per
    /// `throttle` (the poll interval), per server.
    pub fn new(out: Output, throttle: Duration) -> Plain {
        Plain {
            out,
            servers: HashMap::new(),
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
        let server = self.servers.entry(envelope.url.clone()).or_default();
        server.view.apply(envelope);
        match &envelope.event {
            Event::State {
                state,
                previous,
                reason,
            } => {
                let from = previous.map(|p| format!(" (was {p})")).unwrap_or_default();
                let name = super::style::state(&self.out, *state).apply_to(state.as_str());
                self.line(envelope, &format!("{name}{from}: {}", term_safe(reason)))?;
            }
            Event::Status { .. } | Event::Queue { .. } | Event::Progress { .. } => {
                let view = &server.view;
                let mut text = format!("queue {}", view.queue_text());
                let progress = view.progress_text();
                if !progress.is_empty() {
                    text.push_str(&format!(" · {progress}"));
                }
                if let Some(v) = &view.version {
                    text = format!("ComfyUI {v} · {text}");
                }
                // Only changes are news; latency alone is not.
                if text != server.last_status_line {
                    server.last_status_line.clone_from(&text);
                    self.line(envelope, &text)?;
                }
            }
            // The one rule for warnings: stderr, `warning: ` once.
            Event::Warning { message, .. } => self.out.warn(&term_safe(message)),
            Event::Reconnecting {
                attempt,
                error,
                next_delay,
            } => {
                if server
                    .last_reconnect_line
                    .is_none_or(|t| t.elapsed() >= self.throttle)
                {
                    server.last_reconnect_line = Some(Instant::now());
                    let why = error.as_ref().map_or("failed", |e| e.message.as_str());
                    self.line(
                        envelope,
                        &format!(
                            "reconnect attempt {attempt} failed: {}; next in {}",
                            term_safe(why),
                            short_duration(*next_delay)
                        ),
                    )?;
                }
            }
            Event::Summary(s) => self.line(envelope, &summary_text(s))?,
            // The `connected` line that follows says where it was found.
            Event::Moved { .. } => {}
            Event::Job(job) => {
                if let Some(text) = super::jobs::job_line(job) {
                    self.line(envelope, &text)?;
                }
            }
        }
        Ok(())
    }
}
