//! The server one monitor (or one `connect`) talks to, and the one attempt
//! at a session both make: the HTTP probe, then the WebSocket handshake and
//! its first `status`, within one timeout.

use super::*;

/// Where events go and how requests are made, for one server.
pub(super) struct Peer {
    /// Which server of the run this is (every event carries it).
    pub(super) id: TargetId,
    pub(super) target: Target,
    /// The target's URL, credentials redacted (as in every event).
    pub(super) url: Arc<str>,
    pub(super) http: HttpClient,
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
    pub(super) client_id: String,
    /// Time limit for each attempt.
    pub(super) timeout: Duration,
    pub(super) events: mpsc::Sender<Envelope>,
    /// When the WebSocket last received a frame (Unix ms, 0 = never).
    pub(super) activity: Arc<AtomicU64>,
}

impl Peer {
    pub(super) fn new(
        target: Target,
        http: HttpClient,
        headers: Vec<(HeaderName, HeaderValue)>,
        timeout: Duration,
        events: mpsc::Sender<Envelope>,
    ) -> Peer {
        Peer {
            id: TargetId::default(),
            url: Arc::from(target.to_string()),
            target,
            http,
            headers,
            client_id: ws::new_client_id(),
            timeout,
            events,
            activity: Arc::new(AtomicU64::new(0)),
        }
    }

    pub(super) async fn emit(&self, event: Event) {
        let envelope = Envelope {
            id: self.id,
            url: self.url.clone(),
            at: SystemTime::now(),
            event,
        };
        // A closed receiver means nobody listens any more; keep going.
        let _ = self.events.send(envelope).await;
    }

    /// One attempt at a session, the one both `watch` and `connect` make:
    /// the HTTP probe, then the WebSocket handshake and its first `status`,
    /// within one timeout.
    pub(super) async fn open_session(&self) -> Opening {
        let deadline = Instant::now() + self.timeout;
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
