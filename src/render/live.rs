//! The live view of `watch` on a terminal when the dashboard is off
//! (`--no-tui`, or no terminal on stdin): a timestamped line per state
//! change and failed job, scrolling above a region redrawn in place at the
//! bottom: one server's status line ([`status_line`]) or a fleet's table
//! ([`table_text`]). Both read the same row model as the dashboard
//! ([`View`]).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::plain::summary_lines;
use super::safe::term_safe;
use super::status_line::status_line;
use super::style;
use super::table::table_text;
use super::view::View;
use super::{Output, Renderer};
use crate::manager::{Envelope, Event, Summary};

/// Columns the spinner and its space take before the status line.
const SPINNER_COLUMNS: usize = 2;

/// The live region on stdout, lines printed above it.
pub struct Live {
    out: Output,
    region: Region,
    bar: ProgressBar,
    /// The region has been drawn at least once.
    drawn: bool,
    /// No `^C` echo while the region is shown; dropped after it is cleared.
    _echo: super::tty::QuietEcho,
}

/// What the bottom region shows.
enum Region {
    /// One server: a spinner and its status line.
    Line(Box<View>),
    /// A fleet: a row per server, and the summaries as they come in.
    Table {
        views: BTreeMap<String, View>,
        summaries: Vec<(Arc<str>, Summary)>,
    },
}

impl Live {
    /// Starts the region: the fleet table when `fleet`, else the status line.
    pub fn new(out: Output, fleet: bool) -> Live {
        let bar =
            ProgressBar::with_draw_target(None, super::draw_target(&out, super::Stream::Stdout));
        let (region, tick) = if fleet {
            bar.set_style(ProgressStyle::with_template("{msg}").expect("static template"));
            let views = BTreeMap::new();
            let summaries = Vec::new();
            (Region::Table { views, summaries }, 500)
        } else {
            bar.set_style(
                // `wide_msg` cuts the line at draw time too, should the
                // terminal shrink between two updates.
                ProgressStyle::with_template("{spinner} {wide_msg}")
                    .expect("static template")
                    .tick_chars("⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏ "),
            );
            (Region::Line(Box::default()), 250)
        };
        bar.enable_steady_tick(Duration::from_millis(tick));
        Live {
            out,
            region,
            bar,
            drawn: false,
            _echo: super::tty::QuietEcho::new(super::Stream::Stdout),
        }
    }

    /// Redraws the region as the views say now.
    fn refresh(&mut self) {
        self.drawn = true;
        let width = super::width::budget(&self.out, super::Stream::Stdout);
        let text = match &self.region {
            Region::Line(view) => {
                status_line(view, &self.out, width.saturating_sub(SPINNER_COLUMNS))
            }
            Region::Table { views, .. } => {
                let height = console::Term::stdout().size().0.max(10) as usize;
                table_text(views, self.out, height, width)
            }
        };
        self.bar.set_message(text);
    }

    /// The line printed above the region for a state change: the name
    /// coloured for one server, plain in the fleet's log.
    fn state_line(
        &self,
        envelope: &Envelope,
        state: crate::manager::State,
        reason: &str,
    ) -> String {
        let ts = humantime::format_rfc3339_seconds(envelope.at);
        let name = match self.region {
            Region::Line(_) => style::state(&self.out, state)
                .apply_to(format!("{:<12}", state.as_str()))
                .to_string(),
            Region::Table { .. } => format!("{:<12}", state.as_str()),
        };
        format!("{ts} {name} {} {}", envelope.url, term_safe(reason))
    }

    /// The line printed above the region for a failed or cancelled job: in
    /// red for one server, after `job` and the URL in the fleet's log.
    fn job_line(&self, envelope: &Envelope, text: &str) -> String {
        let ts = humantime::format_rfc3339_seconds(envelope.at);
        match self.region {
            Region::Line(_) => format!("{ts} {}", style::bad(&self.out).apply_to(text)),
            Region::Table { .. } => format!("{ts} {:<12} {} {text}", "job", envelope.url),
        }
    }

    /// A summary: one server's ends the view; a fleet's are printed, in
    /// the table's order, once every server has sent its own.
    fn summary(&mut self, url: &Arc<str>, summary: &Summary) -> std::io::Result<()> {
        let lines = match &mut self.region {
            Region::Line(_) => vec![super::plain::summary_text(summary)],
            Region::Table { views, summaries } => {
                summaries.push((url.clone(), *summary));
                if summaries.len() != views.len() {
                    return Ok(());
                }
                summary_lines(summaries, |u| views.get(u), true)
            }
        };
        super::clear_live(&self.bar, super::Stream::Stdout, self.drawn);
        for line in lines {
            self.out.println(&line)?;
        }
        Ok(())
    }
}

impl Renderer for Live {
    fn event(&mut self, envelope: &Envelope) -> std::io::Result<()> {
        match &mut self.region {
            Region::Line(view) => view.apply(envelope),
            Region::Table { views, .. } => views
                .entry(envelope.url.to_string())
                .or_default()
                .apply(envelope),
        }
        match &envelope.event {
            Event::State { state, reason, .. } => {
                self.bar.println(self.state_line(envelope, *state, reason));
            }
            Event::Warning { message, .. } => {
                super::warn_over_live(&self.bar, self.out, message);
            }
            Event::Job(job) => {
                if let Some(text) = super::jobs::job_line(job) {
                    self.bar.println(self.job_line(envelope, &text));
                }
            }
            Event::Summary(summary) => return self.summary(&envelope.url, summary),
            _ => {}
        }
        self.refresh();
        Ok(())
    }

    fn tick(&mut self) {
        if !self.bar.is_finished() {
            self.refresh();
        }
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        super::clear_live(&self.bar, super::Stream::Stdout, self.drawn);
        let _ = console::Term::stdout().show_cursor();
    }
}
