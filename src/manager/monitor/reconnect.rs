//! Reconnection: attempts until the full session (HTTP, WebSocket, first
//! `status`) works, paced by the settings' backoffs.

use super::*;

impl Monitor {
    /// Attempts until the full session works: HTTP, then the WebSocket,
    /// then its first `status`. `None` once reconnection gave up.
    pub(super) async fn establish(&mut self, quick_drops: u32) -> Option<WsStream> {
        let mut attempt = 0u32;
        let mut good_ws = 0u32;
        // Failed attempts in a row where the peer was not simply refusing.
        let mut answered = 0u32;
        let mut discovered: Option<String> = None;
        let outage_start = Instant::now();
        loop {
            if self.state == Some(State::Disconnected) {
                self.begin_outage(quick_drops).await;
            }
            attempt += 1;
            // Every candidate refused (or there was no discovery): only then
            // may the next attempt come fast.
            let candidates_refused = self.discovery_round(&mut discovered).await;
            let error = match self.attempt(attempt, &mut good_ws, &mut discovered).await {
                Ok(stream) => return Some(stream),
                Err(error) => error,
            };
            if self.give_up(attempt, outage_start, error.as_ref()).await {
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
                    .is_some_and(|e| e.kind == crate::manager::ErrorKind::ConnectionRefused);
            let delay = self.next_delay(refused, attempt, &mut answered);
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
                crate::manager::port::wait_until_not_refused(&self.target, delay).await;
            } else {
                tokio::time::sleep(delay).await;
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
            && !super::super::port::refuses(&self.target, self.settings.timeout).await
        {
            // Back off towards one try per interval, not per max-delay.
            let backoff = Backoff {
                cap: self.settings.interval,
                ..self.settings.reconnect
            };
            tokio::time::sleep(backoff.delay(quick_drops)).await;
        }
    }

    /// Whether `--max-attempts` or `--deadline` ends this outage; if so the
    /// state becomes `failed`, with the last error. A `degraded` server
    /// answers, so it is never given up on.
    async fn give_up(
        &mut self,
        attempt: u32,
        outage_start: Instant,
        error: Option<&ProbeError>,
    ) -> bool {
        let out_of_attempts = self.settings.max_attempts.is_some_and(|max| attempt >= max);
        let past_deadline = self
            .settings
            .deadline
            .filter(|d| outage_start.elapsed() >= *d);
        if !(out_of_attempts || past_deadline.is_some()) || self.state == Some(State::Degraded) {
            return false;
        }
        let why = error.map_or("unknown error", |e| e.message.as_str());
        // Worded as `reconnect`'s own deadline words it, so the message does
        // not depend on which of the two equal timers fired first.
        let reason = match past_deadline {
            Some(d) if !out_of_attempts => format!(
                "reconnection failed: gave up after {} ({attempt} attempts): {why}",
                humantime::format_duration(d)
            ),
            _ => format!("reconnection failed after {attempt} attempts: {why}"),
        };
        self.set_state(State::Failed, reason).await;
        true
    }

    /// No URL given: one round over the candidates; a server found becomes
    /// the target (and `discovered` the note for the next state). Returns
    /// whether every candidate refused (or there were none).
    async fn discovery_round(&mut self, discovered: &mut Option<String>) -> bool {
        if self.candidates.is_empty() {
            return true;
        }
        let target =
            match crate::manager::discovery::discover_round(&self.http, &self.candidates).await {
                Ok(target) => target,
                Err(refused) => return refused,
            };
        self.candidates.clear();
        if target != self.target {
            let from = std::mem::replace(&mut self.url, Arc::from(target.to_string()));
            self.target = target;
            self.emit(Event::Moved { from }).await;
        }
        *discovered = Some(format!(
            "no {} given; found ComfyUI at {}; ",
            crate::manager::Setting::Url,
            self.url
        ));
        true
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

    /// The pause before the next attempt: once per interval while
    /// degraded, the fast schedule while refused, else the answered one.
    fn next_delay(&self, refused: bool, attempt: u32, answered: &mut u32) -> Duration {
        if self.state == Some(State::Degraded) {
            *answered = 0;
            self.settings.interval
        } else if refused {
            *answered = 0;
            self.settings.reconnect.delay(attempt)
        } else {
            *answered += 1;
            self.settings.answered_delay(*answered)
        }
    }

    /// One watch attempt: [`Monitor::open_session`], reporting the HTTP
    /// poll (while down, once per interval, not once per much more frequent
    /// attempt). On failure, says whether HTTP answered.
    async fn try_session(&mut self) -> Result<(WsStream, u64), (bool, ProbeError)> {
        let Opening {
            status,
            queue,
            session,
        } = self.open_session().await;
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

    /// One attempt at a session, the one both `watch` and `connect` make:
    /// the HTTP probe, then the WebSocket handshake and its first `status`,
    /// within one timeout.
    pub(super) async fn open_session(&mut self) -> Opening {
        let deadline = Instant::now() + self.settings.timeout;
        // Boxed: these futures are large (the WebSocket handshake ~11 KB) and
        // live only during an attempt; a fleet of monitors should not carry
        // that space while idle.
        let (status, queue) = Box::pin(self.http.probe(&self.target)).await;
        if !status.available {
            let error = status.error.clone().unwrap_or_else(unknown_error);
            return Opening {
                status,
                queue,
                session: Err(error),
            };
        }
        let left = deadline.saturating_duration_since(Instant::now());
        let left = left.max(Duration::from_millis(100));
        let session = Box::pin(ws::open(
            &self.target,
            &self.headers,
            &self.client_id,
            left,
            self.http.ws_connector(),
        ))
        .await;
        if session.is_ok() {
            // The first `status` message was a frame too.
            self.activity
                .store(crate::manager::unix_ms(), Ordering::Relaxed);
        }
        Opening {
            status,
            queue,
            session,
        }
    }
}

/// What one attempt found.
pub(super) struct Opening {
    /// The HTTP probe's result (`available` even when the WebSocket then failed).
    pub(super) status: Status,
    /// The queue the probe read, if any.
    pub(super) queue: Option<parse::Queue>,
    /// The open session and its first `status`'s `queue_remaining`, or why
    /// there is none (the HTTP error when the probe failed).
    pub(super) session: Result<(WsStream, u64), ProbeError>,
}
