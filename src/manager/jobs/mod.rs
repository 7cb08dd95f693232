//! Jobs: what the server did with its work, read without loading it.
//!
//! ComfyUI 0.33 answers `GET /api/jobs`; older servers answer 404 there, and
//! `GET /history?max_items=N` is read instead. Both become one [`Job`] type.
//! A job can only finish when the queue changes, and the WebSocket says when
//! it does, so [`JobTracker`] asks only after a queue change, at most once
//! per interval, for one small page, newest first. Key names come from the
//! captures in `shared/fixtures/comfyui-0.33` and `shared/fixtures/comfyui`.

mod age;
mod cause;
mod parse;
mod report;
mod tracker;

use std::fmt;

use super::http::{HttpClient, QUEUE_BODY_CAP};
use super::status::{ErrorKind, ProbeError};
use super::target::Target;

pub use age::{Stall, over_limit};
pub use cause::{CAUSES, Cause, classify};
pub use parse::{Page, parse_history, parse_jobs};
#[cfg(test)]
pub(crate) use report::{Failure, RecentCounts, RunningJob};
pub use report::{JobsReport, report};
pub use tracker::JobTracker;

/// Jobs `watch` asks for per request: more than finish in one interval on
/// a diffusion server, and small, because a fleet's monitors may all hold a
/// page at once (a failed job's `execution_error` is several KiB).
pub const PAGE: usize = 5;
/// Jobs `health` reads: its `recent` counts and `--max-failed` cover these.
pub const HEALTH_PAGE: usize = 10;
/// The most jobs asked for in one request, once a page showed that more
/// finished than it holds (`pagination.total`, or a page of new jobs only).
pub const LIMIT_MAX: usize = 1000;
/// The same on `/history`, whose entries carry whole workflows.
pub const HISTORY_LIMIT_MAX: usize = 200;
/// The most finished jobs read from one page, for a server that ignores
/// `limit` and sends its whole history.
pub const READ_MAX: usize = 2000;
/// Longest error message kept, in characters.
pub const MESSAGE_MAX: usize = 240;
/// Longest node id, node type or exception type kept, in characters.
const FIELD_MAX: usize = 120;

/// A job's status, as the Jobs API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobStatus {
    /// Queued, not started.
    Pending,
    /// Being executed.
    InProgress,
    /// Finished successfully.
    Completed,
    /// A node raised while running.
    Failed,
    /// Interrupted while running.
    Cancelled,
}

impl JobStatus {
    /// The Jobs API name.
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "pending",
            JobStatus::InProgress => "in_progress",
            JobStatus::Completed => "completed",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
        }
    }

    /// Completed, failed or cancelled.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobStatus::Completed | JobStatus::Failed | JobStatus::Cancelled
        )
    }

    fn parse(s: &str) -> Option<JobStatus> {
        Some(match s {
            "pending" => JobStatus::Pending,
            "in_progress" => JobStatus::InProgress,
            "completed" => JobStatus::Completed,
            "failed" => JobStatus::Failed,
            "cancelled" => JobStatus::Cancelled,
            _ => return None,
        })
    }
}

impl fmt::Display for JobStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a job failed: `execution_error` without its traceback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobError {
    /// `node_id`.
    pub node_id: Option<String>,
    /// `node_type`, e.g. `SaveImage`.
    pub node_type: Option<String>,
    /// `exception_type`, e.g. `Exception`.
    pub exception_type: Option<String>,
    /// The first line of `exception_message`, bounded.
    pub message: String,
    /// Its class, from the whole message (before the cut); shown as the
    /// job's `reason`, so not serialised here twice.
    pub cause: Cause,
}

/// One job, from either source. Times are the server's epoch ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// The prompt id.
    pub id: String,
    /// Its status.
    pub status: JobStatus,
    /// When it was queued (`create_time`; not on 0.3.64).
    pub create_ms: Option<u64>,
    /// When it started running.
    pub start_ms: Option<u64>,
    /// When it finished.
    pub end_ms: Option<u64>,
    /// Why it failed.
    pub error: Option<JobError>,
}

impl Job {
    /// Time spent waiting in the queue (start − create), ms.
    pub fn queued_ms(&self) -> Option<u64> {
        Some(self.start_ms?.saturating_sub(self.create_ms?))
    }

    /// Why it ended badly: its [`Cause`] name when it failed (`exception`
    /// when the server gave no error), `cancelled`, or `None`.
    pub fn reason(&self) -> Option<&'static str> {
        match self.status {
            JobStatus::Failed => Some(
                self.error
                    .as_ref()
                    .map_or(Cause::Exception, |e| e.cause)
                    .as_str(),
            ),
            JobStatus::Cancelled => Some("cancelled"),
            _ => None,
        }
    }

    /// Time spent running (end − start), ms.
    pub fn duration_ms(&self) -> Option<u64> {
        Some(self.end_ms?.saturating_sub(self.start_ms?))
    }
}

/// Where a server's jobs are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobSource {
    /// `GET /api/jobs` (ComfyUI 0.33 and later).
    JobsApi,
    /// `GET /history?max_items=N` (older servers).
    History,
}

/// The Jobs API route under this target: `/api/jobs`, or `/jobs` when the
/// URL already ends in `/api` (no `/api/api/`).
pub fn jobs_route(target: &Target) -> &'static str {
    let base = target.endpoint("");
    if base.path().trim_end_matches('/').ends_with("/api") {
        "/jobs"
    } else {
        "/api/jobs"
    }
}

/// Fetches one page of finished jobs, newest first, of at most `limit`.
/// With no `source` yet, tries the Jobs API and falls back to `/history`
/// when it answers 404; returns the source that answered.
pub async fn fetch_finished(
    http: &HttpClient,
    target: &Target,
    source: Option<JobSource>,
    limit: usize,
) -> Result<(JobSource, Page), ProbeError> {
    let limit_text = limit.to_string();
    if source != Some(JobSource::History) {
        let route = jobs_route(target);
        let query = [
            ("status", "completed,failed,cancelled"),
            ("limit", limit_text.as_str()),
        ];
        match http.get_query(target, route, &query, QUEUE_BODY_CAP).await {
            Ok(body) => {
                let page = parse_jobs(&body).map_err(|e| not_jobs(route, &e))?;
                return Ok((JobSource::JobsApi, page));
            }
            Err(e) if source.is_none() && e.status == Some(404) => {}
            Err(e) => return Err(e),
        }
    }
    let query = [("max_items", limit_text.as_str())];
    let body = http
        .get_query(target, "/history", &query, QUEUE_BODY_CAP)
        .await?;
    let page = parse_history(&body).map_err(|e| not_jobs("/history", &e))?;
    Ok((JobSource::History, page))
}

/// One small page for one-shot checks (`health`): the running and newest
/// finished jobs from the Jobs API, or the newest finished ones from
/// `/history` where the Jobs API answers 404; and the server's clock when
/// it answered (its `Date` header, epoch ms), to judge their ages by.
pub async fn fetch_recent(
    http: &HttpClient,
    target: &Target,
) -> Result<(JobSource, Vec<Job>, Option<u64>), ProbeError> {
    let route = jobs_route(target);
    let limit = HEALTH_PAGE.to_string();
    let query = [
        ("status", "in_progress,completed,failed,cancelled"),
        ("limit", limit.as_str()),
    ];
    match http.get_dated(target, route, &query, QUEUE_BODY_CAP).await {
        Ok((body, clock)) => {
            let date = clock.map(|c| c.date_ms);
            let page = parse_jobs(&body).map_err(|e| not_jobs(route, &e))?;
            Ok((JobSource::JobsApi, page.jobs, date))
        }
        Err(e) if e.status == Some(404) => {
            let query = [("max_items", limit.as_str())];
            let (body, clock) = http
                .get_dated(target, "/history", &query, QUEUE_BODY_CAP)
                .await?;
            let date = clock.map(|c| c.date_ms);
            let page = parse_history(&body).map_err(|e| not_jobs("/history", &e))?;
            Ok((JobSource::History, page.jobs, date))
        }
        Err(e) => Err(e),
    }
}

fn not_jobs(route: &str, detail: &str) -> ProbeError {
    ProbeError::new(
        ErrorKind::NotComfyui,
        format!("GET {route} answered 200 with a body that is not a job list ({detail})"),
    )
}

/// A finished job for unit tests: created at 1, started at 2, ended at 5.
#[cfg(test)]
pub(crate) fn test_job(id: &str, status: JobStatus) -> Job {
    Job {
        id: id.into(),
        status,
        create_ms: Some(1),
        start_ms: Some(2),
        end_ms: Some(5),
        error: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_prefix_is_not_doubled() {
        for (url, want) in [
            ("http://h:8188", "/api/jobs"),
            ("http://h:8188/api", "/jobs"),
            ("http://h:8188/api/", "/jobs"),
            ("http://h/comfy", "/api/jobs"),
            ("http://h/comfy/api", "/jobs"),
        ] {
            let t = Target::parse(url).unwrap();
            assert_eq!(jobs_route(&t), want, "{url}");
            assert!(!t.endpoint(want).path().contains("/api/api"));
        }
    }
}
