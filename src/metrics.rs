//! Prometheus metrics for `watch --metrics ADDR`: built from monitor events
//! (a consumer, like the renderers) with `prometheus-client`, served as
//! OpenMetrics text on `/metrics`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::manager::{Envelope, Event, State, unix_ms};

type Labels = Vec<(String, String)>;

const STATES: [State; 6] = [
    State::Connecting,
    State::Connected,
    State::Degraded,
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
    /// Per target: when its WebSocket last received a frame (Unix ms).
    activity: HashMap<String, Arc<AtomicU64>>,
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
            activity,
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
                if *state == State::Connected && previous.is_some_and(|p| p != State::Connecting) {
                    self.reconnects.get_or_create(&t).inc();
                }
            }
            Event::Status { status, .. } if status.available => {
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

    /// The OpenMetrics text, with message ages computed now.
    pub fn render(&self) -> String {
        let now = unix_ms();
        for (url, last) in &self.activity {
            let last = last.load(Ordering::Relaxed);
            if last > 0 {
                let age = now.saturating_sub(last) as f64 / 1000.0;
                self.ws_age.get_or_create(&target(url)).set(age);
            }
        }
        let mut out = String::new();
        encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

/// OpenMetrics text → the classic Prometheus text format (0.0.4), for
/// scrapers that do not ask for OpenMetrics (curl, `promtool check metrics`,
/// older agents). The formats differ in what matters here: a counter's
/// family is named with its `_total` suffix, and there is no `# UNIT`,
/// `_created` or `# EOF`.
pub fn classic_text(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let family = |prefix: &str| {
            line.strip_prefix(prefix)
                .and_then(|rest| rest.split(' ').next())
                .filter(|name| counters.contains(name))
                .map(|name| (prefix.len() + name.len(), name))
        };
        if let Some((end, _)) = family("# HELP ").or_else(|| family("# TYPE ")) {
            out.push_str(&line[..end]);
            out.push_str("_total");
            out.push_str(&line[end..]);
        } else if !line.starts_with('#')
            && counters.iter().any(|c| {
                line.strip_prefix(c)
                    .is_some_and(|rest| rest.starts_with("_created"))
            })
        {
            continue;
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

/// Serves `/metrics` on `addr` until the process ends. Returns the bound
/// address (port 0 picks one) or a one-line error naming the flag.
pub async fn serve(addr: &str, metrics: Arc<Mutex<Metrics>>) -> Result<SocketAddr, String> {
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("--metrics: cannot listen on {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("--metrics: {e}"))?;
    let app = axum::Router::new().route(
        "/metrics",
        get(move |headers: axum::http::HeaderMap| {
            let metrics = metrics.clone();
            async move {
                let body = metrics.lock().map(|m| m.render()).unwrap_or_default();
                let openmetrics = headers
                    .get_all(axum::http::header::ACCEPT)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .any(|v| v.contains("application/openmetrics-text"));
                if openmetrics {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        body,
                    )
                } else {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "text/plain; version=0.0.4; charset=utf-8",
                        )],
                        classic_text(&body),
                    )
                }
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_text_names_counters_with_total() {
        let open = "# HELP comfyui_reconnects sessions re-established.\n\
                    # TYPE comfyui_reconnects counter\n\
                    comfyui_reconnects_total{target=\"a\"} 2\n\
                    comfyui_reconnects_created{target=\"a\"} 1700000000.0\n\
                    # HELP comfyui_up 1 while up.\n\
                    # TYPE comfyui_up gauge\n\
                    # UNIT comfyui_up none\n\
                    comfyui_up{target=\"a\"} 1\n\
                    # EOF\n";
        let classic = classic_text(open);
        assert_eq!(
            classic,
            "# HELP comfyui_reconnects_total sessions re-established.\n\
             # TYPE comfyui_reconnects_total counter\n\
             comfyui_reconnects_total{target=\"a\"} 2\n\
             # HELP comfyui_up 1 while up.\n\
             # TYPE comfyui_up gauge\n\
             comfyui_up{target=\"a\"} 1\n"
        );
    }
}
