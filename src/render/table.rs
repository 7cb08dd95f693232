//! The live fleet view: one row per server, troubled servers first, healthy
//! ones summarised when the terminal is too short for them all.

use std::collections::BTreeMap;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::plain::summary_text;
use super::view::{View, short_duration};
use super::{Output, Renderer};
use crate::manager::{Envelope, Event, State, Summary};

/// A table redrawn in place at the bottom; state changes scroll above it.
pub struct Table {
    out: Output,
    views: BTreeMap<String, View>,
    bar: ProgressBar,
    summaries: Vec<(String, Summary)>,
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
        table_text(&self.views, self.out, height)
    }
}

/// The table for `views` on a terminal `height` rows tall: troubled servers
/// first, always all of them; healthy ones summarised if they do not fit.
fn table_text(views: &BTreeMap<String, View>, out: Output, height: usize) -> String {
    let s = out.style();
    let mut rows: Vec<(&String, &View)> = views.iter().collect();
    rows.sort_by_key(|(url, v)| (Table::rank(v.state), (*url).clone()));
    let header = format!(
        "{:<13} {:<34} {:<9} {:>17} {:<22} {:>9} {:>8} {:>8} {:>14}",
        "STATE",
        "SERVER",
        "VERSION",
        "QUEUE rem/run/pen",
        "PROGRESS",
        "LATENCY",
        "FOR",
        "JOB AGE",
        "10m ok/fail med"
    );
    let mut lines = vec![s.clone().bold().apply_to(header).to_string()];
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
        let styled = match v.state {
            Some(State::Connected) => s.clone().green(),
            Some(State::Degraded) | Some(State::Stalled) => s.clone().yellow(),
            Some(State::Reconnecting) => s.clone().magenta(),
            Some(State::Disconnected) | Some(State::Failed) => s.clone().red(),
            _ => s.clone().cyan(),
        }
        .apply_to(format!("{state:<13}"));
        let n = |x: Option<u64>| x.map_or("?".to_string(), |x| x.to_string());
        let queue = format!("{}/{}/{}", n(v.queue.0), n(v.queue.1), n(v.queue.2));
        let latency = v.latency_ms.map_or("-".into(), |ms| format!("{ms:.1}ms"));
        let job_age = v.running.age().map_or("-".into(), short_duration);
        lines.push(format!(
            "{styled} {:<34} {:<9} {:>17} {:<22} {:>9} {:>8} {:>8} {:>14}",
            truncate(url, 34),
            truncate(v.version.as_deref().unwrap_or("-"), 9),
            queue,
            truncate(&v.progress_text(), 22),
            latency,
            short_duration(v.since.elapsed()),
            job_age,
            v.recent.short(),
        ));
    }
    if hidden_ok > 0 {
        lines.push(
            s.dim()
                .apply_to(format!("… and {hidden_ok} more connected"))
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
                    "{ts} {:<12} {} {reason}",
                    state.as_str(),
                    envelope.url
                ));
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
                    self.bar.finish_and_clear();
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
        Ok(())
    }

    fn tick(&mut self) {
        if !self.bar.is_finished() {
            self.bar.set_message(self.render());
        }
    }
}

impl Drop for Table {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
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
        let text = table_text(&views, Output::PLAIN, 20);
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
        let text = table_text(&views, Output::PLAIN, 20);
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
        let all = table_text(&views, Output::PLAIN, 60);
        assert_eq!(all.lines().count(), 51);
        assert!(!all.contains("more connected"));
    }
}
