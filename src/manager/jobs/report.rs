//! What `health` says about jobs, from one small page.

use serde::Serialize;

use super::{Job, JobError, JobStatus};

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
    /// When it started running (server epoch ms).
    pub start_ms: Option<u64>,
    /// When it failed (server epoch ms).
    pub end_ms: Option<u64>,
    /// `oom`, `missing_file` or `exception`.
    pub reason: &'static str,
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
            start_ms: j.start_ms,
            end_ms: j.end_ms,
            reason: j.reason().unwrap_or("exception"),
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
    use crate::manager::jobs::test_job as job;

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
