//! Plain lines for pipes and logs: no spinner, one line per thing worth
//! knowing, and no ANSI unless `--color always` asked for it.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::pace::Pacer;
use super::safe::term_safe;
use super::view::{View, countdown, short_duration};
use super::{Output, Renderer};
use crate::manager::{Envelope, Event, Summary};

/// A line held back by a pacer: when it was true, and its text.
type Held = (SystemTime, String);

/// What the plain renderer remembers about one server: its view, the last
/// status line it printed, and the pacers of its repeated lines. Kept per
/// server so that a fleet's lines never mix.
struct Server {
    view: View,
    last_status_line: String,
    status: Pacer<Held>,
    reconnect: Pacer<Held>,
}

impl Server {
    fn new(every: Duration) -> Server {
        Server {
            view: View::default(),
            last_status_line: String::new(),
            status: Pacer::new(every),
            reconnect: Pacer::new(every),
        }
    }

    /// The status line (version, queue, progress), one snapshot of the
    /// queue; None while nothing is known about it.
    fn status_text(&self) -> Option<String> {
        let view = &self.view;
        let mut text = format!("queue {}", view.queue_text()?);
        let progress = view.progress_text();
        if !progress.is_empty() {
            text.push_str(&format!(" · {progress}"));
        }
        if let Some(v) = &view.version {
            text = format!("ComfyUI {v} · {text}");
        }
        Some(text)
    }

    /// The status line to print now, if it is news (latency alone is not)
    /// and one interval has passed since the last; else it is held back.
    fn status_news(&mut self, at: SystemTime) -> Option<Held> {
        let text = self.status_text()?;
        let held = self.status.held().map(|(_, t)| t.as_str());
        if held == Some(text.as_str()) || (held.is_none() && text == self.last_status_line) {
            return None;
        }
        if text == self.last_status_line {
            // Back to what the last line says: nothing to add.
            self.status.absorb();
            return None;
        }
        let (line, skipped) = self.status.offer((at, text))?;
        Some(self.shown(line, skipped))
    }

    /// The reconnect line for this attempt, if one interval has passed
    /// since the last; else it is held back.
    fn reconnect_news(&mut self, envelope: &Envelope) -> Option<Held> {
        let Event::Reconnecting {
            attempt,
            error,
            next_delay,
        } = &envelope.event
        else {
            return None;
        };
        let why = error.as_ref().map_or("failed", |e| e.message.as_str());
        let text = format!(
            "reconnect attempt {attempt} failed: {}; next in {}",
            term_safe(why),
            countdown(*next_delay)
        );
        let ((at, text), skipped) = self.reconnect.offer((envelope.at, text))?;
        Some((at, with_skipped(text, skipped, "attempt")))
    }

    /// `line` as printed, with what was held back before it; remembered as
    /// the last status line.
    fn shown(&mut self, (at, text): Held, skipped: u32) -> Held {
        self.last_status_line.clone_from(&text);
        (at, with_skipped(text, skipped, "update"))
    }

    /// Held lines to print now: all of them (`force`, before a line that
    /// never waits) or those whose interval has passed.
    fn flush(&mut self, force: bool) -> Vec<Held> {
        let mut lines = Vec::new();
        let status = if force {
            self.status.flush()
        } else {
            self.status.flush_due()
        };
        if let Some((line, skipped)) = status {
            lines.push(self.shown(line, skipped));
        }
        let reconnect = if force {
            self.reconnect.flush()
        } else {
            self.reconnect.flush_due()
        };
        if let Some(((at, text), skipped)) = reconnect {
            lines.push((at, with_skipped(text, skipped, "attempt")));
        }
        lines.sort_by_key(|(at, _)| *at);
        lines
    }

    /// A new state: the pacers start over, so the first line of a new
    /// outage or session is printed at once; down, the queue line is
    /// printed afresh once it is known again.
    fn enter(&mut self, down: bool) {
        self.status.reset();
        self.reconnect.reset();
        if down {
            self.last_status_line.clear();
        }
    }
}

/// `text`, plus how many lines like it were held back before it.
fn with_skipped(text: String, skipped: u32, what: &str) -> String {
    match skipped {
        0 => text,
        1 => format!("{text} (1 more {what} not shown)"),
        n => format!("{text} ({n} more {what}s not shown)"),
    }
}

/// Timestamped lines on stdout.
pub struct Plain {
    out: Output,
    servers: HashMap<Arc<str>, Server>,
    throttle: Duration,
}

impl Plain {
    /// A plain renderer; reconnect attempts and status lines are each
    /// printed at most once per `throttle` (the poll interval), per server.
    pub fn new(out: Output, throttle: Duration) -> Plain {
        Plain {
            out,
            servers: HashMap::new(),
            throttle,
        }
    }

    fn line(&self, url: &str, at: SystemTime, text: &str) -> std::io::Result<()> {
        let ts = humantime::format_rfc3339_millis(at);
        self.out.println(&format!("{ts} {url} {text}"))
    }

    /// Prints what `url`'s pacers held back: all of it, or what is due.
    fn flush(&mut self, url: &str, force: bool) -> std::io::Result<()> {
        let lines = match self.servers.get_mut(url) {
            Some(server) => server.flush(force),
            None => return Ok(()),
        };
        for (at, text) in lines {
            self.line(url, at, &text)?;
        }
        Ok(())
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

/// The fleet views' exit summaries, one line each, in their row order:
/// troubled first by the state each server ended in ([`View::trouble`];
/// a server without a view counts as starting), then by URL; each after
/// its URL when `with_url`.
pub fn summary_lines<'a>(
    summaries: &[(Arc<str>, Summary)],
    view_of: impl Fn(&str) -> Option<&'a View>,
    with_url: bool,
) -> Vec<String> {
    let mut sorted: Vec<&(Arc<str>, Summary)> = summaries.iter().collect();
    sorted.sort_by_cached_key(|(url, _)| {
        let trouble = view_of(url).map_or(View::default().trouble(), View::trouble);
        (trouble, url.clone())
    });
    sorted
        .into_iter()
        .map(|(url, s)| match with_url {
            true => format!("{url} {}", summary_text(s)),
            false => summary_text(s),
        })
        .collect()
}

impl Renderer for Plain {
    fn event(&mut self, envelope: &Envelope) -> std::io::Result<()> {
        let url = envelope.url.clone();
        let paced = matches!(
            envelope.event,
            Event::Status { .. }
                | Event::Queue { .. }
                | Event::Progress { .. }
                | Event::Reconnecting { .. }
        );
        if !paced {
            // What was held back comes first, so lines stay in order.
            self.flush(&url, true)?;
            if let Event::Moved { from } = &envelope.event {
                self.flush(from, true)?;
            }
        }
        let every = self.throttle;
        let server = self
            .servers
            .entry(url)
            .or_insert_with(|| Server::new(every));
        server.view.apply(envelope);
        let at = envelope.at;
        match &envelope.event {
            Event::State {
                state,
                previous,
                reason,
            } => {
                server.enter(state.is_down());
                let from = previous.map(|p| format!(" (was {p})")).unwrap_or_default();
                let name = super::style::state(&self.out, *state).apply_to(state.as_str());
                let text = format!("{name}{from}: {}", term_safe(reason));
                self.line(&envelope.url, at, &text)?;
            }
            Event::Status { .. } | Event::Queue { .. } | Event::Progress { .. } => {
                if let Some((at, text)) = server.status_news(at) {
                    self.line(&envelope.url, at, &text)?;
                }
            }
            // The one rule for warnings: stderr, `warning: ` once.
            Event::Warning { message, .. } => self.out.warn(&term_safe(message)),
            Event::Reconnecting { .. } => {
                if let Some((at, text)) = server.reconnect_news(envelope) {
                    self.line(&envelope.url, at, &text)?;
                }
            }
            Event::Summary(s) => self.line(&envelope.url, at, &summary_text(s))?,
            // The `connected` line that follows says where it was found.
            Event::Moved { .. } => {}
            Event::Job(job) => {
                if let Some(text) = super::jobs::job_line(job) {
                    self.line(&envelope.url, at, &text)?;
                }
            }
        }
        Ok(())
    }

    fn tick(&mut self) {
        let urls: Vec<Arc<str>> = self.servers.keys().cloned().collect();
        for url in urls {
            let _ = self.flush(&url, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::{State, Status};

    fn poll(server: &mut Server, remaining: u64, latency_ms: f64) {
        let status = Status {
            available: true,
            queue_remaining: Some(remaining),
            queue_running: Some(1),
            queue_pending: Some(remaining - 1),
            latency_ms: Some(latency_ms),
            ..Status::unknown("http://127.0.0.1:8188".into())
        };
        server.view.apply(&Envelope {
            id: Default::default(),
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
        let mut server = Server::new(Duration::ZERO);
        server.view.state = Some(State::Connected);
        assert_eq!(server.status_news(SystemTime::now()), None, "nothing known");
        poll(&mut server, 2, 3.0);
        let first = server.status_news(SystemTime::now());
        assert!(first.is_some_and(|(_, t)| t.starts_with("queue 2 remaining")));
        poll(&mut server, 2, 90.0);
        assert_eq!(server.status_news(SystemTime::now()), None);
    }

    #[test]
    fn status_lines_are_paced_and_say_how_many_were_held_back() {
        let mut server = Server::new(Duration::from_secs(3600));
        poll(&mut server, 2, 1.0);
        assert!(server.status_news(SystemTime::now()).is_some());
        for n in 3..=9 {
            poll(&mut server, n, 1.0);
            assert_eq!(server.status_news(SystemTime::now()), None);
        }
        assert!(server.flush(false).is_empty(), "not due yet");
        let held = server.flush(true);
        assert_eq!(held.len(), 1);
        assert_eq!(
            held[0].1,
            "queue 9 remaining · 1 running · 8 pending (6 more updates not shown)"
        );
    }
}
