//! `GET /api/jobs` and `GET /api/jobs/{id}`, the Jobs API of ComfyUI 0.33;
//! the bodies are built by `crate::jobs`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::{json_reply, not_found, ok_json};
use crate::jobs;
use crate::state::Mock;

/// `GET /api/jobs`: 404 with `--no-jobs-api` (like 0.3.64), 400 with an
/// `error` text for bad arguments.
pub(super) async fn get_jobs(
    State(mock): State<Arc<Mock>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if mock.args.no_jobs_api {
        return not_found().await;
    }
    match jobs::ListQuery::parse(&query) {
        Ok(mut q) => {
            if mock.args.ignore_limit {
                q.ignore_limit();
            }
            ok_json(&mock, &jobs::list(&mock.jobs_snapshot(), &q))
        }
        Err(error) => json_reply(&mock, StatusCode::BAD_REQUEST, &json!({"error": error})),
    }
}

/// `GET /api/jobs/{id}`: 404 `{"error": "Job not found"}` for an unknown id.
pub(super) async fn get_job(State(mock): State<Arc<Mock>>, Path(id): Path<String>) -> Response {
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
