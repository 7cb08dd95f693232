//! Parsers for the two job sources: `GET /api/jobs` (0.33) and
//! `GET /history` (older servers). Untrusted bytes in, an error string out,
//! never a panic; strings are bounded.

use serde::Deserialize;

use super::{FIELD_MAX, Job, JobError, JobStatus, MESSAGE_MAX, classify};

fn bounded(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// A number the server may send as an integer or a float.
fn ms(n: Option<serde_json::Number>) -> Option<u64> {
    let n = n?;
    n.as_u64()
        .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
}

/// A string field that some servers might send as a number.
#[derive(Deserialize)]
#[serde(untagged)]
enum Text {
    S(String),
    N(serde_json::Number),
    Other(serde::de::IgnoredAny),
}

impl Text {
    fn get(self, max: usize) -> Option<String> {
        match self {
            Text::S(s) => Some(bounded(&s, max)),
            Text::N(n) => Some(n.to_string()),
            Text::Other(_) => None,
        }
    }
}

#[derive(Deserialize)]
struct RawError {
    node_id: Option<Text>,
    node_type: Option<Text>,
    exception_type: Option<Text>,
    exception_message: Option<Text>,
}

impl RawError {
    fn into_error(self) -> JobError {
        let message = self
            .exception_message
            .and_then(|t| match t {
                // Cut before bounding: the whole message may be long.
                Text::S(s) => Some(s),
                other => other.get(MESSAGE_MAX),
            })
            .unwrap_or_default();
        let first = message.trim().lines().next().unwrap_or("").trim();
        let exception_type = self.exception_type.and_then(|t| t.get(FIELD_MAX));
        JobError {
            node_id: self.node_id.and_then(|t| t.get(FIELD_MAX)),
            node_type: self.node_type.and_then(|t| t.get(FIELD_MAX)),
            // Classified on the whole message: ComfyUI's OOM tip follows
            // the first line, which is all that is kept.
            cause: classify(exception_type.as_deref(), &message),
            exception_type,
            message: bounded(first, MESSAGE_MAX),
        }
    }
}

#[derive(Deserialize)]
struct RawJob {
    id: String,
    status: String,
    create_time: Option<serde_json::Number>,
    execution_start_time: Option<serde_json::Number>,
    execution_end_time: Option<serde_json::Number>,
    execution_error: Option<RawError>,
}

#[derive(Deserialize)]
struct RawPagination {
    has_more: Option<bool>,
    total: Option<serde_json::Number>,
}

#[derive(Deserialize)]
struct RawJobs {
    jobs: Vec<RawJob>,
    pagination: Option<RawPagination>,
}

/// One page of jobs, in the server's order (newest first as asked).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Page {
    /// The jobs.
    pub jobs: Vec<Job>,
    /// The server says whether there are more past this page (`None`: it
    /// does not say, as `/history` never does).
    pub has_more: Option<bool>,
    /// Jobs matching the query in all (`pagination.total`), when given.
    pub total: Option<u64>,
}

/// Parses the body of `GET /api/jobs`. Unknown statuses are skipped.
pub fn parse_jobs(body: &[u8]) -> Result<Page, String> {
    let raw: RawJobs = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let jobs = raw
        .jobs
        .into_iter()
        .filter_map(|j| {
            Some(Job {
                status: JobStatus::parse(&j.status)?,
                id: bounded(&j.id, FIELD_MAX),
                create_ms: ms(j.create_time),
                start_ms: ms(j.execution_start_time),
                end_ms: ms(j.execution_end_time),
                error: j.execution_error.map(RawError::into_error),
            })
        })
        .collect();
    let (has_more, total) = raw
        .pagination
        .map_or((None, None), |p| (p.has_more, ms(p.total)));
    Ok(Page {
        jobs,
        has_more,
        total,
    })
}

#[derive(Deserialize)]
struct RawHistoryEntry {
    /// `[number, prompt_id, prompt, extra_data, outputs]`; only
    /// `extra_data.create_time` is used (0.33 stamps it; 0.3.64 does not).
    prompt: Option<Vec<serde_json::Value>>,
    status: Option<RawHistoryStatus>,
}

#[derive(Deserialize)]
struct RawHistoryStatus {
    status_str: Option<String>,
    #[serde(default)]
    messages: Vec<(String, RawMessage)>,
}

#[derive(Deserialize)]
struct RawMessage {
    timestamp: Option<serde_json::Number>,
    node_id: Option<Text>,
    node_type: Option<Text>,
    exception_type: Option<Text>,
    exception_message: Option<Text>,
}

/// Parses the body of `GET /history`: an object of prompt id → entry. The
/// status comes from `status.status_str` and the `execution_*` messages
/// (`execution_interrupted` means cancelled), the times from their
/// timestamps. Returned newest first (by end time).
pub fn parse_history(body: &[u8]) -> Result<Page, String> {
    let raw: std::collections::BTreeMap<String, RawHistoryEntry> =
        serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let mut jobs: Vec<Job> = raw
        .into_iter()
        .filter_map(|(id, entry)| history_job(&id, entry))
        .collect();
    jobs.sort_by_key(|j| std::cmp::Reverse(j.end_ms.or(j.start_ms).unwrap_or(0)));
    Ok(Page {
        jobs,
        has_more: None,
        total: None,
    })
}

/// One `/history` entry as a job, or `None` while it has no final status
/// (or one this parser does not know).
fn history_job(id: &str, entry: RawHistoryEntry) -> Option<Job> {
    let status = entry.status?;
    let run = Run::from_messages(status.messages);
    let job_status = match (run.interrupted, status.status_str.as_deref()) {
        (true, _) => JobStatus::Cancelled,
        (false, Some("success")) => JobStatus::Completed,
        (false, Some("error")) => JobStatus::Failed,
        _ => return None,
    };
    Some(Job {
        id: bounded(id, FIELD_MAX),
        status: job_status,
        create_ms: entry
            .prompt
            .as_ref()
            .and_then(|p| p.get(3)?.get("create_time")?.as_u64()),
        start_ms: run.start,
        end_ms: run.end,
        error: run.error.filter(|_| job_status == JobStatus::Failed),
    })
}

/// What a history entry's `execution_*` messages say about its run: the
/// times, whether it was interrupted, and the error, in message order.
#[derive(Default)]
struct Run {
    start: Option<u64>,
    end: Option<u64>,
    error: Option<JobError>,
    interrupted: bool,
}

impl Run {
    fn from_messages(messages: Vec<(String, RawMessage)>) -> Run {
        let mut run = Run::default();
        for (kind, data) in messages {
            match kind.as_str() {
                "execution_start" => run.start = ms(data.timestamp),
                "execution_success" => run.end = ms(data.timestamp),
                "execution_interrupted" => {
                    run.interrupted = true;
                    run.end = ms(data.timestamp);
                }
                "execution_error" => {
                    run.end = ms(data.timestamp);
                    let error = RawError {
                        node_id: data.node_id,
                        node_type: data.node_type,
                        exception_type: data.exception_type,
                        exception_message: data.exception_message,
                    };
                    run.error = Some(error.into_error());
                }
                _ => {}
            }
        }
        run
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> Vec<u8> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/");
        std::fs::read(format!("{root}{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    #[test]
    fn every_0_33_job_list_capture_parses() {
        for f in [
            "api_jobs_empty_at_start.json",
            "api_jobs_after_ws_phase.json",
            "api_jobs_all_after_ws_phase.json",
            "api_jobs_status_failed.json",
        ] {
            parse_jobs(&fixture(&format!("comfyui-0.33/{f}"))).unwrap();
        }
        let page = parse_jobs(&fixture("comfyui-0.33/api_jobs_after_ws_phase.json")).unwrap();
        assert_eq!(page.jobs.len(), 4);
        let failed = &page.jobs[0];
        assert_eq!(failed.status, JobStatus::Failed);
        assert_eq!(failed.queued_ms(), Some(2));
        assert_eq!(failed.duration_ms(), Some(8));
        let error = failed.error.as_ref().unwrap();
        assert_eq!(error.node_id.as_deref(), Some("2"));
        assert_eq!(error.node_type.as_deref(), Some("SaveImage"));
        assert_eq!(error.exception_type.as_deref(), Some("Exception"));
        assert_eq!(
            error.message,
            "**** ERROR: Saving image outside the output folder is not allowed."
        );
        assert_eq!(page.jobs[3].status, JobStatus::Completed);
        assert!(page.jobs[3].error.is_none());
    }

    #[test]
    fn cancelled_and_running_jobs_parse_from_the_cancel_capture() {
        let snapshots: serde_json::Value =
            serde_json::from_slice(&fixture("comfyui-0.33/cancel_http_snapshots.json")).unwrap();
        let mut statuses = Vec::new();
        for s in snapshots.as_array().unwrap() {
            let body = serde_json::to_vec(&s["body"]).unwrap();
            if s["body"].get("jobs").is_some() {
                let page = parse_jobs(&body).unwrap();
                statuses.extend(page.jobs.iter().map(|j| j.status));
            }
        }
        for want in [
            JobStatus::Pending,
            JobStatus::InProgress,
            JobStatus::Cancelled,
            JobStatus::Failed,
            JobStatus::Completed,
        ] {
            assert!(statuses.contains(&want), "{want} missing: {statuses:?}");
        }
    }

    #[test]
    fn history_0_3_64_derives_status_times_and_error() {
        let body: serde_json::Value =
            serde_json::from_slice(&fixture("comfyui/run_run6_execution_error_http.json")).unwrap();
        let entry = &body["after"]["GET /history/92637a26-b802-4da4-999d-ffc091a01319"][1];
        let page = parse_history(&serde_json::to_vec(entry).unwrap()).unwrap();
        let job = &page.jobs[0];
        assert_eq!(job.status, JobStatus::Failed);
        assert_eq!(job.create_ms, None);
        assert_eq!(job.duration_ms(), Some(1795275829063 - 1795275829026));
        let error = job.error.as_ref().unwrap();
        assert_eq!(error.node_type.as_deref(), Some("EmptyImage"));
        assert_eq!(error.exception_type.as_deref(), Some("RuntimeError"));
        assert!(
            error.message.starts_with("[enforce fail"),
            "{}",
            error.message
        );
        assert!(!error.message.contains('\n'));

        let body: serde_json::Value =
            serde_json::from_slice(&fixture("comfyui/history_after_runs_max_items_2.json"))
                .unwrap();
        let page = parse_history(&serde_json::to_vec(&body["body"]).unwrap()).unwrap();
        assert_eq!(page.jobs.len(), 2);
        assert!(page.jobs.iter().all(|j| j.status == JobStatus::Completed));
        // Newest first.
        assert!(page.jobs[0].end_ms > page.jobs[1].end_ms);

        let body: serde_json::Value =
            serde_json::from_slice(&fixture("comfyui/run7_busy_queue_interrupt_http.json"))
                .unwrap();
        let key = "GET /history/ce96c30c-b446-4e0f-8876-366a685b3bf2 (interrupted)";
        let page = parse_history(&serde_json::to_vec(&body[key][1]).unwrap()).unwrap();
        assert_eq!(page.jobs[0].status, JobStatus::Cancelled);
        assert!(parse_history(b"{}").unwrap().jobs.is_empty());
    }

    #[test]
    fn the_cause_comes_from_the_whole_message_before_the_cut() {
        // ComfyUI appends its OOM tip after the exception's own line.
        let body = r#"{"jobs":[{"id":"x","status":"failed","execution_error":{"exception_type":"RuntimeError","exception_message":"Allocation on device \nThis error means you ran out of memory on your GPU.\n\nTIPS: ..."}}]}"#;
        let page = parse_jobs(body.as_bytes()).unwrap();
        let error = page.jobs[0].error.as_ref().unwrap();
        assert_eq!(error.message, "Allocation on device");
        assert_eq!(error.cause, super::super::Cause::Oom);
        assert_eq!(page.jobs[0].reason(), Some("oom"));
        let page = parse_jobs(&fixture("comfyui-0.33/api_jobs_after_ws_phase.json")).unwrap();
        assert_eq!(page.jobs[0].reason(), Some("exception"));
    }

    #[test]
    fn hostile_bodies_are_errors_not_panics() {
        for body in [&b""[..], b"[]", b"{\"jobs\": 3}", b"null", b"{\"a\": 1}"] {
            let _ = parse_jobs(body);
            let _ = parse_history(body);
        }
        assert!(parse_jobs(b"<html>").is_err());
        let long = format!(
            r#"{{"jobs":[{{"id":"x","status":"failed","execution_error":{{"exception_message":"{}\nsecond"}}}}]}}"#,
            "a".repeat(10_000)
        );
        let page = parse_jobs(long.as_bytes()).unwrap();
        let message = &page.jobs[0].error.as_ref().unwrap().message;
        assert!(message.chars().count() <= MESSAGE_MAX);
        assert!(!message.contains("second"));
    }
}
