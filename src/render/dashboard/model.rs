//! What the dashboard knows: one [`Server`] per URL (the row model,
//! [`View`], that the live views fold too, plus its history), the fleet's
//! recent failures, and the screen's own settings (sort, filter,
//! selection, overlays).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use crate::manager::jobs::{Job, JobStatus};
use crate::manager::{Envelope, Event, FallbackMode};
use crate::render::jobs::job_line;
use crate::render::safe::{term_safe, term_safe_bounded};
use crate::render::view::View;

/// Samples of history kept per server: ten minutes at one a second.
pub const HISTORY: usize = 600;
/// Lines of a server's details pane kept.
const CHANGES: usize = 200;
/// Failed and cancelled jobs kept for the failures panel.
const FAILURES: usize = 100;

/// One sample of a server's history: `None` while it was down (drawn as
/// an outage mark), else the queue depth and the last poll's latency.
pub type Sample = Option<(u64, Option<f64>)>;

/// One monitored server.
#[derive(Debug, Clone)]
pub struct Server {
    /// Redacted URL, as the manager reports it.
    pub url: Arc<str>,
    /// The row: state, queue, running job, window tally, latency, VRAM.
    pub view: View,
    /// One sample per tick, oldest first.
    pub history: VecDeque<Sample>,
    /// Readable lines for the details pane: state changes and jobs.
    pub changes: VecDeque<String>,
}

impl Server {
    fn new(url: Arc<str>) -> Server {
        Server {
            url,
            view: View::default(),
            history: VecDeque::new(),
            changes: VecDeque::new(),
        }
    }

    /// Failed jobs in the window, for the `failures` sort.
    pub fn failed(&self) -> usize {
        self.view.recent.tally().1
    }

    fn note(&mut self, at: SystemTime, line: String) {
        let ts = humantime::format_rfc3339_seconds(at);
        self.changes.push_back(format!("{ts} {line}"));
        while self.changes.len() > CHANGES {
            self.changes.pop_front();
        }
    }
}

/// A failed or cancelled job, for the failures panel; every string
/// already terminal-safe.
#[derive(Debug, Clone)]
pub struct Failure {
    /// When it was reported, `HH:MM:SS` UTC.
    pub time: String,
    /// The server.
    pub url: Arc<str>,
    /// The node type, or `-`.
    pub node: String,
    /// `failed` or `cancelled`, with the exception type when known.
    pub what: String,
    /// The first line of the message.
    pub message: String,
}

impl Failure {
    fn of(url: &Arc<str>, at: SystemTime, job: &Job) -> Option<Failure> {
        let what = match job.status {
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
            _ => return None,
        };
        let e = job.error.as_ref();
        let first = e.and_then(|e| e.message.lines().next()).unwrap_or_default();
        let ts = humantime::format_rfc3339_seconds(at).to_string();
        Some(Failure {
            time: ts.get(11..19).unwrap_or(&ts).to_string(),
            url: url.clone(),
            node: e
                .and_then(|e| e.node_type.as_deref())
                .map_or_else(|| "-".into(), |t| term_safe_bounded(t, 40)),
            what: match e.and_then(|e| e.exception_type.as_deref()) {
                Some(t) => format!("{what} {}", term_safe_bounded(t, 40)),
                None => what.to_string(),
            },
            message: term_safe_bounded(first, 200),
        })
    }
}

/// The row order, cycled by `s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sort {
    /// Troubled servers first, then by URL.
    State,
    /// Deepest queue first.
    Queue,
    /// Most failures in the window first.
    Failures,
    /// By URL.
    Url,
}

impl Sort {
    /// The next order in the cycle.
    pub fn next(self) -> Sort {
        match self {
            Sort::State => Sort::Queue,
            Sort::Queue => Sort::Failures,
            Sort::Failures => Sort::Url,
            Sort::Url => Sort::State,
        }
    }

    /// The name shown in the header.
    pub fn name(self) -> &'static str {
        match self {
            Sort::State => "state",
            Sort::Queue => "queue",
            Sort::Failures => "failures",
            Sort::Url => "url",
        }
    }
}

/// Everything the screen shows, fed by events and keys.
#[derive(Debug)]
pub struct Model {
    /// Servers by URL.
    pub servers: HashMap<Arc<str>, Server>,
    /// The last failed and cancelled jobs across the fleet, newest last.
    pub failures: VecDeque<Failure>,
    /// The fallback warning of each server that is down now.
    pub warnings: HashMap<Arc<str>, (Option<FallbackMode>, String)>,
    /// The row order.
    pub sort: Sort,
    /// Only rows whose URL or state contains this.
    pub filter: String,
    /// The filter is being typed.
    pub editing: bool,
    /// The selected row, an index into [`Model::rows`].
    pub selected: usize,
    /// The help overlay is shown.
    pub help: bool,
    /// The details pane of the selected server is shown.
    pub details: bool,
    /// The screen is frozen (monitoring goes on).
    pub paused: bool,
    /// Something changed since the last frame.
    pub dirty: bool,
    /// When the window counters were last reset.
    pub since: Instant,
    /// The newest stderr line held while the screen is open, and how many
    /// were held in all ([`crate::render::held`]), for the footer.
    pub message: Option<(String, usize)>,
}

impl Default for Model {
    fn default() -> Self {
        Model {
            servers: HashMap::new(),
            failures: VecDeque::new(),
            warnings: HashMap::new(),
            sort: Sort::State,
            filter: String::new(),
            editing: false,
            selected: 0,
            help: false,
            details: false,
            paused: false,
            dirty: true,
            since: Instant::now(),
            message: None,
        }
    }
}

impl Model {
    /// Folds one event in.
    pub fn apply(&mut self, envelope: &Envelope) {
        let url = &envelope.url;
        if let Event::Moved { from } = &envelope.event {
            self.servers.remove(from);
            self.warnings.remove(from);
        }
        let server = self
            .servers
            .entry(url.clone())
            .or_insert_with(|| Server::new(url.clone()));
        server.view.apply(envelope);
        match &envelope.event {
            Event::State { state, reason, .. } => {
                server.note(envelope.at, format!("{state} {}", term_safe(reason)));
                if state.is_up() {
                    self.warnings.remove(url);
                }
            }
            Event::Warning {
                fallback: Some(mode),
                message,
            } => {
                let text = term_safe(message).into_owned();
                self.warnings.insert(url.clone(), (Some(*mode), text));
            }
            Event::Job(job) => {
                if let Some(line) = job_line(job) {
                    server.note(envelope.at, line);
                }
                if let Some(f) = Failure::of(url, envelope.at, job) {
                    self.failures.push_back(f);
                    while self.failures.len() > FAILURES {
                        self.failures.pop_front();
                    }
                }
            }
            _ => {}
        }
        self.dirty = true;
    }

    /// Takes one history sample of every server (called once a second).
    pub fn sample(&mut self) {
        for s in self.servers.values_mut() {
            let sample = match s.view.state {
                Some(st) if st.is_down() => None,
                _ => Some((s.view.depth(), s.view.latency_ms)),
            };
            s.history.push_back(sample);
            while s.history.len() > HISTORY {
                s.history.pop_front();
            }
        }
        self.dirty = true;
    }

    /// `r`: the window tallies and the failures panel start afresh.
    pub fn reset(&mut self) {
        for s in self.servers.values_mut() {
            s.view.recent = Default::default();
        }
        self.failures.clear();
        self.since = Instant::now();
    }

    /// The servers shown, filtered and in the chosen order.
    pub fn rows(&self) -> Vec<&Server> {
        let needle = self.filter.to_lowercase();
        let rows = self.servers.values().filter(|s| {
            let state = s.view.state_name();
            needle.is_empty() || s.url.to_lowercase().contains(&needle) || state.contains(&needle)
        });
        sorted(rows.collect(), self.sort)
    }

    /// The selected server, if any row is shown.
    pub fn selection(&self) -> Option<&Server> {
        let rows = self.rows();
        rows.get(self.selected.min(rows.len().saturating_sub(1)))
            .copied()
    }
}

/// `rows` in `sort` order; ties go by URL.
fn sorted(mut rows: Vec<&Server>, sort: Sort) -> Vec<&Server> {
    match sort {
        Sort::State => {
            rows.sort_by(|a, b| (a.view.trouble(), &a.url).cmp(&(b.view.trouble(), &b.url)))
        }
        Sort::Queue => rows.sort_by(|a, b| (b.view.depth(), &a.url).cmp(&(a.view.depth(), &b.url))),
        Sort::Failures => rows.sort_by(|a, b| (b.failed(), &a.url).cmp(&(a.failed(), &b.url))),
        Sort::Url => rows.sort_by(|a, b| a.url.cmp(&b.url)),
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::State;
    use crate::manager::jobs::JobError;

    fn at(url: &str, event: Event) -> Envelope {
        Envelope {
            id: Default::default(),
            url: Arc::from(url),
            at: SystemTime::now(),
            event,
        }
    }

    fn state(url: &str, state: State) -> Envelope {
        at(
            url,
            Event::State {
                state,
                previous: None,
                reason: "why\x1b[2J".into(),
            },
        )
    }

    #[test]
    fn a_hostile_failed_job_enters_the_panel_escaped() {
        let mut m = Model::default();
        m.apply(&at(
            "http://a:1",
            Event::Job(Job {
                id: "0e163167-aaaa".into(),
                status: JobStatus::Failed,
                create_ms: None,
                start_ms: Some(1),
                end_ms: Some(20),
                error: Some(JobError {
                    node_id: Some("2".into()),
                    node_type: Some("Save\x1b]0;x\x07".into()),
                    exception_type: Some("Exception".into()),
                    message: "first\x1b[31m line\nsecond".into(),
                    cause: Default::default(),
                }),
            }),
        ));
        let f = &m.failures[0];
        assert_eq!(f.node, "Save\\u{1b}]0;x\\u{7}");
        assert_eq!(f.what, "failed Exception");
        assert_eq!(f.message, "first\\u{1b}[31m line");
        let s = &m.servers["http://a:1"];
        assert_eq!(s.failed(), 1);
        assert!(
            s.changes.iter().all(|l| !l.contains('\x1b')),
            "{:?}",
            s.changes
        );
        m.reset();
        assert!(m.failures.is_empty() && m.servers["http://a:1"].failed() == 0);
    }

    #[test]
    fn rows_filter_by_url_or_state_and_sort_troubled_first() {
        let mut m = Model::default();
        m.apply(&state("http://b:1", State::Connected));
        m.apply(&state("http://a:1", State::Connected));
        m.apply(&state("http://c:1", State::Reconnecting));
        let urls = |m: &Model| {
            m.rows()
                .iter()
                .map(|s| s.url.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(urls(&m), ["http://c:1", "http://a:1", "http://b:1"]);
        m.sort = Sort::Url;
        assert_eq!(urls(&m), ["http://a:1", "http://b:1", "http://c:1"]);
        m.filter = "reconn".into();
        assert_eq!(urls(&m), ["http://c:1"]);
        m.filter = "B:1".into();
        assert_eq!(urls(&m), ["http://b:1"]);
        assert!(m.servers["http://a:1"].changes[0].ends_with("connected why\\u{1b}[2J"));
        // Down servers leave a gap in the history.
        m.sample();
        assert_eq!(m.servers["http://c:1"].history.back(), Some(&None));
        assert!(m.servers["http://a:1"].history.back().unwrap().is_some());
    }
}
