//! The live status line of one server (`--no-tui` on a terminal): what
//! its [`View`] says, fitted to the terminal width by dropping the least
//! useful parts first.

use std::time::{Duration, Instant};

use super::Output;
use super::style;
use super::view::{View, countdown, short_duration};
use super::width::{columns, fit};

/// One piece of the status line: (priority, text). Lower priorities are
/// dropped first; 7 and up are only ever cut.
type Part = (u8, String);

/// The status line for `view` in at most `width` columns. The least useful
/// parts go first (latency, then time in state; while down the long fallback
/// text becomes `⚠ fallback=MODE`, then the attempt counter goes), and what
/// is left is cut with `…`.
pub fn status_line(view: &View, out: &Output, width: usize) -> String {
    let Some(state) = view.state else {
        return fit("starting", width);
    };
    let mut parts: Vec<Part> = vec![(
        9,
        style::state(out, state)
            .apply_to(state.as_str())
            .to_string(),
    )];
    let mut short_warning = None;
    if let Some(reconnect) = view.reconnect.filter(|_| state.is_down()) {
        short_warning = down_parts(view, out, reconnect, &mut parts);
    } else {
        up_parts(view, &mut parts);
    }
    parts.push((
        4,
        style::dim(out)
            .apply_to(format!("{} in state", short_duration(view.since.elapsed())))
            .to_string(),
    ));
    shed(parts, short_warning, width)
}

/// While down: the warning badge and the reconnect countdown. Returns the
/// short badge (`⚠ fallback=MODE`) to put in the long one's place if the
/// line is too wide.
fn down_parts(
    view: &View,
    out: &Output,
    (attempt, delay, at): (u32, Duration, Instant),
    parts: &mut Vec<Part>,
) -> Option<String> {
    let left = delay.saturating_sub(at.elapsed());
    let warning = view.warning.as_deref().unwrap_or("backend unavailable");
    let badge = |text: &str| {
        style::badge(out)
            .apply_to(format!(" ⚠ {text} "))
            .to_string()
    };
    parts.push((8, badge(warning)));
    parts.push((
        6,
        format!("reconnect attempt {attempt}, next in {}", countdown(left)),
    ));
    view.fallback.map(|mode| badge(&format!("fallback={mode}")))
}

/// While up: the queue, then what runs, recent jobs and latency, each only
/// when there is something to say.
fn up_parts(view: &View, parts: &mut Vec<Part>) {
    // One snapshot of the queue, and nothing before one is known.
    if let Some(queue) = view.queue_text() {
        parts.push((8, format!("queue {queue}")));
    }
    let progress = view.progress_text();
    if !progress.is_empty() {
        parts.push((7, progress));
    }
    let running = view.running.text();
    if !running.is_empty() {
        parts.push((6, running));
    }
    let recent = view.recent.text();
    if !recent.is_empty() {
        parts.push((5, format!("jobs {recent}")));
    }
    if let Some(ms) = view.latency_ms {
        parts.push((3, format!("{ms:.1} ms")));
    }
}

/// `parts` joined and fitted to `width`: first the short warning replaces
/// the long one, then the weakest droppable part goes, one at a time, and
/// what is left is cut.
fn shed(mut parts: Vec<Part>, short_warning: Option<String>, width: usize) -> String {
    let join = |parts: &[Part]| {
        parts
            .iter()
            .map(|(_, t)| t.as_str())
            .collect::<Vec<_>>()
            .join(" · ")
    };
    if columns(&join(&parts)) > width
        && let Some(short) = short_warning
    {
        // The long warning, which `down_parts` put right after the state.
        parts[1].1 = short;
    }
    loop {
        let line = join(&parts);
        // Parts of priority 7 and up (state, queue or warning, progress) are
        // cut, never dropped.
        let weakest = parts
            .iter()
            .enumerate()
            .filter(|(_, (p, _))| *p < 7)
            .min_by_key(|(_, (p, _))| *p)
            .map(|(i, _)| i);
        match weakest {
            Some(i) if columns(&line) > width => {
                parts.remove(i);
            }
            _ => return fit(&line, width),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use super::*;
    use crate::manager::{Envelope, Event, FallbackMode, State};

    fn envelope(event: Event) -> Envelope {
        Envelope {
            id: Default::default(),
            url: Arc::from("http://127.0.0.1:8188"),
            at: SystemTime::now(),
            event,
        }
    }

    fn down_view() -> View {
        let mut v = View::default();
        for event in [
            Event::State {
                state: State::Reconnecting,
                previous: None,
                reason: String::new(),
            },
            Event::Warning {
                fallback: Some(FallbackMode::Placeholder),
                message: FallbackMode::Placeholder.warning("http://127.0.0.1:8188"),
            },
            Event::Reconnecting {
                attempt: 13,
                error: None,
                next_delay: Duration::from_millis(250),
            },
        ] {
            v.apply(&envelope(event));
        }
        v
    }

    #[test]
    fn the_down_line_fits_80_and_40_columns() {
        let v = down_view();
        let wide = status_line(&v, &Output::PLAIN, 400);
        assert!(
            wide.contains("generate placeholder images instead"),
            "{wide}"
        );
        let at80 = status_line(&v, &Output::PLAIN, 78);
        assert!(columns(&at80) <= 78, "{at80}");
        assert!(at80.starts_with("reconnecting"), "{at80}");
        assert!(at80.contains("fallback=placeholder"), "{at80}");
        assert!(at80.contains("reconnect attempt 13"), "{at80}");
        let at40 = status_line(&v, &Output::PLAIN, 38);
        assert!(columns(&at40) <= 38, "{at40}");
        assert!(at40.starts_with("reconnecting · "), "{at40}");
        // Colour codes do not count as columns.
        let coloured = Output {
            color: true,
            ..Output::PLAIN
        };
        let at40 = status_line(&v, &coloured, 38);
        assert!(at40.contains('\x1b') && columns(&at40) <= 38, "{at40:?}");
        for width in [0, 1, 3] {
            assert!(columns(&status_line(&v, &coloured, width)) <= width.max(1));
        }
    }

    #[test]
    fn the_up_line_drops_latency_first_then_cuts() {
        let mut v = View::default();
        v.apply(&envelope(Event::State {
            state: State::Connected,
            previous: None,
            reason: String::new(),
        }));
        v.queue = super::super::view::Queue {
            remaining: Some(12),
            running: Some(1),
            pending: Some(11),
        };
        v.latency_ms = Some(17.2);
        v.running_prompt = Some("0e163167-aaaa".into());
        v.node = Some(super::super::view::Node {
            prompt: None,
            id: "KSampler-with-a-long-name".into(),
            steps: Some((5.0, 10.0)),
        });
        let at80 = status_line(&v, &Output::PLAIN, 78);
        assert!(columns(&at80) <= 78, "{at80}");
        assert!(
            at80.contains("12 remaining · 1 running · 11 pending"),
            "{at80}"
        );
        assert!(at80.contains("prompt 0e163167"), "{at80}");
        let at40 = status_line(&v, &Output::PLAIN, 38);
        assert!(columns(&at40) <= 38, "{at40}");
        assert!(!at40.contains("ms"), "{at40}");
        assert!(at40.starts_with("connected · queue 12"), "{at40}");
    }
}
