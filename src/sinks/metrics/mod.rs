//! Prometheus metrics for `watch --metrics ADDR`: built from monitor events
//! (a consumer, like the renderers) with `prometheus-client`, served as
//! OpenMetrics text on `/metrics`.

mod devices;
mod serve;
mod text;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Metric, Registry};

use crate::manager::jobs::{CAUSES, Job, JobStatus};
use crate::manager::{Envelope, Event, State, Status, TargetId, unix_ms};

use devices::Devices;
pub use serve::serve;
use text::sort_series;

type Labels = Vec<(String, String)>;

const STATES: [State; 7] = [
    State::Connecting,
    State::Connected,
    State::Degraded,
    State::Stalled,
    State::Disconnected,
    State::Reconnecting,
    State::Failed,
];

/// Every status `comfyui_jobs_total` is exported with, from the start.
const JOB_STATUSES: [JobStatus; 3] = [
    JobStatus::Completed,
    JobStatus::Failed,
    JobStatus::Cancelled,
];

/// The metric families, labelled by `target` (the redacted URL).
pub struct Metrics {
    registry: Registry,
    up: Family<Labels, Gauge>,
    state: Family<Labels, Gauge>,
    queue_remaining: Family<Labels, Gauge>,
    queue_running: Family<Labels, Gauge>,
    queue_pending: Family<Labels, Gauge>,
    latency: Family<Labels, Histogram>,
    transitions: Family<Labels, Counter>,
    reconnects: Family<Labels, Counter>,
    ws_age: Family<Labels, Gauge<f64, AtomicU64>>,
    jobs: Family<Labels, Counter>,
    job_failures: Family<Labels, Counter>,
    job_duration: Family<Labels, Histogram>,
    job_queue_wait: Family<Labels, Histogram>,
    running_job_age: Family<Labels, Gauge<f64, AtomicU64>>,
    last_job_failure: Family<Labels, Gauge<f64, AtomicU64>>,
    /// Per target: the running prompt id and when it was first seen (Unix ms).
    running: Mutex<HashMap<String, (String, u64)>>,
    /// Per target: when its WebSocket last received a frame (Unix ms).
    activity: HashMap<String, Arc<AtomicU64>>,
    /// Per target id: the address its series are labelled with now.
    labels: HashMap<TargetId, Arc<str>>,
    /// Memory per device and per target.
    devices: Devices,
}

/// Histogram buckets for job times: diffusion work takes from half a second
/// to half an hour.
const JOB_BUCKETS: [f64; 13] = [
    0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0,
];

fn job_histogram() -> Histogram {
    Histogram::new(JOB_BUCKETS)
}

/// Probe latency buckets: 1 ms doubling to about 8 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.001, 2.0, 14))
}

fn target(url: &str) -> Labels {
    vec![("target".into(), url.into())]
}

/// `t` plus one more label.
fn with(t: &Labels, key: &str, value: &str) -> Labels {
    let mut labels = t.clone();
    labels.push((key.into(), value.into()));
    labels
}

/// A family's name (after the `comfyui_` prefix) and its HELP text.
type Descriptor = (&'static str, &'static str);

// The descriptor table: what each family is called and means. Dashboards,
// the alert rules in `deploy/` and the tests read these names. The families
// differ in type, so this is one named row each rather than one array.
const JOBS: Descriptor = (
    "jobs",
    "finished jobs by status (completed, failed, cancelled)",
);
const JOB_FAILURES: Descriptor = (
    "job_failures",
    "failed jobs by reason (oom, missing_file, exception)",
);
const JOB_DURATION: Descriptor = (
    "job_duration_seconds",
    "job run time (execution end - start)",
);
const JOB_QUEUE_WAIT: Descriptor = (
    "job_queue_wait_seconds",
    "time a job waited in the queue (execution start - create)",
);
const RUNNING_JOB_AGE: Descriptor = (
    "running_job_age_seconds",
    "seconds the running job has been seen running (0 when idle)",
);
const LAST_JOB_FAILURE: Descriptor = (
    "last_job_failure_timestamp_seconds",
    "when the newest failed job ended (server clock, Unix seconds; 0 before any failure)",
);
const UP: Descriptor = (
    "up",
    "1 while the server answers HTTP (connected or degraded)",
);
const STATE: Descriptor = ("state", "1 for the current connection state");
const QUEUE_REMAINING: Descriptor = ("queue_remaining", "exec_info.queue_remaining");
const QUEUE_RUNNING: Descriptor = ("queue_running", "entries in queue_running");
const QUEUE_PENDING: Descriptor = ("queue_pending", "entries in queue_pending");
const PROBE_LATENCY: Descriptor = ("probe_latency_seconds", "wall time of the HTTP probe");
const STATE_TRANSITIONS: Descriptor = ("state_transitions", "connection state changes");
const RECONNECTS: Descriptor = ("reconnects", "sessions re-established after the first");
const WS_AGE: Descriptor = (
    "websocket_last_message_age_seconds",
    "seconds since the WebSocket last received a frame",
);

/// Registers `family` as `descriptor` says and hands it back, so each field of
/// [`Metrics`] is created and registered in one expression.
fn register<M: Metric + Clone>(registry: &mut Registry, (name, help): Descriptor, family: M) -> M {
    registry.register(name, help, family.clone());
    family
}

impl Metrics {
    /// Registers every family. `activity` maps each target URL to the
    /// monitor's last-WebSocket-message clock.
    pub fn new(activity: HashMap<String, Arc<AtomicU64>>) -> Metrics {
        let mut r = Registry::with_prefix("comfyui");
        let job_family = || Family::new_with_constructor(job_histogram as fn() -> Histogram);
        // Fields in registration order, which is the order `/metrics` lists
        // the families in.
        let metrics = Metrics {
            jobs: register(&mut r, JOBS, Family::default()),
            job_failures: register(&mut r, JOB_FAILURES, Family::default()),
            job_duration: register(&mut r, JOB_DURATION, job_family()),
            job_queue_wait: register(&mut r, JOB_QUEUE_WAIT, job_family()),
            running_job_age: register(&mut r, RUNNING_JOB_AGE, Family::default()),
            last_job_failure: register(&mut r, LAST_JOB_FAILURE, Family::default()),
            up: register(&mut r, UP, Family::default()),
            state: register(&mut r, STATE, Family::default()),
            queue_remaining: register(&mut r, QUEUE_REMAINING, Family::default()),
            queue_running: register(&mut r, QUEUE_RUNNING, Family::default()),
            queue_pending: register(&mut r, QUEUE_PENDING, Family::default()),
            latency: register(
                &mut r,
                PROBE_LATENCY,
                Family::new_with_constructor(latency_histogram as fn() -> Histogram),
            ),
            transitions: register(&mut r, STATE_TRANSITIONS, Family::default()),
            reconnects: register(&mut r, RECONNECTS, Family::default()),
            ws_age: register(&mut r, WS_AGE, Family::default()),
            devices: Devices::new(&mut r),
            registry: r,
            running: Mutex::new(HashMap::new()),
            activity,
            labels: HashMap::new(),
        };
        for url in metrics.activity.keys() {
            metrics.zero_series(&target(url));
        }
        metrics
    }

    /// Every counter, histogram and job gauge of a target at 0 from the
    /// first scrape: `increase()` sees the first failure as 0 → 1 (a series
    /// born at 1 hides it, and a burst within one scrape entirely), and a
    /// dashboard shows 0 rather than "No data" before the first job. A
    /// server that never failed has `last_job_failure_timestamp_seconds` 0.
    fn zero_series(&self, t: &Labels) {
        self.reconnects.get_or_create(t).inc_by(0);
        self.transitions.get_or_create(t).inc_by(0);
        for status in JOB_STATUSES {
            self.jobs
                .get_or_create(&with(t, "status", status.as_str()))
                .inc_by(0);
        }
        for cause in CAUSES {
            self.job_failures
                .get_or_create(&with(t, "reason", cause.as_str()))
                .inc_by(0);
        }
        // Creating a series is enough: histograms and gauges start empty, at 0.
        let _ = self.job_duration.get_or_create(t);
        let _ = self.job_queue_wait.get_or_create(t);
        let _ = self.running_job_age.get_or_create(t);
        let _ = self.last_job_failure.get_or_create(t);
    }

    /// Folds one event in.
    pub fn apply(&mut self, envelope: &Envelope) {
        let url = envelope.url.as_ref();
        // Keyed by the stable id: a new address for it is a move (discovery
        // found the server), and its series follow.
        if let Some(old) = self.labels.insert(envelope.id, envelope.url.clone())
            && *old != *url
        {
            self.moved(&old, url);
        }
        let t = target(url);
        match &envelope.event {
            Event::State {
                state, previous, ..
            } => self.apply_state(url, &t, *state, *previous),
            Event::Job(job) => self.apply_job(&t, job),
            Event::Status {
                status,
                running_prompt,
                running_age_ms,
            } if status.available => {
                self.observe_running(url, running_prompt.as_deref(), *running_age_ms);
                self.apply_status(url, &t, status);
            }
            Event::Queue { queue_remaining } => {
                self.queue_remaining
                    .get_or_create(&t)
                    .set(*queue_remaining as i64);
            }
            _ => {}
        }
    }

    /// Discovery found the server at `to`: every series of `from` goes (a
    /// `comfyui_up 0` left behind would keep an alert firing for an address
    /// nobody watches), and the WebSocket clock and the zeroed counters
    /// carry on under `to`.
    fn moved(&mut self, from: &str, to: &str) {
        let old = target(from);
        self.up.remove(&old);
        for s in STATES {
            self.state.remove(&with(&old, "state", s.as_str()));
        }
        self.transitions.remove(&old);
        self.reconnects.remove(&old);
        self.ws_age.remove(&old);
        self.latency.remove(&old);
        self.observe_running(from, None, None);
        self.running_job_age.remove(&old);
        self.forget_readings(from, &old);
        for status in JOB_STATUSES {
            self.jobs.remove(&with(&old, "status", status.as_str()));
        }
        for cause in CAUSES {
            self.job_failures
                .remove(&with(&old, "reason", cause.as_str()));
        }
        self.job_duration.remove(&old);
        self.job_queue_wait.remove(&old);
        self.last_job_failure.remove(&old);
        if let Some(clock) = self.activity.remove(from) {
            self.activity.insert(to.to_owned(), clock);
        }
        self.zero_series(&target(to));
    }

    /// A state change: `up`, the one-hot `state`, the transition and
    /// reconnect counters, and forgetting what a server that went down said.
    fn apply_state(&self, url: &str, t: &Labels, state: State, previous: Option<State>) {
        self.up.get_or_create(t).set(i64::from(state.is_up()));
        for s in STATES {
            self.state
                .get_or_create(&with(t, "state", s.as_str()))
                .set(i64::from(s == state));
        }
        if previous.is_some() {
            self.transitions.get_or_create(t).inc();
        }
        if state.is_down() {
            self.observe_running(url, None, None);
        }
        if state.is_reconnect(previous) {
            self.reconnects.get_or_create(t).inc();
        }
        if state.is_down() {
            self.forget_readings(url, t);
        }
    }

    /// A finished job: its status count, run and queue times, and when the
    /// newest failure ended.
    fn apply_job(&self, t: &Labels, job: &Job) {
        self.jobs
            .get_or_create(&with(t, "status", job.status.as_str()))
            .inc();
        if let Some(ms) = job.duration_ms() {
            self.job_duration
                .get_or_create(t)
                .observe(ms as f64 / 1000.0);
        }
        if let Some(ms) = job.queued_ms() {
            self.job_queue_wait
                .get_or_create(t)
                .observe(ms as f64 / 1000.0);
        }
        if job.status == JobStatus::Failed {
            let reason = job.reason().unwrap_or("exception");
            self.job_failures
                .get_or_create(&with(t, "reason", reason))
                .inc();
            let at = job.end_ms.unwrap_or_else(unix_ms);
            self.last_job_failure
                .get_or_create(t)
                .set(at as f64 / 1000.0);
        }
    }

    /// A good poll: queue counts, probe latency and per-device VRAM, each
    /// only where the server reported it.
    fn apply_status(&self, url: &str, t: &Labels, status: &Status) {
        let set = |family: &Family<Labels, Gauge>, v: Option<u64>| {
            if let Some(v) = v {
                family.get_or_create(t).set(v as i64);
            }
        };
        set(&self.queue_remaining, status.queue_remaining);
        set(&self.queue_running, status.queue_running);
        set(&self.queue_pending, status.queue_pending);
        if let Some(ms) = status.latency_ms {
            self.latency.get_or_create(t).observe(ms / 1000.0);
        }
        self.devices.apply(url, t, status);
    }

    /// A server that is down has no queue and no free VRAM: its readings
    /// are dropped (not frozen at their last values) until it answers again.
    fn forget_readings(&self, url: &str, t: &Labels) {
        self.queue_remaining.remove(t);
        self.queue_running.remove(t);
        self.queue_pending.remove(t);
        self.devices.forget(url, t);
    }

    /// Remembers when `url`'s running prompt began: from the manager's age
    /// (the rule `stalled` and `health` use), else first sight; idle is 0.
    fn observe_running(&self, url: &str, id: Option<&str>, age_ms: Option<u64>) {
        let Ok(mut running) = self.running.lock() else {
            return;
        };
        match id {
            Some(id) if let Some(age) = age_ms => {
                let since = unix_ms().saturating_sub(age);
                running.insert(url.to_owned(), (id.to_owned(), since));
            }
            Some(id) if running.get(url).is_some_and(|(seen, _)| seen == id) => {}
            Some(id) => {
                running.insert(url.to_owned(), (id.to_owned(), unix_ms()));
            }
            None => {
                if running.remove(url).is_some() {
                    self.running_job_age.get_or_create(&target(url)).set(0.0);
                }
            }
        }
    }

    /// The OpenMetrics text, with message ages computed now; series within
    /// each family in a stable order (by label set).
    pub fn render(&self) -> String {
        let now = unix_ms();
        if let Ok(running) = self.running.lock() {
            for (url, (_, since)) in running.iter() {
                let age = now.saturating_sub(*since) as f64 / 1000.0;
                self.running_job_age.get_or_create(&target(url)).set(age);
            }
        }
        for (url, last) in &self.activity {
            let last = last.load(Ordering::Relaxed);
            if last > 0 {
                let age = now.saturating_sub(last) as f64 / 1000.0;
                self.ws_age.get_or_create(&target(url)).set(age);
            }
        }
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        sort_series(&out)
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::manager::{Device, Status};

    /// Tests tell servers apart by URL: each URL its own id.
    fn id_of(url: &str) -> TargetId {
        TargetId(url.bytes().map(u32::from).sum())
    }

    fn envelope(url: &str, event: Event) -> Envelope {
        Envelope {
            id: id_of(url),
            url: Arc::from(url),
            at: SystemTime::now(),
            event,
        }
    }

    fn state(url: &str, state: State, previous: Option<State>) -> Envelope {
        envelope(
            url,
            Event::State {
                state,
                previous,
                reason: String::new(),
            },
        )
    }

    fn status(url: &str) -> Envelope {
        let status = Status {
            available: true,
            queue_remaining: Some(3),
            queue_running: Some(1),
            queue_pending: Some(2),
            latency_ms: Some(2.0),
            devices: vec![Device {
                name: "cuda:0".into(),
                kind: "cuda".into(),
                vram_total: Some(2 << 30),
                vram_free: Some(1 << 30),
                torch_vram_free: Some(1 << 20),
            }],
            ..Status::unknown(url.into())
        };
        envelope(
            url,
            Event::Status {
                status: Box::new(status),
                running_prompt: None,
                running_age_ms: None,
            },
        )
    }

    fn series<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(name)).collect()
    }

    #[test]
    fn job_series_exist_at_zero_from_the_first_scrape() {
        let url = "http://a:1";
        let m = Metrics::new([(url.to_string(), Arc::new(AtomicU64::new(0)))].into());
        let text = m.render();
        for status in ["completed", "failed", "cancelled"] {
            let zero = format!("comfyui_jobs_total{{status=\"{status}\",target=\"{url}\"}} 0");
            let zero_other =
                format!("comfyui_jobs_total{{target=\"{url}\",status=\"{status}\"}} 0");
            assert!(text.contains(&zero) || text.contains(&zero_other), "{text}");
        }
        for name in [
            "comfyui_job_duration_seconds_count",
            "comfyui_job_queue_wait_seconds_count",
            "comfyui_running_job_age_seconds",
            "comfyui_last_job_failure_timestamp_seconds",
        ] {
            let line = format!("{name}{{target=\"{url}\"}} 0");
            assert!(text.contains(&line), "{line}: {text}");
        }
        for reason in ["oom", "missing_file", "exception"] {
            let zero =
                format!("comfyui_job_failures_total{{target=\"{url}\",reason=\"{reason}\"}} 0");
            assert!(text.contains(&zero), "{zero}: {text}");
        }
    }

    #[test]
    fn a_moved_server_leaves_no_series_behind() {
        let (first, found) = ("http://127.0.0.1:8188", "http://127.0.0.1:8000");
        let clock = Arc::new(AtomicU64::new(0));
        let mut m = Metrics::new([(first.to_string(), clock.clone())].into_iter().collect());
        m.apply(&state(first, State::Connecting, None));
        m.apply(&state(first, State::Disconnected, Some(State::Connecting)));
        m.apply(&state(
            first,
            State::Reconnecting,
            Some(State::Disconnected),
        ));
        clock.store(unix_ms(), Ordering::Relaxed);
        // The same server (one id) at its new address.
        let moved = |e: Envelope| Envelope {
            id: id_of(first),
            ..e
        };
        m.apply(&moved(envelope(
            found,
            Event::Moved {
                from: Arc::from(first),
            },
        )));
        m.apply(&moved(state(
            found,
            State::Connected,
            Some(State::Reconnecting),
        )));
        m.apply(&moved(status(found)));
        let text = m.render();
        assert!(!text.contains(first), "{text}");
        assert!(
            text.contains(&format!("comfyui_up{{target=\"{found}\"}} 1")),
            "{text}"
        );
        // The monitor's WebSocket clock moved with it.
        let age = format!("comfyui_websocket_last_message_age_seconds{{target=\"{found}\"}}");
        assert!(text.contains(&age), "{text}");
    }

    #[test]
    fn readings_are_dropped_while_down_and_counters_start_at_zero() {
        let (a, b) = ("http://a:1", "http://b:1");
        let activity = [a, b]
            .iter()
            .map(|u| (u.to_string(), Arc::new(AtomicU64::new(0))))
            .collect();
        let mut m = Metrics::new(activity);
        let first = m.render();
        for url in [a, b] {
            let zero = format!("comfyui_reconnects_total{{target=\"{url}\"}} 0");
            assert!(first.contains(&zero), "{first}");
        }
        for url in [a, b] {
            m.apply(&state(url, State::Connecting, None));
            m.apply(&state(url, State::Connected, Some(State::Connecting)));
            m.apply(&status(url));
        }
        let up = m.render();
        assert_eq!(series(&up, "comfyui_queue_pending{").len(), 2, "{up}");
        assert_eq!(series(&up, "comfyui_vram_free_bytes{").len(), 2, "{up}");
        m.apply(&state(a, State::Disconnected, Some(State::Connected)));
        let down = m.render();
        for name in [
            "comfyui_queue_remaining{",
            "comfyui_queue_running{",
            "comfyui_queue_pending{",
            "comfyui_vram_free_bytes{",
            "comfyui_vram_total_bytes{",
        ] {
            let left = series(&down, name);
            assert_eq!(left.len(), 1, "{name}: {down}");
            assert!(left[0].contains(b), "{name}: {down}");
        }
        // Back: the readings return with the next poll.
        m.apply(&state(a, State::Connected, Some(State::Reconnecting)));
        m.apply(&status(a));
        let back = m.render();
        assert_eq!(series(&back, "comfyui_vram_free_bytes{").len(), 2, "{back}");
        assert!(back.contains(&format!("comfyui_reconnects_total{{target=\"{a}\"}} 1")));
        // The same order on every scrape: by label set within each family.
        assert_eq!(back, m.render());
        for name in ["comfyui_up{", "comfyui_queue_pending{", "comfyui_state{"] {
            let lines = series(&back, name);
            let mut sorted = lines.clone();
            sorted.sort();
            assert_eq!(lines, sorted, "{name}");
        }
    }
}
