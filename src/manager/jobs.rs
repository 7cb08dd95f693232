//! Jobs: what the server did with its work, read without loading it.
//!
//! ComfyUI 0.33 answers `GET /api/jobs`; older servers answer 404 there, and
//! `GET /history?max_items=N` is read instead. Both become one [`Job`] type.
//! A job can only finish when the queue changes, and the WebSocket says when
//! it does, so [`JobTracker`] asks only after a queue change, at most once
//! per interval, for one small page, newest first. Key names come from the
//! captures in `shared/fixtures/comfyui-0.33` and `shared/fixtures/comfyui`.

use std::collections::{HashSet, VecDeque};
use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::http::{HttpClient, QUEUE_BODY_CAP};
use super::status::{ErrorKind, ProbeError};
use super::target::Target;

/// Jobs asked for per request: enough for several jobs per interval.
pub const PAGE: usize = 10;
/// The larger page asked for once a page held nothing already seen (more
/// jobs may have finished than one page shows).
pub const BIG_PAGE: usize = 50;
/// Finished job ids remembered, so none is reported twice; the oldest are
/// forgotten first (they have long left the newest page).
pub const SEEN_CAP: usize = 1024;
/// Longest error message kept, in characters.
pub const MESSAGE_MAX: usize = 240;
/// Longest node id, node type or exception type kept, in characters.
const FIELD_MAX: usize = 120;

/// A job's status, as the Jobs API names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JobError {
    /// `node_id`.
    pub node_id: Option<String>,
    /// `node_type`, e.g. `SaveImage`.
    pub node_type: Option<String>,
    /// `exception_type`, e.g. `Exception`.
    pub exception_type: Option<String>,
    /// The first line of `exception_message`, bounded.
    pub message: String,
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

    /// Time spent running (end − start), ms.
    pub fn duration_ms(&self) -> Option<u64> {
        Some(self.end_ms?.saturating_sub(self.start_ms?))
    }
}

/// Where a server's jobs are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum JobSource {
    /// `GET /api/jobs` (ComfyUI 0.33 and later).
    JobsApi,
    /// `GET /history?max_items=N` (older servers).
    History,
}

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
        JobError {
            node_id: self.node_id.and_then(|t| t.get(FIELD_MAX)),
            node_type: self.node_type.and_then(|t| t.get(FIELD_MAX)),
            exception_type: self.exception_type.and_then(|t| t.get(FIELD_MAX)),
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
    /// The server says there are more past this page.
    pub has_more: bool,
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
    Ok(Page {
        jobs,
        has_more: raw.pagination.and_then(|p| p.has_more).unwrap_or(false),
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
        .filter_map(|(id, entry)| {
            let status = entry.status?;
            let mut start = None;
            let mut end = None;
            let mut error = None;
            let mut interrupted = false;
            for (kind, data) in status.messages {
                match kind.as_str() {
                    "execution_start" => start = ms(data.timestamp),
                    "execution_success" => end = ms(data.timestamp),
                    "execution_interrupted" => {
                        interrupted = true;
                        end = ms(data.timestamp);
                    }
                    "execution_error" => {
                        end = ms(data.timestamp);
                        error = Some(
                            RawError {
                                node_id: data.node_id,
                                node_type: data.node_type,
                                exception_type: data.exception_type,
                                exception_message: data.exception_message,
                            }
                            .into_error(),
                        );
                    }
                    _ => {}
                }
            }
            let job_status = match (interrupted, status.status_str.as_deref()) {
                (true, _) => JobStatus::Cancelled,
                (false, Some("success")) => JobStatus::Completed,
                (false, Some("error")) => JobStatus::Failed,
                _ => return None,
            };
            Some(Job {
                id: bounded(&id, FIELD_MAX),
                status: job_status,
                create_ms: entry
                    .prompt
                    .as_ref()
                    .and_then(|p| p.get(3)?.get("create_time")?.as_u64()),
                start_ms: start,
                end_ms: end,
                error: if job_status == JobStatus::Failed {
                    error
                } else {
                    None
                },
            })
        })
        .collect();
    jobs.sort_by_key(|j| std::cmp::Reverse(j.end_ms.or(j.start_ms).unwrap_or(0)));
    Ok(Page {
        jobs,
        has_more: false,
    })
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

/// The running job from the Jobs API, for one-shot checks: the newest
/// `in_progress` job, if any, from the same small page.
pub async fn fetch_recent(
    http: &HttpClient,
    target: &Target,
) -> Result<(JobSource, Vec<Job>), ProbeError> {
    let route = jobs_route(target);
    let limit = PAGE.to_string();
    let query = [
        ("status", "in_progress,completed,failed,cancelled"),
        ("limit", limit.as_str()),
    ];
    match http.get_query(target, route, &query, QUEUE_BODY_CAP).await {
        Ok(body) => {
            let page = parse_jobs(&body).map_err(|e| not_jobs(route, &e))?;
            Ok((JobSource::JobsApi, page.jobs))
        }
        Err(e) if e.status == Some(404) => {
            fetch_finished(http, target, Some(JobSource::History), PAGE)
                .await
                .map(|(s, p)| (s, p.jobs))
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

/// Ids already reported, bounded: the oldest are forgotten first. Kept as
/// 64-bit hashes, so a fleet of a thousand servers stays small.
#[derive(Debug, Default)]
struct Seen {
    order: VecDeque<u64>,
    set: HashSet<u64>,
}

impl Seen {
    fn key(id: &str) -> u64 {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        BuildHasherDefault::<DefaultHasher>::default().hash_one(id)
    }

    fn contains(&self, id: &str) -> bool {
        self.set.contains(&Seen::key(id))
    }

    fn insert(&mut self, id: &str) {
        let key = Seen::key(id);
        if self.set.insert(key) {
            self.order.push_back(key);
            while self.order.len() > SEEN_CAP {
                if let Some(old) = self.order.pop_front() {
                    self.set.remove(&old);
                }
            }
        }
    }
}

/// What changed about the running job after an HTTP poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stall {
    /// The running job has run longer than `--max-job-time`.
    Began {
        /// The job.
        id: String,
        /// How long it has been running (seen).
        age: Duration,
    },
    /// The stalled job finished or the queue moved on.
    Ended,
}

/// Per server: when to ask for jobs, which were reported, and how long the
/// running one has been running.
#[derive(Debug)]
pub struct JobTracker {
    interval: Duration,
    max_job_time: Option<Duration>,
    source: Option<JobSource>,
    seen: Seen,
    baseline: bool,
    dirty: bool,
    big_page: bool,
    last_fetch: Option<Instant>,
    running: Option<(String, Instant)>,
    stalled: bool,
    last_queue: Option<(Option<u64>, Option<u64>, Option<u64>)>,
    warned: bool,
}

impl JobTracker {
    /// A tracker that asks at most once per `interval`; `max_job_time`
    /// enables the `stalled` judgement.
    pub fn new(interval: Duration, max_job_time: Option<Duration>) -> JobTracker {
        JobTracker {
            interval,
            max_job_time,
            source: None,
            seen: Seen::default(),
            baseline: false,
            dirty: false,
            big_page: false,
            last_fetch: None,
            running: None,
            stalled: false,
            last_queue: None,
            warned: false,
        }
    }

    /// A WebSocket session opened: choose the source again (the server may
    /// have been upgraded) and catch up on jobs finished meanwhile.
    pub fn session_started(&mut self) {
        self.source = None;
        self.dirty = true;
        self.stalled = false;
        self.running = None;
        self.last_queue = None;
        self.warned = false;
    }

    /// The queue changed (a WebSocket `status`): a job may have finished.
    pub fn queue_changed(&mut self) {
        self.dirty = true;
    }

    /// When the next job request may go out, if one is wanted.
    pub fn due(&self) -> Option<Instant> {
        if !self.dirty {
            return None;
        }
        Some(
            self.last_fetch
                .map_or_else(Instant::now, |t| t + self.interval),
        )
    }

    /// Marks a request as sent; returns its source and page size.
    pub fn start_fetch(&mut self) -> (Option<JobSource>, usize) {
        self.dirty = false;
        self.last_fetch = Some(Instant::now());
        let limit = if self.big_page { BIG_PAGE } else { PAGE };
        (self.source, limit)
    }

    /// Folds a page in. Returns the finished jobs not reported before,
    /// oldest first, and a warning to show once if the request failed. The
    /// first page of the monitor's life only sets the baseline: jobs that
    /// finished before watching began are not news.
    pub fn finish_fetch(
        &mut self,
        result: Result<(JobSource, Page), ProbeError>,
        limit: usize,
    ) -> (Vec<Job>, Option<String>) {
        let (source, page) = match result {
            Ok(ok) => ok,
            Err(e) => {
                // Asked again at the next queue change, not sooner.
                let warning = (!std::mem::replace(&mut self.warned, true))
                    .then(|| format!("cannot read the job list: {}", e.message));
                return (Vec::new(), warning);
            }
        };
        self.source = Some(source);
        let mut fresh: Vec<Job> = page
            .jobs
            .into_iter()
            .filter(|j| j.status.is_finished())
            .take_while(|j| !self.seen.contains(&j.id))
            .collect();
        // A full page of unseen jobs may hide more: ask for a bigger page
        // next time (one request per interval still holds).
        let full = fresh.len() >= limit;
        self.big_page = full && self.baseline && limit < BIG_PAGE;
        if self.big_page {
            self.dirty = true;
        }
        for job in fresh.iter().rev() {
            self.seen.insert(&job.id);
        }
        if !std::mem::replace(&mut self.baseline, true) {
            fresh.clear();
        }
        fresh.reverse();
        (fresh, None)
    }

    /// Folds in an HTTP poll: the queue counts and `queue_running[0]`'s id.
    /// A changed queue asks for jobs; a job running past `--max-job-time`
    /// begins a stall, and a stall ends when the running job changes.
    pub fn on_poll(
        &mut self,
        queue: (Option<u64>, Option<u64>, Option<u64>),
        running: Option<&str>,
    ) -> Option<Stall> {
        if self.last_queue.is_some_and(|q| q != queue) {
            self.dirty = true;
        }
        self.last_queue = Some(queue);
        let same = self.running.as_ref().map(|(id, _)| id.as_str()) == running;
        if !same {
            self.running = running.map(|id| (id.to_owned(), Instant::now()));
            if std::mem::take(&mut self.stalled) {
                self.dirty = true;
                return Some(Stall::Ended);
            }
            return None;
        }
        let (id, since) = self.running.as_ref()?;
        let max = self.max_job_time?;
        let age = since.elapsed();
        if age > max && !self.stalled {
            self.stalled = true;
            return Some(Stall::Began {
                id: id.clone(),
                age,
            });
        }
        None
    }

    /// The source chosen for this session, once known.
    pub fn source(&self) -> Option<JobSource> {
        self.source
    }
}

/// What `health` reports about jobs, from one small page.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobsReport {
    /// The job being executed and how long it has run (estimated from the
    /// previous job's end when the server gives no start time).
    pub running: Option<RunningJob>,
    /// Counts of the finished jobs in the page.
    pub recent: RecentCounts,
    /// The newest failure in the page.
    pub last_failure: Option<Failure>,
}

/// The running job in [`JobsReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunningJob {
    /// The prompt id.
    pub id: String,
    /// How long it has been running, ms (null when unknown).
    pub age_ms: Option<u64>,
}

/// Finished jobs by status in [`JobsReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct RecentCounts {
    /// `completed`.
    pub completed: u32,
    /// `failed`.
    pub failed: u32,
    /// `cancelled`.
    pub cancelled: u32,
}

/// A failed job in [`JobsReport`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Failure {
    /// The prompt id.
    pub id: String,
    /// When it failed (server epoch ms).
    pub end_ms: Option<u64>,
    /// Where and why.
    pub error: Option<JobError>,
}

/// Builds the health report from a page (newest first), the running
/// prompt id from `GET /queue`, and the time now (epoch ms).
pub fn report(jobs: &[Job], running_prompt: Option<&str>, now_ms: u64) -> JobsReport {
    let mut recent = RecentCounts::default();
    for job in jobs {
        match job.status {
            JobStatus::Completed => recent.completed += 1,
            JobStatus::Failed => recent.failed += 1,
            JobStatus::Cancelled => recent.cancelled += 1,
            _ => {}
        }
    }
    let last_failure = jobs
        .iter()
        .find(|j| j.status == JobStatus::Failed)
        .map(|j| Failure {
            id: j.id.clone(),
            end_ms: j.end_ms,
            error: j.error.clone(),
        });
    let in_progress = jobs.iter().find(|j| j.status == JobStatus::InProgress);
    let running_id = running_prompt
        .map(str::to_owned)
        .or_else(|| in_progress.map(|j| j.id.clone()));
    let running = running_id.map(|id| {
        // ComfyUI runs one prompt at a time: this one started when the
        // previous one ended, or when it was queued if that was later.
        let previous_end = jobs.iter().filter_map(|j| j.end_ms).max();
        let created = jobs
            .iter()
            .find(|j| j.id == id)
            .and_then(|j| j.start_ms.or(j.create_ms));
        let start = match (previous_end, created) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        RunningJob {
            id,
            age_ms: start.map(|s| now_ms.saturating_sub(s)),
        }
    });
    JobsReport {
        running,
        recent,
        last_failure,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> Vec<u8> {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/");
        std::fs::read(format!("{root}{path}")).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn job(id: &str, status: JobStatus) -> Job {
        Job {
            id: id.into(),
            status,
            create_ms: Some(1),
            start_ms: Some(2),
            end_ms: Some(5),
            error: None,
        }
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

    #[test]
    fn each_finished_job_is_reported_once_after_the_baseline() {
        let mut t = JobTracker::new(Duration::from_secs(1), None);
        assert_eq!(t.due(), None, "idle: nothing to ask");
        t.session_started();
        assert!(t.due().is_some());
        let page = |ids: &[&str]| Page {
            jobs: ids.iter().map(|i| job(i, JobStatus::Completed)).collect(),
            has_more: false,
        };
        let (_, limit) = t.start_fetch();
        let (jobs, _) = t.finish_fetch(Ok((JobSource::JobsApi, page(&["old"]))), limit);
        assert!(jobs.is_empty(), "the baseline is not news");
        assert_eq!(t.due(), None);
        t.queue_changed();
        let due = t.due().unwrap();
        assert!(due >= Instant::now() + Duration::from_millis(900));
        let (_, limit) = t.start_fetch();
        let (jobs, _) = t.finish_fetch(Ok((JobSource::JobsApi, page(&["b", "a", "old"]))), limit);
        let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"], "oldest first");
        // A reconnect, or a restarted server showing the same jobs again.
        t.session_started();
        let (_, limit) = t.start_fetch();
        let (jobs, _) = t.finish_fetch(Ok((JobSource::History, page(&["c", "b", "a"]))), limit);
        assert_eq!(jobs.len(), 1);
        assert_eq!(jobs[0].id, "c");
        assert_eq!(t.source(), Some(JobSource::History));
    }

    #[test]
    fn seen_ids_are_bounded() {
        let mut seen = Seen::default();
        for i in 0..SEEN_CAP + 10 {
            seen.insert(&i.to_string());
        }
        assert_eq!(seen.set.len(), SEEN_CAP);
        assert!(!seen.contains("0"));
        assert!(seen.contains(&(SEEN_CAP + 9).to_string()));
    }

    #[test]
    fn a_stall_begins_after_max_job_time_and_ends_when_the_job_changes() {
        let mut t = JobTracker::new(Duration::from_secs(1), Some(Duration::ZERO));
        let q = (Some(1), Some(1), Some(0));
        assert_eq!(t.on_poll(q, Some("a")), None);
        std::thread::sleep(Duration::from_millis(2));
        assert!(matches!(t.on_poll(q, Some("a")), Some(Stall::Began { .. })));
        assert_eq!(t.on_poll(q, Some("a")), None, "reported once");
        assert_eq!(
            t.on_poll((Some(0), Some(0), Some(0)), None),
            Some(Stall::Ended)
        );
        assert!(t.due().is_some(), "a moved queue asks for jobs");
    }

    #[test]
    fn health_report_counts_the_page_and_estimates_the_running_age() {
        let mut failed = job("f", JobStatus::Failed);
        failed.end_ms = Some(900);
        let jobs = vec![
            Job {
                id: "r".into(),
                status: JobStatus::InProgress,
                create_ms: Some(100),
                start_ms: None,
                end_ms: None,
                error: None,
            },
            failed,
            job("c", JobStatus::Completed),
        ];
        let r = report(&jobs, None, 1000);
        assert_eq!(r.recent.failed, 1);
        assert_eq!(r.recent.completed, 1);
        assert_eq!(r.last_failure.as_ref().unwrap().id, "f");
        let running = r.running.unwrap();
        assert_eq!(running.id, "r");
        assert_eq!(running.age_ms, Some(100), "since the previous job ended");
    }
}
