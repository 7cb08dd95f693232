//! Prometheus metrics for `watch --metrics ADDR`: built from monitor events
//! (a consumer, like the renderers) with `prometheus-client`, served as
//! OpenMetrics text on `/metrics`.

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
use prometheus_client::registry::Registry;

use crate::manager::jobs::JobStatus;
use crate::manager::{Envelope, Event, State, unix_ms};

pub use serve::serve;
pub use text::classic_text;
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
    vram_free: Family<Labels, Gauge>,
    vram_total: Family<Labels, Gauge>,
    ws_age: Family<Labels, Gauge<f64, AtomicU64>>,
    jobs: Family<Labels, Counter>,
    job_duration: Family<Labels, Histogram>,
    job_queue_wait: Family<Labels, Histogram>,
    running_job_age: Family<Labels, Gauge<f64, AtomicU64>>,
    last_job_failure: Family<Labels, Gauge<f64, AtomicU64>>,
    /// Per target: the running prompt id and when it was first seen (Unix ms).
    running: Mutex<HashMap<String, (String, u64)>>,
    /// Per target: when its WebSocket last received a frame (Unix ms).
    activity: HashMap<String, Arc<AtomicU64>>,
    /// Per target: the VRAM series' labels, so they can be dropped while
    /// the server is down.
    devices: Mutex<HashMap<String, Vec<Labels>>>,
}

/// Histogram buckets for job times: diffusion work takes from half a second
/// to half an hour.
const JOB_BUCKETS: [f64; 13] = [
    0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1200.0, 1800.0,
];

fn job_histogram() -> Histogram {
    Histogram::new(JOB_BUCKETS)
}

fn target(url: &str) -> Labels {
    vec![("target".into(), url.into())]
}

impl Metrics {
    /// Registers every family. `activity` maps each target URL to the
    /// monitor's last-WebSocket-message clock.
    pub fn new(activity: HashMap<String, Arc<AtomicU64>>) -> Metrics {
        let mut registry = Registry::with_prefix("comfyui");
        let up = Family::<Labels, Gauge>::default();
        let state = Family::<Labels, Gauge>::default();
        let queue_remaining = Family::<Labels, Gauge>::default();
        let queue_running = Family::<Labels, Gauge>::default();
        let queue_pending = Family::<Labels, Gauge>::default();
        let latency = Family::<Labels, Histogram>::new_with_constructor(
            (|| Histogram::new(exponential_buckets(0.001, 2.0, 14))) as fn() -> Histogram,
        );
        let transitions = Family::<Labels, Counter>::default();
        let reconnects = Family::<Labels, Counter>::default();
        let vram_free = Family::<Labels, Gauge>::default();
        let vram_total = Family::<Labels, Gauge>::default();
        let ws_age = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        let jobs = Family::<Labels, Counter>::default();
        let job_duration =
            Family::<Labels, Histogram>::new_with_constructor(job_histogram as fn() -> Histogram);
        let job_queue_wait =
            Family::<Labels, Histogram>::new_with_constructor(job_histogram as fn() -> Histogram);
        let running_job_age = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        let last_job_failure = Family::<Labels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "jobs",
            "finished jobs by status (completed, failed, cancelled)",
            jobs.clone(),
        );
        registry.register(
            "job_duration_seconds",
            "job run time (execution end - start)",
            job_duration.clone(),
        );
        registry.register(
            "job_queue_wait_seconds",
            "time a job waited in the queue (execution start - create)",
            job_queue_wait.clone(),
        );
        registry.register(
            "running_job_age_seconds",
            "seconds the running job has been seen running (0 when idle)",
            running_job_age.clone(),
        );
        registry.register(
            "last_job_failure_timestamp_seconds",
            "when the newest failed job ended (server clock, Unix seconds)",
            last_job_failure.clone(),
        );
        registry.register(
            "up",
            "1 while the server answers HTTP (connected or degraded)",
            up.clone(),
        );
        registry.register("state", "1 for the current connection state", state.clone());
        registry.register(
            "queue_remaining",
            "exec_info.queue_remaining",
            queue_remaining.clone(),
        );
        registry.register(
            "queue_running",
            "entries in queue_running",
            queue_running.clone(),
        );
        registry.register(
            "queue_pending",
            "entries in queue_pending",
            queue_pending.clone(),
        );
        registry.register(
            "probe_latency_seconds",
            "wall time of the HTTP probe",
            latency.clone(),
        );
        registry.register(
            "state_transitions",
            "connection state changes",
            transitions.clone(),
        );
        registry.register(
            "reconnects",
            "sessions re-established after the first",
            reconnects.clone(),
        );
        registry.register("vram_free_bytes", "devices[].vram_free", vram_free.clone());
        registry.register(
            "vram_total_bytes",
            "devices[].vram_total",
            vram_total.clone(),
        );
        registry.register(
            "websocket_last_message_age_seconds",
            "seconds since the WebSocket last received a frame",
            ws_age.clone(),
        );
        // Counters exist at 0 from the start, so `increase()` and alerts on
        // them work before the first reconnect.
        for url in activity.keys() {
            reconnects.get_or_create(&target(url)).inc_by(0);
            transitions.get_or_create(&target(url)).inc_by(0);
        }
        Metrics {
            registry,
            up,
            state,
            queue_remaining,
            queue_running,
            queue_pending,
            latency,
            transitions,
            reconnects,
            vram_free,
            vram_total,
            ws_age,
            jobs,
            job_duration,
            job_queue_wait,
            running_job_age,
            last_job_failure,
            running: Mutex::new(HashMap::new()),
            activity,
            devices: Mutex::new(HashMap::new()),
        }
    }

    /// Folds one event in.
    pub fn apply(&self, envelope: &Envelope) {
        let url = envelope.url.as_ref();
        let t = target(url);
        match &envelope.event {
            Event::State {
                state, previous, ..
            } => {
                self.up.get_or_create(&t).set(i64::from(state.is_up()));
                for s in STATES {
                    let mut labels = t.clone();
                    labels.push(("state".into(), s.as_str().into()));
                    self.state
                        .get_or_create(&labels)
                        .set(i64::from(s == *state));
                }
                if previous.is_some() {
                    self.transitions.get_or_create(&t).inc();
                }
                if state.is_down() {
                    self.observe_running(url, None);
                }
                if *state == State::Connected
                    && previous.is_some_and(|p| !matches!(p, State::Connecting | State::Stalled))
                {
                    self.reconnects.get_or_create(&t).inc();
                }
                if state.is_down() {
                    self.forget_readings(url, &t);
                }
            }
            Event::Job(job) => {
                let mut labels = t.clone();
                labels.push(("status".into(), job.status.as_str().into()));
                self.jobs.get_or_create(&labels).inc();
                if let Some(ms) = job.duration_ms() {
                    self.job_duration
                        .get_or_create(&t)
                        .observe(ms as f64 / 1000.0);
                }
                if let Some(ms) = job.queued_ms() {
                    self.job_queue_wait
                        .get_or_create(&t)
                        .observe(ms as f64 / 1000.0);
                }
                if job.status == JobStatus::Failed {
                    let at = job.end_ms.unwrap_or_else(unix_ms);
                    self.last_job_failure
                        .get_or_create(&t)
                        .set(at as f64 / 1000.0);
                }
            }
            Event::Status {
                status,
                running_prompt,
            } if status.available => {
                self.observe_running(url, running_prompt.as_deref());
                let set = |family: &Family<Labels, Gauge>, v: Option<u64>| {
                    if let Some(v) = v {
                        family.get_or_create(&t).set(v as i64);
                    }
                };
                set(&self.queue_remaining, status.queue_remaining);
                set(&self.queue_running, status.queue_running);
                set(&self.queue_pending, status.queue_pending);
                if let Some(ms) = status.latency_ms {
                    self.latency.get_or_create(&t).observe(ms / 1000.0);
                }
                for d in &status.devices {
                    let mut labels = t.clone();
                    labels.push(("device".into(), d.name.clone()));
                    if let Ok(mut devices) = self.devices.lock() {
                        let known = devices.entry(url.to_string()).or_default();
                        if !known.contains(&labels) {
                            known.push(labels.clone());
                        }
                    }
                    if let Some(v) = d.vram_free {
                        self.vram_free.get_or_create(&labels).set(v as i64);
                    }
                    if let Some(v) = d.vram_total {
                        self.vram_total.get_or_create(&labels).set(v as i64);
                    }
                }
            }
            Event::Queue { queue_remaining } => {
                self.queue_remaining
                    .get_or_create(&t)
                    .set(*queue_remaining as i64);
            }
            _ => {}
        }
    }

    /// A server that is down has no queue and no free VRAM: its readings
    /// are dropped (not frozen at their last values) until it answers again.
    fn forget_readings(&self, url: &str, t: &Labels) {
        self.queue_remaining.remove(t);
        self.queue_running.remove(t);
        self.queue_pending.remove(t);
        if let Ok(mut devices) = self.devices.lock() {
            for labels in devices.remove(url).unwrap_or_default() {
                self.vram_free.remove(&labels);
                self.vram_total.remove(&labels);
            }
        }
    }

    /// Remembers when `url`'s running prompt was first seen; idle is 0.
    fn observe_running(&self, url: &str, id: Option<&str>) {
        let Ok(mut running) = self.running.lock() else {
            return;
        };
        match id {
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

    fn envelope(url: &str, event: Event) -> Envelope {
        Envelope {
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
            }],
            ..Status::unknown(url.into())
        };
        envelope(
            url,
            Event::Status {
                status: Box::new(status),
                running_prompt: None,
            },
        )
    }

    fn series<'a>(text: &'a str, name: &str) -> Vec<&'a str> {
        text.lines().filter(|l| l.starts_with(name)).collect()
    }

    #[test]
    fn readings_are_dropped_while_down_and_counters_start_at_zero() {
        let (a, b) = ("http://a:1", "http://b:1");
        let activity = [a, b]
            .iter()
            .map(|u| (u.to_string(), Arc::new(AtomicU64::new(0))))
            .collect();
        let m = Metrics::new(activity);
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
