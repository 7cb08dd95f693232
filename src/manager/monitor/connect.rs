//! `connect`'s policy over the watch session code: the same attempt as a
//! watch (HTTP probe, WebSocket handshake, first `status`), retried a fixed
//! number of times on a growing delay, then the session is closed politely.

use super::reconnect::Opening;
use super::*;
use crate::manager::ConnectPolicy;

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

impl Monitor {
    /// Connects once under `policy` and reports it: `connecting`, an
    /// [`Event::Reconnecting`] after each failed attempt that will be
    /// retried, then `connected`, `degraded` (HTTP answers, the WebSocket
    /// does not) or `failed`.
    pub async fn connect(mut self, policy: ConnectPolicy) -> Connected {
        self.set_state(State::Connecting, "starting".into()).await;
        let backoff = Backoff::connect(policy.backoff);
        let total = policy.retries.saturating_add(1);
        let mut attempt = 1;
        loop {
            let Opening {
                mut status,
                queue,
                session,
            } = self.open_session().await;
            self.emit_status(status.clone(), queue).await;
            let error = match session {
                Ok((stream, queue_remaining)) => {
                    status.queue_remaining = Some(queue_remaining);
                    self.connected(stream, queue_remaining).await;
                    return Connected {
                        status,
                        attempts: attempt,
                        state: State::Connected,
                    };
                }
                Err(error) => error,
            };
            if attempt >= total {
                let state = self.not_connected(&mut status, error, attempt).await;
                return Connected {
                    status,
                    attempts: attempt,
                    state,
                };
            }
            let delay = backoff.delay(attempt);
            self.emit(Event::Reconnecting {
                attempt,
                error: Some(error),
                next_delay: delay,
            })
            .await;
            tokio::time::sleep(delay).await;
            attempt += 1;
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
        self.emit(Event::Queue { queue_remaining }).await;
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
