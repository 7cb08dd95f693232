//! The job half of a server's row: the running job as polls saw it, and
//! the rolling tally of recent jobs (done · failed · median).

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::short_duration;
use crate::manager::jobs::{Job, JobStatus};

/// How far back the rolling tally looks.
pub const WINDOW: Duration = Duration::from_secs(600);
/// Most jobs kept in the tally (a very busy server just drops the oldest).
const WINDOW_CAP: usize = 4096;

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
