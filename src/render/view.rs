//! What the text renderers know about one server: folded from events only.

use std::time::{Duration, Instant};

use super::safe::term_safe;
use crate::manager::{Envelope, Event, FallbackMode, ProgressKind, State, Status};

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
            socket_remaining: None,
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
            self.running = Default::default();
        }
    }

    /// A good HTTP poll replaces the version, queue, latency and running
    /// prompt; a node of another prompt (or of none) no longer runs.
    fn read_poll(&mut self, status: &Status, running_prompt: Option<&str>) {
        self.version = safe(status.version.as_deref());
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

    /// The queue as one snapshot: `1 remaining · 1 running · 0 pending`
    /// from a poll (the counts it read), or `3 remaining` alone from a newer
    /// WebSocket `status`; None while nothing is known.
    pub fn queue_text(&self) -> Option<String> {
        if let Some(n) = self.socket_remaining {
            return Some(format!("{n} remaining"));
        }
        let q = &self.queue;
        // Only what the poll read: a count it could not read is left out,
        // never shown as `?`.
        let parts: Vec<String> = [
            (q.remaining, "remaining"),
            (q.running, "running"),
            (q.pending, "pending"),
        ]
        .into_iter()
        .filter_map(|(n, word)| Some(format!("{} {word}", n?)))
        .collect();
        (!parts.is_empty()).then(|| parts.join(" · "))
    }

    /// The queue for a table cell: `rem/run/pen` from a poll, `3/-/-` when
    /// a newer WebSocket `status` gave the remaining count alone.
    pub fn queue_cell(&self) -> String {
        let n = |v: Option<u64>| v.map_or_else(|| "-".to_string(), |v| v.to_string());
        match self.socket_remaining {
            Some(r) => format!("{r}/-/-"),
            None => format!(
                "{}/{}/{}",
                n(self.queue.remaining),
                n(self.queue.running),
                n(self.queue.pending)
            ),
        }
    }

    /// `prompt 0e163167 node 2 50%` (the percentage only for a node with
    /// steps), or empty when nothing runs.
    pub fn progress_text(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.running_prompt {
            let chars: Vec<char> = p.chars().collect();
            let short: String = chars[..super::safe::escape_end(&chars, 8)].iter().collect();
            parts.push(format!("prompt {short}"));
        }
        if let Some(node) = &self.node {
            let pct = node
                .steps
                .filter(|(_, max)| *max > 1.0)
                .map(|(v, max)| format!(" {:.0}%", v / max * 100.0))
                .unwrap_or_default();
            parts.push(format!("node {}{pct}", node.id));
        }
        parts.join(" ")
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

    fn apply(v: &mut View, event: Event) {
        v.apply(&Envelope {
            id: Default::default(),
            url: Arc::from("http://127.0.0.1:8188"),
            at: SystemTime::now(),
            event,
        });
    }

    fn poll(v: &mut View, remaining: u64, running: Option<&str>) {
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

    fn progress(v: &mut View, kind: ProgressKind, prompt: &str, node: Option<&str>, max: f64) {
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
    fn a_queue_text_is_one_snapshot_and_nothing_before_anything_is_known() {
        let mut v = View::default();
        assert_eq!(v.queue_text(), None);
        apply(&mut v, Event::Queue { queue_remaining: 0 });
        assert_eq!(v.queue_text().as_deref(), Some("0 remaining"));
        poll(&mut v, 0, None);
        assert_eq!(
            v.queue_text().as_deref(),
            Some("0 remaining · 0 running · 0 pending")
        );
        // The socket repeats what the poll said: the poll still stands.
        apply(&mut v, Event::Queue { queue_remaining: 0 });
        assert_eq!(v.queue_cell(), "0/0/0");
        // A newer count: running and pending are not the poll's any more.
        apply(&mut v, Event::Queue { queue_remaining: 4 });
        assert_eq!(v.queue_text().as_deref(), Some("4 remaining"));
        assert_eq!(v.queue_cell(), "4/-/-");
        poll(&mut v, 4, Some("ae43ede7-1"));
        assert_eq!(
            v.queue_text().as_deref(),
            Some("4 remaining · 1 running · 3 pending")
        );
    }

    #[test]
    fn a_count_the_poll_could_not_read_is_left_out() {
        let mut v = View::default();
        let status = Status {
            available: true,
            queue_remaining: Some(3),
            ..Status::unknown("http://127.0.0.1:8188".into())
        };
        apply(
            &mut v,
            Event::Status {
                status: Box::new(status),
                running_prompt: None,
                running_age_ms: None,
            },
        );
        assert_eq!(v.queue_text().as_deref(), Some("3 remaining"));
    }

    #[test]
    fn progress_shows_steps_only_when_there_are_some_and_ends_with_its_prompt() {
        let mut v = View::default();
        poll(&mut v, 2, Some("aaaaaaaa-1"));
        progress(
            &mut v,
            ProgressKind::ProgressState,
            "aaaaaaaa-1",
            Some("1"),
            1.0,
        );
        assert_eq!(v.progress_text(), "prompt aaaaaaaa node 1");
        progress(
            &mut v,
            ProgressKind::ProgressState,
            "aaaaaaaa-1",
            Some("3"),
            20.0,
        );
        assert_eq!(v.progress_text(), "prompt aaaaaaaa node 3 0%");
        // The next prompt starts: the last one's node is not its node.
        progress(
            &mut v,
            ProgressKind::ExecutionStart,
            "bbbbbbbb-2",
            None,
            0.0,
        );
        assert_eq!(v.progress_text(), "prompt bbbbbbbb");
        progress(
            &mut v,
            ProgressKind::ProgressState,
            "bbbbbbbb-2",
            Some("2"),
            1.0,
        );
        progress(
            &mut v,
            ProgressKind::ExecutionSuccess,
            "bbbbbbbb-2",
            None,
            0.0,
        );
        assert_eq!(v.progress_text(), "");
        // A poll that sees another prompt running drops the old node too.
        progress(
            &mut v,
            ProgressKind::ProgressState,
            "cccccccc-3",
            Some("2"),
            1.0,
        );
        poll(&mut v, 1, Some("dddddddd-4"));
        assert_eq!(v.progress_text(), "prompt dddddddd");
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
