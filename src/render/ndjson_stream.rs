//! The `--json` stream writer: one [`crate::wire::event::Line`] per event, flushed per line,
//! with repeated events paced per server (see [`Ndjson`]).

use std::collections::HashMap;
use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use super::Renderer;
use super::ndjson::line_skipped;
use super::pace::Pacer;
use crate::manager::{Envelope, Event, ProgressKind};

/// Writes NDJSON to stdout, repeated events paced per server: at most one
/// `reconnect`, one WebSocket `status` and one step update (`progress`,
/// `progress_state`) per interval each, the newest of the others written
/// later with `skipped` counting those never written.
pub struct Ndjson {
    every: Duration,
    servers: HashMap<Arc<str>, Paced>,
}

/// One server's pacers, one per kind of repeated event.
struct Paced {
    reconnect: Pacer<Envelope>,
    status: Pacer<Envelope>,
    steps: Pacer<Envelope>,
}

impl Paced {
    fn new(every: Duration) -> Paced {
        Paced {
            reconnect: Pacer::new(every),
            status: Pacer::new(every),
            steps: Pacer::new(every),
        }
    }

    /// The pacer for this event, if it is one of the repeated kinds.
    fn pacer(&mut self, event: &Event) -> Option<&mut Pacer<Envelope>> {
        match event {
            Event::Reconnecting { .. } => Some(&mut self.reconnect),
            Event::Queue { .. } => Some(&mut self.status),
            Event::Progress {
                kind: ProgressKind::Progress | ProgressKind::ProgressState,
                ..
            } => Some(&mut self.steps),
            _ => None,
        }
    }

    /// What was held back: all of it (`force`) or what is due, oldest first.
    fn flush(&mut self, force: bool) -> Vec<(Envelope, u32)> {
        let mut out: Vec<(Envelope, u32)> =
            [&mut self.reconnect, &mut self.status, &mut self.steps]
                .into_iter()
                .filter_map(|p| if force { p.flush() } else { p.flush_due() })
                .collect();
        out.sort_by_key(|(e, _)| e.at);
        out
    }

    fn reset(&mut self) {
        for p in [&mut self.reconnect, &mut self.status, &mut self.steps] {
            p.reset();
        }
    }
}

impl Ndjson {
    /// A writer pacing repeated events to one per `every` (the poll
    /// interval), per server and kind.
    pub fn new(every: Duration) -> Ndjson {
        Ndjson {
            every,
            servers: HashMap::new(),
        }
    }

    /// Writes what `url`'s pacers held back (all of it, or what is due).
    fn flush(&mut self, url: &str, force: bool) -> std::io::Result<()> {
        if let Some(paced) = self.servers.get_mut(url) {
            for (envelope, skipped) in paced.flush(force) {
                write(&envelope, skipped)?;
            }
        }
        Ok(())
    }
}

/// Writes one line, flushed.
fn write(envelope: &Envelope, skipped: u32) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, &line_skipped(envelope, skipped))?;
    writeln!(out)?;
    out.flush()
}

impl Renderer for Ndjson {
    fn event(&mut self, envelope: &Envelope) -> std::io::Result<()> {
        let every = self.every;
        let paced = self
            .servers
            .entry(envelope.url.clone())
            .or_insert_with(|| Paced::new(every));
        if let Some(pacer) = paced.pacer(&envelope.event) {
            if let Some((envelope, skipped)) = pacer.offer(envelope.clone()) {
                write(&envelope, skipped)?;
            }
            return Ok(());
        }
        // Anything else is never held back, and what was held comes first
        // (an HTTP poll's `status` excepted: it comes once per interval
        // anyway, and flushing before it would double the pace).
        if !matches!(envelope.event, Event::Status { .. }) {
            self.flush(&envelope.url, true)?;
        }
        if let Event::Moved { from } = &envelope.event {
            self.flush(from, true)?;
        }
        if let (Event::State { .. }, Some(paced)) =
            (&envelope.event, self.servers.get_mut(&envelope.url))
        {
            paced.reset();
        }
        write(envelope, 0)?;
        // Warnings also go to stderr, as in every other output mode.
        if let Event::Warning { message, .. } = &envelope.event {
            super::Output::PLAIN.warn(&super::safe::term_safe(message));
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
