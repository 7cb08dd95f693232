//! One mock server's state: the queue, the history and the WebSocket clients.
//!
//! Every queue change and the `status` broadcast it causes happen under one
//! lock, so all clients see status messages in the order of the changes.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value, json};
use tokio::sync::{Notify, mpsc};

use crate::cli::Args;
use crate::nodes::{self, Models};

/// Client id of placeholder queue items (no socket ever has it).
const PLACEHOLDER_CLIENT: &str = "comfyui-mock-placeholder";

/// ComfyUI keeps at most this many history entries.
const MAX_HISTORY: usize = 10_000;

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

/// One queued prompt, shown by `/queue` and `/history` as
/// `[number, prompt_id, prompt, extra_data, outputs_to_execute]`.
#[derive(Debug, Clone)]
pub struct QueueItem {
    pub number: i64,
    pub prompt_id: String,
    pub prompt: Map<String, Value>,
    pub extra_data: Map<String, Value>,
    pub outputs: Vec<String>,
    /// When it was queued (epoch ms), for the Jobs API's `create_time`.
    /// Kept beside `extra_data`: the 0.3.64 shapes this mock copies have
    /// no `extra_data.create_time`.
    pub create_time: u64,
    /// Test-only pacing from `/__mock/job`: hold the prompt this long before
    /// its nodes run, then (if `cancel`) interrupt it.
    pub hold: Option<Hold>,
}

/// How a `/__mock/job` prompt spends its time and ends.
#[derive(Debug, Clone, Copy)]
pub struct Hold {
    /// Time the prompt occupies the executor before its nodes run.
    pub ms: u64,
    /// Interrupt it once the time is up (it then ends `cancelled`).
    pub cancel: bool,
}

impl QueueItem {
    /// The real server's queue item array.
    pub fn to_json(&self) -> Value {
        json!([
            self.number,
            self.prompt_id,
            self.prompt,
            self.extra_data,
            self.outputs
        ])
    }

    /// The `client_id` the prompt was submitted with, if any.
    pub fn client_id(&self) -> Option<&str> {
        self.extra_data.get("client_id").and_then(Value::as_str)
    }
}

struct Conn {
    sid: String,
    tx: mpsc::UnboundedSender<Out>,
    preview_metadata: bool,
}

#[derive(Default)]
struct Inner {
    number: i64,
    /// Placeholder items; the first one counts as running.
    fake: Vec<QueueItem>,
    running: Option<QueueItem>,
    pending: VecDeque<QueueItem>,
    /// Insertion-ordered, like the Python dict the real server keeps.
    history: Vec<(String, Value)>,
    /// Queue time of each prompt that ran, for the Jobs API.
    created: HashMap<String, u64>,
    conns: HashMap<u64, Conn>,
    /// The socket that currently owns each client id (a reconnect replaces it).
    by_sid: HashMap<String, u64>,
    /// Node being executed and the client that submitted it, for reconnects.
    executing: Option<(String, String)>,
}

impl Inner {
    fn remaining(&self) -> usize {
        self.fake.len() + usize::from(self.running.is_some()) + self.pending.len()
    }

    fn send_sid(&self, sid: &str, out: Out) {
        if let Some(conn) = self.by_sid.get(sid).and_then(|id| self.conns.get(id)) {
            let _ = conn.tx.send(out);
        }
    }

    fn broadcast(&self, text: &str) {
        for id in self.by_sid.values() {
            if let Some(conn) = self.conns.get(id) {
                let _ = conn.tx.send(Out::Text(text.to_owned()));
            }
        }
    }

    fn broadcast_status(&self) {
        self.broadcast(&status_message(self.remaining(), None));
    }

    fn next_number(&mut self) -> i64 {
        let n = self.number;
        self.number += 1;
        n
    }

    fn placeholder(&mut self) -> QueueItem {
        let prompt = json!({
            "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
            "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}
        });
        QueueItem {
            number: self.next_number(),
            prompt_id: new_uuid(),
            prompt: prompt.as_object().cloned().unwrap_or_default(),
            // Prompts queued from the UI carry the browser's client id.
            extra_data: json!({"client_id": PLACEHOLDER_CLIENT})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            outputs: vec!["2".into()],
            create_time: now_ms(),
            hold: None,
        }
    }
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

/// Milliseconds since the Unix epoch, as in ComfyUI's `timestamp` fields.
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A random UUID in the hyphenated form ComfyUI uses for prompt ids.
pub fn new_uuid() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// One mock server: configuration plus shared mutable state.
pub struct Mock {
    pub args: Arc<Args>,
    pub models: Models,
    /// `/object_info` body, built once at start.
    pub object_info: Value,
    /// Answer WebSocket upgrades with 403 (flag or `/__mock/refuse-ws`).
    pub refuse_ws: AtomicBool,
    /// Set by `POST /interrupt`; the worker checks it between steps.
    pub interrupt: AtomicBool,
    /// Wakes the worker when a prompt is queued.
    pub work: Notify,
    /// Requests served outside `/__mock/`, for load tests.
    pub requests: AtomicU64,
    /// Of those, `GET /system_stats` (one per health probe).
    pub system_stats_requests: AtomicU64,
    next_conn: AtomicU64,
    inner: Mutex<Inner>,
}

impl Mock {
    /// A mock with the `--queue` placeholders already queued.
    pub fn new(args: Arc<Args>) -> anyhow::Result<Arc<Self>> {
        let models = Models::from_args(&args)?;
        let object_info = nodes::object_info(&models);
        let mock = Arc::new(Self {
            refuse_ws: AtomicBool::new(args.refuse_ws),
            interrupt: AtomicBool::new(false),
            work: Notify::new(),
            requests: AtomicU64::new(0),
            system_stats_requests: AtomicU64::new(0),
            next_conn: AtomicU64::new(1),
            inner: Mutex::new(Inner::default()),
            models,
            object_info,
            args,
        });
        mock.set_fake_queue(mock.args.queue, false);
        Ok(mock)
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking handler must not take the whole mock down with it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of queued prompts, running ones included.
    pub fn queue_remaining(&self) -> usize {
        self.lock().remaining()
    }

    /// `GET /queue` body.
    pub fn queue_json(&self) -> Value {
        let inner = self.lock();
        let running: Vec<Value> = inner
            .fake
            .iter()
            .take(1)
            .chain(inner.running.iter())
            .map(QueueItem::to_json)
            .collect();
        let pending: Vec<Value> = inner
            .fake
            .iter()
            .skip(1)
            .chain(inner.pending.iter())
            .map(QueueItem::to_json)
            .collect();
        json!({"queue_running": running, "queue_pending": pending})
    }

    /// Replaces the placeholder queue with `n` items (1 running, n-1 pending)
    /// and optionally broadcasts status twice, as a queue change usually does.
    pub fn set_fake_queue(&self, n: usize, broadcast: bool) {
        let mut inner = self.lock();
        inner.fake.clear();
        for _ in 0..n {
            let item = inner.placeholder();
            inner.fake.push(item);
        }
        if broadcast {
            inner.broadcast_status();
            inner.broadcast_status();
        }
    }

    /// Takes the next prompt number (also used by rejected prompts, as in
    /// ComfyUI).
    pub fn next_number(&self) -> i64 {
        self.lock().next_number()
    }

    /// Queues a prompt, broadcasts status and wakes the worker.
    pub fn enqueue(&self, item: QueueItem) {
        let mut inner = self.lock();
        inner.pending.push_back(item);
        inner.broadcast_status();
        drop(inner);
        self.work.notify_one();
    }

    /// Moves the next pending prompt to running (broadcasting status, like
    /// the real queue's `get`), or `None` when nothing is pending.
    pub fn take_next(&self) -> Option<QueueItem> {
        let mut inner = self.lock();
        let item = inner.pending.pop_front()?;
        inner
            .created
            .insert(item.prompt_id.clone(), item.create_time);
        inner.running = Some(item.clone());
        inner.broadcast_status();
        Some(item)
    }

    /// Ends the running prompt: stores its history entry and broadcasts the
    /// shorter queue.
    pub fn finish(&self, prompt_id: &str, entry: Value) {
        let mut inner = self.lock();
        inner.running = None;
        inner.executing = None;
        inner.history.retain(|(id, _)| id != prompt_id);
        inner.history.push((prompt_id.to_owned(), entry));
        if inner.history.len() > MAX_HISTORY {
            let (old, _) = inner.history.remove(0);
            inner.created.remove(&old);
        }
        inner.broadcast_status();
    }

    /// The prompt id currently executing, if any.
    pub fn running_id(&self) -> Option<String> {
        self.lock().running.as_ref().map(|i| i.prompt_id.clone())
    }

    /// Removes every pending item (`POST /queue {"clear": true}`).
    pub fn clear_pending(&self) {
        let mut inner = self.lock();
        inner.pending.clear();
        inner.fake.truncate(1);
        inner.broadcast_status();
    }

    /// Removes pending items by prompt id (`POST /queue {"delete": [...]}`).
    pub fn delete_pending(&self, ids: &[&str]) {
        let mut inner = self.lock();
        let before = inner.remaining();
        inner
            .pending
            .retain(|i| !ids.contains(&i.prompt_id.as_str()));
        let mut first = true;
        inner.fake.retain(|i| {
            // The first placeholder is the running one; only pending go.
            std::mem::take(&mut first) || !ids.contains(&i.prompt_id.as_str())
        });
        if inner.remaining() != before {
            inner.broadcast_status();
        }
    }

    /// `GET /history[?max_items=N&offset=M]`, with ComfyUI's slicing: without
    /// an offset the last `max_items` entries, oldest first.
    pub fn history_json(&self, max_items: Option<usize>, offset: Option<i64>) -> HistoryView {
        let inner = self.lock();
        let len = inner.history.len();
        let start = match (offset, max_items) {
            (Some(o), _) if o >= 0 => usize::try_from(o).unwrap_or(usize::MAX),
            (_, Some(max)) => len.saturating_sub(max),
            _ => 0,
        };
        let take = max_items.unwrap_or(usize::MAX);
        HistoryView(
            inner
                .history
                .iter()
                .skip(start)
                .take(take)
                .cloned()
                .collect(),
        )
    }

    /// `GET /history/{prompt_id}`: `{}` when unknown.
    pub fn history_one(&self, prompt_id: &str) -> HistoryView {
        let inner = self.lock();
        HistoryView(
            inner
                .history
                .iter()
                .filter(|(id, _)| id == prompt_id)
                .cloned()
                .collect(),
        )
    }

    /// `POST /history`: clear all or delete some entries.
    pub fn edit_history(&self, clear: bool, delete: &[&str]) {
        let mut inner = self.lock();
        if clear {
            inner.history.clear();
        }
        inner
            .history
            .retain(|(id, _)| !delete.contains(&id.as_str()));
        let Inner {
            history, created, ..
        } = &mut *inner;
        created.retain(|id, _| history.iter().any(|(h, _)| h == id));
    }

    /// Registers a socket under `sid` and queues its initial messages, so
    /// nothing broadcast later can overtake them. Returns the connection id.
    pub fn register(&self, sid: &str, tx: mpsc::UnboundedSender<Out>) -> u64 {
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        let mut inner = self.lock();
        let _ = tx.send(Out::Text(status_message(inner.remaining(), Some(sid))));
        // Like server.py: a client that reconnects while its prompt runs is
        // told the current node.
        if let Some((client, node)) = &inner.executing
            && client == sid
        {
            let _ = tx.send(Out::Text(message("executing", json!({"node": node}))));
        }
        inner.conns.insert(
            id,
            Conn {
                sid: sid.to_owned(),
                tx,
                preview_metadata: false,
            },
        );
        inner.by_sid.insert(sid.to_owned(), id);
        id
    }

    /// Forgets a socket; its client id is released only if no newer socket
    /// took it over.
    pub fn unregister(&self, conn: u64) {
        let mut inner = self.lock();
        if let Some(c) = inner.conns.remove(&conn)
            && inner.by_sid.get(&c.sid) == Some(&conn)
        {
            inner.by_sid.remove(&c.sid);
        }
    }

    /// Remembers that a client asked for preview metadata (binary type 4).
    pub fn set_preview_metadata(&self, conn: u64, on: bool) {
        if let Some(c) = self.lock().conns.get_mut(&conn) {
            c.preview_metadata = on;
        }
    }

    /// Sends a message to the socket of one client id (ComfyUI's `sid`).
    pub fn send_to(&self, sid: &str, text: String) {
        self.lock().send_sid(sid, Out::Text(text));
    }

    /// Sends a message to one socket, whoever owns its client id now.
    pub fn send_to_conn(&self, conn: u64, text: String) {
        if let Some(c) = self.lock().conns.get(&conn) {
            let _ = c.tx.send(Out::Text(text));
        }
    }

    /// Sends to `sid`, or to everyone when the prompt had no client id
    /// (how ComfyUI routes `progress_state`).
    pub fn send_or_broadcast(&self, sid: Option<&str>, text: String) {
        let inner = self.lock();
        match sid {
            Some(sid) => inner.send_sid(sid, Out::Text(text)),
            None => inner.broadcast(&text),
        }
    }

    /// Sends a binary frame built for the client's preview format.
    pub fn send_binary(&self, sid: &str, frame: impl FnOnce(bool) -> Vec<u8>) {
        let inner = self.lock();
        if let Some(conn) = inner.by_sid.get(sid).and_then(|id| inner.conns.get(id)) {
            let _ = conn.tx.send(Out::Binary(frame(conn.preview_metadata)));
        }
    }

    /// Broadcasts the current queue length to every client.
    pub fn broadcast_status(&self) {
        self.lock().broadcast_status();
    }

    /// Records the node being executed for `client` (cleared by `finish`).
    pub fn set_executing(&self, client: Option<&str>, node: &str) {
        self.lock().executing = client.map(|c| (c.to_owned(), node.to_owned()));
    }

    /// Tells every socket (replaced ones included) to do `out`; returns how
    /// many were told.
    pub fn tell_all(&self, out: impl Fn() -> Out) -> usize {
        let inner = self.lock();
        inner
            .conns
            .values()
            .filter(|c| c.tx.send(out()).is_ok())
            .count()
    }

    /// Number of open sockets.
    pub fn open_sockets(&self) -> usize {
        self.lock().conns.len()
    }

    /// Every job the Jobs API knows, oldest first: pending items, the
    /// running one, and the history entries.
    pub fn jobs_snapshot(&self) -> JobsSnapshot {
        let inner = self.lock();
        JobsSnapshot {
            pending: inner
                .fake
                .iter()
                .skip(1)
                .chain(inner.pending.iter())
                .cloned()
                .collect(),
            running: inner.fake.first().or(inner.running.as_ref()).cloned(),
            history: inner
                .history
                .iter()
                .map(|(id, v)| (v.clone(), inner.created.get(id).copied()))
                .collect(),
        }
    }

    /// Client ids that currently own a socket, sorted.
    pub fn client_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.lock().by_sid.keys().cloned().collect();
        ids.sort();
        ids
    }
}

/// What `/api/jobs` is built from.
pub struct JobsSnapshot {
    /// Queued, not started.
    pub pending: Vec<QueueItem>,
    /// Being executed.
    pub running: Option<QueueItem>,
    /// Finished: history entries, oldest first, with their queue times.
    pub history: Vec<(Value, Option<u64>)>,
}

/// History entries in insertion order (serde_json's map would sort them).
pub struct HistoryView(Vec<(String, Value)>);

impl Serialize for HistoryView {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mock(extra: &[&str]) -> Arc<Mock> {
        let argv = ["comfyui-mock"].iter().chain(extra);
        let args = <Args as clap::Parser>::parse_from(argv);
        Mock::new(Arc::new(args)).unwrap()
    }

    #[test]
    fn fake_queue_is_one_running_rest_pending() {
        let m = mock(&["--queue", "3"]);
        assert_eq!(m.queue_remaining(), 3);
        let q = m.queue_json();
        assert_eq!(q["queue_running"].as_array().unwrap().len(), 1);
        assert_eq!(q["queue_pending"].as_array().unwrap().len(), 2);
        m.clear_pending();
        assert_eq!(m.queue_remaining(), 1);
    }

    #[test]
    fn history_slices_like_comfyui() {
        let m = mock(&[]);
        for id in ["a", "b", "c"] {
            m.finish(id, json!({}));
        }
        let keys = |v: HistoryView| v.0.into_iter().map(|(k, _)| k).collect::<Vec<_>>();
        assert_eq!(keys(m.history_json(Some(2), None)), ["b", "c"]);
        assert_eq!(keys(m.history_json(Some(1), Some(0))), ["a"]);
        assert_eq!(keys(m.history_json(None, None)), ["a", "b", "c"]);
        assert_eq!(keys(m.history_one("zzz")), Vec::<String>::new());
    }

    #[test]
    fn reconnect_keeps_newest_socket() {
        let m = mock(&[]);
        let (tx1, _rx1) = mpsc::unbounded_channel();
        let (tx2, mut rx2) = mpsc::unbounded_channel();
        let old = m.register("c", tx1);
        let new = m.register("c", tx2);
        m.unregister(old);
        assert_eq!(m.client_ids(), ["c"]);
        m.send_to("c", "x".into());
        let first = rx2.try_recv().unwrap();
        assert!(matches!(first, Out::Text(t) if t.contains("\"sid\":\"c\"")));
        assert!(matches!(rx2.try_recv().unwrap(), Out::Text(t) if t == "x"));
        m.unregister(new);
        assert!(m.client_ids().is_empty());
    }
}
