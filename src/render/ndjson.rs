//! `--json` for streams: one event per line, flushed per line. The schema is
//! documented in the README and kept stable; each event's fields are one
//! struct here, so a new field is a change to the manager's event and to
//! that struct. `--webhook` posts the same [`Line`] for state changes.

use std::time::SystemTime;

use serde::Serialize;

pub use super::ndjson_stream::Ndjson;
use crate::manager::jobs::{JobError, JobStatus};
use crate::manager::{
    Envelope, Event, FallbackMode, ProbeError, ProgressKind, State, Status, Summary,
};

/// One line of the stream: which event, when, for which server, then the
/// event's own fields.
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
    /// The line for `body`, seen at `ts` (see [`ts`]) on `url`.
    pub fn new(url: &'a str, ts: String, body: Body<'a>) -> Line<'a> {
        Line {
            event: body.name(),
            ts,
            url,
            body,
        }
    }
}

/// A line's `ts`: RFC 3339, UTC, milliseconds.
pub fn ts(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
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
    /// `summary`: the final tally's fields as they are.
    Summary(&'a Summary),
}

impl Body<'_> {
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

/// `state`: the connection state changed.
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
    pub error: Option<&'a ProbeError>,
    /// WebSocket `status` messages of this server held back and never
    /// written since the previous one (always 0 for `http`).
    pub skipped: u32,
}

impl<'a> StatusLine<'a> {
    /// From an HTTP poll.
    pub fn http(status: &'a Status, running_prompt: Option<&'a str>) -> Self {
        StatusLine {
            source: "http",
            available: status.available,
            version: status.version.as_deref(),
            queue_remaining: status.queue_remaining,
            queue_running: status.queue_running,
            queue_pending: status.queue_pending,
            latency_ms: status.latency_ms,
            running_prompt,
            error: status.error.as_ref(),
            skipped: 0,
        }
    }

    /// From a WebSocket `status` message, which carries only the queue.
    pub fn websocket(queue_remaining: u64) -> Self {
        StatusLine {
            source: "websocket",
            available: true,
            version: None,
            queue_remaining: Some(queue_remaining),
            queue_running: None,
            queue_pending: None,
            latency_ms: None,
            running_prompt: None,
            error: None,
            skipped: 0,
        }
    }
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
    /// Step updates (`progress`, `progress_state`) of this server held back
    /// and never written since the previous one.
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
    pub error: Option<&'a ProbeError>,
    /// Attempts of this outage held back and never written since the
    /// previous `reconnect` line.
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
    /// `oom`, `missing_file` or `exception` when it failed, `cancelled`,
    /// or null (see `manager::jobs::cause` for the rules).
    pub reason: Option<&'static str>,
    /// Why it failed; null unless it did.
    pub error: Option<&'a JobError>,
}

/// `moved`: no URL was given and discovery found ComfyUI at `url`; `from`
/// is the address the lines carried until now.
#[derive(Debug, Serialize)]
pub struct MovedLine<'a> {
    /// The address reported before.
    pub from: &'a str,
}

/// The line for one event.
pub fn line(envelope: &Envelope) -> Line<'_> {
    line_skipped(envelope, 0)
}

/// The line for one event that a pacer let through after holding back
/// `skipped` like it.
pub fn line_skipped(envelope: &Envelope, skipped: u32) -> Line<'_> {
    let body = match &envelope.event {
        Event::State {
            state,
            previous,
            reason,
        } => Body::State(StateLine {
            state: *state,
            previous: *previous,
            reason,
        }),
        Event::Status {
            status,
            running_prompt,
            ..
        } => Body::Status(StatusLine::http(status, running_prompt.as_deref())),
        Event::Queue { queue_remaining } => Body::Status(StatusLine {
            skipped,
            ..StatusLine::websocket(*queue_remaining)
        }),
        Event::Progress {
            kind,
            prompt_id,
            node,
            value,
            max,
        } => Body::Progress(ProgressLine {
            kind: *kind,
            prompt_id: prompt_id.as_deref(),
            node: node.as_deref(),
            value: *value,
            max: *max,
            skipped,
        }),
        Event::Warning { fallback, message } => Body::Warning(WarningLine {
            fallback: *fallback,
            message,
        }),
        Event::Reconnecting {
            attempt,
            error,
            next_delay,
        } => Body::Reconnect(ReconnectLine {
            attempt: *attempt,
            next_delay_ms: next_delay.as_millis() as u64,
            error: error.as_ref(),
            skipped,
        }),
        Event::Job(job) => Body::Job(JobLine {
            id: &job.id,
            status: job.status,
            queued_ms: job.queued_ms(),
            duration_ms: job.duration_ms(),
            reason: job.reason(),
            error: job.error.as_ref(),
        }),
        Event::Moved { from } => Body::Moved(MovedLine { from }),
        Event::Summary(summary) => Body::Summary(summary),
    };
    Line::new(&envelope.url, ts(envelope.at), body)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn text(event: Event) -> String {
        let envelope = Envelope {
            id: Default::default(),
            url: Arc::from("http://h:1"),
            at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            event,
        };
        serde_json::to_string(&line(&envelope)).unwrap()
    }

    #[test]
    fn lines_start_with_event_ts_and_url_then_the_fields() {
        let state = text(Event::State {
            state: State::Connected,
            previous: None,
            reason: "up".into(),
        });
        assert_eq!(
            state,
            r#"{"event":"state","ts":"2023-11-14T22:13:20.123Z","url":"http://h:1","state":"connected","previous":null,"reason":"up"}"#
        );
        let ws = text(Event::Queue { queue_remaining: 2 });
        assert!(
            ws.ends_with(r#""source":"websocket","available":true,"version":null,"queue_remaining":2,"queue_running":null,"queue_pending":null,"latency_ms":null,"running_prompt":null,"error":null,"skipped":0}"#),
            "{ws}"
        );
        let progress = text(Event::Progress {
            kind: ProgressKind::ExecutionSuccess,
            prompt_id: Some("p".into()),
            node: None,
            value: None,
            max: None,
        });
        assert!(
            progress.contains(r#""type":"execution_success""#),
            "{progress}"
        );
    }

    #[test]
    fn a_paced_line_says_how_many_like_it_were_held_back() {
        let envelope = Envelope {
            id: Default::default(),
            url: Arc::from("http://h:1"),
            at: UNIX_EPOCH,
            event: Event::Reconnecting {
                attempt: 43,
                error: None,
                next_delay: Duration::from_millis(250),
            },
        };
        let v = serde_json::to_value(line_skipped(&envelope, 41)).unwrap();
        assert_eq!(v["attempt"], 43);
        assert_eq!(v["skipped"], 41);
        assert_eq!(serde_json::to_value(line(&envelope)).unwrap()["skipped"], 0);
    }

    #[test]
    fn the_summary_keeps_its_own_fields_at_the_top_level() {
        let summary = Summary {
            duration_ms: 5,
            uptime_pct: 100.0,
            outages: 0,
            longest_outage_ms: 0,
            reconnects: 0,
            jobs_completed: 1,
            jobs_failed: 0,
            jobs_cancelled: 0,
        };
        let v: serde_json::Value = serde_json::from_str(&text(Event::Summary(summary))).unwrap();
        assert_eq!(v["event"], "summary");
        assert_eq!(v["uptime_pct"], 100.0);
        assert_eq!(v["jobs_completed"], 1);
    }
}
