//! `--json` for streams: one event per line, flushed per line. The shape
//! of each line is a struct in [`crate::wire::event`] (schema:
//! `schema/event.json`); this file only builds them from the manager's
//! events. `--webhook` posts the same `state` line.

pub use super::ndjson_stream::Ndjson;
use crate::manager::{Envelope, Event, Status};
use crate::wire::event::{
    Body, JobLine, Line, MovedLine, ProgressLine, ReconnectLine, StatusLine, SummaryLine,
    WarningLine,
};
use crate::wire::report::{ErrorObject, JobError};
use crate::wire::{ts, webhook};

/// A `status` line from an HTTP poll.
fn http_status<'a>(status: &'a Status, running_prompt: Option<&'a str>) -> StatusLine<'a> {
    StatusLine {
        source: "http",
        available: status.available,
        version: status.version.as_deref(),
        queue_remaining: status.queue_remaining,
        queue_running: status.queue_running,
        queue_pending: status.queue_pending,
        latency_ms: status.latency_ms,
        running_prompt,
        error: status.error.as_ref().map(ErrorObject::from),
        skipped: 0,
    }
}

/// A `status` line from a WebSocket `status` message, which carries only
/// the queue.
fn websocket_status(queue_remaining: u64, skipped: u32) -> StatusLine<'static> {
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
        skipped,
    }
}

/// The line for one event.
#[cfg(test)]
pub fn line(envelope: &Envelope) -> Line<'_> {
    line_skipped(envelope, 0)
}

/// The line for one event that a pacer let through after holding back
/// `skipped` like it.
pub fn line_skipped(envelope: &Envelope, skipped: u32) -> Line<'_> {
    let url = &envelope.url;
    let body = match &envelope.event {
        Event::State {
            state,
            previous,
            reason,
        } => return webhook::state_line(url, ts(envelope.at), *state, *previous, reason),
        Event::Status {
            status,
            running_prompt,
            ..
        } => Body::Status(http_status(status, running_prompt.as_deref())),
        Event::Queue { queue_remaining } => {
            Body::Status(websocket_status(*queue_remaining, skipped))
        }
        Event::Progress {
            kind,
            prompt_id,
            node,
            value,
            max,
        } => Body::Progress(ProgressLine {
            kind: (*kind).into(),
            prompt_id: prompt_id.as_deref(),
            node: node.as_deref(),
            value: *value,
            max: *max,
            skipped,
        }),
        Event::Warning { fallback, message } => Body::Warning(WarningLine {
            fallback: fallback.map(Into::into),
            message,
        }),
        Event::Reconnecting {
            attempt,
            error,
            next_delay,
        } => Body::Reconnect(ReconnectLine {
            attempt: *attempt,
            next_delay_ms: next_delay.as_millis() as u64,
            error: error.as_ref().map(ErrorObject::from),
            skipped,
        }),
        Event::Job(job) => Body::Job(JobLine {
            id: &job.id,
            status: job.status.into(),
            queued_ms: job.queued_ms(),
            duration_ms: job.duration_ms(),
            reason: job.reason(),
            error: job.error.as_ref().map(JobError::from),
        }),
        Event::Moved { from } => Body::Moved(MovedLine { from }),
        Event::Summary(summary) => Body::Summary(SummaryLine::from(summary)),
    };
    Line::new(url, ts(envelope.at), body)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::manager::{ProgressKind, State, Summary};

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
