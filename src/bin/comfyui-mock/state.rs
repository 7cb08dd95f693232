//! One mock server: its configuration, its switches and counters, and the
//! queue/history store and WebSocket clients behind one lock.
//!
//! Every queue change and the `status` broadcast it causes happen under that
//! lock, so all clients see status messages in the order of the changes.

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::{Notify, mpsc};

use crate::args::Args;
use crate::nodes::{self, Models};
use crate::sockets::{Clients, Out};
use crate::store::{HistoryView, JobsSnapshot, QueueItem, Store};

#[derive(Default)]
struct Inner {
    store: Store,
    clients: Clients,
}

impl Inner {
    fn broadcast_status(&self) {
        self.clients.broadcast_status(self.store.remaining());
    }
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
    inner: Mutex<Inner>,
}

impl Mock {
    /// A mock with the `--queue` placeholders already queued.
    pub fn new(args: Arc<Args>) -> crate::Result<Arc<Self>> {
        let models = Models::from_args(&args)?;
        let object_info = nodes::object_info(&models);
        let mock = Arc::new(Self {
            refuse_ws: AtomicBool::new(args.refuse_ws),
            interrupt: AtomicBool::new(false),
            work: Notify::new(),
            requests: AtomicU64::new(0),
            system_stats_requests: AtomicU64::new(0),
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
        self.lock().store.remaining()
    }

    /// `GET /queue` body.
    pub fn queue_json(&self) -> Value {
        self.lock().store.queue_json()
    }

    /// Replaces the placeholder queue with `n` items (1 running, n-1 pending)
    /// and optionally broadcasts status twice, as a queue change usually does.
    pub fn set_fake_queue(&self, n: usize, broadcast: bool) {
        let mut inner = self.lock();
        inner.store.set_fake_queue(n);
        if broadcast {
            inner.broadcast_status();
            inner.broadcast_status();
        }
    }

    /// Takes the next prompt number (also used by rejected prompts, as in
    /// ComfyUI).
    pub fn next_number(&self) -> i64 {
        self.lock().store.next_number()
    }

    /// Queues a prompt, broadcasts status and wakes the worker.
    pub fn enqueue(&self, item: QueueItem) {
        let mut inner = self.lock();
        inner.store.push(item);
        inner.broadcast_status();
        drop(inner);
        self.work.notify_one();
    }

    /// Moves the next pending prompt to running (broadcasting status, like
    /// the real queue's `get`), or `None` when nothing is pending.
    pub fn take_next(&self) -> Option<QueueItem> {
        let mut inner = self.lock();
        let item = inner.store.take_next()?;
        inner.broadcast_status();
        Some(item)
    }

    /// Ends the running prompt: stores its history entry and broadcasts the
    /// shorter queue.
    pub fn finish(&self, prompt_id: &str, entry: Value) {
        let mut inner = self.lock();
        inner.store.finish(prompt_id, entry);
        inner.clients.set_executing(None);
        inner.broadcast_status();
    }

    /// The prompt id currently executing, if any.
    pub fn running_id(&self) -> Option<String> {
        self.lock().store.running_id()
    }

    /// Removes every pending item (`POST /queue {"clear": true}`).
    pub fn clear_pending(&self) {
        let mut inner = self.lock();
        inner.store.clear_pending();
        inner.broadcast_status();
    }

    /// Removes pending items by prompt id (`POST /queue {"delete": [...]}`).
    pub fn delete_pending(&self, ids: &[&str]) {
        let mut inner = self.lock();
        if inner.store.delete_pending(ids) {
            inner.broadcast_status();
        }
    }

    /// `GET /history[?max_items=N&offset=M]` (see [`Store::history_json`]).
    pub fn history_json(&self, max_items: Option<usize>, offset: Option<i64>) -> HistoryView {
        self.lock().store.history_json(max_items, offset)
    }

    /// `GET /history/{prompt_id}`: `{}` when unknown.
    pub fn history_one(&self, prompt_id: &str) -> HistoryView {
        self.lock().store.history_one(prompt_id)
    }

    /// `POST /history`: clear all or delete some entries.
    pub fn edit_history(&self, clear: bool, delete: &[&str]) {
        self.lock().store.edit_history(clear, delete);
    }

    /// Registers a socket under `sid` and queues its initial messages, so
    /// nothing broadcast later can overtake them. Returns the connection id.
    pub fn register(&self, sid: &str, tx: mpsc::UnboundedSender<Out>) -> u64 {
        let mut inner = self.lock();
        let remaining = inner.store.remaining();
        inner.clients.register(sid, tx, remaining)
    }

    /// Forgets a socket; its client id is released only if no newer socket
    /// took it over.
    pub fn unregister(&self, conn: u64) {
        self.lock().clients.unregister(conn);
    }

    /// Remembers that a client asked for preview metadata (binary type 4).
    pub fn set_preview_metadata(&self, conn: u64, on: bool) {
        self.lock().clients.set_preview_metadata(conn, on);
    }

    /// Sends a message to the socket of one client id (ComfyUI's `sid`).
    pub fn send_to(&self, sid: &str, text: String) {
        self.lock().clients.send_sid(sid, Out::Text(text));
    }

    /// Sends a message to one socket, whoever owns its client id now.
    pub fn send_to_conn(&self, conn: u64, text: String) {
        self.lock().clients.send_to_conn(conn, text);
    }

    /// Sends to `sid`, or to everyone when the prompt had no client id
    /// (how ComfyUI routes `progress_state`).
    pub fn send_or_broadcast(&self, sid: Option<&str>, text: String) {
        let inner = self.lock();
        match sid {
            Some(sid) => inner.clients.send_sid(sid, Out::Text(text)),
            None => inner.clients.broadcast(&text),
        }
    }

    /// Sends a binary frame built for the client's preview format.
    pub fn send_binary(&self, sid: &str, frame: impl FnOnce(bool) -> Vec<u8>) {
        self.lock().clients.send_binary(sid, frame);
    }

    /// Broadcasts the current queue length to every client.
    pub fn broadcast_status(&self) {
        self.lock().broadcast_status();
    }

    /// Records the node being executed for `client` (cleared by `finish`).
    pub fn set_executing(&self, client: Option<&str>, node: &str) {
        let executing = client.map(|c| (c.to_owned(), node.to_owned()));
        self.lock().clients.set_executing(executing);
    }

    /// Tells every socket (replaced ones included) to do `out`; returns how
    /// many were told.
    pub fn tell_all(&self, out: impl Fn() -> Out) -> usize {
        self.lock().clients.tell_all(out)
    }

    /// Number of open sockets.
    pub fn open_sockets(&self) -> usize {
        self.lock().clients.open_sockets()
    }

    /// Every job the Jobs API knows (see [`Store::jobs_snapshot`]).
    pub fn jobs_snapshot(&self) -> JobsSnapshot {
        self.lock().store.jobs_snapshot()
    }

    /// Client ids that currently own a socket, sorted.
    pub fn client_ids(&self) -> Vec<String> {
        self.lock().clients.client_ids()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

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
