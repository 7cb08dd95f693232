//! The watch loop for one server: the connection state machine, the
//! WebSocket session with ping/pong, HTTP polling, and background
//! reconnection. It reports [`Envelope`]s and never prints.
//!
//! Split along its seams: `reconnect` (attempts until a session works),
//! `connect` (the one-shot policy `connect` runs over the same attempt),
//! `busy` (silence while a job runs, and `--busy-grace`),
//! `session` (holding one: messages, pings, polls), `joblist` (the job list
//! reads and `stalled`) and `stats` (the time accounting behind the summary).

mod busy;
mod connect;
mod joblist;
mod peer;
mod reconnect;
mod session;
mod stats;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use futures_util::{SinkExt, StreamExt};
use reqwest::header::{HeaderName, HeaderValue};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tokio_tungstenite::tungstenite::Message;

use super::event::{Envelope, Event, FallbackMode, ProgressKind, State, Summary, TargetId};
use super::jobs::{self, JobSource, JobStatus, JobTracker, Page, Stall};
use super::parse::{self, WsMessage};
use super::retry::Discovery;
use super::status::{ProbeError, Status};
use super::ws::{self, WsStream};
use super::{Backoff, HttpClient, Target, http};
pub use connect::{Connected, OneShot};
use peer::Peer;
use session::SessionEnd;
use stats::Stats;

/// How a monitor paces itself.
#[derive(Debug, Clone)]
pub struct WatchSettings {
    /// HTTP poll and WebSocket ping period.
    pub interval: Duration,
    /// Time limit for each request, attempt, or pong.
    pub timeout: Duration,
    /// Consecutive failed probe rounds before a judgement (hung, degraded).
    pub fail_after: u32,
    /// Consecutive good WebSocket attempts before `degraded` ends.
    pub recover_after: u32,
    /// The schedule of reconnection attempts while the server is down.
    pub reconnect: Backoff,
    /// Give up (`failed`) after this many attempts in one outage.
    pub max_attempts: Option<u32>,
    /// Give up (`failed`) once an outage lasts this long.
    pub deadline: Option<Duration>,
    /// What callers should do while the backend is down.
    pub fallback: FallbackMode,
    /// A job running longer than this makes the server `stalled`.
    pub max_job_time: Option<Duration>,
    /// A server silent while a job runs stays up for this long.
    pub busy_grace: Option<Duration>,
}

impl WatchSettings {
    /// The reconnection schedule: 100 ms, growing by `factor`, capped at
    /// `max_delay`, ±20 % jitter. A short cap is what makes a returning
    /// server noticed within a few hundred ms; a refused connect costs the
    /// server nothing.
    pub fn reconnect_backoff(factor: f64, max_delay: Duration) -> Backoff {
        Backoff {
            base: Duration::from_millis(100).min(max_delay),
            factor,
            cap: max_delay,
            jitter: 0.2,
        }
    }

    /// The schedule while the peer answers with an error or not at all:
    /// a quarter interval, half, then once per `interval` (jitter only
    /// shortens the last step by up to 20 %, never lengthens it past it).
    /// The very first retry of an outage is not on it (see
    /// [`WatchSettings::answered_delay`]).
    pub fn answered_backoff(&self) -> Backoff {
        let base = (self.interval / 4)
            .max(self.reconnect.base)
            .min(self.interval);
        Backoff {
            base,
            factor: 2.0,
            cap: self.interval,
            jitter: 0.2,
        }
    }

    /// The wait after the `n`th failed attempt in a row at a peer that did
    /// not refuse. The first retry comes on the fast schedule: right after a
    /// session ends, a stale pooled connection or a server halfway through
    /// exiting fails that way once, and a one-off retry costs nothing;
    /// from the second on, [`WatchSettings::answered_backoff`].
    pub fn answered_delay(&self, n: u32) -> Duration {
        if n <= 1 {
            self.reconnect.delay(1)
        } else {
            self.answered_backoff().delay(n - 1)
        }
    }
}

/// Tells a running monitor to stop; it then emits its summary and returns.
#[derive(Clone)]
pub struct Stop(watch::Receiver<bool>);

impl Stop {
    /// A stop handle and the sender that triggers it.
    pub fn new() -> (watch::Sender<bool>, Stop) {
        let (tx, rx) = watch::channel(false);
        (tx, Stop(rx))
    }

    async fn requested(&mut self) {
        // An error means the sender is gone: treat that as a stop too.
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// Watches one server until told to stop.
pub struct Monitor {
    peer: Peer,
    settings: WatchSettings,
    state: Option<State>,
    stats: Stats,
    last_status: Option<Instant>,
    start_delay: Duration,
    jobs: JobTracker,
    busy: busy::Busy,
    /// No URL was given: addresses still probed until one answers like
    /// ComfyUI (then the monitor moves there and stops looking).
    /// Boxed: most monitors never discover, and a fleet carries one each.
    discovery: Option<Box<Discovery>>,
}

impl Monitor {
    /// A monitor for `target`. `http` may be shared between monitors.
    pub fn new(
        target: Target,
        http: HttpClient,
        headers: Vec<(HeaderName, HeaderValue)>,
        settings: WatchSettings,
        events: mpsc::Sender<Envelope>,
    ) -> Monitor {
        let now = Instant::now();
        let jobs = JobTracker::new(settings.interval, settings.max_job_time);
        Monitor {
            jobs,
            peer: Peer::new(target, http, headers, settings.timeout, events),
            settings,
            state: None,
            last_status: None,
            start_delay: Duration::ZERO,
            discovery: None,
            busy: busy::Busy::default(),
            stats: Stats::new(now),
        }
    }

    /// Stamps every event with `id`, this server's place in the run.
    pub fn with_id(mut self, id: TargetId) -> Monitor {
        self.peer.id = id;
        self
    }

    /// Delays the first attempt by `delay` (after `connecting` is reported),
    /// so a large fleet does not open every connection in the same instant.
    pub fn with_start_delay(mut self, delay: Duration) -> Monitor {
        self.start_delay = delay;
        self
    }

    /// Keeps probing `candidates` (a discovery without `--url`) until one
    /// answers like ComfyUI, then moves there; events carry the new URL
    /// from then on.
    pub fn with_candidates(mut self, candidates: Vec<Target>) -> Monitor {
        self.discovery = (!candidates.is_empty()).then(|| {
            Box::new(Discovery {
                http: self.peer.http.clone(),
                candidates,
            })
        });
        self
    }

    /// The server's URL, credentials redacted (as in every event).
    pub fn url(&self) -> &str {
        &self.peer.url
    }

    /// When the WebSocket last received a frame, in ms since the Unix
    /// epoch (0 = never); updated while the monitor runs.
    pub fn activity(&self) -> Arc<AtomicU64> {
        self.peer.activity.clone()
    }

    /// Runs until `stop` fires or reconnection gives up; emits the summary
    /// last and returns it.
    pub async fn run(mut self, mut stop: Stop) -> Summary {
        self.set_state(State::Connecting, "starting".into()).await;
        let mut stopper = stop.clone();
        let start_delay = self.start_delay;
        tokio::select! {
            () = async {
                tokio::time::sleep(start_delay).await;
                self.lifecycle().await;
            } => {}
            () = stopper.requested() => {}
        }
        drop(stop.0.borrow_and_update());
        let summary = self.summary();
        self.emit(Event::Summary(summary)).await;
        summary
    }

    /// Establish, hold the session, lose it, and again, until `failed`.
    async fn lifecycle(&mut self) {
        // Sessions that a server breaks right after they open (a proxy that
        // drops WebSockets, a frame over the size cap) must not turn into a
        // tight reconnect loop: quick drops in a row back off.
        let mut quick_drops = 0u32;
        loop {
            let Some(stream) = Box::pin(self.establish(quick_drops)).await else {
                return;
            };
            let opened = Instant::now();
            let end = Box::pin(self.session(stream)).await;
            quick_drops = if opened.elapsed() < self.settings.interval {
                quick_drops.saturating_add(1)
            } else {
                0
            };
            let (state, reason) = match end {
                SessionEnd::Closed(reason) => {
                    (State::Disconnected, self.behind_proxy(reason).await)
                }
                SessionEnd::Hung(reason) => (State::Disconnected, reason),
                SessionEnd::Degraded(reason) => (State::Degraded, reason),
            };
            self.set_state(state, reason).await;
        }
    }

    /// A closed socket behind a reverse proxy looks like a server crash; one
    /// quick HTTP probe tells whether the proxy answers for a ComfyUI that
    /// is gone (502-504), so the reason can say so. Bounded to a short time
    /// so the disconnect is still reported at once.
    async fn behind_proxy(&self, reason: String) -> String {
        let quick = self.settings.timeout.min(Duration::from_millis(500));
        let probe = self
            .peer
            .http
            .get(&self.peer.target, "/system_stats", http::HEALTH_BODY_CAP);
        match tokio::time::timeout(quick, probe).await {
            Ok(Err(e)) if e.status.is_some_and(|s| (502..=504).contains(&s)) => {
                format!("{reason}; {}", e.message)
            }
            _ => reason,
        }
    }
    async fn emit_status(&mut self, status: Status, queue: Option<parse::Queue>) {
        self.last_status = Some(Instant::now());
        let running_age_ms = queue
            .as_ref()
            .and_then(|q| q.running_prompt_id.as_ref())
            .and_then(|_| self.jobs.running_age())
            .map(|age| age.as_millis() as u64);
        self.emit(Event::Status {
            status: Box::new(status),
            running_prompt: queue.and_then(|q| q.running_prompt_id),
            running_age_ms,
        })
        .await;
    }

    async fn emit(&self, event: Event) {
        self.peer.emit(event).await;
    }

    async fn set_state(&mut self, state: State, reason: String) {
        let previous = self.state;
        if previous == Some(state) {
            return;
        }
        self.account(previous, state);
        self.state = Some(state);
        self.emit(Event::State {
            state,
            previous,
            reason: reason.clone(),
        })
        .await;
        if state == State::Disconnected
            || (state == State::Reconnecting && previous == Some(State::Connecting))
        {
            let fallback = self.settings.fallback;
            self.emit(Event::Warning {
                fallback: Some(fallback),
                message: fallback.warning(&self.peer.url),
            })
            .await;
        }
    }
}

fn unknown_error() -> ProbeError {
    ProbeError::new(super::ErrorKind::Network, "unknown error")
}
#[cfg(test)]
mod tests {
    use super::*;

    /// A fleet runs one monitor per server; the monitor's own future must
    /// stay small, with the big handshake futures boxed only while in use.
    #[test]
    fn an_idle_monitor_future_is_small() {
        let (tx, _rx) = mpsc::channel(1);
        let target = Target::parse("127.0.0.1:1").unwrap();
        let http = HttpClient::new(&crate::manager::ClientSettings {
            timeout: Duration::from_secs(1),
            ..Default::default()
        });
        let settings = WatchSettings {
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(5),
            fail_after: 1,
            recover_after: 1,
            reconnect: WatchSettings::reconnect_backoff(2.0, Duration::from_millis(250)),
            max_attempts: None,
            deadline: None,
            fallback: FallbackMode::Placeholder,
            max_job_time: None,
            busy_grace: None,
        };
        let monitor = Monitor::new(target, http, vec![], settings, tx);
        let (_stop_tx, stop) = Stop::new();
        let size = std::mem::size_of_val(&monitor.run(stop));
        assert!(size < 4096, "Monitor::run future is {size} bytes");
    }
}
