//! What the text renderers know about one server: folded from events only.

use std::time::{Duration, Instant};

use super::safe::term_safe;
use crate::manager::{Envelope, Event, FallbackMode, ProgressKind, State, Status};

/// A server string made safe once, as it enters the view: every renderer
/// that shows the view then prints only harmless text.
fn safe(s: Option<&str>) -> Option<String> {
    s.map(|v| term_safe(v).into_owned())
}

/// A server's queue, as far as it has told us.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Queue {
    /// `exec_info.queue_remaining`, from a poll or a WebSocket `status`.
    pub remaining: Option<u64>,
    /// Entries in `queue_running` (HTTP polls only).
    pub running: Option<u64>,
    /// Entries in `queue_pending` (HTTP polls only).
    pub pending: Option<u64>,
}

/// The latest known picture of a server, built from its events.
#[derive(Debug, Clone)]
pub struct View {
    /// Current state, if any event said so.
    pub state: Option<State>,
    /// When the state last changed.
    pub since: Instant,
    /// ComfyUI version, from the last good HTTP poll.
    pub version: Option<String>,
    /// Queue counts; None where nothing has said.
    pub queue: Queue,
    /// Latency of the last HTTP poll, ms.
    pub latency_ms: Option<f64>,
    /// The running prompt id from `GET /queue`.
    pub running_prompt: Option<String>,
    /// Node and progress, as far as the server told us.
    pub node: Option<(String, Option<(f64, f64)>)>,
    /// While reconnecting: attempt number, delay, and when it was set.
    pub reconnect: Option<(u32, Duration, Instant)>,
    /// The fallback warning while the backend is down.
    pub warning: Option<String>,
    /// The fallback mode named by that warning.
    pub fallback: Option<FallbackMode>,
    /// The running job and how long it has been seen running.
    pub running: super::jobs::Running,
    /// Jobs finished in the last ten minutes.
    pub recent: super::jobs::JobWindow,
}

impl Default for View {
    fn default() -> Self {
        View {
            state: None,
            since: Instant::now(),
            version: None,
            queue: Queue::default(),
            latency_ms: None,
            running_prompt: None,
            node: None,
            reconnect: None,
            warning: None,
            fallback: None,
            running: Default::default(),
            recent: Default::default(),
        }
    }
}

impl View {
    /// Folds one event in.
    pub fn apply(&mut self, envelope: &Envelope) {
        match &envelope.event {
            Event::State { state, .. } => self.enter(*state),
            Event::Job(job) => self.recent.push(job),
            Event::Status {
                status,
                running_prompt,
                ..
            } if status.available => self.read_poll(status, running_prompt.as_deref()),
            Event::Queue { queue_remaining } => self.queue.remaining = Some(*queue_remaining),
            Event::Progress {
                kind,
                prompt_id,
                node,
                value,
                max,
            } => {
                if prompt_id.is_some() {
                    self.running_prompt = safe(prompt_id.as_deref());
                }
                let done =
                    kind.ends_prompt() || (*kind == ProgressKind::Executing && node.is_none());
                self.node = if done {
                    None
                } else {
                    safe(node.as_deref())
                        .map(|n| (n, value.zip(*max)))
                        .or(self.node.take())
                };
            }
            Event::Warning {
                fallback: Some(mode),
                message,
            } => {
                self.warning = Some(term_safe(message).into_owned());
                self.fallback = Some(*mode);
            }
            Event::Reconnecting {
                attempt,
                next_delay,
                ..
            } => self.reconnect = Some((*attempt, *next_delay, Instant::now())),
            _ => {}
        }
    }

    /// A new state: back up clears the reconnect countdown and the fallback
    /// warning; down forgets every reading, since nothing is known about a
    /// server that is down and what it said before must not keep showing.
    fn enter(&mut self, state: State) {
        self.state = Some(state);
        self.since = Instant::now();
        if state.is_up() {
            self.reconnect = None;
            self.warning = None;
            self.fallback = None;
        } else if state.is_down() {
            self.queue = Queue::default();
            self.latency_ms = None;
            self.running_prompt = None;
            self.node = None;
            self.running = Default::default();
        }
    }

    /// A good HTTP poll replaces the version, queue, latency and running
    /// prompt; with nothing running, no node runs either.
    fn read_poll(&mut self, status: &Status, running_prompt: Option<&str>) {
        self.version = safe(status.version.as_deref());
        self.queue = Queue {
            remaining: status.queue_remaining,
            running: status.queue_running,
            pending: status.queue_pending,
        };
        self.latency_ms = status.latency_ms;
        self.running_prompt = safe(running_prompt);
        self.running.observe(running_prompt);
        if running_prompt.is_none() {
            self.node = None;
        }
    }

    /// `1 remaining · 1 running · 0 pending`.
    pub fn queue_text(&self) -> String {
        let q = &self.queue;
        super::human::queue_text(q.remaining, q.running, q.pending)
    }

    /// `prompt 0e163167 node 2 50%`, or empty when nothing runs.
    pub fn progress_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.running_prompt {
            parts.push(format!("prompt {}", p.get(..8).unwrap_or(p)));
        }
        if let Some((node, progress)) = &self.node {
            let pct = progress
                .filter(|(_, max)| *max > 0.0)
                .map(|(v, max)| format!(" {:.0}%", v / max * 100.0))
                .unwrap_or_default();
            parts.push(format!("node {node}{pct}"));
        }
        parts.join(" ")
    }
}

/// `1m 5s`, `800ms`: short, for status lines.
pub fn short_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        return format!("{}ms", d.as_millis());
    }
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}
