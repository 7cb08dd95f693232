//! The live fleet view: one row per server, troubled servers first, healthy
//! ones summarised when the terminal is too short for them all.

use std::collections::BTreeMap;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::plain::summary_text;
use super::safe::term_safe;
use super::view::{View, short_duration};
use super::width::fit;
use super::{Output, Renderer};
use crate::manager::{Envelope, Event, State, Summary};

/// A table redrawn in place at the bottom; state changes scroll above it.
pub struct Table {
    out: Output,
    views: BTreeMap<String, View>,
    bar: ProgressBar,
    summaries: Vec<(String, Summary)>,
    /// The table has been drawn at least once.
    drawn: bool,
    /// No `^C` echo while the table is shown; dropped after it is cleared.
    _echo: super::tty::QuietEcho,
}

impl Table {
    /// Starts the table on stdout.
    pub fn new(out: Output) -> Table {
        let bar = ProgressBar::with_draw_target(None, super::draw_target(super::Stream::Stdout));
        bar.set_style(ProgressStyle::with_template("{msg}").expect("static template"));
        bar.enable_steady_tick(Duration::from_millis(500));
        Table {
            out,
            views: BTreeMap::new(),
            bar,
            summaries: Vec::new(),
            drawn: false,
            _echo: super::tty::QuietEcho::new(super::Stream::Stdout),
        }
    }

    fn rank(state: Option<State>) -> u8 {
        match state {
            Some(State::Failed) => 0,
            Some(State::Disconnected) | Some(State::Reconnecting) => 1,
            Some(State::Degraded) | Some(State::Stalled) => 2,
            None | Some(State::Connecting) => 3,
            Some(State::Connected) => 4,
        }
    }

    fn render(&self) -> String {
        let height = console::Term::stdout().size().0.max(10) as usize;
        let width = super::width::budget(super::Stream::Stdout);
        table_text(&self.views, self.out, height, width)
    }

    /// Servers in the order the table shows them: troubled first, then by URL.
    fn order(&self, url: &str) -> (u8, String) {
        (
            Table::rank(self.views.get(url).and_then(|v| v.state)),
            url.to_string(),
        )
    }
}

/// Optional columns, in the order they are dropped when the terminal is too
/// narrow: (header, width).
const DROPPABLE: [(&str, usize); 7] = [
    ("LATENCY", 9),
    ("VERSION", 9),
    ("10m ok/fail med", 15),
    ("FOR", 8),
    ("JOB AGE", 8),
    ("PROGRESS", 22),
    ("QUEUE rem/run/pen", 17),
];
/// The state column, always shown.
const STATE_WIDTH: usize = 13;
/// The server column shrinks to this before a column is dropped…
const SERVER_MIN: usize = 16;
/// …and never grows past this.
const SERVER_MAX: usize = 34;

/// Which optional columns fit in `width`, and the server column's width.
fn layout(width: usize) -> ([bool; 7], usize) {
    let mut shown = [true; 7];
    for dropped in 0..=DROPPABLE.len() {
        let fixed: usize = STATE_WIDTH
            + 1
            + DROPPABLE
                .iter()
                .zip(shown)
                .filter(|(_, on)| *on)
                .map(|((_, w), _)| w + 1)
                .sum::<usize>();
        if width >= fixed + SERVER_MIN || dropped == DROPPABLE.len() {
            return (shown, width.saturating_sub(fixed).clamp(1, SERVER_MAX));
        }
        shown[dropped] = false;
    }
    (shown, SERVER_MIN)
}

/// The table for `views` on a terminal `height` rows tall and `width`
/// columns wide: troubled servers first, always all of them; healthy ones
/// summarised if they do not fit; columns dropped (latency, version, time in
/// state, progress, queue) and the server cut with `…` if it is too narrow.
fn table_text(views: &BTreeMap<String, View>, out: Output, height: usize, width: usize) -> String {
    let mut rows: Vec<(&String, &View)> = views.iter().collect();
    rows.sort_by_key(|(url, v)| (Table::rank(v.state), (*url).clone()));
    let (shown, server_w) = layout(width);
    let [
        latency_on,
        version_on,
        recent_on,
        for_on,
        job_age_on,
        progress_on,
        queue_on,
    ] = shown;
    // Cells in display order: (text, width, right-aligned, shown).
    let line = |state: String, cells: [(String, usize, bool, bool); 8]| {
        let mut line = state;
        for (text, w, right, on) in cells {
            if on {
                let text = truncate(&text, w);
                line.push(' ');
                line.push_str(&if right {
                    format!("{text:>w$}")
                } else {
                    format!("{text:<w$}")
                });
            }
        }
        fit(line.trim_end(), width)
    };
    let header = line(
        format!("{:<STATE_WIDTH$}", "STATE"),
        [
            ("SERVER".into(), server_w, false, true),
            ("VERSION".into(), 9, false, version_on),
            ("QUEUE rem/run/pen".into(), 17, true, queue_on),
            ("PROGRESS".into(), 22, false, progress_on),
            ("LATENCY".into(), 9, true, latency_on),
            ("FOR".into(), 8, true, for_on),
            ("JOB AGE".into(), 8, true, job_age_on),
            ("10m ok/fail med".into(), 15, true, recent_on),
        ],
    );
    let mut lines = vec![super::style::heading(&out).apply_to(header).to_string()];
    let room = height.saturating_sub(3);
    let troubled = rows
        .iter()
        .filter(|(_, v)| Table::rank(v.state) < 4)
        .count();
    let show_all = rows.len() <= room;
    let mut hidden_ok = 0usize;
    for (url, v) in &rows {
        let healthy = Table::rank(v.state) == 4;
        if !show_all && healthy && lines.len() > room.saturating_sub(1).max(troubled + 1) {
            hidden_ok += 1;
            continue;
        }
        let state = v.state.map_or("starting", State::as_str);
        let styled = v
            .state
            .map_or_else(
                || super::style::starting(&out),
                |st| super::style::state(&out, st),
            )
            .apply_to(format!("{state:<STATE_WIDTH$}"));
        let n = super::human::count;
        let queue = format!(
            "{}/{}/{}",
            n(v.queue.remaining),
            n(v.queue.running),
            n(v.queue.pending)
        );
        let latency = v.latency_ms.map_or("-".into(), |ms| format!("{ms:.1}ms"));
        let job_age = v.running.age().map_or("-".into(), short_duration);
        lines.push(line(
            styled.to_string(),
            [
                ((*url).clone(), server_w, false, true),
                (
                    v.version.clone().unwrap_or_else(|| "-".into()),
                    9,
                    false,
                    version_on,
                ),
                (queue, 17, true, queue_on),
                (v.progress_text(), 22, false, progress_on),
                (latency, 9, true, latency_on),
                (short_duration(v.since.elapsed()), 8, true, for_on),
                (job_age, 8, true, job_age_on),
                (v.recent.short(), 15, true, recent_on),
            ],
        ));
    }
    if hidden_ok > 0 {
        lines.push(
            super::style::dim(&out)
                .apply_to(fit(&format!("… and {hidden_ok} more connected"), width))
                .to_string(),
        );
    }
    lines.join("\n")
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let cut: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{cut}…")
    }
}

impl Renderer for Table {
    fn event(&mut self, envelope: &Envelope) -> std::io::Result<()> {
        self.views
            .entry(envelope.url.to_string())
            .or_default()
            .apply(envelope);
        match &envelope.event {
            Event::State { state, reason, .. } => {
                let ts = humantime::format_rfc3339_seconds(envelope.at);
                self.bar.println(format!(
                    "{ts} {:<12} {} {}",
                    state.as_str(),
                    envelope.url,
                    term_safe(reason)
                ));
            }
            Event::Warning { message, .. } => {
                super::warn_over_live(&self.bar, self.out, message);
            }
            Event::Job(job) => {
                if let Some(text) = super::jobs::job_line(job) {
                    let ts = humantime::format_rfc3339_seconds(envelope.at);
                    self.bar
                        .println(format!("{ts} {:<12} {} {text}", "job", envelope.url));
                }
            }
            Event::Summary(summary) => {
                self.summaries.push((envelope.url.to_string(), *summary));
                if self.summaries.len() == self.views.len() {
                    super::clear_live(&self.bar, super::Stream::Stdout, self.drawn);
                    // The table's order, not the order the monitors ended in.
                    let mut summaries = std::mem::take(&mut self.summaries);
                    summaries.sort_by_cached_key(|(url, _)| self.order(url));
                    self.summaries = summaries;
                    for (url, summary) in &self.summaries {
                        self.out
                            .println(&format!("{url} {}", summary_text(summary)))?;
                    }
                }
                return Ok(());
            }
            _ => {}
        }
        self.bar.set_message(self.render());
        self.drawn = true;
        Ok(())
    }

    fn tick(&mut self) {
        if !self.bar.is_finished() {
            self.bar.set_message(self.render());
            self.drawn = true;
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        super::clear_live(&self.bar, super::Stream::Stdout, self.drawn);
        let _ = console::Term::stdout().show_cursor();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use super::*;

    fn view(state: State) -> View {
        let mut v = View::default();
        v.apply(&Envelope {
            url: Arc::from("x"),
            at: SystemTime::now(),
            event: Event::State {
                state,
                previous: None,
                reason: String::new(),
            },
        });
        v
    }

    #[test]
    fn a_row_shows_the_running_job_age_and_the_recent_tally() {
        use crate::manager::jobs::{Job, JobStatus};
        let mut v = view(State::Connected);
        let job = |status, end_ms| Job {
            id: "x".into(),
            status,
            create_ms: None,
            start_ms: Some(0),
            end_ms: Some(end_ms),
            error: None,
        };
        for (status, ms) in [(JobStatus::Completed, 3000), (JobStatus::Failed, 10)] {
            v.apply(&Envelope {
                url: Arc::from("x"),
                at: SystemTime::now(),
                event: Event::Job(job(status, ms)),
            });
        }
        let mut views = BTreeMap::new();
        views.insert("http://gpu-01:8188".to_string(), v);
        let text = table_text(&views, Output::PLAIN, 20, 200);
        assert!(text.lines().next().unwrap().contains("JOB AGE"), "{text}");
        let row = text.lines().nth(1).unwrap();
        assert!(row.ends_with("      1/1 3s"), "{row}");
        assert!(row.contains("        -"), "no running job: {row}");
    }

    #[test]
    fn fifty_rows_on_a_short_terminal_show_every_troubled_server_first() {
        let mut views = BTreeMap::new();
        for i in 0..50 {
            let state = match i % 10 {
                0 => State::Disconnected,
                1 => State::Degraded,
                _ => State::Connected,
            };
            views.insert(format!("http://gpu-{i:02}:8188"), view(state));
        }
        let text = table_text(&views, Output::PLAIN, 20, 200);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() <= 20, "{} lines:\n{text}", lines.len());
        assert!(lines[0].starts_with("STATE"));
        // 5 disconnected, then 5 degraded, then connected ones.
        assert!(
            lines[1..6].iter().all(|l| l.starts_with("disconnected")),
            "{text}"
        );
        assert!(
            lines[6..11].iter().all(|l| l.starts_with("degraded")),
            "{text}"
        );
        let shown_ok = lines.iter().filter(|l| l.starts_with("connected")).count();
        let last = lines.last().unwrap();
        assert_eq!(*last, format!("… and {} more connected", 40 - shown_ok));
        // Tall enough: every row, no summary.
        let all = table_text(&views, Output::PLAIN, 60, 200);
        assert_eq!(all.lines().count(), 51);
        assert!(!all.contains("more connected"));
    }

    #[test]
    fn the_table_fits_80_and_40_columns_dropping_the_least_useful_first() {
        let mut views = BTreeMap::new();
        let mut up = view(State::Connected);
        up.version = Some("0.3.64".into());
        up.queue = super::super::view::Queue {
            remaining: Some(3),
            running: Some(1),
            pending: Some(2),
        };
        up.latency_ms = Some(17.2);
        views.insert(
            "http://gpu-box-with-a-rather-long-hostname.example:8188".to_string(),
            up,
        );
        views.insert("http://127.0.0.1:1".to_string(), view(State::Reconnecting));
        let wide = table_text(&views, Output::PLAIN, 40, 200);
        assert!(wide.lines().next().unwrap().contains("LATENCY"), "{wide}");
        assert!(
            wide.contains("http://gpu-box-with-a-rather-long…"),
            "{wide}"
        );

        let at80 = table_text(&views, Output::PLAIN, 40, 79);
        for line in at80.lines() {
            assert!(super::super::width::columns(line) <= 79, "{line:?}");
        }
        let header = at80.lines().next().unwrap();
        assert!(
            header.contains("QUEUE") && header.contains("PROGRESS"),
            "{at80}"
        );
        assert!(
            !header.contains("LATENCY") && !header.contains("VERSION"),
            "{at80}"
        );
        assert!(at80.contains("3/1/2"), "{at80}");
        assert!(at80.contains("http://gpu-box-with-a-r…"), "{at80}");

        let at40 = table_text(&views, Output::PLAIN, 40, 39);
        for line in at40.lines() {
            assert!(super::super::width::columns(line) <= 39, "{line:?}");
        }
        assert!(at40.starts_with("STATE         SERVER"), "{at40}");
        assert!(!at40.contains("QUEUE"), "{at40}");
        let rows: Vec<&str> = at40.lines().collect();
        assert!(
            rows[1].starts_with("reconnecting  http://127.0.0.1:1"),
            "{at40}"
        );
        assert!(
            rows[2].starts_with("connected     http://gpu-box"),
            "{at40}"
        );
        assert!(rows[2].ends_with('…'), "{at40}");
        // Absurdly narrow: still one short line per row, no panic.
        for width in [0, 1, 5, 14] {
            let tiny = table_text(&views, Output::PLAIN, 40, width);
            assert_eq!(tiny.lines().count(), 3, "{tiny}");
            for line in tiny.lines() {
                assert!(
                    super::super::width::columns(line) <= width.max(1),
                    "{line:?}"
                );
            }
        }
    }
}
