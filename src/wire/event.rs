//! The NDJSON stream of `watch --json`: one [`Line`] per event, `event`,
//! `ts` and `url` first, then the event's own fields. Schema:
//! `schema/event.json` (a `oneOf` on `event`).

use serde::Serialize;

use super::enums::{FallbackMode, JobStatus, ProgressKind, State};
use super::report::{ErrorObject, JobError};

/// One line of the stream.
#[derive(Debug, Serialize)]
pub struct Line<'a> {
    /// The event's name: `state`, `status`, `progress`, …
    pub event: &'static str,
    /// When the manager saw it, RFC 3339 with milliseconds.
    pub ts: String,
    /// The server, credentials redacted.
    pub url: &'a str,
    /// The event's own fields, at the top level.
    #[serde(flatten)]
    pub body: Body<'a>,
}

impl<'a> Line<'a> {
    /// The line for `body`, seen at `ts` (see [`super::ts`]) on `url`.
    pub fn new(url: &'a str, ts: String, body: Body<'a>) -> Line<'a> {
        Line {
            event: body.name(),
            ts,
            url,
            body,
        }
    }
}

/// The fields of each kind of line.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum Body<'a> {
    /// `state`.
    State(StateLine<'a>),
    /// `status`, from an HTTP poll or a WebSocket `status` message.
    Status(StatusLine<'a>),
    /// `progress`.
    Progress(ProgressLine<'a>),
    /// `warning`.
    Warning(WarningLine<'a>),
    /// `reconnect`.
    Reconnect(ReconnectLine<'a>),
    /// `job`.
    Job(JobLine<'a>),
    /// `moved`: discovery found the server elsewhere.
    Moved(MovedLine<'a>),
    /// `summary`: the final tally.
    Summary(SummaryLine),
}

impl Body<'_> {
    /// Every `event` name, in the order the schema lists them.
    pub const NAMES: [&'static str; 8] = [
        "state",
        "status",
        "progress",
        "warning",
        "reconnect",
        "moved",
        "job",
        "summary",
    ];

    /// The `event` name of this kind of line.
    pub fn name(&self) -> &'static str {
        match self {
            Body::State(_) => "state",
            Body::Status(_) => "status",
            Body::Progress(_) => "progress",
            Body::Warning(_) => "warning",
            Body::Reconnect(_) => "reconnect",
            Body::Moved(_) => "moved",
            Body::Job(_) => "job",
            Body::Summary(_) => "summary",
        }
    }
}

/// `state`: the connection state changed (also the webhook body).
#[derive(Debug, Serialize)]
pub struct StateLine<'a> {
    /// The new state.
    pub state: State,
    /// The state before; null for the first.
    pub previous: Option<State>,
    /// Why, in one line.
    pub reason: &'a str,
}

/// `status`: what a poll found; fields the source does not carry are null.
#[derive(Debug, Serialize)]
pub struct StatusLine<'a> {
    /// `http` (a poll) or `websocket` (a `status` message).
    pub source: &'static str,
    /// HTTP answered as ComfyUI.
    pub available: bool,
    /// ComfyUI version.
    pub version: Option<&'a str>,
    /// `exec_info.queue_remaining`.
    pub queue_remaining: Option<u64>,
    /// Entries in `queue_running`.
    pub queue_running: Option<u64>,
    /// Entries in `queue_pending`.
    pub queue_pending: Option<u64>,
    /// Wall time of the poll.
    pub latency_ms: Option<f64>,
    /// `queue_running[0]`'s prompt id.
    pub running_prompt: Option<&'a str>,
    /// Why the poll failed.
    pub error: Option<ErrorObject<'a>>,
    /// WebSocket `status` messages held back since the previous one (0
    /// for `http`).
    pub skipped: u32,
}

/// `progress`: execution progress, as far as the server told this client.
#[derive(Debug, Serialize)]
pub struct ProgressLine<'a> {
    /// The WebSocket message it came from.
    #[serde(rename = "type")]
    pub kind: ProgressKind,
    /// The prompt.
    pub prompt_id: Option<&'a str>,
    /// The node.
    pub node: Option<&'a str>,
    /// Steps done.
    pub value: Option<f64>,
    /// Steps in all.
    pub max: Option<f64>,
    /// Step updates held back since the previous one.
    pub skipped: u32,
}

/// `warning`: something the user should know.
#[derive(Debug, Serialize)]
pub struct WarningLine<'a> {
    /// Set while the backend is down.
    pub fallback: Option<FallbackMode>,
    /// One line.
    pub message: &'a str,
}

/// `reconnect`: an attempt within this outage failed.
#[derive(Debug, Serialize)]
pub struct ReconnectLine<'a> {
    /// 1-based, within this outage.
    pub attempt: u32,
    /// Wait before the next attempt.
    pub next_delay_ms: u64,
    /// Why it failed.
    pub error: Option<ErrorObject<'a>>,
    /// Attempts held back since the previous `reconnect` line.
    pub skipped: u32,
}

/// `job`: a finished job, once per id.
#[derive(Debug, Serialize)]
pub struct JobLine<'a> {
    /// The prompt id.
    pub id: &'a str,
    /// `completed`, `failed` or `cancelled`.
    pub status: JobStatus,
    /// Start − create; null where the server does not say when it was queued.
    pub queued_ms: Option<u64>,
    /// End − start.
    pub duration_ms: Option<u64>,
    /// `oom`, `missing_file`, `exception`, `cancelled`, or null.
    pub reason: Option<&'static str>,
    /// Why it failed; null unless it did.
    pub error: Option<JobError<'a>>,
}

/// `moved`: discovery found the server at `url`; `from` is the address the
/// lines carried until now.
#[derive(Debug, Serialize)]
pub struct MovedLine<'a> {
    /// The address reported before.
    pub from: &'a str,
}

/// `summary`: the final tally, always the last line of a server.
#[derive(Debug, Serialize)]
pub struct SummaryLine {
    /// How long the watch ran, ms.
    pub duration_ms: u64,
    /// Share of the judged time spent up, 0–100.
    pub uptime_pct: f64,
    /// Times the server went down.
    pub outages: u32,
    /// The longest outage, ms.
    pub longest_outage_ms: u64,
    /// Times the session came back.
    pub reconnects: u32,
    /// Jobs reported `completed`.
    pub jobs_completed: u32,
    /// Jobs reported `failed`.
    pub jobs_failed: u32,
    /// Jobs reported `cancelled`.
    pub jobs_cancelled: u32,
}

impl From<&crate::manager::Summary> for SummaryLine {
    fn from(s: &crate::manager::Summary) -> Self {
        SummaryLine {
            duration_ms: s.duration_ms,
            uptime_pct: s.uptime_pct,
            outages: s.outages,
            longest_outage_ms: s.longest_outage_ms,
            reconnects: s.reconnects,
            jobs_completed: s.jobs_completed,
            jobs_failed: s.jobs_failed,
            jobs_cancelled: s.jobs_cancelled,
        }
    }
}
