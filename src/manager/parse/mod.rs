//! Parsers for what a real ComfyUI server sends. Key names come from the
//! captures in `shared/fixtures/comfyui`; nothing here reads a key the server
//! does not send. Every parser takes untrusted bytes and returns an error
//! string rather than panicking.

use serde::Deserialize;

use super::status::Device;

mod queue;
pub use queue::{QUEUE_IDS_MAX, Queue, queue};

/// The fields of `GET /system_stats` that comfyctl reports.
#[derive(Debug, Clone, PartialEq)]
pub struct SystemStats {
    /// `system.comfyui_version` (absent on very old servers).
    pub version: Option<String>,
    /// `system.ram_total`.
    pub ram_total: Option<u64>,
    /// `system.ram_free`.
    pub ram_free: Option<u64>,
    /// `system.python_version`.
    pub python_version: Option<String>,
    /// `system.pytorch_version`.
    pub pytorch_version: Option<String>,
    /// `devices`.
    pub devices: Vec<Device>,
}

#[derive(Deserialize)]
struct RawSystemStats {
    system: RawSystem,
    devices: Vec<RawDevice>,
}

#[derive(Deserialize)]
struct RawSystem {
    comfyui_version: Option<String>,
    ram_total: Option<serde_json::Number>,
    ram_free: Option<serde_json::Number>,
    python_version: Option<String>,
    pytorch_version: Option<String>,
}

#[derive(Deserialize)]
struct RawDevice {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    vram_total: Option<serde_json::Number>,
    vram_free: Option<serde_json::Number>,
    torch_vram_free: Option<serde_json::Number>,
}

fn bytes(n: Option<serde_json::Number>) -> Option<u64> {
    let n = n?;
    n.as_u64()
        .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// Parses the body of `GET /system_stats`.
pub fn system_stats(body: &[u8]) -> Result<SystemStats, String> {
    let raw: RawSystemStats = serde_json::from_slice(body).map_err(describe)?;
    Ok(SystemStats {
        version: raw.system.comfyui_version,
        ram_total: bytes(raw.system.ram_total),
        ram_free: bytes(raw.system.ram_free),
        python_version: raw.system.python_version,
        pytorch_version: raw.system.pytorch_version,
        devices: raw
            .devices
            .into_iter()
            .map(|d| Device {
                name: d.name,
                kind: d.kind,
                vram_total: bytes(d.vram_total),
                vram_free: bytes(d.vram_free),
                torch_vram_free: bytes(d.torch_vram_free),
            })
            .collect(),
    })
}

#[derive(Deserialize)]
struct RawPromptInfo {
    exec_info: RawExecInfo,
}

#[derive(Deserialize)]
struct RawExecInfo {
    queue_remaining: u64,
}

/// Parses `GET /prompt` into `exec_info.queue_remaining`.
pub fn prompt_info(body: &[u8]) -> Result<u64, String> {
    let raw: RawPromptInfo = serde_json::from_slice(body).map_err(describe)?;
    Ok(raw.exec_info.queue_remaining)
}

/// Which ComfyUI WebSocket message a [`Event::Progress`] came from; shown
/// as the message's own `type` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressKind {
    /// `executing`: a node started, or (node null) the prompt finished.
    Executing,
    /// `progress`: steps done on one node.
    Progress,
    /// `progress_state`: the running node of a prompt sent without a client id.
    ProgressState,
    /// `execution_start`.
    ExecutionStart,
    /// `execution_cached`.
    ExecutionCached,
    /// `execution_success`.
    ExecutionSuccess,
    /// `execution_error`.
    ExecutionError,
    /// `execution_interrupted`.
    ExecutionInterrupted,
}

impl ProgressKind {
    /// The `execution_*` message type named `name`, if it is one.
    pub fn execution(name: &str) -> Option<ProgressKind> {
        Some(match name {
            "execution_start" => ProgressKind::ExecutionStart,
            "execution_cached" => ProgressKind::ExecutionCached,
            "execution_success" => ProgressKind::ExecutionSuccess,
            "execution_error" => ProgressKind::ExecutionError,
            "execution_interrupted" => ProgressKind::ExecutionInterrupted,
            _ => return None,
        })
    }

    /// The prompt is over (finished, failed or interrupted): no node runs.
    pub fn ends_prompt(self) -> bool {
        matches!(
            self,
            ProgressKind::ExecutionSuccess
                | ProgressKind::ExecutionError
                | ProgressKind::ExecutionInterrupted
        )
    }
}

/// A WebSocket message from the server, as far as comfyctl uses it.
#[derive(Debug, Clone, PartialEq)]
pub enum WsMessage {
    /// `status`: `data.status.exec_info.queue_remaining`, and `data.sid` on
    /// the first message of a connection.
    Status {
        /// Prompts queued or running.
        queue_remaining: u64,
        /// The session id the server assigned (the clientId we sent).
        sid: Option<String>,
    },
    /// `executing`: `data.node` is null when the prompt finished.
    Executing {
        /// The prompt.
        prompt_id: Option<String>,
        /// The node now running, or None when the prompt is done.
        node: Option<String>,
    },
    /// `progress`: `data.value` of `data.max` steps on `data.node`.
    Progress {
        /// The prompt.
        prompt_id: Option<String>,
        /// The node.
        node: Option<String>,
        /// Steps done.
        value: u64,
        /// Steps in all.
        max: u64,
    },
    /// `progress_state` (broadcast for prompts sent without a client_id):
    /// the node whose `state` is `running`, if one is.
    ProgressState {
        /// The prompt.
        prompt_id: Option<String>,
        /// The running node.
        node: String,
        /// `value` of that node.
        value: f64,
        /// `max` of that node.
        max: f64,
    },
    /// `execution_start`, `execution_success`, `execution_error`,
    /// `execution_interrupted` or `execution_cached`.
    Execution {
        /// The message type, e.g. `execution_error`.
        kind: ProgressKind,
        /// The prompt.
        prompt_id: Option<String>,
    },
    /// Any other type: `executed`, `feature_flags`, or
    /// something newer than this parser.
    Other(String),
}

#[derive(Deserialize)]
struct RawWs {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    data: serde_json::Value,
}

/// Parses a text frame. An error means the frame was not a ComfyUI message.
pub fn ws_message(text: &str) -> Result<WsMessage, String> {
    let raw: RawWs = serde_json::from_str(text).map_err(describe)?;
    let data = &raw.data;
    let str_at = |key: &str| data.get(key).and_then(|v| v.as_str()).map(String::from);
    Ok(match raw.kind.as_str() {
        "status" => {
            let queue_remaining = data
                .pointer("/status/exec_info/queue_remaining")
                .and_then(|v| v.as_u64())
                .ok_or("status message without status.exec_info.queue_remaining")?;
            WsMessage::Status {
                queue_remaining,
                sid: str_at("sid"),
            }
        }
        "executing" => WsMessage::Executing {
            prompt_id: str_at("prompt_id"),
            node: str_at("node"),
        },
        "progress" => WsMessage::Progress {
            prompt_id: str_at("prompt_id"),
            node: str_at("node"),
            value: data.get("value").and_then(|v| v.as_u64()).unwrap_or(0),
            max: data.get("max").and_then(|v| v.as_u64()).unwrap_or(0),
        },
        "progress_state" => {
            let running = data
                .get("nodes")
                .and_then(|n| n.as_object())
                .and_then(|nodes| {
                    nodes
                        .iter()
                        .find(|(_, n)| n.get("state").and_then(|s| s.as_str()) == Some("running"))
                });
            match running {
                Some((id, n)) => WsMessage::ProgressState {
                    prompt_id: str_at("prompt_id"),
                    node: id.clone(),
                    value: n.get("value").and_then(|v| v.as_f64()).unwrap_or(0.0),
                    max: n.get("max").and_then(|v| v.as_f64()).unwrap_or(0.0),
                },
                None => WsMessage::Other(raw.kind),
            }
        }
        other => match ProgressKind::execution(other) {
            Some(kind) => WsMessage::Execution {
                kind,
                prompt_id: str_at("prompt_id"),
            },
            None => WsMessage::Other(raw.kind),
        },
    })
}

/// serde_json's message, without echoing the body back.
fn describe(e: serde_json::Error) -> String {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof => format!("not valid JSON ({e})"),
        Category::Data => format!("unexpected JSON shape ({e})"),
        Category::Io => format!("read error ({e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYSTEM_STATS: &str = r#"{"system": {"os": "posix", "ram_total": 25276502016, "ram_free": 24007106560, "comfyui_version": "0.3.64", "python_version": "3.11.7", "pytorch_version": "2.15.0+cu132", "embedded_python": false, "argv": []}, "devices": [{"name": "cpu", "type": "cpu", "index": null, "vram_total": 25276502016, "vram_free": 24007106560, "torch_vram_total": 1, "torch_vram_free": 1}]}"#;

    #[test]
    fn system_stats_reads_the_captured_keys() {
        let s = system_stats(SYSTEM_STATS.as_bytes()).unwrap();
        assert_eq!(s.version.as_deref(), Some("0.3.64"));
        assert_eq!(s.ram_total, Some(25276502016));
        assert_eq!(s.devices[0].kind, "cpu");
        assert_eq!(s.devices[0].vram_free, Some(24007106560));
    }

    #[test]
    fn wrong_shapes_are_errors_not_panics() {
        for body in [
            "",
            "{",
            "<html>502</html>",
            r#"{"hello":"world"}"#,
            "[]",
            "null",
        ] {
            assert!(system_stats(body.as_bytes()).is_err(), "{body}");
            assert!(prompt_info(body.as_bytes()).is_err(), "{body}");
            assert!(queue(body.as_bytes()).is_err(), "{body}");
        }
    }

    #[test]
    fn queue_counts_and_running_id() {
        let body = r#"{"queue_running": [[9, "ce96", {"1": {}}, {"client_id": "x"}, ["2"]]], "queue_pending": [[10, "d7", {}, {}, []], [11, "b6", {}, {}, []]]}"#;
        let q = queue(body.as_bytes()).unwrap();
        assert_eq!((q.running, q.pending), (1, 2));
        assert_eq!(q.running_prompt_id.as_deref(), Some("ce96"));
        let idle = queue(br#"{"queue_running": [], "queue_pending": []}"#).unwrap();
        assert_eq!(idle, Queue::default());
    }

    #[test]
    fn prompt_info_reads_queue_remaining() {
        assert_eq!(
            prompt_info(br#"{"exec_info": {"queue_remaining": 3}}"#),
            Ok(3)
        );
    }

    #[test]
    fn ws_messages_from_the_captures() {
        let first = r#"{"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": "ae37"}}"#;
        assert_eq!(
            ws_message(first).unwrap(),
            WsMessage::Status {
                queue_remaining: 0,
                sid: Some("ae37".into())
            }
        );
        let done = r#"{"type": "executing", "data": {"node": null, "prompt_id": "p"}}"#;
        assert_eq!(
            ws_message(done).unwrap(),
            WsMessage::Executing {
                prompt_id: Some("p".into()),
                node: None
            }
        );
        let progress = r#"{"type": "progress", "data": {"value": 1, "max": 2, "prompt_id": "p", "node": "2"}}"#;
        assert!(matches!(
            ws_message(progress).unwrap(),
            WsMessage::Progress {
                value: 1,
                max: 2,
                ..
            }
        ));
        assert_eq!(
            ws_message(r#"{"type":"some_future_type","data":{}}"#).unwrap(),
            WsMessage::Other("some_future_type".into())
        );
        let state = r#"{"type": "progress_state", "data": {"prompt_id": "p", "nodes": {"1": {"value": 1.0, "max": 1.0, "state": "finished", "node_id": "1"}, "2": {"value": 0.0, "max": 1.0, "state": "running", "node_id": "2"}}}}"#;
        assert_eq!(
            ws_message(state).unwrap(),
            WsMessage::ProgressState {
                prompt_id: Some("p".into()),
                node: "2".into(),
                value: 0.0,
                max: 1.0
            }
        );
        assert!(ws_message("not json").is_err());
        assert!(ws_message(r#"{"type":"status","data":{}}"#).is_err());
    }

    #[test]
    fn queue_keeps_unfinished_ids_and_the_0_33_create_time() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/fixtures/comfyui-0.33/cancel_http_snapshots.json"
        );
        let snapshots: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let busy = snapshots
            .as_array()
            .unwrap()
            .iter()
            .map(|s| &s["body"])
            .find(|b| b["queue_running"].as_array().is_some_and(|r| !r.is_empty()))
            .unwrap();
        let q = queue(&serde_json::to_vec(busy).unwrap()).unwrap();
        let running = busy["queue_running"][0][1].as_str().unwrap();
        assert_eq!(q.unfinished.first().map(String::as_str), Some(running));
        assert_eq!(q.unfinished.len() as u64, q.running + q.pending);
        assert_eq!(
            q.running_create_ms,
            busy["queue_running"][0][3]["create_time"].as_u64()
        );
        assert!(q.running_create_ms.is_some());
        // 0.3.64 has no create_time; odd extra_data is dropped, not an error.
        let old = br#"{"queue_running": [[0, "a", {}, {"client_id": "x"}, []]], "queue_pending": [[1, "b", {}, 7, []]]}"#;
        let q = queue(old).unwrap();
        assert_eq!(q.running_create_ms, None);
        assert_eq!(q.unfinished, ["a", "b"]);
    }
}
