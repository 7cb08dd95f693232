//! The fleet runner: one [`Monitor`] per server, their events merged into
//! one stream, one stop switch for all.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::monitor::OneShot;
use super::outcome::{Outcomes, Rule, Verdict};
use super::{
    ClientSettings, ConnectPolicy, Connected, Envelope, HttpClient, Monitor, Stop, Summary, Target,
    TargetId, WatchSettings,
};

/// Per server, how much the fleet's first attempts are spread out.
const FLEET_START_SPREAD: Duration = Duration::from_millis(2);

/// Monitors running for a fleet: their event stream, stop switch and tasks.
pub struct Fleet {
    /// Every monitor's events, in arrival order.
    pub events: mpsc::Receiver<Envelope>,
    /// Send `true` to stop every monitor (each then emits its summary).
    pub stop: tokio::sync::watch::Sender<bool>,
    /// One task per monitor; each ends with its summary.
    pub tasks: Vec<JoinHandle<Summary>>,
    /// Each monitor's id, first URL and last-WebSocket-frame clock, in
    /// target order.
    pub monitors: Vec<(TargetId, Arc<str>, Arc<AtomicU64>)>,
}

impl Fleet {
    /// Starts one monitor per target, sharing one HTTP client (and so one
    /// connection pool) across the fleet. A single monitor also keeps
    /// probing `candidates` (no URL given) until one answers like ComfyUI.
    pub fn start(
        targets: Vec<Target>,
        candidates: Vec<Target>,
        client: &ClientSettings,
        settings: &WatchSettings,
    ) -> Fleet {
        let discovering = targets.len() == 1;
        let (tx, events) = mpsc::channel(256.max(targets.len() * 4));
        let (stop, stopped) = Stop::new();
        let http = HttpClient::new(client);
        let mut tasks = Vec::with_capacity(targets.len());
        let mut monitors = Vec::with_capacity(targets.len());
        // Spread the first attempts over up to 2 ms per server (at most one
        // interval): opening a thousand sessions in one instant is a burst
        // for the servers and for our peak memory. One server starts at once.
        let spread =
            (FLEET_START_SPREAD * (targets.len() as u32).saturating_sub(1)).min(settings.interval);
        for (n, target) in targets.into_iter().enumerate() {
            let id = TargetId(n as u32);
            let delay = spread.mul_f64(rand::random::<f64>());
            let monitor = Monitor::new(
                target,
                http.clone(),
                client.headers.clone(),
                settings.clone(),
                tx.clone(),
            )
            .with_id(id)
            .with_start_delay(delay)
            .with_candidates(if discovering {
                candidates.clone()
            } else {
                Vec::new()
            });
            monitors.push((id, Arc::from(monitor.url()), monitor.activity()));
            tasks.push(tokio::spawn(monitor.run(stopped.clone())));
        }
        Fleet {
            events,
            stop,
            tasks,
            monitors,
        }
    }
}

/// `connect` on every target at once: each a [`OneShot`] running the
/// one-shot `policy` over the same session attempt as a watch, sharing one
/// HTTP client. Events go to `events`; results come in target order, with
/// the fleet's verdict under `rule`.
pub async fn connect_all(
    targets: Vec<Target>,
    client: &ClientSettings,
    policy: ConnectPolicy,
    rule: Rule,
    events: mpsc::Sender<Envelope>,
) -> Outcomes<Connected> {
    let http = HttpClient::new(client);
    let runs = targets.into_iter().enumerate().map(|(n, target)| {
        let one = OneShot::new(
            TargetId(n as u32),
            target,
            http.clone(),
            client.headers.clone(),
            client.timeout,
            events.clone(),
        );
        one.run(policy)
    });
    let servers = futures_util::future::join_all(runs).await;
    Outcomes::new(servers, rule, |c| Verdict::from(c.state))
}
