//! What a frame costs on a large fleet, for `benches/dashboard.rs`: the
//! model, drawing and painting of the real dashboard, without a terminal.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use super::canvas::Canvas;
use super::model::{HISTORY, Model};
use super::paint::Painter;
use super::{draw, keys};
use crate::manager::{Envelope, Event, State, Status};
use crate::render::Output;
use crossterm::event::{KeyCode, KeyEvent};

/// Per-frame averages over the rounds of [`measure`].
#[derive(Debug, Clone, Copy)]
pub struct FrameCost {
    /// Folding one server's poll into the model.
    pub update: Duration,
    /// Composing a whole frame (sort, filter, cells) on the grid.
    pub compose: Duration,
    /// Diffing it against the last frame into terminal bytes.
    pub paint: Duration,
    /// Bytes written per frame.
    pub bytes: usize,
}

fn envelope(url: &Arc<str>, event: Event) -> Envelope {
    Envelope {
        id: Default::default(),
        url: url.clone(),
        at: SystemTime::now(),
        event,
    }
}

fn poll(url: &Arc<str>, depth: u64) -> Envelope {
    let status = Status {
        available: true,
        version: Some("0.3.64".into()),
        queue_remaining: Some(depth),
        queue_running: Some(depth.min(1)),
        queue_pending: Some(depth.saturating_sub(1)),
        latency_ms: Some(3.0 + (depth % 7) as f64),
        ..Status::unknown(url.to_string())
    };
    let event = Event::Status {
        status: Box::new(status),
        running_prompt: (depth > 0).then(|| format!("{depth:08x}-prompt")),
        running_age_ms: None,
    };
    envelope(url, event)
}

/// A model of `servers` connected servers with full histories.
fn fleet(servers: usize) -> (Model, Vec<Arc<str>>) {
    let mut model = Model::default();
    let urls: Vec<Arc<str>> = (0..servers)
        .map(|i| Arc::from(format!("http://gpu-{i:04}.example:8188")))
        .collect();
    for (i, url) in urls.iter().enumerate() {
        let state = Event::State {
            state: State::Connected,
            previous: Some(State::Connecting),
            reason: String::new(),
        };
        model.apply(&envelope(url, state));
        model.apply(&poll(url, i as u64 % 5));
    }
    for _ in 0..HISTORY {
        model.sample();
    }
    (model, urls)
}

/// `rounds` frames of a `servers`-row dashboard on a `w`×`h` screen, one
/// poll folded in before each (as on a busy fleet), the selection moving
/// down a row each frame so the table scrolls.
pub fn measure(servers: usize, (w, h): (u16, u16), rounds: u32) -> FrameCost {
    let (mut model, urls) = fleet(servers);
    let mut painter = Painter::default();
    let mut sink = Vec::new();
    let frame = |model: &Model, painter: &mut Painter, sink: &mut Vec<u8>| {
        let t = Instant::now();
        let mut canvas = Canvas::new(w, h);
        draw::frame(&mut canvas, model, Output::PLAIN);
        let composed = t.elapsed();
        let t = Instant::now();
        sink.clear();
        let _ = painter.draw(sink, canvas);
        (composed, t.elapsed(), sink.len())
    };
    frame(&model, &mut painter, &mut sink);
    let (mut update, mut compose, mut paint, mut bytes) =
        (Duration::ZERO, Duration::ZERO, Duration::ZERO, 0);
    for round in 0..rounds.max(1) {
        let i = round as usize % urls.len().max(1);
        let event = poll(&urls[i], u64::from(round % 9));
        let t = Instant::now();
        model.apply(&event);
        update += t.elapsed();
        keys::handle(&mut model, key(KeyCode::Down));
        let (c, p, b) = frame(&model, &mut painter, &mut sink);
        compose += c;
        paint += p;
        bytes += b;
    }
    let n = rounds.max(1);
    FrameCost {
        update: update / n,
        compose: compose / n,
        paint: paint / n,
        bytes: bytes / n as usize,
    }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_selection_scrolls_through_1000_rows_and_stays_in_view() {
        let (mut model, _) = fleet(1000);
        let shown = |model: &Model| {
            let mut canvas = Canvas::new(120, 30);
            draw::frame(&mut canvas, model, Output::PLAIN);
            let url = model.selection().map(|s| s.url.to_string()).unwrap();
            canvas.lines().iter().any(|(l, _)| l.contains(&url))
        };
        let rows = model.rows();
        let urls: Vec<String> = rows.iter().map(|s| s.url.to_string()).collect();
        drop(rows);
        for (i, url) in urls.iter().enumerate() {
            assert_eq!(model.selection().unwrap().url.as_ref(), url);
            if i % 97 == 0 || i == 999 {
                assert!(shown(&model), "row {i} is not on the screen");
            }
            keys::handle(&mut model, key(KeyCode::Down));
        }
        // Past the end it stays on the last row; g and G jump.
        assert_eq!(model.selected, 999);
        keys::handle(&mut model, key(KeyCode::Char('g')));
        assert!(model.selected == 0 && shown(&model));
        keys::handle(&mut model, key(KeyCode::Char('G')));
        assert!(model.selected == 999 && shown(&model));
        keys::handle(&mut model, key(KeyCode::PageUp));
        assert!(model.selected == 979 && shown(&model));
    }

    #[test]
    fn a_frame_of_1000_rows_is_measured() {
        let cost = measure(1000, (200, 50), 3);
        assert!(cost.bytes > 0, "{cost:?}");
    }
}
