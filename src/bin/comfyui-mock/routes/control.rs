//! The `/__mock/` control endpoints: tests use them to shape the queue,
//! queue paced jobs, break WebSockets and read the mock's counters. They
//! stay usable in every fault mode (see `middleware`).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, json};

use crate::sockets::Out;
use crate::state::Mock;
use crate::store::{Hold, QueueItem, new_uuid, now_ms};

/// `POST /__mock/queue?remaining=N`: fake queue of N (1 running, N-1
/// pending), then two status broadcasts.
pub(super) async fn control_queue(
    State(mock): State<Arc<Mock>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let Some(Ok(n)) = query.get("remaining").map(|v| v.parse::<usize>()) else {
        return (StatusCode::BAD_REQUEST, "want ?remaining=N\n").into_response();
    };
    mock.set_fake_queue(n, true);
    axum::Json(json!({"queue_remaining": mock.queue_remaining()})).into_response()
}

/// `POST /__mock/job?outcome=completed|failed|cancelled&ms=N&count=K`:
/// queues K prompts without a client_id (so an observer hears only `status`
/// and `progress_state`, as on a real server). Each holds the executor for
/// N ms, then completes, fails at run time in SaveImage (the captured
/// "outside the output folder" error), or is interrupted. `failed` takes
/// `&error=oom` (an EmptyImage too large: `torch.OutOfMemoryError`) or
/// `&error=missing_file` (a checkpoint that is not there) instead.
pub(super) async fn control_job(
    State(mock): State<Arc<Mock>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let outcome = query.get("outcome").map_or("completed", String::as_str);
    if !matches!(outcome, "completed" | "failed" | "cancelled") {
        return (
            StatusCode::BAD_REQUEST,
            "want ?outcome=completed|failed|cancelled\n",
        )
            .into_response();
    }
    let parse = |key: &str, default: u64, max: u64| match query.get(key) {
        None => Some(default),
        Some(v) => v.parse::<u64>().ok().filter(|n| *n <= max),
    };
    let (Some(ms), Some(count)) = (parse("ms", 0, 3_600_000), parse("count", 1, 1000)) else {
        return (
            StatusCode::BAD_REQUEST,
            "want ?ms=0..3600000 and ?count=0..1000\n",
        )
            .into_response();
    };
    let error = query.get("error").map_or("exception", String::as_str);
    if !matches!(error, "exception" | "oom" | "missing_file")
        || (outcome != "failed" && query.contains_key("error"))
    {
        return (
            StatusCode::BAD_REQUEST,
            "want ?error=exception|oom|missing_file, with ?outcome=failed only\n",
        )
            .into_response();
    }
    let prompt = job_prompt(outcome, error);
    let mut ids = Vec::new();
    for _ in 0..count {
        let item = QueueItem {
            number: mock.next_number(),
            prompt_id: new_uuid(),
            prompt: prompt.as_object().cloned().unwrap_or_default(),
            extra_data: Map::new(),
            outputs: vec!["2".into()],
            create_time: now_ms(),
            hold: Some(Hold {
                ms,
                cancel: outcome == "cancelled",
            }),
        };
        ids.push(item.prompt_id.clone());
        mock.enqueue(item);
    }
    axum::Json(json!({"prompt_ids": ids})).into_response()
}

/// The prompt `control_job` queues: an EmptyImage into a PreviewImage, or
/// one of them changed so that it fails at run time as `error` says.
fn job_prompt(outcome: &str, error: &str) -> serde_json::Value {
    let (size, batch) = match (outcome, error) {
        ("failed", "oom") => (16384, 4096),
        _ => (64, 1),
    };
    let first = match (outcome, error) {
        ("failed", "missing_file") => {
            json!({"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "deleted_since_validation.safetensors"}})
        }
        _ => {
            json!({"class_type": "EmptyImage", "inputs": {"width": size, "height": size, "batch_size": batch, "color": 0}})
        }
    };
    let save = match (outcome, error) {
        ("failed", "exception") => {
            json!({"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "../mock_job"}})
        }
        _ => json!({"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}),
    };
    json!({"1": first, "2": save})
}

/// `POST /__mock/drop-ws`: drop every WebSocket without a close frame.
pub(super) async fn control_drop_ws(State(mock): State<Arc<Mock>>) -> Response {
    let dropped = mock.tell_all(|| Out::Drop);
    axum::Json(json!({"dropped": dropped})).into_response()
}

/// `POST /__mock/refuse-ws?on=1|0`: toggle refusing WebSocket upgrades.
pub(super) async fn control_refuse_ws(
    State(mock): State<Arc<Mock>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let on = match query.get("on").map(String::as_str) {
        Some("1" | "true") => true,
        Some("0" | "false") => false,
        _ => return (StatusCode::BAD_REQUEST, "want ?on=1 or ?on=0\n").into_response(),
    };
    mock.refuse_ws.store(on, Ordering::SeqCst);
    axum::Json(json!({"refuse_ws": on})).into_response()
}

/// `GET /__mock/clients`: client ids with an open socket, so tests can wait
/// for a client to connect instead of sleeping.
pub(super) async fn control_clients(State(mock): State<Arc<Mock>>) -> Response {
    let body = json!({"clients": mock.client_ids(), "sockets": mock.open_sockets()});
    axum::Json(body).into_response()
}

/// `GET /__mock/requests`: how many requests this mock served (control
/// endpoints excepted), so tests can count a client's load.
pub(super) async fn control_requests(State(mock): State<Arc<Mock>>) -> Response {
    let body = json!({
        "requests": mock.requests.load(Ordering::Relaxed),
        "system_stats": mock.system_stats_requests.load(Ordering::Relaxed),
    });
    axum::Json(body).into_response()
}
