//! One open session: WebSocket messages, pings and pongs, HTTP polls and
//! the job list, until the session ends.

use super::*;

type ProbeFuture = Pin<Box<dyn Future<Output = (Status, Option<parse::Queue>)> + Send>>;
type JobsFuture =
    Pin<Box<dyn Future<Output = (Result<(JobSource, Page), ProbeError>, usize)> + Send>>;

/// How a WebSocket session ended.
pub(super) enum SessionEnd {
    /// The socket closed or broke: a fact, reported at once.
    Closed(String),
    /// No pong and no HTTP answer: the server is hung or gone.
    Hung(String),
    /// No pong, but HTTP answers.
    Degraded(String),
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
                    self.activity.store(crate::manager::unix_ms(), Ordering::Relaxed);
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
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
