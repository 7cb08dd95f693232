//! What the manager reports while it works.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::jobs::Job;
// Made by the WebSocket parser; re-exported here, where events use it, so
// the parser needs nothing from this module (no import circle).
pub use super::parse::ProgressKind;
use super::status::{ProbeError, Status};

/// What the calling pipeline should do while the backend is unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallbackMode {
    /// Generate placeholder images instead.
    Placeholder,
    /// Skip generation.
    Skip,
    /// Abort the operation.
    Abort,
}

impl FallbackMode {
    /// The lowercase name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            FallbackMode::Placeholder => "placeholder",
            FallbackMode::Skip => "skip",
            FallbackMode::Abort => "abort",
        }
    }

    /// The one-line warning for the calling pipeline.
    pub fn warning(self, url: &str) -> String {
        let advice = match self {
            FallbackMode::Placeholder => "generate placeholder images instead",
            FallbackMode::Skip => "skip generation",
            FallbackMode::Abort => "abort the operation",
        };
        format!("ComfyUI backend at {url} is unavailable; fallback={self}: {advice}")
    }
}

impl fmt::Display for FallbackMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The connection state machine of `watch` and `reconnect`.
///
/// `connecting` → `connected` → `disconnected` → `reconnecting` →
/// `connected` (and again); `degraded` while HTTP answers but the WebSocket
/// is down, refused or silent; `stalled` while connected but one job has
/// run longer than `--max-job-time`; `failed` once reconnection gave up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// The first attempt is under way.
    Connecting,
    /// HTTP answers and the WebSocket is open and answering.
    Connected,
    /// HTTP answers, but the WebSocket is down, refused, or silent.
    Degraded,
    /// Connected, but the running job has run longer than `--max-job-time`.
    Stalled,
    /// The server went away (socket closed, or hung).
    Disconnected,
    /// Attempts to get the session back are under way.
    Reconnecting,
    /// Reconnection gave up.
    Failed,
}

impl State {
    /// The lowercase name used in output.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Connecting => "connecting",
            State::Connected => "connected",
            State::Degraded => "degraded",
            State::Stalled => "stalled",
            State::Disconnected => "disconnected",
            State::Reconnecting => "reconnecting",
            State::Failed => "failed",
        }
    }

    /// HTTP answers in this state (the backend can take work).
    pub fn is_up(self) -> bool {
        matches!(self, State::Connected | State::Degraded | State::Stalled)
    }

    /// Entering this state from `previous` re-establishes a session:
    /// `connected` (or `stalled`, a session that opens on a job past the
    /// limit) after anything but the first session (`connecting`) or the
    /// same session (`connected` ↔ `stalled`).
    pub fn is_reconnect(self, previous: Option<State>) -> bool {
        matches!(self, State::Connected | State::Stalled)
            && previous.is_some_and(|p| {
                !matches!(p, State::Connecting | State::Stalled | State::Connected)
            })
    }

    /// The backend is unreachable in this state.
    pub fn is_down(self) -> bool {
        matches!(
            self,
            State::Disconnected | State::Reconnecting | State::Failed
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What `watch` reports at the end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// How long the watch ran, ms.
    pub duration_ms: u64,
    /// Share of the time since the first judgement (the first state after
    /// `connecting`) spent in `connected` or `degraded`, 0–100.
    pub uptime_pct: f64,
    /// Times the server went down.
    pub outages: u32,
    /// The longest of those, ms.
    pub longest_outage_ms: u64,
    /// Times the session came back after the first connection.
    pub reconnects: u32,
    /// Jobs reported `completed`.
    pub jobs_completed: u32,
    /// Jobs reported `failed`.
    pub jobs_failed: u32,
    /// Jobs reported `cancelled`.
    pub jobs_cancelled: u32,
}

/// Which server of a run an event is about: stable for the whole run, even
/// when discovery moves the server to another address (its URL changes,
/// its id does not). Consumers key by it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TargetId(pub u32);

/// An event from one monitored server, stamped with its id, URL and time.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// The server, for the whole run.
    pub id: TargetId,
    /// The server's address now, credentials redacted.
    pub url: Arc<str>,
    /// When the manager saw it.
    pub at: SystemTime,
    /// What happened.
    pub event: Event,
}

/// Progress reported by the manager.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The connection state changed.
    State {
        /// The new state.
        state: State,
        /// The state before, if any.
        previous: Option<State>,
        /// Why, in one line.
        reason: String,
    },
    /// An HTTP poll finished (available or not).
    Status {
        /// What it found.
        status: Box<Status>,
        /// `queue_running[0]`'s prompt id from `GET /queue`.
        running_prompt: Option<String>,
        /// How long that prompt has been running, ms, by the one age rule
        /// (`jobs::age`) that `stalled` and `health` use too.
        running_age_ms: Option<u64>,
    },
    /// A WebSocket `status` message: the queue changed.
    Queue {
        /// `exec_info.queue_remaining`.
        queue_remaining: u64,
    },
    /// Execution progress, as far as the server told this client.
    Progress {
        /// The WebSocket message type it came from.
        kind: ProgressKind,
        /// The prompt.
        prompt_id: Option<String>,
        /// The node, if the message named one.
        node: Option<String>,
        /// Steps done, for `progress` and `progress_state`.
        value: Option<f64>,
        /// Steps in all.
        max: Option<f64>,
    },
    /// Something the user should know; `fallback` is set while the backend
    /// is unavailable.
    Warning {
        /// The configured fallback, when the backend is down.
        fallback: Option<FallbackMode>,
        /// One line.
        message: String,
    },
    /// An attempt failed; the next starts after `next_delay` (`watch` and
    /// `reconnect` while the server is down, `connect` between its tries).
    Reconnecting {
        /// 1-based, counted within this outage (`connect`: within the run).
        attempt: u32,
        /// Why the attempt failed.
        error: Option<ProbeError>,
        /// Wait before the next attempt.
        next_delay: Duration,
    },
    /// A job finished (reported once per job id).
    Job(Job),
    /// No URL was given, and discovery found ComfyUI at this envelope's URL:
    /// events carry it from now on, under the same [`TargetId`], and
    /// `from`, the address reported until now, is no longer watched.
    Moved {
        /// The address reported before.
        from: Arc<str>,
    },
    /// The final tally; always the last event.
    Summary(Summary),
}
