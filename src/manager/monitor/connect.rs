//! `connect`: the same attempt as a watch (HTTP probe, WebSocket
//! handshake, first `status`) under the retry driver's connect policy,
//! then the session is closed politely.

use super::peer::{Opening, Peer};
use super::*;
use crate::manager::ConnectPolicy;
use crate::manager::retry::{self, Attempts, Failure, Policy};

/// How a one-shot connection went.
#[derive(Debug, Clone)]
pub struct Connected {
    /// What the last attempt found: `available` only when the whole session
    /// worked (then `queue_remaining` is from its first `status`), else the
    /// error of the step that failed.
    pub status: Status,
    /// Attempts made, the last one included.
    pub attempts: u32,
    /// The state it ended in: `connected`, `degraded` (HTTP answered, the
    /// WebSocket did not work) or `failed` (HTTP did not answer).
    pub state: State,
}

/// One server's `connect`: no polling, no reconnection, only attempts.
pub struct OneShot {
    peer: Peer,
    state: Option<State>,
}

impl OneShot {
    /// A one-shot connection to `target` (server `id` of the run), each
    /// attempt bounded by `timeout`. `http` may be shared.
    pub fn new(
        id: TargetId,
        target: Target,
        http: HttpClient,
        headers: Vec<(HeaderName, HeaderValue)>,
        timeout: Duration,
        events: mpsc::Sender<Envelope>,
    ) -> OneShot {
        let mut peer = Peer::new(target, http, headers, timeout, events);
        peer.id = id;
        OneShot { peer, state: None }
    }

    /// Connects under `policy` and reports it: `connecting`, an
    /// [`Event::Reconnecting`] after each failed attempt that will be
    /// retried, then `connected`, `degraded` (HTTP answers, the WebSocket
    /// does not) or `failed`.
    pub async fn run(mut self, policy: ConnectPolicy) -> Connected {
        self.set_state(State::Connecting, "starting".into()).await;
        let (status, attempts, state) =
            match retry::drive(&mut self, &Policy::connect(policy), None).await {
                Ok((mut status, attempts, stream, queue_remaining)) => {
                    status.queue_remaining = Some(queue_remaining);
                    self.connected(stream, queue_remaining).await;
                    (status, attempts, State::Connected)
                }
                Err(gave_up) => {
                    // The connect policy gives up only after a failed attempt.
                    let (mut status, error) = gave_up.last.unwrap_or_else(|| {
                        let error = unknown_error();
                        (
                            Status::failed(self.peer.url.to_string(), error.clone()),
                            error,
                        )
                    });
                    let state = self
                        .not_connected(&mut status, error, gave_up.attempts)
                        .await;
                    (status, gave_up.attempts, state)
                }
            };
        Connected {
            status,
            attempts,
            state,
        }
    }

    async fn set_state(&mut self, state: State, reason: String) {
        let previous = self.state.replace(state);
        if previous != Some(state) {
            self.peer
                .emit(Event::State {
                    state,
                    previous,
                    reason,
                })
                .await;
        }
    }

    /// The session works: report it, then close it politely (`connect`
    /// only proves it works).
    async fn connected(&mut self, mut stream: WsStream, queue_remaining: u64) {
        self.set_state(
            State::Connected,
            "HTTP answers; WebSocket open; status received".into(),
        )
        .await;
        self.peer.emit(Event::Queue { queue_remaining }).await;
        let _ = tokio::time::timeout(Duration::from_millis(200), stream.close(None)).await;
    }

    /// The last attempt failed: the status says so (a WebSocket refused
    /// behind a working HTTP is `degraded`, anything else `failed`).
    async fn not_connected(
        &mut self,
        status: &mut Status,
        error: ProbeError,
        attempts: u32,
    ) -> State {
        let state = if status.available {
            State::Degraded
        } else {
            State::Failed
        };
        status.available = false;
        let reason = format!(
            "connect failed after {attempts} attempt{}: {}",
            if attempts == 1 { "" } else { "s" },
            error.message
        );
        status.error = Some(error);
        self.set_state(state, reason).await;
        state
    }
}

impl Attempts for OneShot {
    type Done = (Status, u32, WsStream, u64);
    type Error = (Status, ProbeError);

    async fn attempt(&mut self, n: u32) -> Result<Self::Done, Failure<Self::Error>> {
        let Opening {
            status,
            queue,
            session,
        } = self.peer.open_session().await;
        self.peer
            .emit(Event::Status {
                status: Box::new(status.clone()),
                running_prompt: queue.and_then(|q| q.running_prompt_id),
                // A one-shot connection follows no job.
                running_age_ms: None,
            })
            .await;
        match session {
            Ok((stream, queue_remaining)) => Ok((status, n, stream, queue_remaining)),
            Err(error) => {
                let up = status.available;
                Err(Failure {
                    error: (status, error),
                    refused: false,
                    up,
                })
            }
        }
    }

    async fn retrying(&mut self, n: u32, failure: &Failure<Self::Error>, delay: Duration) {
        self.peer
            .emit(Event::Reconnecting {
                attempt: n,
                error: Some(failure.error.1.clone()),
                next_delay: delay,
            })
            .await;
    }
}
