//! Executes queued prompts one at a time, replaying the message sequence of
//! the real-server captures (`ws_run1_uncached.jsonl`,
//! `ws_run3_websocket_image.jsonl`, `ws_run7_busy_queue_interrupt.jsonl`).
//!
//! Routing follows ComfyUI: messages with a `prompt_id` go only to the socket
//! of the prompt's `client_id` (and nowhere when it has none), `status` goes
//! to everyone, and `progress_state` goes to the client or, for a prompt
//! without client id, to everyone.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde_json::{Map, Value, json};

use crate::node_sim::{NodeCall, Plan, ui_output};
use crate::nodes::execution_order;
use crate::preview::preview_frame;
use crate::sockets::message;
use crate::state::Mock;
use crate::store::{QueueItem, now_ms};

/// Runs queued prompts forever.
pub async fn run(mock: Arc<Mock>) {
    loop {
        // `Notify` keeps a permit, so a prompt queued between `take_next`
        // and `notified` is not missed.
        match mock.take_next() {
            Some(item) => Execution::new(&mock, item).run().await,
            None => mock.work.notified().await,
        }
    }
}

/// Per-node progress as shown in `progress_state`.
#[derive(Clone, Copy)]
struct NodeProgress {
    value: Num,
    max: Num,
    finished: bool,
}

/// ComfyUI sends `0.0`/`1.0` floats for plain nodes and integers for
/// nodes with a step count; keep that difference.
#[derive(Clone, Copy)]
enum Num {
    Float(f64),
    Int(u64),
}

impl Num {
    fn json(self) -> Value {
        match self {
            Self::Float(f) => json!(f),
            Self::Int(i) => json!(i),
        }
    }
}

/// Outcome of running the nodes.
enum Ending {
    Success,
    Interrupted {
        node: String,
        class: String,
    },
    /// A node raised while running (the captured SaveImage failure).
    Error {
        error: Value,
    },
}

struct Execution<'a> {
    mock: &'a Mock,
    item: QueueItem,
    client: Option<String>,
    /// `[type, data]` pairs kept in the history entry's `status.messages`.
    messages: Vec<Value>,
    progress: BTreeMap<String, NodeProgress>,
    executed: Vec<String>,
    outputs: Map<String, Value>,
    meta: Map<String, Value>,
}

impl<'a> Execution<'a> {
    fn new(mock: &'a Mock, item: QueueItem) -> Self {
        Self {
            mock,
            client: item.client_id().map(str::to_owned),
            item,
            messages: Vec::new(),
            progress: BTreeMap::new(),
            executed: Vec::new(),
            outputs: Map::new(),
            meta: Map::new(),
        }
    }

    fn pid(&self) -> &str {
        &self.item.prompt_id
    }

    /// Sends to the submitting client only; dropped when there is none.
    fn to_client(&self, kind: &str, data: Value) {
        if let Some(sid) = &self.client {
            self.mock.send_to(sid, message(kind, data));
        }
    }

    /// Sends to the client and records the message for the history entry.
    fn record(&mut self, kind: &str, data: Value) {
        self.to_client(kind, data.clone());
        self.messages.push(json!([kind, data]));
    }

    fn send_progress_state(&self) {
        let pid = self.pid();
        let nodes: Map<String, Value> = self
            .progress
            .iter()
            .map(|(id, p)| {
                let state = if p.finished { "finished" } else { "running" };
                let v = json!({
                    "value": p.value.json(), "max": p.max.json(), "state": state,
                    "node_id": id, "prompt_id": pid, "display_node_id": id,
                    "parent_node_id": null, "real_node_id": id,
                });
                (id.clone(), v)
            })
            .collect();
        let msg = message("progress_state", json!({"prompt_id": pid, "nodes": nodes}));
        self.mock.send_or_broadcast(self.client.as_deref(), msg);
    }

    fn interrupted(&self) -> bool {
        self.mock.interrupt.load(Ordering::SeqCst)
    }

    async fn run(mut self) {
        self.mock.interrupt.store(false, Ordering::SeqCst);
        let pid = self.pid().to_owned();
        self.record(
            "execution_start",
            json!({"prompt_id": pid, "timestamp": now_ms()}),
        );
        self.record(
            "execution_cached",
            json!({"nodes": [], "prompt_id": pid, "timestamp": now_ms()}),
        );

        self.hold().await;
        let ending = self.run_nodes().await;
        let (status_str, completed) = match ending {
            Ending::Success => {
                self.record(
                    "execution_success",
                    json!({"prompt_id": pid, "timestamp": now_ms()}),
                );
                ("success", true)
            }
            Ending::Interrupted { node, class } => {
                let data = json!({
                    "prompt_id": pid, "node_id": node, "node_type": class,
                    "executed": self.executed, "timestamp": now_ms(),
                });
                self.record("execution_interrupted", data);
                ("error", false)
            }
            Ending::Error { error } => {
                self.record("execution_error", error);
                ("error", false)
            }
        };
        let entry = json!({
            "prompt": self.item.to_json(),
            "outputs": self.outputs,
            "status": {"status_str": status_str, "completed": completed, "messages": self.messages},
            "meta": self.meta,
        });
        self.mock.finish(&pid, entry);
        self.to_client("executing", json!({"node": null, "prompt_id": pid}));
    }

    /// Runs the nodes the outputs need, dependencies first, until one
    /// fails or an interrupt is seen.
    async fn run_nodes(&mut self) -> Ending {
        let order = execution_order(&self.item.prompt, &self.item.outputs);
        for (n, id) in order.into_iter().enumerate() {
            let node = self.item.prompt[&id].clone();
            let class = node["class_type"].as_str().unwrap_or_default().to_owned();
            self.start_node(&id);
            if n == 0 {
                self.block_loop().await;
            }
            let call = NodeCall {
                prompt_id: self.pid(),
                prompt: &self.item.prompt,
                id: &id,
                class: &class,
                node: &node,
            };
            if let Some(error) = call.run_time_error(&self.executed, &self.mock.models) {
                return Ending::Error { error };
            }
            let plan = call.plan();
            let Some(done) = self.spend(&id, plan).await else {
                return Ending::Interrupted { node: id, class };
            };
            self.finish_node(id, &class, done);
        }
        Ending::Success
    }

    /// `--block-loop-ms`: lets the `executing` frame go out, then blocks
    /// the runtime's only thread, so no request or frame is answered.
    async fn block_loop(&self) {
        let Some(ms) = self.mock.args.block_loop_ms else {
            return;
        };
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        eprintln!("comfyui-mock: blocking the event loop for {ms} ms");
        std::thread::sleep(std::time::Duration::from_millis(ms));
        eprintln!("comfyui-mock: event loop unblocked");
    }

    /// Sets one node's entry of the next `progress_state`.
    fn set_progress(&mut self, id: &str, value: Num, max: Num, finished: bool) {
        let progress = NodeProgress {
            value,
            max,
            finished,
        };
        self.progress.insert(id.to_owned(), progress);
    }

    /// A node starts: `progress_state` with it at 0 of 1, then `executing`
    /// (also remembered for a client that reconnects meanwhile).
    fn start_node(&mut self, id: &str) {
        self.set_progress(id, Num::Float(0.0), Num::Float(1.0), false);
        self.send_progress_state();
        self.mock.set_executing(self.client.as_deref(), id);
        let data = json!({"node": id, "display_node": id, "prompt_id": self.pid()});
        self.to_client("executing", data);
    }

    /// Spends the node's time as `plan` says. `None` when an interrupt was
    /// seen; otherwise the progress value (and max) it finished at.
    async fn spend(&mut self, id: &str, plan: Plan) -> Option<Num> {
        let step = self.mock.args.step();
        match plan {
            Plan::Single => {
                tokio::time::sleep(self.mock.args.node()).await;
                (!self.interrupted()).then_some(Num::Float(1.0))
            }
            Plan::Steps {
                values,
                max,
                previews,
            } => {
                for value in values {
                    if self.interrupted() {
                        return None;
                    }
                    self.report_step(id, value, max, previews);
                    tokio::time::sleep(step).await;
                }
                (!self.interrupted()).then_some(Num::Int(max))
            }
        }
    }

    /// One step of a stepping node: `progress_state`, `progress`, and a
    /// preview frame when the node sends them.
    fn report_step(&mut self, id: &str, value: u64, max: u64, previews: bool) {
        self.set_progress(id, Num::Int(value), Num::Int(max), false);
        self.send_progress_state();
        let pid = self.pid();
        self.to_client(
            "progress",
            json!({"value": value, "max": max, "prompt_id": pid, "node": id}),
        );
        if previews && let Some(sid) = &self.client {
            self.mock
                .send_binary(sid, |meta| preview_frame(meta, pid, id));
        }
    }

    /// A node ends: `executed` and its history output for image nodes, then
    /// `progress_state` with it finished at `done`.
    fn finish_node(&mut self, id: String, class: &str, done: Num) {
        if let Some(ui) = ui_output(class) {
            self.to_client(
                "executed",
                json!({"node": id, "display_node": id, "output": ui, "prompt_id": self.pid()}),
            );
            self.outputs.insert(id.clone(), ui);
            self.meta.insert(
                id.clone(),
                json!({"node_id": id, "display_node": id, "parent_node": null, "real_node_id": id}),
            );
        }
        self.set_progress(&id, done, done, true);
        self.send_progress_state();
        self.executed.push(id);
    }

    /// `/__mock/job` pacing: occupy the executor for the asked time (an
    /// interrupt ends it early), then interrupt if the job is to be cancelled.
    async fn hold(&self) {
        let Some(hold) = self.item.hold else { return };
        let until = tokio::time::Instant::now() + std::time::Duration::from_millis(hold.ms);
        while tokio::time::Instant::now() < until && !self.interrupted() {
            let left = until.saturating_duration_since(tokio::time::Instant::now());
            tokio::time::sleep(left.min(std::time::Duration::from_millis(20))).await;
        }
        if hold.cancel {
            self.mock.interrupt.store(true, Ordering::SeqCst);
        }
    }
}
