//! What `health` says about jobs, from one small page.

use super::age::{Begun, ServerClock, running_age};
use super::{Job, JobError, JobStatus};
use crate::manager::parse::Queue;
use crate::manager::status::unix_ms;

/// What `health` reports about jobs, from one small page.
#[derive(Debug, Clone, PartialEq)]
pub struct JobsReport {
    /// The job being executed and how long it has run (the one age rule of
    /// `jobs::age`; unknown where the server gives no time).
    pub running: Option<RunningJob>,
    /// Counts of the finished jobs in the page.
    pub recent: RecentCounts,
    /// The newest failure in the page.
    pub last_failure: Option<Failure>,
}

/// The running job in [`JobsReport`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunningJob {
    /// The prompt id.
    pub id: String,
    /// How long it has been running, ms (null when unknown).
    pub age_ms: Option<u64>,
}

/// Finished jobs by status in [`JobsReport`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RecentCounts {
    /// `completed`.
    pub completed: u32,
    /// `failed`.
    pub failed: u32,
    /// `cancelled`.
    pub cancelled: u32,
}

/// A failed job in [`JobsReport`].
#[derive(Debug, Clone, PartialEq)]
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

/// Builds the health report from a page (newest first) and what `GET
/// /queue` said (the running prompt, its create time, the server's `Date`).
/// The running job's age follows the one rule of `jobs::age`, on the
/// server's clock.
pub fn report(jobs: &[Job], queue: Option<&Queue>) -> JobsReport {
    let clock = ServerClock::from_sample(queue.and_then(|q| q.clock));
    report_at(jobs, queue, clock.now_ms(unix_ms()))
}

/// [`report`] with the server's time now given (`None`: unknown).
fn report_at(jobs: &[Job], queue: Option<&Queue>, server_now_ms: Option<u64>) -> JobsReport {
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
    let running_id = queue
        .and_then(|q| q.running_prompt_id.clone())
        .or_else(|| in_progress.map(|j| j.id.clone()));
    let running = running_id.map(|id| {
        let listed = jobs.iter().find(|j| j.id == id);
        let begun = Begun {
            start_ms: listed.and_then(|j| j.start_ms),
            create_ms: listed
                .and_then(|j| j.create_ms)
                .or_else(|| queue.and_then(|q| q.running_create_ms)),
            previous_end_ms: jobs.iter().filter_map(|j| j.end_ms).max(),
            not_before_ms: None,
        };
        RunningJob {
            id,
            age_ms: running_age(begun, server_now_ms, None).map(|a| a.as_millis() as u64),
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
        let r = report_at(&jobs, None, Some(1000));
        assert_eq!(r.recent.failed, 1);
        assert_eq!(r.recent.completed, 1);
        assert_eq!(r.last_failure.as_ref().unwrap().id, "f");
        let running = r.running.unwrap();
        assert_eq!(running.id, "r");
        assert_eq!(running.age_ms, Some(100), "since the previous job ended");
        // Without the server's times (/history on 0.3.64) the age is not
        // known: the previous end alone would count idle time.
        let mut old = jobs.clone();
        old[0].create_ms = None;
        assert_eq!(
            report_at(&old, None, Some(1000)).running.unwrap().age_ms,
            None
        );
    }
}
