//! `GET /ws?clientId=ID`: the ComfyUI WebSocket, plus its fault modes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::preview::preview_frame;
use crate::sockets::{Out, message};
use crate::state::Mock;

/// How long a closing socket waits for the peer's close frame.
const CLOSE_GRACE: Duration = Duration::from_millis(300);

/// Upgrade handler. `--refuse-ws` (or `/__mock/refuse-ws?on=1`) answers 403
/// with an empty body instead.
pub async fn handler(
    State(mock): State<Arc<Mock>>,
    Query(query): Query<HashMap<String, String>>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    if mock.refuse_ws.load(std::sync::atomic::Ordering::SeqCst) {
        return StatusCode::FORBIDDEN.into_response();
    }
    let upgrade = match upgrade {
        Ok(u) => u,
        Err(rejection) => return rejection.into_response(),
    };
    // Like server.py: a missing clientId gets `uuid4().hex`.
    let sid = query
        .get("clientId")
        .filter(|s| !s.is_empty())
        .cloned()
        .unwrap_or_else(|| crate::store::new_uuid().replace('-', ""));
    upgrade.on_upgrade(move |socket| serve_socket(mock, socket, sid))
}

async fn serve_socket(mock: Arc<Mock>, socket: WebSocket, sid: String) {
    let (tx, rx) = mpsc::unbounded_channel();
    let conn = mock.register(&sid, tx);
    eprintln!("comfyui-mock: ws connected clientId={sid}");
    let mut session = Session {
        mock: &mock,
        socket,
        rx,
        conn,
    };
    let why = session.run().await;
    mock.unregister(conn);
    eprintln!("comfyui-mock: ws clientId={sid} ended: {why}");
}

struct Session<'a> {
    mock: &'a Mock,
    socket: WebSocket,
    rx: mpsc::UnboundedReceiver<Out>,
    conn: u64,
}

impl Session<'_> {
    async fn run(&mut self) -> &'static str {
        let args = self.mock.args.clone();
        if args.ws_silent {
            return self.silent().await;
        }
        // The first queued message is the initial status (see `register`).
        if let Some(Out::Text(status)) = self.rx.recv().await
            && self.socket.send(Message::text(status)).await.is_err()
        {
            return "send failed";
        }
        if let Err(why) = self.after_status_faults().await {
            return why;
        }
        if let Some(code) = args.ws_close_code {
            self.close(code, "comfyui-mock --ws-close-code").await;
            return "closed by --ws-close-code";
        }
        if args.ws_no_pong {
            return self.write_only().await;
        }
        self.normal().await
    }

    /// The fault flags that act right after the initial status.
    async fn after_status_faults(&mut self) -> Result<(), &'static str> {
        let args = self.mock.args.clone();
        let mut frames = Vec::new();
        if args.ws_binary {
            frames.extend((0..3).map(|_| Message::binary(preview_frame(false, "", ""))));
        }
        if args.ws_unknown_type {
            let msg = json!({"type": "some_future_type", "data": {}}).to_string();
            frames.extend((0..3).map(|_| Message::text(msg.clone())));
        }
        if let Some(mib) = args.ws_huge {
            frames.push(Message::text(huge_text(mib)));
        }
        for frame in frames {
            self.socket.send(frame).await.map_err(|_| "send failed")?;
        }
        Ok(())
    }

    /// Normal mode: forward queued messages and keep reading, so pings get
    /// their pongs (tungstenite answers them while the socket is read).
    async fn normal(&mut self) -> &'static str {
        loop {
            tokio::select! {
                incoming = self.socket.recv() => match incoming {
                    None | Some(Err(_)) => return "peer gone",
                    Some(Ok(Message::Close(_))) => return "peer closed",
                    Some(Ok(Message::Text(text))) => self.client_message(&text),
                    Some(Ok(_)) => {}
                },
                out = self.rx.recv() => match self.forward(out).await {
                    Ok(()) => {}
                    Err(why) => return why,
                },
            }
        }
    }

    /// `--ws-no-pong`: deliver messages but never read the socket.
    async fn write_only(&mut self) -> &'static str {
        loop {
            let out = self.rx.recv().await;
            if let Err(why) = self.forward(out).await {
                return why;
            }
        }
    }

    /// `--ws-silent`: send nothing and never read; only shutdown commands
    /// are obeyed.
    async fn silent(&mut self) -> &'static str {
        loop {
            match self.rx.recv().await {
                Some(Out::Close(code, reason)) => {
                    self.close(code, &reason).await;
                    return "closed";
                }
                None | Some(Out::Drop) => return "dropped",
                Some(_) => {}
            }
        }
    }

    async fn forward(&mut self, out: Option<Out>) -> Result<(), &'static str> {
        let frame = match out {
            Some(Out::Text(t)) => Message::text(t),
            Some(Out::Binary(b)) => Message::binary(b),
            Some(Out::Close(code, reason)) => {
                self.close(code, &reason).await;
                return Err("closed");
            }
            // Dropping the socket closes TCP without a close frame.
            None | Some(Out::Drop) => return Err("dropped"),
        };
        self.socket.send(frame).await.map_err(|_| "send failed")
    }

    /// Handles a client message; ComfyUI only understands `feature_flags`.
    fn client_message(&self, text: &str) {
        let Ok(msg) = serde_json::from_str::<Value>(text) else {
            return;
        };
        if msg["type"] == "feature_flags" {
            let wants = msg["data"]["supports_preview_metadata"] == true;
            self.mock.set_preview_metadata(self.conn, wants);
            let features: Value =
                serde_json::from_str(include_str!("data/features.json")).unwrap_or_default();
            let reply = message("feature_flags", features);
            self.mock.send_to_conn(self.conn, reply);
        }
    }

    /// Sends a close frame, then waits briefly for the peer's close so the
    /// handshake completes before the TCP connection goes away.
    async fn close(&mut self, code: u16, reason: &str) {
        let frame = CloseFrame {
            code,
            reason: reason.into(),
        };
        if self.socket.send(Message::Close(Some(frame))).await.is_err() {
            return;
        }
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(msg)) = self.socket.recv().await {
                if matches!(msg, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }
}

/// One JSON text message of about `mib` MiB.
fn huge_text(mib: u64) -> String {
    let size = usize::try_from(mib.saturating_mul(1 << 20)).unwrap_or(usize::MAX);
    let head = r#"{"type": "huge_blob", "data": {"blob": ""#;
    let tail = r#""}}"#;
    let mut s = String::with_capacity(size.max(head.len() + tail.len()));
    s.push_str(head);
    let fill = size.saturating_sub(head.len() + tail.len());
    s.extend(std::iter::repeat_n('x', fill));
    s.push_str(tail);
    s
}
