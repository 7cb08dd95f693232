//! When to ask for jobs, which were reported, and whether the running one
//! has stalled: one [`JobTracker`] per monitored server.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use tokio::time::Instant;

use super::{BIG_PAGE, Job, JobSource, PAGE, Page, SEEN_CAP};
use crate::manager::status::ProbeError;

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
    not_before: Option<Instant>,
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
            not_before: None,
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
        // A fleet's sessions open together: spread their first requests
        // over the interval, as the probe rounds are, rather than send a
        // thousand at once (a burst for the servers and for our memory).
        self.not_before =
            Some(Instant::now() + self.interval.mul_f64(rand::random_range(0.05..=1.0)));
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
        let after_last = self
            .last_fetch
            .map_or_else(Instant::now, |t| t + self.interval);
        Some(self.not_before.map_or(after_last, |t| t.max(after_last)))
    }

    /// Marks a request as sent; returns its source and page size.
    pub fn start_fetch(&mut self) -> (Option<JobSource>, usize) {
        self.dirty = false;
        self.not_before = None;
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
        let full = fresh.len() >= limit;
        if full && self.baseline && limit < BIG_PAGE {
            // A full page of unseen jobs may hide more behind it, and once
            // this page was reported they could never be reached (reading
            // stops at the first job already reported). Report nothing yet:
            // the next request (one interval on, as always) reads a bigger
            // page, and all of them are reported from it, oldest first.
            self.big_page = true;
            self.dirty = true;
            return (Vec::new(), None);
        }
        self.big_page = false;
        let overflow = (full && self.baseline).then(|| {
            format!(
                "more than {limit} jobs finished between two reads of the job list; \
                 only the newest {limit} are reported"
            )
        });
        for job in fresh.iter().rev() {
            self.seen.insert(&job.id);
        }
        if !std::mem::replace(&mut self.baseline, true) {
            fresh.clear();
        }
        fresh.reverse();
        (fresh, overflow)
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

    /// A finished job was reported: if it is the stalled one, the stall
    /// ends now rather than at the next poll.
    pub fn job_finished(&mut self, id: &str) -> Option<Stall> {
        let running = self.running.as_ref().is_some_and(|(r, _)| r == id);
        if running && self.stalled {
            self.stalled = false;
            self.running = None;
            return Some(Stall::Ended);
        }
        None
    }

    /// The source chosen for this session, once known.
    #[cfg(test)]
    fn source(&self) -> Option<JobSource> {
        self.source
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::jobs::JobStatus;
    use crate::manager::jobs::test_job as job;

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
    fn a_burst_bigger_than_a_page_is_read_whole_from_a_bigger_one() {
        let mut t = JobTracker::new(Duration::from_secs(1), None);
        t.session_started();
        let page = |ids: &[String]| Page {
            jobs: ids.iter().map(|i| job(i, JobStatus::Completed)).collect(),
            has_more: false,
        };
        let (_, limit) = t.start_fetch();
        let (jobs, _) = t.finish_fetch(Ok((JobSource::JobsApi, page(&["old".into()]))), limit);
        assert!(jobs.is_empty());
        // Twelve finished at once; the list is newest first.
        let burst: Vec<String> = (1..=12).rev().map(|i| format!("j{i:02}")).collect();
        t.queue_changed();
        let (_, limit) = t.start_fetch();
        assert_eq!(limit, PAGE);
        let (jobs, warning) = t.finish_fetch(Ok((JobSource::JobsApi, page(&burst[..PAGE]))), limit);
        assert!(
            jobs.is_empty() && warning.is_none(),
            "held: more may hide behind it"
        );
        assert!(t.due().is_some(), "asks again");
        let (_, limit) = t.start_fetch();
        assert_eq!(limit, BIG_PAGE);
        let mut whole = burst.clone();
        whole.push("old".into());
        let (jobs, warning) = t.finish_fetch(Ok((JobSource::JobsApi, page(&whole))), limit);
        let ids: Vec<&str> = jobs.iter().map(|j| j.id.as_str()).collect();
        let oldest_first: Vec<String> = (1..=12).map(|i| format!("j{i:02}")).collect();
        assert_eq!(ids, oldest_first, "all of them, oldest first");
        assert!(warning.is_none());
        // Back to small pages; a big page that is all new says what it lost.
        t.queue_changed();
        assert_eq!(t.start_fetch().1, PAGE);
        t.big_page = true;
        let flood: Vec<String> = (0..BIG_PAGE).map(|i| format!("f{i}")).collect();
        let (jobs, warning) = t.finish_fetch(Ok((JobSource::JobsApi, page(&flood))), BIG_PAGE);
        assert_eq!(jobs.len(), BIG_PAGE);
        assert!(warning.unwrap().contains("only the newest 50"));
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
        // Or as soon as the stalled job is reported finished.
        assert_eq!(t.on_poll(q, Some("b")), None);
        std::thread::sleep(Duration::from_millis(2));
        assert!(matches!(t.on_poll(q, Some("b")), Some(Stall::Began { .. })));
        assert_eq!(t.job_finished("a"), None);
        assert_eq!(t.job_finished("b"), Some(Stall::Ended));
        assert_eq!(t.on_poll((Some(0), Some(0), Some(0)), None), None);
    }
}
