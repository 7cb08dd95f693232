//! The core: talks to ComfyUI and emits events. It never prints, and knows
//! nothing of the command line: callers hand in its own settings types
//! ([`ClientSettings`], [`ConnectPolicy`], [`WatchSettings`]).

mod backoff;
mod discovery;
mod event;
mod fleet;
pub(crate) mod http;
pub(crate) mod jobs;
mod monitor;
pub mod parse;
pub(crate) mod port;
pub(crate) mod readiness;
mod settings;
mod status;
mod target;
pub(crate) mod tls;
pub(crate) mod workflow;
pub(crate) mod ws;

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

pub use backoff::Backoff;
pub use discovery::{Resolved, discover, discover_round, resolve};
pub use event::{Envelope, Event, FallbackMode, ProgressKind, State, Summary};
pub use fleet::Fleet;
pub use http::HttpClient;
pub use monitor::{Monitor, Stop, WatchSettings};
pub use settings::{ClientSettings, ConnectPolicy};
pub use status::{Device, ErrorKind, ProbeError, Status, unix_ms};
pub use target::{Target, redact_str};
pub use tls::TlsSettings;

/// A one-shot connection to one server: the HTTP probe, the WebSocket
/// handshake and the first `status` message, retried per its
/// [`ConnectPolicy`]. Reports progress as [`Event`]s; never prints.
pub struct ConnectionManager {
    client: ClientSettings,
    policy: ConnectPolicy,
    target: Target,
    http: HttpClient,
    client_id: String,
    events: Option<mpsc::Sender<Event>>,
}

impl ConnectionManager {
    /// A manager for `target`. `events`, if given, receives progress.
    pub fn new(
        client: &ClientSettings,
        policy: ConnectPolicy,
        target: Target,
        events: Option<mpsc::Sender<Event>>,
    ) -> Self {
        ConnectionManager {
            http: HttpClient::new(client),
            client: client.clone(),
            policy,
            target,
            client_id: ws::new_client_id(),
            events,
        }
    }

    async fn emit(&self, event: Event) {
        if let Some(tx) = &self.events {
            // A closed receiver means nobody is watching; that is fine.
            let _ = tx.send(event).await;
        }
    }

    /// One full attempt: the HTTP probe, then the WebSocket handshake, then
    /// the first `status` message, all within the client's timeout.
    async fn attempt(&mut self) -> Status {
        let timeout = self.client.timeout;
        let deadline = Instant::now() + timeout;
        let (mut status, _) = self.http.probe(&self.target).await;
        if status.available {
            let left = deadline.saturating_duration_since(Instant::now());
            let opened = if left.is_zero() {
                Err(http::timeout_error(
                    &self.target,
                    "WebSocket handshake",
                    timeout,
                ))
            } else {
                ws::open(
                    &self.target,
                    &self.client.headers,
                    &self.client_id,
                    left,
                    self.http.ws_connector(),
                )
                .await
            };
            match opened {
                Ok((mut stream, queue_remaining)) => {
                    status.queue_remaining = Some(queue_remaining);
                    // `connect` only proves the session works; close politely.
                    let _ =
                        tokio::time::timeout(Duration::from_millis(200), stream.close(None)).await;
                }
                Err(e) => {
                    status.available = false;
                    status.error = Some(e);
                }
            }
        }
        status
    }

    /// Attempts with retries and exponential backoff; returns the last
    /// status and how many attempts it took. Emits [`Event::Attempt`]
    /// before each attempt and [`Event::Retry`] after each failed one that
    /// will be retried.
    pub async fn connect(&mut self) -> (Status, u32) {
        let backoff = Backoff::connect(self.policy.backoff);
        let total = self.policy.retries.saturating_add(1);
        let mut attempt = 1;
        loop {
            self.emit(Event::Attempt { attempt, of: total }).await;
            let status = self.attempt().await;
            if status.available || attempt >= total {
                return (status, attempt);
            }
            let delay = backoff.delay(attempt);
            self.emit(Event::Retry {
                attempt,
                of: total,
                error: status.error.clone(),
                delay,
            })
            .await;
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}
