//! Job text shared by the human renderers: the line for a failed or
//! cancelled job, the running job's age, and the rolling tally of recent
//! jobs. Every server string passes through `term_safe` here.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::safe::term_safe_bounded;
use super::view::short_duration;
use crate::manager::jobs::{Job, JobStatus, JobsReport};

/// How far back the rolling tally looks.
pub const WINDOW: Duration = Duration::from_secs(600);
/// Most jobs kept in the tally (a very busy server just drops the oldest).
const WINDOW_CAP: usize = 4096;
/// Longest error message shown on a terminal line, in characters.
const MESSAGE_SHOWN: usize = 160;

/// `job 593870ce failed after 24ms in node 2 (SaveImage): Exception: …`,
/// or `None` for a completed job (those only count).
pub fn job_line(job: &Job) -> Option<String> {
    let id = term_safe_bounded(job.id.get(..8).unwrap_or(&job.id), 8);
    let after = job
        .duration_ms()
        .map(|ms| format!(" after {}", short_duration(Duration::from_millis(ms))))
        .unwrap_or_default();
    match job.status {
        JobStatus::Failed => {
            // Only the causes with their own fix are named: the plain
            // `exception` line stays as it was.
            let cause = match job.reason() {
                Some(r @ ("oom" | "missing_file")) => format!(" ({r})"),
                _ => String::new(),
            };
            let mut line = format!("job {id} failed{cause}{after}");
            if let Some(e) = &job.error {
                let node = e.node_id.as_deref().map(|n| term_safe_bounded(n, 20));
                let class = e.node_type.as_deref().map(|t| term_safe_bounded(t, 40));
                match (node, class) {
                    (Some(n), Some(c)) => line.push_str(&format!(" in node {n} ({c})")),
                    (Some(n), None) => line.push_str(&format!(" in node {n}")),
                    (None, Some(c)) => line.push_str(&format!(" in {c}")),
                    (None, None) => {}
                }
                let kind = e
                    .exception_type
                    .as_deref()
                    .map(|t| format!("{}: ", term_safe_bounded(t, 40)))
                    .unwrap_or_default();
                line.push_str(&format!(
                    ": {kind}{}",
                    term_safe_bounded(&e.message, MESSAGE_SHOWN)
                ));
            }
            Some(line)
        }
        JobStatus::Cancelled => Some(format!("job {id} cancelled{after}")),
        _ => None,
    }
}

/// `running 0e163167 for 2m 5s · recent 8 completed, 1 failed, 0 cancelled
/// · last failure 593870ce in node 2 (SaveImage): Exception: …`, for
/// `health`.
pub fn health_line(report: &JobsReport) -> String {
    let mut parts = Vec::new();
    match &report.running {
        Some(r) => {
            let id = term_safe_bounded(r.id.get(..8).unwrap_or(&r.id), 8);
            let age = r
                .age_ms
                .map(|ms| format!(" for {}", short_duration(Duration::from_millis(ms))))
                .unwrap_or_default();
            parts.push(format!("running {id}{age}"));
        }
        None => parts.push("none running".into()),
    }
    let c = report.recent;
    parts.push(format!(
        "recent {} completed, {} failed, {} cancelled",
        c.completed, c.failed, c.cancelled
    ));
    if let Some(f) = &report.last_failure {
        let job = Job {
            id: f.id.clone(),
            status: JobStatus::Failed,
            create_ms: None,
            start_ms: f.start_ms,
            end_ms: f.end_ms,
            error: f.error.clone(),
        };
        if let Some(line) = job_line(&job) {
            parts.push(format!("last failure: {}", line.trim_start_matches("job ")));
        }
    }
    parts.join(" · ")
}

/// Finished jobs of the last [`WINDOW`], for "done · failed · median".
#[derive(Debug, Clone, Default)]
pub struct JobWindow {
    jobs: VecDeque<(Instant, JobStatus, Option<u64>)>,
}

impl JobWindow {
    /// Counts a finished job now.
    pub fn push(&mut self, job: &Job) {
        if !job.status.is_finished() {
            return;
        }
        self.jobs
            .push_back((Instant::now(), job.status, job.duration_ms()));
        while self.jobs.len() > WINDOW_CAP {
            self.jobs.pop_front();
        }
    }

    fn prune(&self) -> impl Iterator<Item = &(Instant, JobStatus, Option<u64>)> {
        self.jobs.iter().filter(|(at, ..)| at.elapsed() <= WINDOW)
    }

    /// Completed, failed and cancelled jobs in the window, and the median
    /// duration of the completed ones.
    pub fn tally(&self) -> (usize, usize, usize, Option<Duration>) {
        let (mut done, mut failed, mut cancelled) = (0, 0, 0);
        let mut durations = Vec::new();
        for (_, status, ms) in self.prune() {
            match status {
                JobStatus::Completed => {
                    done += 1;
                    durations.extend(ms);
                }
                JobStatus::Failed => failed += 1,
                JobStatus::Cancelled => cancelled += 1,
                _ => {}
            }
        }
        durations.sort_unstable();
        let median = (!durations.is_empty()).then(|| {
            let mid = durations.len() / 2;
            let ms = if durations.len() % 2 == 0 {
                (durations[mid - 1] + durations[mid]) / 2
            } else {
                durations[mid]
            };
            Duration::from_millis(ms)
        });
        (done, failed, cancelled, median)
    }

    /// `10m: 5 done · 1 failed · 2 cancelled · median 3.2s` (cancelled only
    /// when there are some), or empty with no jobs.
    pub fn text(&self) -> String {
        let (done, failed, cancelled, median) = self.tally();
        if done + failed + cancelled == 0 {
            return String::new();
        }
        let cancelled = if cancelled > 0 {
            format!(" · {cancelled} cancelled")
        } else {
            String::new()
        };
        let median = median
            .map(|m| format!(" · median {}", short_duration(m)))
            .unwrap_or_default();
        format!("10m: {done} done · {failed} failed{cancelled}{median}")
    }

    /// `5/1 3.2s` for the fleet table, or `-`.
    pub fn short(&self) -> String {
        let (done, failed, _, median) = self.tally();
        if done + failed == 0 {
            return "-".into();
        }
        let median = median.map(short_duration).unwrap_or_else(|| "-".into());
        format!("{done}/{failed} {median}")
    }
}

/// The running job as seen by HTTP polls: its id and when it was first seen.
#[derive(Debug, Clone, Default)]
pub struct Running(Option<(String, Instant)>);

impl Running {
    /// Folds in `queue_running[0]`'s id from a poll.
    pub fn observe(&mut self, id: Option<&str>) {
        match (id, &self.0) {
            (Some(id), Some((seen, _))) if seen == id => {}
            (Some(id), _) => self.0 = Some((id.to_owned(), Instant::now())),
            (None, _) => self.0 = None,
        }
    }

    /// How long the running job has been seen running.
    pub fn age(&self) -> Option<Duration> {
        self.0.as_ref().map(|(_, at)| at.elapsed())
    }

    /// `running 2m 5s`, or empty.
    pub fn text(&self) -> String {
        self.age()
            .map(|a| format!("running {}", short_duration(a)))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::jobs::{Cause, JobError};

    #[test]
    fn a_failed_job_is_one_safe_line_without_the_traceback() {
        let job = Job {
            id: "593870ce-95f0-47fa-b704-540c5cdd1022".into(),
            status: JobStatus::Failed,
            create_ms: Some(1),
            start_ms: Some(10),
            end_ms: Some(34),
            error: Some(JobError {
                node_id: Some("2".into()),
                node_type: Some("Save\x1b[2JImage".into()),
                exception_type: Some("Exception".into()),
                message: "bad \u{202e}thing".into(),
                cause: Cause::Exception,
            }),
        };
        let line = job_line(&job).unwrap();
        assert!(line.starts_with("job 593870ce failed after 24ms in node 2 (Save"));
        let mut oom = job.clone();
        if let Some(e) = oom.error.as_mut() {
            e.cause = Cause::Oom;
        }
        let line_oom = job_line(&oom).unwrap();
        assert!(
            line_oom.starts_with("job 593870ce failed (oom) after 24ms"),
            "{line_oom}"
        );
        assert!(
            !line.contains('\x1b') && !line.contains('\u{202e}'),
            "{line}"
        );
        let done = Job {
            status: JobStatus::Completed,
            error: None,
            ..job
        };
        assert_eq!(job_line(&done), None);
    }

    #[test]
    fn the_window_counts_and_takes_the_median() {
        let mut w = JobWindow::default();
        assert_eq!(w.text(), "");
        for (status, ms) in [
            (JobStatus::Completed, 1000),
            (JobStatus::Completed, 3000),
            (JobStatus::Completed, 2000),
            (JobStatus::Failed, 10),
        ] {
            w.push(&Job {
                id: "x".into(),
                status,
                create_ms: None,
                start_ms: Some(0),
                end_ms: Some(ms),
                error: None,
            });
        }
        assert_eq!(w.tally(), (3, 1, 0, Some(Duration::from_secs(2))));
        assert_eq!(w.text(), "10m: 3 done · 1 failed · median 2s");
        assert_eq!(w.short(), "3/1 2s");
        // Cancelled jobs count too, and alone they are not "no jobs".
        let cancelled = Job {
            id: "c".into(),
            status: JobStatus::Cancelled,
            create_ms: None,
            start_ms: Some(0),
            end_ms: Some(5),
            error: None,
        };
        let mut only = JobWindow::default();
        only.push(&cancelled);
        assert_eq!(only.text(), "10m: 0 done · 0 failed · 1 cancelled");
        w.push(&cancelled);
        assert_eq!(w.text(), "10m: 3 done · 1 failed · 1 cancelled · median 2s");
    }
}
