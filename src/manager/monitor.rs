//! The watch loop for one server: the connection state machine, the
//! WebSocket session with ping/pong, HTTP polling, and background
//! reconnection. It reports [`Envelope`]s and never prints.

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

use super::event::{Envelope, Event, FallbackMode, State, Summary};
use super::jobs::{self, JobSource, JobStatus, JobTracker, Page, Stall};
use super::parse::{self, WsMessage};
use super::status::{ProbeError, Status};
use super::ws::{self, WsStream};
use super::{Backoff, HttpClient, Target, http};

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

type ProbeFuture = Pin<Box<dyn Future<Output = (Status, Option<parse::Queue>)> + Send>>;
type JobsFuture =
    Pin<Box<dyn Future<Output = (Result<(JobSource, Page), ProbeError>, usize)> + Send>>;

/// How a WebSocket session ended.
enum SessionEnd {
    /// The socket closed or broke: a fact, reported at once.
    Closed(String),
    /// No pong and no HTTP answer: the server is hung or gone.
    Hung(String),
    /// No pong, but HTTP answers.
    Degraded(String),
}

/// Time accounting for the summary.
struct Stats {
    started: Instant,
    /// The first judgement (the first state after `connecting`): uptime is
    /// measured from here, as connecting is neither up nor down.
    judged: Option<Instant>,
    up: Duration,
    since: Instant,
    outage_started: Option<Instant>,
    outages: u32,
    longest_outage: Duration,
    reconnects: u32,
    jobs: [u32; 3],
}

/// Watches one server until told to stop.
pub struct Monitor {
    target: Target,
    url: Arc<str>,
    http: HttpClient,
    headers: Vec<(HeaderName, HeaderValue)>,
    client_id: String,
    settings: WatchSettings,
    events: mpsc::Sender<Envelope>,
    state: Option<State>,
    stats: Stats,
    last_status: Option<Instant>,
    activity: Arc<AtomicU64>,
    start_delay: Duration,
    jobs: JobTracker,
    /// No URL was given: addresses still probed until one answers like
    /// ComfyUI (then the monitor moves there and stops looking).
    candidates: Vec<Target>,
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
            url: Arc::from(target.to_string()),
            target,
            http,
            headers,
            client_id: ws::new_client_id(),
            settings,
            events,
            state: None,
            last_status: None,
            activity: Arc::new(AtomicU64::new(0)),
            start_delay: Duration::ZERO,
            candidates: Vec::new(),
            stats: Stats {
                started: now,
                judged: None,
                up: Duration::ZERO,
                since: now,
                outage_started: None,
                outages: 0,
                longest_outage: Duration::ZERO,
                reconnects: 0,
                jobs: [0; 3],
            },
        }
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
        self.candidates = candidates;
        self
    }

    /// The server's URL, credentials redacted (as in every event).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// When the WebSocket last received a frame, in ms since the Unix
    /// epoch (0 = never); updated while the monitor runs.
    pub fn activity(&self) -> Arc<AtomicU64> {
        self.activity.clone()
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
            .http
            .get(&self.target, "/system_stats", http::HEALTH_BODY_CAP);
        match tokio::time::timeout(quick, probe).await {
            Ok(Err(e)) if e.status.is_some_and(|s| (502..=504).contains(&s)) => {
                format!("{reason}; {}", e.message)
            }
            _ => reason,
        }
    }

    /// Attempts until the full session works: HTTP, then the WebSocket,
    /// then its first `status`. `None` once reconnection gave up.
    async fn establish(&mut self, quick_drops: u32) -> Option<WsStream> {
        let mut attempt = 0u32;
        let mut good_ws = 0u32;
        // Failed attempts in a row where the peer was not simply refusing.
        let mut answered = 0u32;
        let mut discovered: Option<String> = None;
        let outage_start = Instant::now();
        loop {
            if self.state == Some(State::Disconnected) {
                self.set_state(State::Reconnecting, "trying to get the session back".into())
                    .await;
                if quick_drops > 0 {
                    // The server is up but keeps dropping the session: back
                    // off towards one try per interval, not per max-delay.
                    let backoff = Backoff {
                        cap: self.settings.interval,
                        ..self.settings.reconnect
                    };
                    tokio::time::sleep(backoff.delay(quick_drops)).await;
                }
            }
            attempt += 1;
            // Every candidate refused (or there was no discovery): only then
            // may the next attempt come fast.
            let mut candidates_refused = true;
            let mut found = None;
            if !self.candidates.is_empty() {
                match super::discovery::discover_round(&self.http, &self.candidates).await {
                    Ok(target) => found = Some(target),
                    Err(refused) => candidates_refused = refused,
                }
            }
            if let Some(target) = found {
                self.candidates.clear();
                if target != self.target {
                    self.url = Arc::from(target.to_string());
                    self.target = target;
                }
                discovered = Some(format!("no --url given; found ComfyUI at {}; ", self.url));
            }
            let error = match self.try_session().await {
                Ok((stream, queue_remaining))
                    if self.state != Some(State::Degraded)
                        || good_ws + 1 >= self.settings.recover_after =>
                {
                    let reason = match self.state {
                        Some(State::Connecting) => {
                            "HTTP answers; WebSocket open; status received".to_string()
                        }
                        _ => format!(
                            "session back after {} attempt{}",
                            attempt,
                            if attempt == 1 { "" } else { "s" }
                        ),
                    };
                    let reason = format!("{}{reason}", discovered.take().unwrap_or_default());
                    self.set_state(State::Connected, reason).await;
                    self.emit(Event::Queue { queue_remaining }).await;
                    return Some(stream);
                }
                Ok(_) => {
                    good_ws += 1;
                    None
                }
                Err((http_ok, error)) => {
                    good_ws = 0;
                    if http_ok {
                        if self.state != Some(State::Degraded) {
                            self.set_state(State::Degraded, error.message.clone()).await;
                        }
                    } else if self.state != Some(State::Reconnecting) {
                        if self.state != Some(State::Disconnected) {
                            self.set_state(State::Disconnected, error.message.clone())
                                .await;
                        }
                        self.set_state(
                            State::Reconnecting,
                            "trying to get the session back".into(),
                        )
                        .await;
                    }
                    Some(error)
                }
            };
            let gave_up = self.settings.max_attempts.is_some_and(|max| attempt >= max)
                || self
                    .settings
                    .deadline
                    .is_some_and(|d| outage_start.elapsed() >= d);
            if gave_up && self.state != Some(State::Degraded) {
                let why = error
                    .as_ref()
                    .map_or("unknown error", |e| e.message.as_str());
                self.set_state(
                    State::Failed,
                    format!("reconnection failed after {attempt} attempts: {why}"),
                )
                .await;
                return None;
            }
            // Only a refused connection is retried fast: it costs the server
            // nothing. A peer that answers (a 502 proxy, a 401, a refused
            // WebSocket) or does not answer at all is paced towards one
            // attempt per interval, so a proxy in front of a dead backend is
            // not loaded for as long as the outage lasts.
            let refused = candidates_refused
                && error
                    .as_ref()
                    .is_some_and(|e| e.kind == super::ErrorKind::ConnectionRefused);
            let delay = if self.state == Some(State::Degraded) {
                answered = 0;
                self.settings.interval
            } else if refused {
                answered = 0;
                self.settings.reconnect.delay(attempt)
            } else {
                answered += 1;
                self.settings.answered_backoff().delay(answered)
            };
            if self.state == Some(State::Reconnecting) {
                self.emit(Event::Reconnecting {
                    attempt,
                    error,
                    next_delay: delay,
                })
                .await;
            }
            if refused && self.candidates.is_empty() {
                // Between attempts, watch the port itself: a refused connect
                // is free, and the session is back soon after the port opens.
                super::port::wait_until_not_refused(&self.target, delay).await;
            } else {
                tokio::time::sleep(delay).await;
            }
        }
    }

    /// One attempt. On failure, says whether HTTP answered.
    async fn try_session(&mut self) -> Result<(WsStream, u64), (bool, ProbeError)> {
        let deadline = Instant::now() + self.settings.timeout;
        // Boxed: these futures are large (the WebSocket handshake ~11 KB) and
        // live only during an attempt; a fleet of monitors should not carry
        // that space while idle.
        let (status, queue) = Box::pin(self.http.probe(&self.target)).await;
        let http_ok = status.available;
        let http_error = status.error.clone();
        // While down, report the failed poll once per interval, not once
        // per (much more frequent) attempt.
        if http_ok
            || self
                .last_status
                .is_none_or(|t| t.elapsed() >= self.settings.interval)
        {
            self.emit_status(status, queue).await;
        }
        if !http_ok {
            return Err((false, http_error.unwrap_or_else(unknown_error)));
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let left = left.max(Duration::from_millis(100));
        match Box::pin(ws::open(
            &self.target,
            &self.headers,
            &self.client_id,
            left,
            self.http.ws_connector(),
        ))
        .await
        {
            Ok(opened) => {
                // The first `status` message was a frame too.
                self.activity.store(super::unix_ms(), Ordering::Relaxed);
                Ok(opened)
            }
            Err(e) => Err((true, e)),
        }
    }

    /// Holds an open session: reads every message, pings each interval, and
    /// polls HTTP each interval, until the session ends.
    async fn session(&mut self, mut ws: WsStream) -> SessionEnd {
        let interval = self.settings.interval;
        let timeout = self.settings.timeout;
        // The first round comes at a random point within the interval, so
        // a fleet whose sessions opened together does not probe in lockstep
        // (a burst for the watched servers and for our own memory).
        let first = interval.mul_f64(rand::random_range(0.05..=1.0));
        let mut tick = tokio::time::interval_at(Instant::now() + first, interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut probe: Option<ProbeFuture> = None;
        // The probe round in flight: the pong deadline (None once any frame
        // arrived) and the HTTP verdict (None while pending).
        let mut ping_deadline: Option<Instant> = None;
        let mut round_open = false;
        let mut http_verdict: Option<Result<(), ProbeError>> = None;
        let mut failed_rounds = 0u32;
        let mut silent_rounds = 0u32;
        let mut jobs_fetch: Option<JobsFuture> = None;
        self.jobs.session_started();
        loop {
            let pong_due = ping_deadline;
            let jobs_due = jobs_fetch.is_none().then(|| self.jobs.due()).flatten();
            tokio::select! {
                frame = ws.next() => {
                    ping_deadline = None;
                    self.activity.store(super::unix_ms(), Ordering::Relaxed);
                    match frame {
                        None => {
                            return SessionEnd::Closed(
                                "the WebSocket ended without a close frame (server stopped or crashed)".into(),
                            );
                        }
                        Some(Err(e)) => return SessionEnd::Closed(ws::classify(e, &self.target).message),
                        Some(Ok(Message::Close(frame))) => {
                            let why = frame
                                .map(|f| format!(" (code {}{})", u16::from(f.code), if f.reason.is_empty() { String::new() } else { format!(", '{}'", f.reason) }))
                                .unwrap_or_default();
                            return SessionEnd::Closed(format!("the server closed the WebSocket{why}"));
                        }
                        Some(Ok(Message::Text(text))) => self.on_text(&text).await,
                        Some(Ok(_)) => {}
                    }
                }
                _ = tick.tick(), if !round_open => {
                    round_open = true;
                    http_verdict = None;
                    let send = tokio::time::timeout(timeout, ws.send(Message::Ping(Vec::new().into()))).await;
                    if let Ok(Err(e)) = send {
                        return SessionEnd::Closed(ws::classify(e, &self.target).message);
                    }
                    ping_deadline = Some(Instant::now() + timeout);
                    let http = self.http.clone();
                    let target = self.target.clone();
                    probe = Some(Box::pin(async move { http.probe(&target).await }));
                }
                (status, queue) = async { probe.as_mut().expect("guarded").await }, if probe.is_some() => {
                    probe = None;
                    http_verdict = Some(match &status.error {
                        None => Ok(()),
                        Some(e) => Err(e.clone()),
                    });
                    let stall = status.available.then(|| self.jobs.on_poll(
                        (status.queue_remaining, status.queue_running, status.queue_pending),
                        queue.as_ref().and_then(|q| q.running_prompt_id.as_deref()),
                    )).flatten();
                    self.emit_status(status, queue).await;
                    self.on_stall(stall).await;
                }
                () = sleep_until_opt(jobs_due), if jobs_due.is_some() => {
                    jobs_fetch = Some(self.jobs_request());
                }
                (result, limit) = async { jobs_fetch.as_mut().expect("guarded").await }, if jobs_fetch.is_some() => {
                    jobs_fetch = None;
                    self.on_jobs(result, limit).await;
                }
                () = sleep_until_opt(pong_due), if pong_due.is_some() => {
                    // Silent: no frame at all since the ping. Keep the
                    // deadline as "missed" until the HTTP verdict is in.
                    ping_deadline = None;
                    silent_rounds += 1;
                }
            }
            // Judge the round once both halves are known.
            let pong_pending = ping_deadline.is_some();
            if round_open
                && !pong_pending
                && let Some(verdict) = http_verdict.take()
            {
                round_open = false;
                let silent = silent_rounds > 0;
                match (silent, verdict) {
                    (false, Ok(())) => {
                        failed_rounds = 0;
                    }
                    (true, Err(e)) => {
                        failed_rounds += 1;
                        if failed_rounds >= self.settings.fail_after {
                            return SessionEnd::Hung(format!(
                                "no pong within {} and HTTP failed: {}",
                                humantime::format_duration(timeout),
                                e.message
                            ));
                        }
                    }
                    (true, Ok(())) => {
                        failed_rounds += 1;
                        if failed_rounds >= self.settings.fail_after {
                            return SessionEnd::Degraded(format!(
                                "the WebSocket stopped answering pings (none within {}); HTTP works",
                                humantime::format_duration(timeout)
                            ));
                        }
                    }
                    (false, Err(e)) => {
                        failed_rounds = 0;
                        self.emit(Event::Warning {
                            fallback: None,
                            message: format!(
                                "HTTP poll failed while the WebSocket is alive: {}",
                                e.message
                            ),
                        })
                        .await;
                    }
                }
                silent_rounds = 0;
            }
        }
    }

    async fn on_text(&mut self, text: &str) {
        let Ok(message) = parse::ws_message(text) else {
            return;
        };
        if matches!(message, WsMessage::Status { .. }) {
            self.jobs.queue_changed();
        }
        let event = match message {
            WsMessage::Status {
                queue_remaining, ..
            } => Event::Queue { queue_remaining },
            WsMessage::Executing { prompt_id, node } => Event::Progress {
                kind: "executing".into(),
                prompt_id,
                node,
                value: None,
                max: None,
            },
            WsMessage::Progress {
                prompt_id,
                node,
                value,
                max,
            } => Event::Progress {
                kind: "progress".into(),
                prompt_id,
                node,
                value: Some(value as f64),
                max: Some(max as f64),
            },
            WsMessage::ProgressState {
                prompt_id,
                node,
                value,
                max,
            } => Event::Progress {
                kind: "progress_state".into(),
                prompt_id,
                node: Some(node),
                value: Some(value),
                max: Some(max),
            },
            WsMessage::Execution { kind, prompt_id } => Event::Progress {
                kind,
                prompt_id,
                node: None,
                value: None,
                max: None,
            },
            WsMessage::Other(_) => return,
        };
        self.emit(event).await;
    }

    /// One request for the newest finished jobs (the tracker decides when).
    fn jobs_request(&mut self) -> JobsFuture {
        let (source, limit) = self.jobs.start_fetch();
        let http = self.http.clone();
        let target = self.target.clone();
        Box::pin(async move {
            let result = jobs::fetch_finished(&http, &target, source, limit).await;
            (result, limit)
        })
    }

    /// Reports the jobs a page shows for the first time.
    async fn on_jobs(&mut self, result: Result<(JobSource, Page), ProbeError>, limit: usize) {
        let (fresh, warning) = self.jobs.finish_fetch(result, limit);
        if let Some(message) = warning {
            self.emit(Event::Warning {
                fallback: None,
                message,
            })
            .await;
        }
        for job in fresh {
            let slot = match job.status {
                JobStatus::Completed => 0,
                JobStatus::Failed => 1,
                _ => 2,
            };
            self.stats.jobs[slot] += 1;
            let stall = self.jobs.job_finished(&job.id);
            self.emit(Event::Job(job)).await;
            self.on_stall(stall).await;
        }
    }

    /// `stalled` begins or ends.
    async fn on_stall(&mut self, stall: Option<Stall>) {
        match stall {
            Some(Stall::Began { id, age }) if self.state == Some(State::Connected) => {
                let limit = self.settings.max_job_time.unwrap_or_default();
                self.set_state(
                    State::Stalled,
                    format!(
                        "job {} has been running for {} (--max-job-time {})",
                        // A server string in a state reason: keep only
                        // what a prompt id is made of.
                        id.chars()
                            .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                            .take(8)
                            .collect::<String>(),
                        humantime::format_duration(Duration::from_millis(age.as_millis() as u64)),
                        humantime::format_duration(limit)
                    ),
                )
                .await;
            }
            Some(Stall::Ended) if self.state == Some(State::Stalled) => {
                self.set_state(
                    State::Connected,
                    "the stalled job finished; the queue moved".into(),
                )
                .await;
            }
            _ => {}
        }
    }

    async fn emit_status(&mut self, status: Status, queue: Option<parse::Queue>) {
        self.last_status = Some(Instant::now());
        self.emit(Event::Status {
            status: Box::new(status),
            running_prompt: queue.and_then(|q| q.running_prompt_id),
        })
        .await;
    }

    async fn emit(&self, event: Event) {
        let envelope = Envelope {
            url: self.url.clone(),
            at: SystemTime::now(),
            event,
        };
        // A closed receiver means nobody listens any more; keep going.
        let _ = self.events.send(envelope).await;
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
                message: fallback.warning(&self.url),
            })
            .await;
        }
    }

    /// Updates uptime and outage counts on a transition.
    fn account(&mut self, previous: Option<State>, next: State) {
        let now = Instant::now();
        if next != State::Connecting && self.stats.judged.is_none() {
            self.stats.judged = Some(now);
        }
        if previous.is_some_and(State::is_up) {
            self.stats.up += now - self.stats.since;
        }
        self.stats.since = now;
        let was_down = previous.is_some_and(State::is_down);
        if next.is_down() && !was_down {
            self.stats.outages += 1;
            self.stats.outage_started = Some(now);
        }
        if next.is_up()
            && let Some(start) = self.stats.outage_started.take()
        {
            self.stats.longest_outage = self.stats.longest_outage.max(now - start);
        }
        if next == State::Connected
            && previous.is_some_and(|p| !matches!(p, State::Connecting | State::Stalled))
        {
            self.stats.reconnects += 1;
        }
    }

    fn summary(&mut self) -> Summary {
        let now = Instant::now();
        let mut up = self.stats.up;
        if self.state.is_some_and(State::is_up) {
            up += now - self.stats.since;
        }
        let mut longest = self.stats.longest_outage;
        if let Some(start) = self.stats.outage_started {
            longest = longest.max(now - start);
        }
        let total = now - self.stats.started;
        let judged = self.stats.judged.map_or(Duration::ZERO, |at| now - at);
        let pct = if judged.is_zero() {
            // Judged this very instant (or never): all or nothing.
            if self.state.is_some_and(State::is_up) {
                100.0
            } else {
                0.0
            }
        } else {
            (up.as_secs_f64() / judged.as_secs_f64() * 1000.0).round() / 10.0
        };
        Summary {
            duration_ms: total.as_millis() as u64,
            uptime_pct: pct.min(100.0),
            outages: self.stats.outages,
            longest_outage_ms: longest.as_millis() as u64,
            reconnects: self.stats.reconnects,
            jobs_completed: self.stats.jobs[0],
            jobs_failed: self.stats.jobs[1],
            jobs_cancelled: self.stats.jobs[2],
        }
    }
}

fn unknown_error() -> ProbeError {
    ProbeError::new(super::ErrorKind::Network, "unknown error")
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
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
        };
        let monitor = Monitor::new(target, http, vec![], settings, tx);
        let (_stop_tx, stop) = Stop::new();
        let size = std::mem::size_of_val(&monitor.run(stop));
        assert!(size < 4096, "Monitor::run future is {size} bytes");
    }
}
