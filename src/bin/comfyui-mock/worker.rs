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
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};

use crate::clients::message;
use crate::nodes::{execution_order, link_target};
use crate::state::Mock;
use crate::store::{QueueItem, now_ms};

/// A 1x1 PNG, the payload of simulated preview frames.
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// Binary event type of a preview image (`BinaryEventTypes.PREVIEW_IMAGE`).
const PREVIEW_IMAGE: u32 = 1;
/// Binary event type of a preview with JSON metadata, for clients that sent
/// `feature_flags` with `supports_preview_metadata`.
const PREVIEW_IMAGE_WITH_METADATA: u32 = 4;
/// Image format code for PNG in type-1 frames.
const FORMAT_PNG: u32 = 2;

/// Caps simulated step counts so a silly `steps` value cannot wedge a test.
const MAX_STEPS: u64 = 1000;

static IMAGE_COUNTER: AtomicU64 = AtomicU64::new(1);

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

/// A preview frame as ComfyUI sends it: type 1 + format + image bytes, or
/// type 4 + metadata length + JSON metadata + image bytes.
pub fn preview_frame(with_metadata: bool, prompt_id: &str, node: &str) -> Vec<u8> {
    let mut frame = Vec::with_capacity(TINY_PNG.len() + 256);
    if with_metadata {
        let meta = json!({
            "node_id": node, "prompt_id": prompt_id, "display_node_id": node,
            "parent_node_id": null, "real_node_id": node, "image_type": "image/png",
        })
        .to_string();
        frame.extend_from_slice(&PREVIEW_IMAGE_WITH_METADATA.to_be_bytes());
        frame.extend_from_slice(&(meta.len() as u32).to_be_bytes());
        frame.extend_from_slice(meta.as_bytes());
    } else {
        frame.extend_from_slice(&PREVIEW_IMAGE.to_be_bytes());
        frame.extend_from_slice(&FORMAT_PNG.to_be_bytes());
    }
    frame.extend_from_slice(TINY_PNG);
    frame
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

/// How a node spends its time.
enum Plan {
    /// One step, no `progress` messages (most nodes).
    Single,
    /// `progress` for each value; previews go out as binary frames.
    Steps {
        values: Vec<u64>,
        max: u64,
        previews: bool,
    },
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

    async fn run_nodes(&mut self) -> Ending {
        let order = execution_order(&self.item.prompt, &self.item.outputs);
        let step = self.mock.args.step();
        for id in order {
            let node = self.item.prompt[&id].clone();
            let class = node["class_type"].as_str().unwrap_or_default().to_owned();
            let pid = self.pid().to_owned();

            self.progress.insert(
                id.clone(),
                NodeProgress {
                    value: Num::Float(0.0),
                    max: Num::Float(1.0),
                    finished: false,
                },
            );
            self.send_progress_state();
            self.mock.set_executing(self.client.as_deref(), &id);
            self.to_client(
                "executing",
                json!({"node": id, "display_node": id, "prompt_id": pid}),
            );

            if let Some(error) = self.run_time_error(&id, &class, &node) {
                return Ending::Error { error };
            }
            let finished_at = match self.plan(&class, &node) {
                Plan::Single => {
                    tokio::time::sleep(step).await;
                    if self.interrupted() {
                        return Ending::Interrupted { node: id, class };
                    }
                    (Num::Float(1.0), Num::Float(1.0))
                }
                Plan::Steps {
                    values,
                    max,
                    previews,
                } => {
                    for value in values {
                        if self.interrupted() {
                            return Ending::Interrupted { node: id, class };
                        }
                        self.progress.insert(
                            id.clone(),
                            NodeProgress {
                                value: Num::Int(value),
                                max: Num::Int(max),
                                finished: false,
                            },
                        );
                        self.send_progress_state();
                        self.to_client(
                            "progress",
                            json!({"value": value, "max": max, "prompt_id": pid, "node": id}),
                        );
                        if previews && let Some(sid) = &self.client {
                            self.mock
                                .send_binary(sid, |meta| preview_frame(meta, &pid, &id));
                        }
                        tokio::time::sleep(step).await;
                    }
                    if self.interrupted() {
                        return Ending::Interrupted { node: id, class };
                    }
                    (Num::Int(max), Num::Int(max))
                }
            };

            if let Some(ui) = ui_output(&class) {
                self.to_client(
                    "executed",
                    json!({"node": id, "display_node": id, "output": ui, "prompt_id": pid}),
                );
                self.outputs.insert(id.clone(), ui);
                self.meta.insert(
                    id.clone(),
                    json!({"node_id": id, "display_node": id, "parent_node": null, "real_node_id": id}),
                );
            }
            self.progress.insert(
                id.clone(),
                NodeProgress {
                    value: finished_at.0,
                    max: finished_at.1,
                    finished: true,
                },
            );
            self.send_progress_state();
            self.executed.push(id);
        }
        Ending::Success
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

    /// SaveImage refuses a `filename_prefix` that leaves the output folder:
    /// the `execution_error` data of `api_job_C_failed_detail.json`, with a
    /// short traceback and the install folder replaced.
    fn run_time_error(&self, id: &str, class: &str, node: &Value) -> Option<Value> {
        let prefix = node["inputs"]["filename_prefix"].as_str()?;
        if class != "SaveImage" || !prefix.contains("..") {
            return None;
        }
        let root = "/opt/ComfyUI";
        let mut outputs = self.executed.clone();
        outputs.push(id.to_owned());
        Some(json!({
            "prompt_id": self.pid(),
            "node_id": id,
            "node_type": class,
            "executed": self.executed,
            "exception_message": format!(
                "**** ERROR: Saving image outside the output folder is not allowed.\n full_output_folder: {root}\n         output_dir: {root}/output\n"
            ),
            "exception_type": "Exception",
            "traceback": [
                format!("  File \"{root}/nodes.py\", line 1694, in save_images\n    full_output_folder, filename, counter, subfolder, filename_prefix = folder_paths.get_save_image_path(filename_prefix, self.output_dir, images[0].shape[1], images[0].shape[0])\n"),
                format!("  File \"{root}/folder_paths.py\", line 557, in get_save_image_path\n    raise Exception(err)\n"),
            ],
            "current_inputs": {
                "images": ["tensor([[[[0.0000, 0.0000, 0.0039]]]])"],
                "filename_prefix": [prefix],
                "prompt": [Value::Object(self.item.prompt.clone()).to_string()],
                "extra_pnginfo": [null],
            },
            "current_outputs": outputs,
            "timestamp": now_ms(),
        }))
    }

    /// KSampler reports `steps` (values 1..=steps, as its callback does);
    /// SaveImageWebsocket reports one step per image (values 0..batch) with a
    /// preview frame each, as in the captures. Other nodes take one step.
    fn plan(&self, class: &str, node: &Value) -> Plan {
        match class {
            "KSampler" => {
                let steps = node["inputs"]["steps"].as_u64().unwrap_or(20);
                let steps = steps.clamp(1, MAX_STEPS);
                Plan::Steps {
                    values: (1..=steps).collect(),
                    max: steps,
                    previews: false,
                }
            }
            "SaveImageWebsocket" => {
                let batch = self.batch_size(node).clamp(1, MAX_STEPS);
                Plan::Steps {
                    values: (0..batch).collect(),
                    max: batch,
                    previews: true,
                }
            }
            _ => Plan::Single,
        }
    }

    /// `batch_size` of the node feeding `images`, when it has one.
    fn batch_size(&self, node: &Value) -> u64 {
        link_target(&node["inputs"]["images"])
            .and_then(|src| self.item.prompt.get(src))
            .and_then(|src| src["inputs"]["batch_size"].as_u64())
            .unwrap_or(1)
    }
}

/// The UI output of image-saving nodes (`executed.output`, history `outputs`).
fn ui_output(class: &str) -> Option<Value> {
    let (prefix, kind) = match class {
        "PreviewImage" => ("ComfyUI_temp_mock_", "temp"),
        "SaveImage" => ("ComfyUI_", "output"),
        _ => return None,
    };
    let n = IMAGE_COUNTER.fetch_add(1, Ordering::Relaxed);
    let filename = format!("{prefix}{n:05}_.png");
    Some(json!({"images": [{"filename": filename, "subfolder": "", "type": kind}]}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_frames_have_captured_headers() {
        let plain = preview_frame(false, "p", "2");
        assert_eq!(&plain[..8], &[0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(&plain[8..16], &TINY_PNG[..8]);
        let meta = preview_frame(true, "p", "2");
        assert_eq!(&meta[..4], &[0, 0, 0, 4]);
        let len = u32::from_be_bytes(meta[4..8].try_into().unwrap()) as usize;
        let json: Value = serde_json::from_slice(&meta[8..8 + len]).unwrap();
        assert_eq!(json["image_type"], "image/png");
        assert_eq!(&meta[8 + len..], TINY_PNG);
    }
}
