//! One open session: WebSocket messages, pings and pongs, HTTP polls and
//! the job list, until the session ends.

use super::busy::{Busy, BusyVerdict};
use super::joblist::JobsFuture;
use super::*;

type ProbeFuture = Pin<Box<dyn Future<Output = (Status, Option<parse::Queue>)> + Send>>;

/// How a WebSocket session ended.
pub(super) enum SessionEnd {
    /// The socket closed or broke: a fact, reported at once.
    Closed(String),
    /// No pong and no HTTP answer: the server is hung or gone.
    Hung(String),
    /// No pong, but HTTP answers.
    Degraded(String),
}

/// One probe round: a ping and an HTTP poll, judged once both halves are
/// known. A silent WebSocket alone is not enough to call a server hung (a
/// long model load can starve the event loop); HTTP says which it is.
#[derive(Default)]
struct Round {
    /// A round is in flight: no new one starts until it is judged.
    open: bool,
    /// The pong deadline; `None` once any frame arrived or it passed.
    ping_deadline: Option<Instant>,
    /// The deadline passed with no frame at all since the ping.
    silent: bool,
    /// The HTTP poll's verdict; `None` while pending.
    http: Option<Result<(), ProbeError>>,
    /// Judged rounds in a row that failed.
    failed: u32,
}

impl Round {
    fn start(&mut self, pong_due: Instant) {
        self.open = true;
        self.http = None;
        self.ping_deadline = Some(pong_due);
    }

    /// Any frame answers the ping.
    fn frame(&mut self) {
        self.ping_deadline = None;
    }

    /// No frame at all since the ping; the deadline stays "missed" until
    /// the HTTP verdict is in.
    fn pong_missed(&mut self) {
        self.ping_deadline = None;
        self.silent = true;
    }

    /// Judges the round once both halves are known: `Err` ends the session
    /// (after `fail_after` failed rounds in a row), `Ok(Some)` is a warning
    /// to show (HTTP failed while the WebSocket lives), `Ok(None)` is
    /// nothing to say or not judged yet.
    fn judge(&mut self, fail_after: u32, timeout: Duration) -> Result<Option<String>, SessionEnd> {
        if !self.open || self.ping_deadline.is_some() {
            return Ok(None);
        }
        let Some(http) = self.http.take() else {
            return Ok(None);
        };
        self.open = false;
        let silent = std::mem::take(&mut self.silent);
        if !silent {
            self.failed = 0;
            return Ok(http.err().map(|e| {
                format!(
                    "HTTP poll failed while the WebSocket is alive: {}",
                    e.message
                )
            }));
        }
        self.failed += 1;
        if self.failed < fail_after {
            return Ok(None);
        }
        let timeout = humantime::format_duration(timeout);
        Err(match http {
            Err(e) => SessionEnd::Hung(format!(
                "no pong within {timeout} and HTTP failed: {}",
                e.message
            )),
            Ok(()) => SessionEnd::Degraded(format!(
                "the WebSocket stopped answering pings (none within {timeout}); HTTP works"
            )),
        })
    }
}

impl Monitor {
    /// Holds an open session: reads every message, pings each interval, and
    /// polls HTTP each interval, until the session ends.
    pub(super) async fn session(&mut self, mut ws: WsStream) -> SessionEnd {
        let interval = self.settings.interval;
        let timeout = self.settings.timeout;
        // The first round comes at a random point within the interval, so
        // a fleet whose sessions opened together does not probe in lockstep
        // (a burst for the watched servers and for our own memory).
        let first = interval.mul_f64(rand::random_range(0.05..=1.0));
        let mut tick = tokio::time::interval_at(Instant::now() + first, interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut probe: Option<ProbeFuture> = None;
        let mut round = Round::default();
        let mut jobs_fetch: Option<JobsFuture> = None;
        self.busy = Busy::default();
        loop {
            let pong_due = round.ping_deadline;
            let jobs_due = jobs_fetch.is_none().then(|| self.jobs.due()).flatten();
            tokio::select! {
                frame = ws.next() => {
                    round.frame();
                    if let Some(end) = self.on_frame(frame).await {
                        return end;
                    }
                }
                _ = tick.tick(), if !round.open => {
                    let send = tokio::time::timeout(timeout, ws.send(Message::Ping(Vec::new().into()))).await;
                    if let Ok(Err(e)) = send {
                        return SessionEnd::Closed(ws::classify(e, &self.peer.target).message);
                    }
                    round.start(Instant::now() + timeout);
                    self.busy.poll_sent();
                    let http = self.peer.http.clone();
                    let target = self.peer.target.clone();
                    probe = Some(Box::pin(async move { http.probe(&target).await }));
                }
                (status, queue) = async { probe.as_mut().expect("guarded").await }, if probe.is_some() => {
                    probe = None;
                    round.http = Some(status.error.clone().map_or(Ok(()), Err));
                    self.on_poll(status, queue).await;
                }
                () = sleep_until_opt(jobs_due), if jobs_due.is_some() => {
                    jobs_fetch = Some(self.jobs_request());
                }
                (result, limit) = async { jobs_fetch.as_mut().expect("guarded").await }, if jobs_fetch.is_some() => {
                    jobs_fetch = None;
                    // A bigger page, if wanted, is due at once.
                    self.on_jobs(result, limit).await;
                }
                () = sleep_until_opt(pong_due), if pong_due.is_some() => round.pong_missed(),
            }
            match self.judge(&mut round) {
                Err(end) => return end,
                Ok(Some(message)) => {
                    self.emit(Event::Warning {
                        fallback: None,
                        message,
                    })
                    .await;
                }
                Ok(None) => {}
            }
        }
    }

    /// Judges the round, then lets `busy` rewrite a hung verdict for a
    /// server that went silent while running a job.
    fn judge(&mut self, round: &mut Round) -> Result<Option<String>, SessionEnd> {
        match round.judge(self.settings.fail_after, self.settings.timeout) {
            Err(end) => match self.busy.judge(end, self.settings.busy_grace) {
                BusyVerdict::Stands(end) => Err(end),
                BusyVerdict::Hung(why) => Err(SessionEnd::Hung(why)),
                BusyVerdict::Wait(warning) => Ok(warning),
            },
            judged => judged,
        }
    }

    /// The server answered (a frame, a good poll); ends a graced silence.
    async fn answered(&mut self) {
        if let Some(message) = self.busy.answered() {
            self.emit(Event::Warning {
                fallback: None,
                message,
            })
            .await;
        }
    }

    /// One WebSocket frame (or its end): `Some` when it ends the session.
    async fn on_frame(
        &mut self,
        frame: Option<Result<Message, tokio_tungstenite::tungstenite::Error>>,
    ) -> Option<SessionEnd> {
        self.peer
            .activity
            .store(crate::manager::unix_ms(), Ordering::Relaxed);
        self.answered().await;
        match frame {
            None => Some(SessionEnd::Closed(
                "the WebSocket ended without a close frame (server stopped or crashed)".into(),
            )),
            Some(Err(e)) => Some(SessionEnd::Closed(
                ws::classify(e, &self.peer.target).message,
            )),
            Some(Ok(Message::Close(frame))) => {
                let why = frame
                    .map(|f| {
                        let reason = if f.reason.is_empty() {
                            String::new()
                        } else {
                            format!(", '{}'", f.reason)
                        };
                        format!(" (code {}{reason})", u16::from(f.code))
                    })
                    .unwrap_or_default();
                Some(SessionEnd::Closed(format!(
                    "the server closed the WebSocket{why}"
                )))
            }
            Some(Ok(Message::Text(text))) => {
                self.on_text(&text).await;
                None
            }
            Some(Ok(_)) => None,
        }
    }

    /// The HTTP poll of a round: the status to report, and what it says
    /// about a running job (`stalled`).
    async fn on_poll(&mut self, status: Status, queue: Option<parse::Queue>) {
        if status.available {
            self.busy
                .polled(queue.as_ref().and_then(|q| q.running_prompt_id.clone()));
            self.answered().await;
        }
        if let Some(q) = &queue {
            self.jobs.note_unfinished(&q.unfinished);
        }
        let counts = (
            status.queue_remaining,
            status.queue_running,
            status.queue_pending,
        );
        let stall = status
            .available
            .then(|| self.jobs.on_poll(counts, queue.as_ref()))
            .flatten();
        // The state the poll led to comes first: `--count` stops at the
        // poll, and its exit code follows the last state printed.
        self.on_stall(stall).await;
        self.emit_status(status, queue).await;
    }

    async fn on_text(&mut self, text: &str) {
        let Ok(message) = parse::ws_message(text) else {
            return;
        };
        if let WsMessage::Status {
            queue_remaining, ..
        } = message
        {
            self.jobs.queue_status(queue_remaining);
        }
        let event = match message {
            WsMessage::Status {
                queue_remaining, ..
            } => Event::Queue { queue_remaining },
            WsMessage::Executing { prompt_id, node } => Event::Progress {
                kind: ProgressKind::Executing,
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
                kind: ProgressKind::Progress,
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
                kind: ProgressKind::ProgressState,
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
        self.busy.observe(&event);
        self.emit(event).await;
    }
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

    const T: Duration = Duration::from_secs(1);

    fn err() -> ProbeError {
        ProbeError::new(crate::manager::ErrorKind::Timeout, "timed out")
    }

    /// Plays one round: the ping, then the pong (or its deadline) and the
    /// HTTP verdict, in that order.
    fn play(
        round: &mut Round,
        pong: bool,
        http: Result<(), ProbeError>,
    ) -> Result<Option<String>, SessionEnd> {
        round.start(Instant::now() + T);
        if pong {
            round.frame();
        } else {
            round.pong_missed();
        }
        assert!(matches!(round.judge(2, T), Ok(None)), "judged before HTTP");
        round.http = Some(http);
        round.judge(2, T)
    }

    #[test]
    fn a_round_is_judged_only_when_both_halves_are_in() {
        let mut round = Round::default();
        round.start(Instant::now() + T);
        round.http = Some(Ok(()));
        assert!(matches!(round.judge(1, T), Ok(None)), "the pong is pending");
        assert!(round.open);
        round.frame();
        assert!(matches!(round.judge(1, T), Ok(None)));
        assert!(!round.open, "judged, so the next tick may start a round");
    }

    #[test]
    fn silence_and_failed_http_in_a_row_mean_hung() {
        let mut round = Round::default();
        assert!(matches!(play(&mut round, false, Err(err())), Ok(None)));
        match play(&mut round, false, Err(err())) {
            Err(SessionEnd::Hung(why)) => assert!(
                why.contains("no pong within 1s and HTTP failed: timed out"),
                "{why}"
            ),
            _ => panic!("expected hung after fail_after rounds"),
        }
    }

    #[test]
    fn silence_with_working_http_means_degraded() {
        let mut round = Round::default();
        assert!(matches!(play(&mut round, false, Ok(())), Ok(None)));
        assert!(matches!(
            play(&mut round, false, Ok(())),
            Err(SessionEnd::Degraded(_))
        ));
    }

    #[test]
    fn a_good_round_resets_the_count_and_a_failed_poll_alone_only_warns() {
        let mut round = Round::default();
        assert!(matches!(play(&mut round, false, Err(err())), Ok(None)));
        match play(&mut round, true, Err(err())) {
            Ok(Some(warning)) => {
                assert!(warning.starts_with("HTTP poll failed while the WebSocket is alive"))
            }
            _ => panic!("expected a warning"),
        }
        assert_eq!(round.failed, 0);
        assert!(
            matches!(play(&mut round, false, Err(err())), Ok(None)),
            "the count started again"
        );
    }
}
