//! The core: talks to ComfyUI and emits events. It never prints.

mod backoff;
mod event;
pub mod http;
pub mod jobs;
mod monitor;
pub mod parse;
pub mod port;
pub mod readiness;
mod status;
mod target;
pub mod tls;
pub mod workflow;
pub mod ws;

use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

pub use backoff::Backoff;
pub use event::{Envelope, Event, FallbackMode, ProgressKind, State, Summary};
pub use http::HttpClient;
pub use monitor::{Monitor, Stop, WatchSettings};
pub use status::{Device, ErrorKind, ProbeError, Status, now_rfc3339, unix_ms};
pub use target::{Target, redact_str, redact_url};
pub use tls::TlsSettings;

use crate::config::Config;

/// Where a server is looked for when no URL is given: stock ComfyUI, then
/// ComfyUI Desktop.
pub const DEFAULT_CANDIDATES: [&str; 2] = ["127.0.0.1:8188", "127.0.0.1:8000"];

/// Connection lifecycle for one server: health checks and connection
/// attempts with retries. Reports progress as [`Event`]s; never prints.
pub struct ConnectionManager {
    config: Config,
    target: Target,
    http: HttpClient,
    client_id: String,
    events: Option<mpsc::Sender<Event>>,
    status: Status,
}

impl ConnectionManager {
    /// A manager for `target`, using `config` for timeouts, retries and
    /// headers. `events`, if given, receives progress.
    pub fn new(config: Config, target: Target, events: Option<mpsc::Sender<Event>>) -> Self {
        let http = HttpClient::with_tls(&config.headers, config.timeout, &config.tls);
        let status = Status::unknown(target.to_string());
        ConnectionManager {
            config,
            target,
            http,
            client_id: ws::new_client_id(),
            events,
            status,
        }
    }

    /// The server this manager talks to.
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The clientId this manager uses for every WebSocket, reconnects included.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The last known status.
    pub fn get_status(&self) -> &Status {
        &self.status
    }

    /// The configured fallback mode.
    pub fn get_fallback_mode(&self) -> FallbackMode {
        self.config.fallback_mode
    }

    /// True when the backend is unavailable, so callers should fall back.
    pub fn should_use_fallback(&self) -> bool {
        !self.status.available
    }

    /// The warning to show while the backend is unavailable.
    pub fn trigger_fallback_warning(&self) -> String {
        self.config.fallback_mode.warning(&self.status.url)
    }

    async fn emit(&self, event: Event) {
        if let Some(tx) = &self.events {
            // A closed receiver means nobody is watching; that is fine.
            let _ = tx.send(event).await;
        }
    }

    /// One HTTP health check, now, with no retries.
    pub async fn check_health(&mut self) -> Status {
        let (status, _) = self.http.probe(&self.target).await;
        self.status = status.clone();
        status
    }

    /// One full attempt: the HTTP probe, then the WebSocket handshake, then
    /// the first `status` message, all within `--timeout`.
    pub async fn attempt(&mut self) -> Status {
        let deadline = Instant::now() + self.config.timeout;
        let (mut status, _) = self.http.probe(&self.target).await;
        if status.available {
            let left = deadline.saturating_duration_since(Instant::now());
            let opened = if left.is_zero() {
                Err(http::timeout_error(
                    &self.target,
                    "WebSocket handshake",
                    self.config.timeout,
                ))
            } else {
                ws::open(
                    &self.target,
                    &self.config.headers,
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
        self.status = status.clone();
        status
    }

    /// The seed's `connect()`: attempts with retries and exponential backoff.
    /// Emits [`Event::Attempt`] before each attempt and [`Event::Retry`]
    /// after each failed one that will be retried.
    pub async fn connect(&mut self) -> (Status, u32) {
        let backoff = Backoff::connect(self.config.retry_backoff);
        let total = self.config.max_retries.saturating_add(1);
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

/// Finds a local server when no URL was given: probes every candidate at the
/// same time and takes the first that answers like ComfyUI. `None` when
/// none does.
pub async fn discover(http: &HttpClient, candidates: &[Target]) -> Option<Target> {
    use futures_util::future::select_ok;
    let probes = candidates.iter().map(|t| {
        Box::pin(async move {
            let body = http.get(t, "/system_stats", http::HEALTH_BODY_CAP).await?;
            parse::system_stats(&body)
                .map(|_| t.clone())
                .map_err(|e| ProbeError::new(ErrorKind::NotComfyui, e))
        })
    });
    select_ok(probes).await.ok().map(|(t, _)| t)
}

/// One round of a discovery that keeps going: probes every candidate at
/// once and returns the first (in list order) that answers like ComfyUI.
/// Otherwise `Err(true)` when every candidate refused the connection (a
/// next round may come soon, it costs nothing) and `Err(false)` when some
/// peer answered or stayed silent (pace the next round).
pub async fn discover_round(http: &HttpClient, candidates: &[Target]) -> Result<Target, bool> {
    let probes = candidates.iter().map(|t| async move {
        match http.get(t, "/system_stats", http::HEALTH_BODY_CAP).await {
            Ok(body) if parse::system_stats(&body).is_ok() => Ok(t.clone()),
            Ok(_) => Err(false),
            Err(e) => Err(e.kind == ErrorKind::ConnectionRefused),
        }
    });
    let results = futures_util::future::join_all(probes).await;
    let mut all_refused = true;
    for result in results {
        match result {
            Ok(found) => return Ok(found),
            Err(refused) => all_refused &= refused,
        }
    }
    Err(all_refused)
}
