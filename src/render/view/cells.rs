//! A server's row as text: each field of a [`View`] the way the live
//! line, the fleet table and the dashboard show it, so that all of them
//! say the same thing the same way.

use std::time::Duration;

use super::{Node, View, short_duration};
use crate::manager::State;
use crate::render::safe::escape_end;

/// [`View::trouble`] of a healthy (connected) server.
pub const HEALTHY: u8 = 4;

impl Node {
    /// ` 50%` for a node with steps (`max` > 1), else empty.
    pub fn percent(&self) -> String {
        self.steps
            .filter(|(_, max)| *max > 1.0)
            .map(|(v, max)| format!(" {:.0}%", v / max * 100.0))
            .unwrap_or_default()
    }
}

impl View {
    /// The state's name; `starting` before any event named one.
    pub fn state_name(&self) -> &'static str {
        self.state.map_or("starting", State::as_str)
    }

    /// How troubled the server is, lower first: failed, then down, then
    /// degraded or stalled, then starting or connecting, then connected
    /// ([`HEALTHY`]). Fleet views put troubled servers first by it.
    pub fn trouble(&self) -> u8 {
        match self.state {
            Some(State::Failed) => 0,
            Some(State::Disconnected | State::Reconnecting) => 1,
            Some(State::Degraded | State::Stalled) => 2,
            None | Some(State::Connecting) => 3,
            Some(State::Connected) => HEALTHY,
        }
    }

    /// Queue depth now (the newest remaining count), for sorting and the
    /// history.
    pub fn depth(&self) -> u64 {
        self.socket_remaining.or(self.queue.remaining).unwrap_or(0)
    }

    /// `17.2ms`, or `-` before a poll measured one.
    pub fn latency_cell(&self) -> String {
        self.latency_ms
            .map_or_else(|| "-".into(), |ms| format!("{ms:.1}ms"))
    }

    /// `7.5G` free on the first device, or `-` when the server did not say.
    pub fn vram_cell(&self) -> String {
        self.vram_free.map_or_else(
            || "-".into(),
            |b| format!("{:.1}G", b as f64 / (1u64 << 30) as f64),
        )
    }

    /// The running job's age as polls saw it (`2m 5s`), or `-`.
    pub fn job_age_cell(&self) -> String {
        self.running
            .age()
            .map_or_else(|| "-".into(), short_duration)
    }

    /// The running prompt's first 8 characters (never half an escape).
    pub fn short_prompt(&self) -> Option<String> {
        let chars: Vec<char> = self.running_prompt.as_ref()?.chars().collect();
        Some(chars[..escape_end(&chars, 8)].iter().collect())
    }

    /// `0e163167 12s n3 50%`: the running prompt's short id, its age (whole
    /// seconds), and the node with its progress when the server said; `-`
    /// when nothing runs.
    pub fn running_cell(&self) -> String {
        let Some(mut text) = self.short_prompt() else {
            return "-".into();
        };
        if let Some(age) = self.running.age() {
            let whole = Duration::from_secs(age.as_secs());
            text.push_str(&format!(" {}", short_duration(whole)));
        }
        if let Some(node) = &self.node {
            text.push_str(&format!(" n{}{}", node.id, node.percent()));
        }
        text
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
        if let Some(short) = self.short_prompt() {
            parts.push(format!("prompt {short}"));
        }
        if let Some(node) = &self.node {
            parts.push(format!("node {}{}", node.id, node.percent()));
        }
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{apply, poll, progress};
    use super::*;
    use crate::manager::{Event, ProgressKind, Status};

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
}
