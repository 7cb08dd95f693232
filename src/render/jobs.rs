//! Job text shared by the human renderers: the line for a failed or
//! cancelled job, and `health`'s jobs line. Every server string passes
//! through `term_safe` here. (The running job's age and the rolling tally
//! are part of the row model, in [`super::view::window`].)

use std::time::Duration;

use super::safe::term_safe_bounded;
use super::view::short_duration;
use crate::manager::jobs::{Job, JobStatus, JobsReport};

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
}
