//! The one row model of the human renderers: what is known about one
//! server (state and since when, queue, running job, window counters,
//! latency, VRAM), folded from events only. The plain lines, the live
//! status line and fleet table (`--no-tui` on a terminal) and the dashboard
//! all read the same [`View`]; [`cells`] gives each field as text.

pub mod cells;
pub mod window;

use std::time::{Duration, Instant};

use super::safe::term_safe;
use crate::manager::{Envelope, Event, FallbackMode, ProgressKind, State, Status};
use window::{JobWindow, Running};

/// A server string made safe once, as it enters the view: every renderer
/// that shows the view then prints only harmless text.
fn safe(s: Option<&str>) -> Option<String> {
    s.map(|v| term_safe(v).into_owned())
}

/// A server's queue as one HTTP poll saw it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Queue {
    /// `exec_info.queue_remaining`.
    pub remaining: Option<u64>,
    /// Entries in `queue_running`.
    pub running: Option<u64>,
    /// Entries in `queue_pending`.
    pub pending: Option<u64>,
}

/// The node that runs, in which prompt, and its steps when it has any.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The prompt the node belongs to, when the message named it.
    pub prompt: Option<String>,
    /// The node id.
    pub id: String,
    /// Steps done and in all (`value`, `max`).
    pub steps: Option<(f64, f64)>,
}

/// The latest known picture of a server, built from its events.
#[derive(Debug, Clone)]
pub struct View {
    /// Current state, if any event said so.
    pub state: Option<State>,
    /// When the state last changed.
    pub since: Instant,
    /// ComfyUI version, from the last good HTTP poll of this session.
    pub version: Option<String>,
    /// The queue as the last good HTTP poll saw it.
    pub queue: Queue,
    /// `queue_remaining` of a WebSocket `status` that came after that poll
    /// and changed the count: the newer snapshot, which carries no
    /// running/pending, so those are not shown until the next poll.
    pub socket_remaining: Option<u64>,
    /// Latency of the last HTTP poll, ms.
    pub latency_ms: Option<f64>,
    /// The running prompt: from `GET /queue`, or newer progress messages.
    pub running_prompt: Option<String>,
    /// The node running in that prompt, as far as the server told us.
    pub node: Option<Node>,
    /// While reconnecting: attempt number, delay, and when it was set.
    pub reconnect: Option<(u32, Duration, Instant)>,
    /// The fallback warning while the backend is down.
    pub warning: Option<String>,
    /// The fallback mode named by that warning.
    pub fallback: Option<FallbackMode>,
    /// VRAM free on the first device of the last good poll, bytes.
    pub vram_free: Option<u64>,
    /// The running job and how long it has been seen running.
    pub running: Running,
    /// Jobs finished in the last ten minutes.
    pub recent: JobWindow,
}

impl Default for View {
    fn default() -> Self {
        View {
            state: None,
            since: Instant::now(),
            version: None,
            queue: Queue::default(),
            socket_remaining: None,
            latency_ms: None,
            running_prompt: None,
            node: None,
            reconnect: None,
            warning: None,
            fallback: None,
            vram_free: None,
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
            // A count the last poll did not see is the newer snapshot.
            Event::Queue { queue_remaining }
                if self.socket_remaining.is_some()
                    || self.queue.remaining != Some(*queue_remaining) =>
            {
                self.socket_remaining = Some(*queue_remaining);
            }
            Event::Progress {
                kind,
                prompt_id,
                node,
                value,
                max,
            } => self.read_progress(
                *kind,
                prompt_id.as_deref(),
                node.as_deref(),
                value.zip(*max),
            ),
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
    /// warning; down forgets every reading, the version included, since
    /// nothing is known about a server that is down (what answers next may
    /// be another build) and what it said before must not keep showing.
    fn enter(&mut self, state: State) {
        self.state = Some(state);
        self.since = Instant::now();
        if state.is_up() {
            self.reconnect = None;
            self.warning = None;
            self.fallback = None;
        } else if state.is_down() {
            self.version = None;
            self.queue = Queue::default();
            self.socket_remaining = None;
            self.latency_ms = None;
            self.running_prompt = None;
            self.node = None;
            self.vram_free = None;
            self.running = Default::default();
        }
    }

    /// A good HTTP poll replaces the version, queue, latency, VRAM and
    /// running prompt; a node of another prompt (or of none) no longer runs.
    fn read_poll(&mut self, status: &Status, running_prompt: Option<&str>) {
        self.version = safe(status.version.as_deref());
        self.vram_free = status.devices.first().and_then(|d| d.vram_free);
        self.queue = Queue {
            remaining: status.queue_remaining,
            running: status.queue_running,
            pending: status.queue_pending,
        };
        self.socket_remaining = None;
        self.latency_ms = status.latency_ms;
        self.running_prompt = safe(running_prompt);
        self.running.observe(running_prompt);
        self.keep_node_of_running_prompt();
    }

    /// A progress message: a prompt that starts replaces the last one (and
    /// its node); one that ends takes its node with it.
    fn read_progress(
        &mut self,
        kind: ProgressKind,
        prompt: Option<&str>,
        node: Option<&str>,
        steps: Option<(f64, f64)>,
    ) {
        let prompt = safe(prompt);
        if prompt.is_some() && prompt != self.running_prompt {
            self.running_prompt.clone_from(&prompt);
            self.keep_node_of_running_prompt();
        }
        if kind.ends_prompt() {
            if prompt.is_none() || prompt == self.running_prompt {
                self.running_prompt = None;
            }
            self.node = None;
        } else if kind == ProgressKind::Executing && node.is_none() {
            self.node = None;
        } else if let Some(id) = safe(node) {
            self.node = Some(Node {
                prompt: prompt.or_else(|| self.running_prompt.clone()),
                id,
                steps,
            });
        }
    }

    /// Drops the node unless it belongs to the prompt that runs now.
    fn keep_node_of_running_prompt(&mut self) {
        let stale = self.node.as_ref().is_some_and(|n| {
            self.running_prompt.is_none() || n.prompt.is_some() && n.prompt != self.running_prompt
        });
        if stale {
            self.node = None;
        }
    }
}

/// `1m 5s`, `800ms`: short, for status lines (whole seconds, rounded down,
/// for time already spent).
pub fn short_duration(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        return format!("{}ms", d.as_millis());
    }
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

/// A wait still to come, never shown shorter than it is: `250ms`, `1.7s`
/// (tenths, rounded up, under 10 s), `12s`, `1m 5s` (whole seconds,
/// rounded up).
pub fn countdown(d: Duration) -> String {
    let up = |unit: u128| d.as_nanos().div_ceil(unit);
    let ms = up(1_000_000);
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let tenths = up(100_000_000);
    if tenths < 100 {
        return format!("{}.{}s", tenths / 10, tenths % 10);
    }
    let secs = u64::try_from(up(1_000_000_000)).unwrap_or(u64::MAX);
    humantime::format_duration(Duration::from_secs(secs)).to_string()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use super::*;

    pub(super) fn apply(v: &mut View, event: Event) {
        v.apply(&Envelope {
            id: Default::default(),
            url: Arc::from("http://127.0.0.1:8188"),
            at: SystemTime::now(),
            event,
        });
    }

    pub(super) fn poll(v: &mut View, remaining: u64, running: Option<&str>) {
        let status = Status {
            available: true,
            version: Some("0.3.64".into()),
            queue_remaining: Some(remaining),
            queue_running: Some(u64::from(running.is_some())),
            queue_pending: Some(remaining.saturating_sub(1)),
            ..Status::unknown("http://127.0.0.1:8188".into())
        };
        apply(
            v,
            Event::Status {
                status: Box::new(status),
                running_prompt: running.map(str::to_owned),
                running_age_ms: None,
            },
        );
    }

    pub(super) fn progress(
        v: &mut View,
        kind: ProgressKind,
        prompt: &str,
        node: Option<&str>,
        max: f64,
    ) {
        apply(
            v,
            Event::Progress {
                kind,
                prompt_id: Some(prompt.into()),
                node: node.map(str::to_owned),
                value: Some(0.0),
                max: Some(max),
            },
        );
    }

    #[test]
    fn down_forgets_the_version() {
        let mut v = View::default();
        poll(&mut v, 0, None);
        assert!(v.version.is_some());
        apply(
            &mut v,
            Event::State {
                state: State::Reconnecting,
                previous: Some(State::Disconnected),
                reason: String::new(),
            },
        );
        assert_eq!(v.version, None);
        assert_eq!(v.queue_text(), None);
    }

    #[test]
    fn a_countdown_is_never_shorter_than_the_wait() {
        let ms = Duration::from_millis;
        assert_eq!(countdown(ms(250)), "250ms");
        assert_eq!(countdown(Duration::from_micros(999_500)), "1.0s");
        assert_eq!(countdown(ms(1600)), "1.6s");
        assert_eq!(countdown(ms(1601)), "1.7s");
        assert_eq!(countdown(ms(1999)), "2.0s");
        assert_eq!(countdown(ms(9950)), "10s");
        assert_eq!(countdown(ms(64_100)), "1m 5s");
        assert_eq!(countdown(Duration::ZERO), "0ms");
    }
}
