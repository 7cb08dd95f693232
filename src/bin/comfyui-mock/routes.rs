//! The ComfyUI HTTP API subset, served at `/` and under `/api`, plus the
//! `/__mock/` control endpoints.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::cli::BodyFault;
use crate::faults;
use crate::nodes::{self, Rejected};
use crate::state::{Hold, Mock, Out, QueueItem};
use crate::{jobs, middleware, ws};

const SYSTEM_STATS: &str = include_str!("data/system_stats.json");
const FEATURES: &str = include_str!("data/features.json");
const EXTENSIONS: &str = include_str!("data/extensions.json");

/// Content type of every JSON body of the real (aiohttp) server.
const JSON_TYPE: &str = "application/json; charset=utf-8";

/// The whole app for one mock.
pub fn app(mock: Arc<Mock>) -> Router {
    let api = Router::new()
        .route("/ws", get(ws::handler))
        .route("/system_stats", get(system_stats))
        .route("/prompt", get(get_prompt).post(post_prompt))
        .route("/queue", get(get_queue).post(post_queue))
        .route("/interrupt", post(post_interrupt))
        .route("/history", get(get_history).post(post_history))
        .route("/history/{prompt_id}", get(get_history_one))
        .route("/object_info", get(object_info))
        .route("/object_info/{node_class}", get(object_info_one))
        .route("/models", get(models))
        .route("/models/{folder}", get(models_folder))
        .route("/features", get(features))
        .route("/embeddings", get(embeddings))
        .route("/extensions", get(extensions));
    let control = Router::new()
        .route("/__mock/queue", post(control_queue))
        .route("/__mock/drop-ws", post(control_drop_ws))
        .route("/__mock/refuse-ws", post(control_refuse_ws))
        .route("/__mock/clients", get(control_clients))
        .route("/__mock/job", post(control_job))
        .route("/__mock/requests", get(control_requests));
    // The Jobs API exists only under /api, as on the real server.
    let jobs = Router::new()
        .route("/jobs", get(get_jobs))
        .route("/jobs/{job_id}", get(get_job));
    Router::new()
        .nest("/api", api.clone().merge(jobs))
        .merge(api)
        .merge(control)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            mock.clone(),
            middleware::guard,
        ))
        .with_state(mock)
}

/// A JSON body as aiohttp sends it, spoiled when a body fault flag is set.
fn json_reply(mock: &Mock, status: StatusCode, body: &impl Serialize) -> Response {
    let (status, text) = match mock.args.body_fault() {
        None => (
            status,
            serde_json::to_string(body).unwrap_or_else(|_| "null".into()),
        ),
        Some(BodyFault::Garbage) => (StatusCode::OK, r#"{"status": <html>, ]]"#.to_owned()),
        Some(BodyFault::WrongShape) => (StatusCode::OK, r#"{"hello": "world"}"#.to_owned()),
        Some(BodyFault::Empty) => (StatusCode::OK, String::new()),
    };
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(JSON_TYPE))],
        text,
    )
        .into_response()
}

fn ok_json(mock: &Mock, body: &impl Serialize) -> Response {
    json_reply(mock, StatusCode::OK, body)
}

/// What aiohttp answers when a handler raises (e.g. on a body that is not
/// JSON): 500 with this text.
fn internal_error() -> Response {
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        "500 Internal Server Error\n\nServer got itself in trouble",
    )
        .into_response()
}

/// Unknown route: 404, empty body, `application/octet-stream` (as captured).
async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        )],
    )
        .into_response()
}

async fn system_stats(State(mock): State<Arc<Mock>>) -> Response {
    if let Some(mib) = mock.args.huge_body {
        return faults::huge_body(mib, &mock.args.version);
    }
    if mock.args.slow_body {
        return faults::slow_body();
    }
    let mut stats: Value = serde_json::from_str(SYSTEM_STATS).expect("embedded system_stats.json");
    stats["system"]["comfyui_version"] = json!(mock.args.version);
    stats["system"]["argv"] = json!(std::env::args().collect::<Vec<_>>());
    ok_json(&mock, &stats)
}

fn queue_info(mock: &Mock) -> Value {
    json!({"exec_info": {"queue_remaining": mock.queue_remaining()}})
}

async fn get_prompt(State(mock): State<Arc<Mock>>) -> Response {
    ok_json(&mock, &queue_info(&mock))
}

async fn post_prompt(State(mock): State<Arc<Mock>>, body: Bytes) -> Response {
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
        prompt_id: crate::state::new_uuid(),
        prompt: prompt.clone(),
        extra_data,
        outputs: accepted.outputs,
        create_time: crate::state::now_ms(),
        hold: None,
    };
    let reply =
        json!({"prompt_id": item.prompt_id, "number": number, "node_errors": accepted.node_errors});
    mock.enqueue(item);
    ok_json(&mock, &reply)
}

async fn get_queue(State(mock): State<Arc<Mock>>) -> Response {
    ok_json(&mock, &mock.queue_json())
}

/// `POST /queue` with `{"clear": true}` and/or `{"delete": [ids]}`: 200 with
/// an empty body and no content type, as captured.
async fn post_queue(State(mock): State<Arc<Mock>>, body: Bytes) -> Response {
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
async fn post_interrupt(State(mock): State<Arc<Mock>>, body: Bytes) -> Response {
    let wanted = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|b| b["prompt_id"].as_str().map(str::to_owned));
    let running = mock.running_id();
    if running.is_some() && (wanted.is_none() || wanted == running) {
        mock.interrupt.store(true, Ordering::SeqCst);
    }
    StatusCode::OK.into_response()
}

async fn get_history(
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
    ok_json(&mock, &mock.history_json(max_items, offset))
}

async fn get_history_one(State(mock): State<Arc<Mock>>, Path(id): Path<String>) -> Response {
    ok_json(&mock, &mock.history_one(&id))
}

async fn post_history(State(mock): State<Arc<Mock>>, body: Bytes) -> Response {
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

/// `GET /api/jobs`: 404 with `--no-jobs-api` (like 0.3.64), 400 with an
/// `error` text for bad arguments.
async fn get_jobs(
    State(mock): State<Arc<Mock>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if mock.args.no_jobs_api {
        return not_found().await;
    }
    match jobs::ListQuery::parse(&query) {
        Ok(q) => ok_json(&mock, &jobs::list(&mock.jobs_snapshot(), &q)),
        Err(error) => json_reply(&mock, StatusCode::BAD_REQUEST, &json!({"error": error})),
    }
}

/// `GET /api/jobs/{id}`: 404 `{"error": "Job not found"}` for an unknown id.
async fn get_job(State(mock): State<Arc<Mock>>, Path(id): Path<String>) -> Response {
    if mock.args.no_jobs_api {
        return not_found().await;
    }
    match jobs::one(&mock.jobs_snapshot(), &id) {
        Some(job) => ok_json(&mock, &job),
        None => json_reply(
            &mock,
            StatusCode::NOT_FOUND,
            &json!({"error": "Job not found"}),
        ),
    }
}

async fn object_info(State(mock): State<Arc<Mock>>) -> Response {
    ok_json(&mock, &mock.object_info)
}

async fn object_info_one(State(mock): State<Arc<Mock>>, Path(class): Path<String>) -> Response {
    let mut out = Map::new();
    if let Some(entry) = mock.object_info.get(&class) {
        out.insert(class, entry.clone());
    }
    ok_json(&mock, &out)
}

async fn models(State(mock): State<Arc<Mock>>) -> Response {
    ok_json(&mock, &mock.models.folder_names())
}

/// A folder's files, or 404 with an empty body for an unknown folder.
async fn models_folder(State(mock): State<Arc<Mock>>, Path(folder): Path<String>) -> Response {
    match mock.models.files(&folder) {
        Some(files) => ok_json(&mock, &files),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn features(State(mock): State<Arc<Mock>>) -> Response {
    let body: Value = serde_json::from_str(FEATURES).expect("embedded features.json");
    ok_json(&mock, &body)
}

async fn embeddings(State(mock): State<Arc<Mock>>) -> Response {
    ok_json(&mock, &json!([]))
}

async fn extensions(State(mock): State<Arc<Mock>>) -> Response {
    let body: Value = serde_json::from_str(EXTENSIONS).expect("embedded extensions.json");
    ok_json(&mock, &body)
}

/// `POST /__mock/queue?remaining=N`: fake queue of N (1 running, N-1
/// pending), then two status broadcasts.
async fn control_queue(
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
/// "outside the output folder" error), or is interrupted.
async fn control_job(
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
    let save = if outcome == "failed" {
        json!({"class_type": "SaveImage", "inputs": {"images": ["1", 0], "filename_prefix": "../mock_job"}})
    } else {
        json!({"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}})
    };
    let prompt = json!({
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
        "2": save,
    });
    let mut ids = Vec::new();
    for _ in 0..count {
        let item = QueueItem {
            number: mock.next_number(),
            prompt_id: crate::state::new_uuid(),
            prompt: prompt.as_object().cloned().unwrap_or_default(),
            extra_data: Map::new(),
            outputs: vec!["2".into()],
            create_time: crate::state::now_ms(),
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

/// `POST /__mock/drop-ws`: drop every WebSocket without a close frame.
async fn control_drop_ws(State(mock): State<Arc<Mock>>) -> Response {
    let dropped = mock.tell_all(|| Out::Drop);
    axum::Json(json!({"dropped": dropped})).into_response()
}

/// `POST /__mock/refuse-ws?on=1|0`: toggle refusing WebSocket upgrades.
async fn control_refuse_ws(
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
async fn control_clients(State(mock): State<Arc<Mock>>) -> Response {
    let body = json!({"clients": mock.client_ids(), "sockets": mock.open_sockets()});
    axum::Json(body).into_response()
}

/// `GET /__mock/requests`: how many requests this mock served (control
/// endpoints excepted), so tests can count a client's load.
async fn control_requests(State(mock): State<Arc<Mock>>) -> Response {
    let body = json!({
        "requests": mock.requests.load(Ordering::Relaxed),
        "system_stats": mock.system_stats_requests.load(Ordering::Relaxed),
    });
    axum::Json(body).into_response()
}
