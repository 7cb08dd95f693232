//! Reconnection: attempts until the full session (HTTP, WebSocket, first
//! `status`) works, as the retry driver's watch policy paces them.

use super::peer::Opening;
use super::*;
use crate::manager::retry::{Attempts, Failure, GaveUp, Policy};

/// The way back as the retry driver sees it: this monitor's attempts, and
/// the state machine they move it through.
struct WayBack<'m> {
    monitor: &'m mut Monitor,
    /// Sessions in a row that the server broke right after they opened.
    quick_drops: u32,
    /// Good attempts in a row while degraded.
    good_ws: u32,
    /// The discovery's note for the next state, once it found the server.
    discovered: Option<String>,
}

impl Attempts for WayBack<'_> {
    type Done = WsStream;
    type Error = Option<ProbeError>;

    fn target(&self) -> Option<&Target> {
        Some(&self.monitor.peer.target)
    }

    async fn before(&mut self, _n: u32) {
        if self.monitor.state == Some(State::Disconnected) {
            self.monitor.begin_outage(self.quick_drops).await;
        }
    }

    async fn attempt(&mut self, n: u32) -> Result<WsStream, Failure<Option<ProbeError>>> {
        let m = &mut *self.monitor;
        let error = match m.attempt(n, &mut self.good_ws, &mut self.discovered).await {
            Ok(stream) => return Ok(stream),
            Err(error) => error,
        };
        let refused = error
            .as_ref()
            .is_some_and(|e| e.kind == crate::manager::ErrorKind::ConnectionRefused);
        // A `degraded` server answers: paced once per interval, never given up on.
        let up = m.state == Some(State::Degraded);
        Err(Failure { error, refused, up })
    }

    /// No URL given: the server found becomes the target.
    async fn found(&mut self, target: Target) {
        let m = &mut *self.monitor;
        if target != m.peer.target {
            let from = std::mem::replace(&mut m.peer.url, Arc::from(target.to_string()));
            m.peer.target = target;
            m.emit(Event::Moved { from }).await;
        }
        self.discovered = Some(format!(
            "no {} given; found ComfyUI at {}; ",
            crate::manager::Setting::Url,
            m.peer.url
        ));
    }

    async fn retrying(&mut self, n: u32, failure: &Failure<Option<ProbeError>>, delay: Duration) {
        if self.monitor.state == Some(State::Reconnecting) {
            self.monitor
                .emit(Event::Reconnecting {
                    attempt: n,
                    error: failure.error.clone(),
                    next_delay: delay,
                })
                .await;
        }
    }
}

impl Monitor {
    /// Attempts until the full session works: HTTP, then the WebSocket,
    /// then its first `status`. `None` once reconnection gave up.
    pub(super) async fn establish(&mut self, quick_drops: u32) -> Option<WsStream> {
        let policy = Policy::watch(&self.settings);
        let mut discovery = self.discovery.take();
        let mut way = WayBack {
            monitor: self,
            quick_drops,
            good_ws: 0,
            discovered: None,
        };
        let result =
            crate::manager::retry::drive(&mut way, &policy, discovery.as_deref_mut()).await;
        self.discovery = discovery.filter(|d| !d.candidates.is_empty());
        match result {
            Ok(stream) => Some(stream),
            Err(gave_up) => {
                self.give_up(gave_up).await;
                None
            }
        }
    }

    /// A session was lost: say so (`reconnecting`), and if sessions keep
    /// dropping right after they open at a server that is still there,
    /// pause first so that does not become a tight reconnect loop.
    async fn begin_outage(&mut self, quick_drops: u32) {
        self.set_state(State::Reconnecting, "trying to get the session back".into())
            .await;
        // A server that is gone (its port refuses) is not one that keeps
        // dropping sessions: it gets the fast schedule.
        if quick_drops > 0
            && !super::super::port::refuses(&self.peer.target, self.settings.timeout).await
        {
            // Back off towards one try per interval, not per max-delay.
            let backoff = Backoff {
                cap: self.settings.interval,
                ..self.settings.reconnect
            };
            tokio::time::sleep(backoff.delay(quick_drops)).await;
        }
    }

    /// `--max-attempts` or `--deadline` ended this outage: the state
    /// becomes `failed`, with the last error.
    async fn give_up(&mut self, gave_up: GaveUp<Option<ProbeError>>) {
        let attempt = gave_up.attempts;
        let last = gave_up.last.flatten();
        let why = last
            .as_ref()
            .map_or("unknown error", |e| e.message.as_str());
        // Worded as `reconnect`'s own deadline words it, so the message does
        // not depend on which of the two equal timers fired first.
        let reason = match gave_up.past {
            Some(d) if !gave_up.out_of_attempts => format!(
                "reconnection failed: gave up after {} ({attempt} attempts): {why}",
                humantime::format_duration(d)
            ),
            _ => format!("reconnection failed after {attempt} attempts: {why}"),
        };
        self.set_state(State::Failed, reason).await;
    }

    /// One attempt and the state it leads to: the stream once the session
    /// counts as back (after `recover_after` good ones while degraded), or
    /// the error (`None` for a good attempt that does not count yet).
    async fn attempt(
        &mut self,
        attempt: u32,
        good_ws: &mut u32,
        discovered: &mut Option<String>,
    ) -> Result<WsStream, Option<ProbeError>> {
        match self.try_session().await {
            Ok((stream, queue_remaining))
                if self.state != Some(State::Degraded)
                    || *good_ws + 1 >= self.settings.recover_after =>
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
                self.session_opened(reason, queue_remaining).await;
                Ok(stream)
            }
            Ok(_) => {
                *good_ws += 1;
                self.degraded_jobs().await;
                Err(None)
            }
            Err((http_ok, error)) => {
                *good_ws = 0;
                if http_ok {
                    if self.state != Some(State::Degraded) {
                        // As for `connected`: the baseline, or the jobs
                        // that finished while the server was away.
                        self.open_jobs().await;
                        self.set_state(State::Degraded, error.message.clone()).await;
                    } else {
                        self.degraded_jobs().await;
                    }
                } else if self.state != Some(State::Reconnecting) {
                    if self.state != Some(State::Disconnected) {
                        self.set_state(State::Disconnected, error.message.clone())
                            .await;
                    }
                    self.set_state(State::Reconnecting, "trying to get the session back".into())
                        .await;
                }
                Err(Some(error))
            }
        }
    }

    /// The session works: read the job list before announcing it (every
    /// job that finishes after the announcement is then news, and one that
    /// finished during an outage too), then announce it: `connected`, or
    /// `stalled` for a job already past --max-job-time (a `--count` run
    /// then ends 3, as health does).
    async fn session_opened(&mut self, reason: String, queue_remaining: u64) {
        self.open_jobs().await;
        self.jobs.session_started(queue_remaining);
        match self.jobs.stall() {
            Some((id, age)) => {
                let stall = self.stall_reason(&id, age);
                self.set_state(State::Stalled, format!("{reason}; {stall}"))
                    .await;
            }
            None => self.set_state(State::Connected, reason).await,
        }
        self.emit(Event::Queue { queue_remaining }).await;
    }

    /// While degraded there is no WebSocket `status`: a queue change seen
    /// by this attempt's HTTP poll asks for jobs (at most once per
    /// interval, as the attempts come).
    async fn degraded_jobs(&mut self) {
        let soon = Instant::now() + self.settings.interval / 2;
        if self.state == Some(State::Degraded) && self.jobs.due_by(soon) {
            self.read_jobs_now().await;
        }
    }

    /// One watch attempt: [`Peer::open_session`], reporting the HTTP
    /// poll (while down, once per interval, not once per much more frequent
    /// attempt). On failure, says whether HTTP answered.
    async fn try_session(&mut self) -> Result<(WsStream, u64), (bool, ProbeError)> {
        let Opening {
            status,
            queue,
            session,
        } = self.peer.open_session().await;
        let http_ok = status.available;
        if let (true, Some(q)) = (http_ok, &queue) {
            // Jobs seen unfinished now are news once they finish; a moved
            // queue asks for jobs (in every state where HTTP answers).
            self.jobs.note_unfinished(&q.unfinished);
            let counts = (
                status.queue_remaining,
                status.queue_running,
                status.queue_pending,
            );
            // A stall judged here is announced as the session opens.
            let _ = self.jobs.on_poll(counts, Some(q));
        }
        if http_ok
            || self
                .last_status
                .is_none_or(|t| t.elapsed() >= self.settings.interval)
        {
            self.emit_status(status, queue).await;
        }
        session.map_err(|e| (http_ok, e))
    }
}
