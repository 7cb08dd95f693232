//! The WebSocket clients of one mock and how a message reaches them: to the
//! socket that owns a client id, to one socket, or to everyone.
//!
//! Each socket task drains its own channel, so sending never waits on a
//! slow peer; [`crate::state::Mock`] calls these under its lock.

use std::collections::HashMap;

use serde_json::{Value, json};
use tokio::sync::mpsc;

/// What a WebSocket task is told to do.
#[derive(Debug)]
pub enum Out {
    /// Send a text frame.
    Text(String),
    /// Send a binary frame.
    Binary(Vec<u8>),
    /// Send a close frame with this code and reason, then end.
    Close(u16, String),
    /// Drop the TCP connection without a close frame.
    Drop,
}

/// A `status` message; the initial one on a new socket also carries `sid`.
pub fn status_message(remaining: usize, sid: Option<&str>) -> String {
    let mut data = json!({"status": {"exec_info": {"queue_remaining": remaining}}});
    if let Some(sid) = sid {
        data["sid"] = json!(sid);
    }
    json!({"type": "status", "data": data}).to_string()
}

/// A ComfyUI WebSocket JSON message.
pub fn message(kind: &str, data: Value) -> String {
    json!({"type": kind, "data": data}).to_string()
}

struct Conn {
    sid: String,
    tx: mpsc::UnboundedSender<Out>,
    preview_metadata: bool,
}

/// Open sockets, by connection id and by client id.
#[derive(Default)]
pub struct Clients {
    next_conn: u64,
    conns: HashMap<u64, Conn>,
    /// The socket that currently owns each client id (a reconnect replaces it).
    by_sid: HashMap<String, u64>,
    /// Node being executed and the client that submitted it, for reconnects.
    executing: Option<(String, String)>,
}

impl Clients {
    /// Sends to the socket that owns client id `sid`, if any.
    pub fn send_sid(&self, sid: &str, out: Out) {
        if let Some(conn) = self.by_sid.get(sid).and_then(|id| self.conns.get(id)) {
            let _ = conn.tx.send(out);
        }
    }

    /// Sends a text message to every client id's current socket.
    pub fn broadcast(&self, text: &str) {
        for id in self.by_sid.values() {
            if let Some(conn) = self.conns.get(id) {
                let _ = conn.tx.send(Out::Text(text.to_owned()));
            }
        }
    }

    /// Broadcasts a queue length to every client.
    pub fn broadcast_status(&self, remaining: usize) {
        self.broadcast(&status_message(remaining, None));
    }

    /// Registers a socket under `sid` and queues its initial messages (the
    /// status with `sid`, and the running node if this client's prompt is
    /// executing). Returns the connection id.
    pub fn register(&mut self, sid: &str, tx: mpsc::UnboundedSender<Out>, remaining: usize) -> u64 {
        self.next_conn += 1;
        let id = self.next_conn;
        let _ = tx.send(Out::Text(status_message(remaining, Some(sid))));
        // Like server.py: a client that reconnects while its prompt runs is
        // told the current node.
        if let Some((client, node)) = &self.executing
            && client == sid
        {
            let _ = tx.send(Out::Text(message("executing", json!({"node": node}))));
        }
        self.conns.insert(
            id,
            Conn {
                sid: sid.to_owned(),
                tx,
                preview_metadata: false,
            },
        );
        self.by_sid.insert(sid.to_owned(), id);
        id
    }

    /// Forgets a socket; its client id is released only if no newer socket
    /// took it over.
    pub fn unregister(&mut self, conn: u64) {
        if let Some(c) = self.conns.remove(&conn)
            && self.by_sid.get(&c.sid) == Some(&conn)
        {
            self.by_sid.remove(&c.sid);
        }
    }

    /// Remembers that a client asked for preview metadata (binary type 4).
    pub fn set_preview_metadata(&mut self, conn: u64, on: bool) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.preview_metadata = on;
        }
    }

    /// Sends a message to one socket, whoever owns its client id now.
    pub fn send_to_conn(&self, conn: u64, text: String) {
        if let Some(c) = self.conns.get(&conn) {
            let _ = c.tx.send(Out::Text(text));
        }
    }

    /// Sends a binary frame built for the client's preview format.
    pub fn send_binary(&self, sid: &str, frame: impl FnOnce(bool) -> Vec<u8>) {
        if let Some(conn) = self.by_sid.get(sid).and_then(|id| self.conns.get(id)) {
            let _ = conn.tx.send(Out::Binary(frame(conn.preview_metadata)));
        }
    }

    /// Records the node being executed for `client` (`None` forgets it).
    pub fn set_executing(&mut self, executing: Option<(String, String)>) {
        self.executing = executing;
    }

    /// Tells every socket (replaced ones included) to do `out`; returns how
    /// many were told.
    pub fn tell_all(&self, out: impl Fn() -> Out) -> usize {
        self.conns
            .values()
            .filter(|c| c.tx.send(out()).is_ok())
            .count()
    }

    /// Number of open sockets.
    pub fn open_sockets(&self) -> usize {
        self.conns.len()
    }

    /// Client ids that currently own a socket, sorted.
    pub fn client_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.by_sid.keys().cloned().collect();
        ids.sort();
        ids
    }
}
