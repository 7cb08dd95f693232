//! The Jobs API of ComfyUI 0.33 (`GET /api/jobs`, `GET /api/jobs/{id}`),
//! built from the queue and the history exactly as captured in
//! `shared/fixtures/comfyui-0.33/`: empty fields are left out, not null.

use serde_json::{Map, Value, json};

use crate::store::{JobsSnapshot, QueueItem};

/// The job statuses, in the order the real server lists them in errors.
pub const STATUSES: [&str; 5] = ["pending", "in_progress", "completed", "failed", "cancelled"];

/// A job as the list shows it, plus what the detail view adds.
pub struct Job {
    /// The list entry.
    pub summary: Map<String, Value>,
    /// `outputs`, `execution_status` and `workflow` (finished jobs only).
    pub detail: Map<String, Value>,
}

impl Job {
    fn status(&self) -> &str {
        self.summary["status"].as_str().unwrap_or_default()
    }

    fn num(&self, key: &str) -> Option<i64> {
        self.summary.get(key).and_then(Value::as_i64)
    }
}

/// The query of `GET /api/jobs`, validated like the real server.
pub struct ListQuery {
    statuses: Option<Vec<String>>,
    limit: Option<usize>,
    offset: usize,
    by_duration: bool,
    ascending: bool,
    ignored_limit: bool,
}

impl ListQuery {
    /// Parses the query; the error is the 400 body's `error` text.
    pub fn parse(query: &std::collections::HashMap<String, String>) -> Result<ListQuery, String> {
        let statuses = match query.get("status") {
            None => None,
            Some(raw) => {
                let wanted: Vec<String> = raw
                    .split(',')
                    .map(|s| s.trim().to_owned())
                    .filter(|s| !s.is_empty())
                    .collect();
                let bad: Vec<&str> = wanted
                    .iter()
                    .map(String::as_str)
                    .filter(|s| !STATUSES.contains(s))
                    .collect();
                if !bad.is_empty() {
                    return Err(format!(
                        "Invalid status value(s): {}. Valid values: {}",
                        bad.join(", "),
                        STATUSES.join(", ")
                    ));
                }
                Some(wanted)
            }
        };
        let limit = match query.get("limit") {
            None => None,
            Some(raw) => match raw.trim().parse::<i64>() {
                Ok(n) if n > 0 => Some(usize::try_from(n).unwrap_or(usize::MAX)),
                _ => return Err("limit must be a positive integer".into()),
            },
        };
        let offset = match query.get("offset") {
            None => 0,
            Some(raw) => match raw.trim().parse::<i64>() {
                Ok(n) if n >= 0 => usize::try_from(n).unwrap_or(usize::MAX),
                _ => return Err("offset must be a non-negative integer".into()),
            },
        };
        let by_duration = match query.get("sort_by").map(String::as_str) {
            None | Some("created_at") => false,
            Some("execution_duration") => true,
            Some(_) => return Err("sort_by must be 'created_at' or 'execution_duration'".into()),
        };
        let ascending = match query.get("sort_order").map(String::as_str) {
            None | Some("desc") => false,
            Some("asc") => true,
            Some(_) => return Err("sort_order must be 'asc' or 'desc'".into()),
        };
        Ok(ListQuery {
            statuses,
            limit,
            offset,
            by_duration,
            ascending,
            ignored_limit: false,
        })
    }
}

impl ListQuery {
    /// Serves every matching job whatever `limit` said (`--ignore-limit`);
    /// `pagination.limit` still echoes the request.
    pub fn ignore_limit(&mut self) {
        self.ignored_limit = true;
    }
}

/// Every job, oldest first.
pub fn all(snapshot: &JobsSnapshot) -> Vec<Job> {
    let mut jobs: Vec<Job> = snapshot
        .history
        .iter()
        .filter_map(|(entry, created)| from_history(entry, *created))
        .collect();
    if let Some(item) = &snapshot.running {
        jobs.push(queued(item, "in_progress"));
    }
    jobs.extend(snapshot.pending.iter().map(|i| queued(i, "pending")));
    jobs
}

/// `GET /api/jobs` body.
pub fn list(snapshot: &JobsSnapshot, q: &ListQuery) -> Value {
    let mut jobs: Vec<Job> = all(snapshot)
        .into_iter()
        .filter(|j| {
            q.statuses
                .as_ref()
                .is_none_or(|s| s.iter().any(|s| s == j.status()))
        })
        .collect();
    let key = |j: &Job| {
        if q.by_duration {
            match (j.num("execution_start_time"), j.num("execution_end_time")) {
                (Some(s), Some(e)) => e - s,
                _ => -1,
            }
        } else {
            j.num("create_time").unwrap_or(0)
        }
    };
    // Stable: equal keys keep queue order (oldest first), reversed for desc.
    if q.ascending {
        jobs.sort_by_key(key);
    } else {
        jobs.reverse();
        jobs.sort_by_key(|j| std::cmp::Reverse(key(j)));
    }
    let total = jobs.len();
    let page: Vec<Value> = jobs
        .into_iter()
        .skip(q.offset)
        .take(q.limit.filter(|_| !q.ignored_limit).unwrap_or(usize::MAX))
        .map(|j| Value::Object(j.summary))
        .collect();
    let has_more = q.offset.saturating_add(page.len()) < total;
    json!({
        "jobs": page,
        "pagination": {"offset": q.offset, "limit": q.limit, "total": total, "has_more": has_more},
    })
}

/// `GET /api/jobs/{id}` body, or `None` (404) for an unknown id.
pub fn one(snapshot: &JobsSnapshot, id: &str) -> Option<Value> {
    let job = all(snapshot).into_iter().find(|j| j.summary["id"] == id)?;
    let mut body = job.summary;
    body.extend(job.detail);
    Some(Value::Object(body))
}

fn queued(item: &QueueItem, status: &str) -> Job {
    let mut summary = Map::new();
    summary.insert("id".into(), json!(item.prompt_id));
    summary.insert("status".into(), json!(status));
    summary.insert("priority".into(), json!(item.number));
    summary.insert("create_time".into(), json!(item.create_time));
    summary.insert("outputs_count".into(), json!(0));
    summary.insert("previewable_outputs_count".into(), json!(0));
    Job {
        summary,
        detail: Map::new(),
    }
}

/// How a finished prompt ended, read from its history `status`.
struct Outcome {
    /// `completed`, `failed` or `cancelled`.
    status: &'static str,
    /// The `execution_start` timestamp.
    start: Option<Value>,
    /// The timestamp of the message that ended it.
    end: Option<Value>,
    /// The `execution_error` data, if it failed at run time.
    error: Option<Value>,
}

impl Outcome {
    /// The status from `status_str` and the `execution_*` messages, the times
    /// from their timestamps; `None` without a `messages` list.
    fn read(status: &Value) -> Option<Self> {
        let messages = status["messages"].as_array()?;
        let message = |kind: &str| messages.iter().find(|m| m[0] == kind).map(|m| m[1].clone());
        let job_status = if message("execution_interrupted").is_some() {
            "cancelled"
        } else if status["status_str"] == "success" {
            "completed"
        } else {
            "failed"
        };
        let end = [
            "execution_success",
            "execution_error",
            "execution_interrupted",
        ]
        .iter()
        .find_map(|k| message(k))
        .map(|m| m["timestamp"].clone());
        Some(Self {
            status: job_status,
            start: message("execution_start").map(|m| m["timestamp"].clone()),
            end,
            error: message("execution_error"),
        })
    }
}

/// What a history entry's `outputs` hold, as the Jobs API counts them.
struct OutputCounts {
    /// Files of every kind.
    outputs: u64,
    /// Of those, `temp` and `output` images.
    previewable: u64,
    /// The first previewable one, as `preview_output` shows it.
    preview: Option<Value>,
}

impl OutputCounts {
    fn of(outputs: &Value) -> Self {
        let mut counts = Self {
            outputs: 0,
            previewable: 0,
            preview: None,
        };
        for (node, ui) in outputs.as_object().into_iter().flatten() {
            for image in ui["images"].as_array().into_iter().flatten() {
                counts.outputs += 1;
                if matches!(image["type"].as_str(), Some("temp" | "output")) {
                    counts.previewable += 1;
                    if counts.preview.is_none() {
                        let mut p = image.as_object().cloned().unwrap_or_default();
                        p.insert("nodeId".into(), json!(node));
                        p.insert("mediaType".into(), json!("images"));
                        counts.preview = Some(Value::Object(p));
                    }
                }
            }
        }
        counts
    }
}

/// A finished job from its history entry; empty fields are left out.
fn from_history(entry: &Value, created: Option<u64>) -> Option<Job> {
    let prompt = entry["prompt"].as_array()?;
    let status = &entry["status"];
    let outcome = Outcome::read(status)?;
    let counts = OutputCounts::of(&entry["outputs"]);
    let mut summary = Map::new();
    summary.insert("id".into(), prompt.get(1)?.clone());
    summary.insert("status".into(), json!(outcome.status));
    summary.insert("priority".into(), prompt.first()?.clone());
    let stamped = prompt.get(3).and_then(|e| e.get("create_time")).cloned();
    if let Some(t) = stamped.or(created.map(|c| json!(c))) {
        summary.insert("create_time".into(), t);
    }
    if let Some(start) = outcome.start {
        summary.insert("execution_start_time".into(), start);
    }
    if let Some(end) = outcome.end {
        summary.insert("execution_end_time".into(), end);
    }
    if outcome.status == "failed"
        && let Some(error) = outcome.error
    {
        summary.insert("execution_error".into(), error);
    }
    summary.insert("outputs_count".into(), json!(counts.outputs));
    summary.insert(
        "previewable_outputs_count".into(),
        json!(counts.previewable),
    );
    if outcome.status == "completed"
        && let Some(p) = counts.preview
    {
        summary.insert("preview_output".into(), p);
    }
    let mut detail = Map::new();
    detail.insert("outputs".into(), entry["outputs"].clone());
    detail.insert("execution_status".into(), status.clone());
    detail.insert(
        "workflow".into(),
        json!({"prompt": prompt.get(2)?, "extra_data": prompt.get(3)?}),
    );
    Some(Job { summary, detail })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/comfyui-0.33")
            .join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    /// The captured history entries of a completed and a failed job give
    /// the captured `/api/jobs/{id}` bodies, field for field.
    #[test]
    fn detail_from_captured_history_matches_capture() {
        let history = fixture("history_after_ws_phase.json");
        for name in [
            "api_job_A_completed_detail.json",
            "api_job_C_failed_detail.json",
        ] {
            let want = fixture(name);
            let id = want["id"].as_str().unwrap();
            let snapshot = JobsSnapshot {
                pending: Vec::new(),
                running: None,
                history: vec![(history[id].clone(), None)],
            };
            assert_eq!(one(&snapshot, id), Some(want), "{name}");
        }
    }
}
