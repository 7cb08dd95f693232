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

impl Server {
    /// The status line (version, queue, progress) if it differs from the
    /// last one printed: only changes are news, and latency alone is not.
    fn status_news(&mut self) -> Option<String> {
        let view = &self.view;
        let mut text = format!("queue {}", view.queue_text());
        let progress = view.progress_text();
        if !progress.is_empty() {
            text.push_str(&format!(" · {progress}"));
        }
        if let Some(v) = &view.version {
            text = format!("ComfyUI {v} · {text}");
        }
        if text == self.last_status_line {
            return None;
        }
        self.last_status_line.clone_from(&text);
        Some(text)
    }

    /// Whether a reconnect attempt gets a line: at most one per `throttle`,
    /// so a server refusing fast retries does not flood the log.
    fn reconnect_due(&mut self, throttle: Duration) -> bool {
        if self
            .last_reconnect_line
            .is_some_and(|t| t.elapsed() < throttle)
        {
            return false;
        }
        self.last_reconnect_line = Some(Instant::now());
        true
    }
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
                if let Some(text) = server.status_news() {
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
                if server.reconnect_due(self.throttle) {
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

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::manager::{State, Status};

    fn poll(server: &mut Server, latency_ms: f64) {
        let status = Status {
            available: true,
            queue_remaining: Some(2),
            latency_ms: Some(latency_ms),
            ..Status::unknown("http://127.0.0.1:8188".into())
        };
        server.view.apply(&Envelope {
            url: Arc::from("http://127.0.0.1:8188"),
            at: SystemTime::now(),
            event: Event::Status {
                status: Box::new(status),
                running_prompt: None,
                running_age_ms: None,
            },
        });
    }

    #[test]
    fn a_status_line_is_news_once_and_latency_alone_is_not() {
        let mut server = Server::default();
        server.view.state = Some(State::Connected);
        poll(&mut server, 3.0);
        let first = server.status_news();
        assert!(first.is_some_and(|t| t.starts_with("queue 2 remaining")));
        poll(&mut server, 90.0);
        assert_eq!(server.status_news(), None);
    }

    #[test]
    fn reconnect_lines_are_throttled() {
        let mut server = Server::default();
        assert!(server.reconnect_due(Duration::from_secs(3600)));
        assert!(!server.reconnect_due(Duration::from_secs(3600)));
        assert!(server.reconnect_due(Duration::ZERO));
    }
}
