//! The ComfyUI HTTP API subset, served at `/` and under `/api`: system
//! stats, prompt submission, queue, interrupt, history, and the node and
//! model catalogue.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::{internal_error, json_reply, ok_json};
use crate::faults;
use crate::nodes::{self, Rejected};
use crate::state::Mock;
use crate::store::{QueueItem, new_uuid, now_ms};

const SYSTEM_STATS: &str = include_str!("../data/system_stats.json");
const FEATURES: &str = include_str!("../data/features.json");
const EXTENSIONS: &str = include_str!("../data/extensions.json");

pub(super) async fn system_stats(State(mock): State<Arc<Mock>>) -> Response {
    if let Some(mib) = mock.args.huge_body {
        return faults::huge_body(mib, &mock.args.version);
    }
    if mock.args.slow_body {
        return faults::slow_body();
    }
    let mut stats: Value = serde_json::from_str(SYSTEM_STATS).expect("embedded system_stats.json");
    stats["system"]["comfyui_version"] = json!(mock.args.version);
    stats["system"]["argv"] = json!(std::env::args().collect::<Vec<_>>());
    if let Some(free) = mock.args.vram_free {
        // The keys of a device in the captures; the name as CUDA builds show it.
        stats["devices"] = json!([{
            "name": "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync",
            "type": "cuda", "index": 0,
            "vram_total": 25_757_220_864_u64, "vram_free": free,
            "torch_vram_total": 0, "torch_vram_free": 0,
        }]);
    }
    ok_json(&mock, &stats)
}

fn queue_info(mock: &Mock) -> Value {
    json!({"exec_info": {"queue_remaining": mock.queue_remaining()}})
}

pub(super) async fn get_prompt(State(mock): State<Arc<Mock>>) -> Response {
    ok_json(&mock, &queue_info(&mock))
}

pub(super) async fn post_prompt(State(mock): State<Arc<Mock>>, body: Bytes) -> Response {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return internal_error();
    };
    // ComfyUI takes a number before validating, so rejected prompts use one.
    let number = match body.get("number").and_then(Value::as_i64) {
        Some(n) => n,
        None => {
            let n = mock.next_number();
            if body.get("front") == Some(&Value::Bool(true)) {
                -n
            } else {
                n
            }
        }
    };
    let Some(prompt) = body.get("prompt") else {
        let err = json!({
            "error": {"type": "no_prompt", "message": "No prompt provided",
                      "details": "No prompt provided", "extra_info": {}},
            "node_errors": {},
        });
        return json_reply(&mock, StatusCode::BAD_REQUEST, &err);
    };
    // The real server fails with a Python exception on a non-object prompt.
    let Some(prompt) = prompt.as_object() else {
        return internal_error();
    };
    let accepted = match nodes::validate(prompt, &mock.object_info) {
        Ok(a) => a,
        Err(Rejected(err)) => return json_reply(&mock, StatusCode::BAD_REQUEST, &err),
    };
    let mut extra_data = match body.get("extra_data") {
        Some(Value::Object(extra)) => extra.clone(),
        _ => Map::new(),
    };
    if let Some(client_id) = body.get("client_id") {
        extra_data.insert("client_id".into(), client_id.clone());
    }
    let item = QueueItem {
        number,
        prompt_id: new_uuid(),
        prompt: prompt.clone(),
        extra_data,
        outputs: accepted.outputs,
        create_time: now_ms(),
        hold: None,
    };
    let reply =
        json!({"prompt_id": item.prompt_id, "number": number, "node_errors": accepted.node_errors});
    mock.enqueue(item);
    ok_json(&mock, &reply)
}

pub(super) async fn get_queue(State(mock): State<Arc<Mock>>) -> Response {
    ok_json(&mock, &mock.queue_json())
}

/// `POST /queue` with `{"clear": true}` and/or `{"delete": [ids]}`: 200 with
/// an empty body and no content type, as captured.
pub(super) async fn post_queue(State(mock): State<Arc<Mock>>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return internal_error();
    };
    if body["clear"] == true {
        mock.clear_pending();
    }
    if let Some(ids) = body["delete"].as_array() {
        let ids: Vec<&str> = ids.iter().filter_map(Value::as_str).collect();
        mock.delete_pending(&ids);
    }
    StatusCode::OK.into_response()
}

/// `POST /interrupt`, optionally `{"prompt_id": ...}` to interrupt only that
/// prompt: 200 with an empty body.
pub(super) async fn post_interrupt(State(mock): State<Arc<Mock>>, body: Bytes) -> Response {
    let wanted = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b["prompt_id"].as_str().map(str::to_owned));
    let running = mock.running_id();
    if running.is_some() && (wanted.is_none() || wanted == running) {
        mock.interrupt.store(true, Ordering::SeqCst);
    }
    StatusCode::OK.into_response()
}

pub(super) async fn get_history(
    State(mock): State<Arc<Mock>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    // Python's int() raising on junk becomes a 500.
    let parse = |key: &str| query.get(key).map(|v| v.trim().parse::<i64>());
    let max_items = match parse("max_items") {
        None => None,
        Some(Ok(n)) => Some(usize::try_from(n).unwrap_or(0)),
        Some(Err(_)) => return internal_error(),
    };
    let offset = match parse("offset") {
        None => None,
        Some(Ok(n)) => Some(n),
        Some(Err(_)) => return internal_error(),
    };
    let max_items = max_items.filter(|_| !mock.args.ignore_limit);
    ok_json(&mock, &mock.history_json(max_items, offset))
}

pub(super) async fn get_history_one(
    State(mock): State<Arc<Mock>>,
    Path(id): Path<String>,
) -> Response {
    ok_json(&mock, &mock.history_one(&id))
}

pub(super) async fn post_history(State(mock): State<Arc<Mock>>, body: Bytes) -> Response {
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return internal_error();
    };
    let ids: Vec<&str> = body["delete"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    mock.edit_history(body["clear"] == true, &ids);
    StatusCode::OK.into_response()
}

pub(super) async fn object_info(State(mock): State<Arc<Mock>>) -> Response {
    ok_json(&mock, &mock.object_info)
}

pub(super) async fn object_info_one(
    State(mock): State<Arc<Mock>>,
    Path(class): Path<String>,
) -> Response {
    let mut out = Map::new();
    if let Some(entry) = mock.object_info.get(&class) {
        out.insert(class, entry.clone());
    }
    ok_json(&mock, &out)
}

pub(super) async fn models(State(mock): State<Arc<Mock>>) -> Response {
    ok_json(&mock, &mock.models.folder_names())
}

/// A folder's files, or 404 with an empty body for an unknown folder.
pub(super) async fn models_folder(
    State(mock): State<Arc<Mock>>,
    Path(folder): Path<String>,
) -> Response {
    match mock.models.files(&folder) {
        Some(files) => ok_json(&mock, &files),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub(super) async fn features(State(mock): State<Arc<Mock>>) -> Response {
    let body: Value = serde_json::from_str(FEATURES).expect("embedded features.json");
    ok_json(&mock, &body)
}

pub(super) async fn embeddings(State(mock): State<Arc<Mock>>) -> Response {
    ok_json(&mock, &json!([]))
}

pub(super) async fn extensions(State(mock): State<Arc<Mock>>) -> Response {
    let body: Value = serde_json::from_str(EXTENSIONS).expect("embedded extensions.json");
    ok_json(&mock, &body)
}
