//! The job list in a monitor: reads driven by the tracker, in a session
//! and while degraded, the read that opens every session (before its state
//! is announced), and the `stalled` transitions.

use super::*;

/// A job-list request in flight, with the page size it asked for.
pub(super) type JobsFuture =
    Pin<Box<dyn Future<Output = (Result<(JobSource, Page), ProbeError>, usize)> + Send>>;

/// Requests in one read at most: the page, then up to two bigger ones.
const READ_REQUESTS: u32 = 3;

impl Monitor {
    /// One request for the newest finished jobs (the tracker decides when).
    pub(super) fn jobs_request(&mut self) -> JobsFuture {
        let (source, limit) = self.jobs.start_fetch();
        let http = self.peer.http.clone();
        let target = self.peer.target.clone();
        Box::pin(async move {
            let result = jobs::fetch_finished(&http, &target, source, limit).await;
            (result, limit)
        })
    }

    /// Reads the job list now and reports what is news (a burst bigger
    /// than the page asks again at once, a bounded number of times). Opens
    /// every session before `connected` or `degraded` is announced, so
    /// every job that finishes after the announcement is reported.
    pub(super) async fn read_jobs_now(&mut self) {
        for _ in 0..READ_REQUESTS {
            let (result, limit) = self.jobs_request().await;
            if !self.on_jobs(result, limit).await {
                return;
            }
        }
    }

    /// The session is about to be announced: choose the job source again
    /// and read (the first read records what already finished; later ones
    /// catch up on jobs finished during the outage). The probe just before
    /// noted the unfinished ids.
    pub(super) async fn open_jobs(&mut self) {
        self.jobs.session_opening();
        self.read_jobs_now().await;
    }

    /// Reports the jobs a page shows for the first time; true when the
    /// tracker wants a bigger page now.
    pub(super) async fn on_jobs(
        &mut self,
        result: Result<(JobSource, Page), ProbeError>,
        limit: usize,
    ) -> bool {
        let read = self.jobs.finish_fetch(result, limit);
        if let Some(message) = read.warning {
            self.emit(Event::Warning {
                fallback: None,
                message,
            })
            .await;
        }
        for job in read.jobs {
            let slot = match job.status {
                JobStatus::Completed => 0,
                JobStatus::Failed => 1,
                _ => 2,
            };
            self.stats.jobs[slot] += 1;
            let stall = self.jobs.job_finished(&job.id);
            self.emit(Event::Job(job)).await;
            self.on_stall(stall).await;
        }
        read.again
    }

    /// `stalled` begins or ends.
    pub(super) async fn on_stall(&mut self, stall: Option<Stall>) {
        match stall {
            Some(Stall::Began { id, age }) if self.state == Some(State::Connected) => {
                let reason = self.stall_reason(&id, age);
                self.set_state(State::Stalled, reason).await;
            }
            Some(Stall::Ended) if self.state == Some(State::Stalled) => {
                self.set_state(
                    State::Connected,
                    "the stalled job finished; the queue moved".into(),
                )
                .await;
            }
            _ => {}
        }
    }

    /// "job 1a2b3c4d has been running for 2.4s, 0.4s over --max-job-time 2s".
    pub(super) fn stall_reason(&self, id: &str, age: Duration) -> String {
        let limit = self.settings.max_job_time.unwrap_or_default();
        format!(
            "job {} has been running for {}",
            // A server string in a state reason: keep only what a prompt
            // id is made of.
            id.chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                .take(8)
                .collect::<String>(),
            jobs::over_limit(age, limit)
        )
    }
}
