//! The HTTP side of one mock: the router, and how replies are shaped like
//! aiohttp's. The handlers live in `api` (the ComfyUI API), `jobs_api` (the
//! 0.33 Jobs API) and `control` (the `/__mock/` test controls).

mod api;
mod control;
mod jobs_api;

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;

use crate::args::BodyFault;
use crate::state::Mock;
use crate::{middleware, ws};
use api::{
    embeddings, extensions, features, get_history, get_history_one, get_prompt, get_queue, models,
    models_folder, object_info, object_info_one, post_history, post_interrupt, post_prompt,
    post_queue, system_stats,
};
use control::{
    control_clients, control_drop_ws, control_job, control_queue, control_refuse_ws,
    control_requests,
};
use jobs_api::{get_job, get_jobs};

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
