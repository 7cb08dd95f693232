//! `--json` for streams: one event per line, flushed per line. The schema is
//! documented in the README and kept stable.

use std::io::Write;

use serde_json::{Value, json};

use super::Renderer;
use crate::manager::{Envelope, Event};

/// Writes NDJSON to stdout.
pub struct Ndjson;

/// The JSON object for one event, or None for events that are not part of
/// the stream (connect's attempt events).
pub fn event_json(envelope: &Envelope) -> Option<Value> {
    let ts = humantime::format_rfc3339_millis(envelope.at).to_string();
    let mut v = match &envelope.event {
        Event::State {
            state,
            previous,
            reason,
        } => json!({"event": "state", "state": state, "previous": previous, "reason": reason}),
        Event::Status {
            status,
            running_prompt,
        } => json!({
            "event": "status",
            "source": "http",
            "available": status.available,
            "version": status.version,
            "queue_remaining": status.queue_remaining,
            "queue_running": status.queue_running,
            "queue_pending": status.queue_pending,
            "latency_ms": status.latency_ms,
            "running_prompt": running_prompt,
            "error": status.error,
        }),
        Event::Queue { queue_remaining } => json!({
            "event": "status",
            "source": "websocket",
            "available": true,
            "version": null,
            "queue_remaining": queue_remaining,
            "queue_running": null,
            "queue_pending": null,
            "latency_ms": null,
            "running_prompt": null,
            "error": null,
        }),
        Event::Progress {
            kind,
            prompt_id,
            node,
            value,
            max,
        } => json!({
            "event": "progress", "type": kind, "prompt_id": prompt_id,
            "node": node, "value": value, "max": max,
        }),
        Event::Warning { fallback, message } => {
            json!({"event": "warning", "fallback": fallback, "message": message})
        }
        Event::Reconnecting {
            attempt,
            error,
            next_delay,
        } => json!({
            "event": "reconnect", "attempt": attempt,
            "next_delay_ms": next_delay.as_millis() as u64, "error": error,
        }),
        Event::Job(job) => json!({
            "event": "job",
            "id": job.id,
            "status": job.status,
            "queued_ms": job.queued_ms(),
            "duration_ms": job.duration_ms(),
            "error": job.error,
        }),
        Event::Summary(summary) => {
            let mut v = serde_json::to_value(summary).ok()?;
            v.as_object_mut()?.insert("event".into(), "summary".into());
            v
        }
        Event::Attempt { .. } | Event::Retry { .. } => return None,
    };
    let obj = v.as_object_mut()?;
    obj.insert("ts".into(), ts.into());
    obj.insert("url".into(), envelope.url.as_ref().into());
    Some(v)
}

impl Renderer for Ndjson {
    fn event(&mut self, envelope: &Envelope) -> std::io::Result<()> {
        if let Some(v) = event_json(envelope) {
            let mut out = std::io::stdout().lock();
            writeln!(out, "{v}")?;
            out.flush()?;
        }
        // Warnings also go to stderr, as in every other output mode.
        if let Event::Warning { message, .. } = &envelope.event {
            super::Output::PLAIN.warn(&super::safe::term_safe(message));
        }
        Ok(())
    }
}
