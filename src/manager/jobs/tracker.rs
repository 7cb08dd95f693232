//! When to ask for jobs, which finished jobs are news, and whether the
//! running one has stalled: one [`JobTracker`] per monitored server.
//!
//! Which jobs are news is decided on something the server really orders,
//! never on where reading stopped: the Jobs API lists jobs by creation,
//! newest first, but a job queued to the front (`"front": true`) is created
//! later and finishes earlier. A finished job is news when it was not in the
//! last page read and either it was seen unfinished (in a `/queue` poll, or
//! the probe that opened the session) or its ordering key (creation time on
//! the Jobs API, end time on `/history`, which is kept in completion order)
//! is at or above the floor: the oldest key of the last page read. Every
//! job that finished before an earlier read is either in that page or below
//! its floor; every job created (or, on `/history`, finished) after it is
//! above.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use tokio::time::Instant;

use super::age::{Begun, ServerClock, Stall, running_age};
use super::{HISTORY_LIMIT_MAX, Job, JobSource, LIMIT_MAX, PAGE, Page, READ_MAX};
use crate::manager::parse::Queue;
use crate::manager::status::{ProbeError, unix_ms};

/// Polls an id may be missing from `/queue` before it is forgotten as
/// unfinished (it finished, and a read followed, long before).
const UNFINISHED_POLLS: u32 = 16;
/// Unfinished ids remembered at most (a flood of queued prompts).
const UNFINISHED_MAX: usize = 4096;
/// Bigger requests after a short page, within one read.
const MAX_ESCALATIONS: u32 = 2;

/// A prompt id as a 64-bit hash: a fleet of a thousand servers stays small.
fn key_of(id: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(id)
}

/// What one page of the job list gave.
#[derive(Debug, Default)]
pub struct Read {
    /// The finished jobs that are news, oldest first.
    pub jobs: Vec<Job>,
    /// A warning to show (once per session for a failed request).
    pub warning: Option<String>,
    /// More finished than the page held: ask again now, for a bigger page
    /// (nothing was reported from this one, so the burst stays in order).
    pub again: bool,
}

/// The job `/queue` showed running, and when we first saw it.
#[derive(Debug)]
struct Running {
    id: String,
    since: Instant,
    create_ms: Option<u64>,
    not_before_ms: Option<u64>,
}

/// Per server: when to ask for jobs, which are news, and how long the
/// running one has been running.
#[derive(Debug)]
pub struct JobTracker {
    interval: Duration,
    max_job_time: Option<Duration>,
    source: Option<JobSource>,
    /// Ids of the finished jobs in the last page read.
    seen: HashSet<u64>,
    /// The oldest ordering key in the last page read (see the module doc).
    floor: Option<u64>,
    /// The first page was read: it only records what already finished.
    baseline: bool,
    /// Ids seen queued or running, with the poll that saw them last.
    unfinished: HashMap<u64, u32>,
    polls: u32,
    /// `pagination.total` at the last read: how many finished since.
    last_total: Option<u64>,
    next_limit: usize,
    escalations: u32,
    dirty: bool,
    again: bool,
    /// A WebSocket `status` came since the last poll: it asked already.
    ws_status: bool,
    /// `queue_remaining` of the last WebSocket `status` in this session.
    ws_remaining: Option<u64>,
    last_fetch: Option<Instant>,
    running: Option<Running>,
    /// The server's clock, from the polls' `Date` headers.
    clock: ServerClock,
    /// The server's time at the last poll (a job first seen running now
    /// started after it).
    last_poll_ms: Option<u64>,
    /// The newest end of a finished job read (the running one began after).
    last_end_ms: Option<u64>,
    stalled: bool,
    last_queue: Option<(Option<u64>, Option<u64>, Option<u64>)>,
    warned: bool,
}

impl JobTracker {
    /// A tracker that asks at most once per `interval` (a burst bigger than
    /// a page excepted); `max_job_time` enables the `stalled` judgement.
    pub fn new(interval: Duration, max_job_time: Option<Duration>) -> JobTracker {
        JobTracker {
            interval,
            max_job_time,
            source: None,
            seen: HashSet::new(),
            floor: None,
            baseline: false,
            unfinished: HashMap::new(),
            polls: 0,
            last_total: None,
            next_limit: PAGE,
            escalations: 0,
            dirty: false,
            again: false,
            ws_status: false,
            ws_remaining: None,
            last_fetch: None,
            running: None,
            clock: ServerClock::default(),
            last_poll_ms: None,
            last_end_ms: None,
            stalled: false,
            last_queue: None,
            warned: false,
        }
    }

    /// Whether the first page was read (jobs finishing after it are news).
    #[cfg(test)]
    fn has_baseline(&self) -> bool {
        self.baseline
    }

    /// A session is being opened: choose the source again (the server may
    /// have been upgraded). The caller reads at once, before announcing it.
    pub fn session_opening(&mut self) {
        self.source = None;
        self.warned = false;
        // No WebSocket speaks for the queue until the session opens.
        self.ws_remaining = None;
    }

    /// A WebSocket session opened (after its read), its first `status`
    /// said `remaining`. The running job stays judged as the session's
    /// opening poll judged it (a stall in force is announced at once).
    pub fn session_started(&mut self, remaining: u64) {
        self.last_queue = None;
        self.ws_status = false;
        self.ws_remaining = Some(remaining);
    }

    /// A WebSocket `status`: a job may have finished, but only if the
    /// queue got shorter (a prompt queued or started sends one too, and
    /// a job's three `status` messages should cost one read, not three).
    pub fn queue_status(&mut self, remaining: u64) {
        if self.ws_remaining.is_none_or(|last| remaining < last) {
            self.dirty = true;
        }
        self.ws_remaining = Some(remaining);
        self.ws_status = true;
    }

    /// When the next job request may go out, if one is wanted.
    pub fn due(&self) -> Option<Instant> {
        if !self.dirty {
            return None;
        }
        if self.again {
            return Some(Instant::now());
        }
        Some(
            self.last_fetch
                .map_or_else(Instant::now, |t| t + self.interval),
        )
    }

    /// Whether a request is wanted and allowed by `at`.
    pub fn due_by(&self, at: Instant) -> bool {
        self.due().is_some_and(|due| due <= at)
    }

    /// Marks a request as sent; returns its source and page size.
    pub fn start_fetch(&mut self) -> (Option<JobSource>, usize) {
        self.dirty = false;
        self.again = false;
        self.last_fetch = Some(Instant::now());
        (self.source, self.next_limit)
    }

    /// Folds a page in (see the module doc for what is news). The first
    /// page only records what already finished.
    pub fn finish_fetch(
        &mut self,
        result: Result<(JobSource, Page), ProbeError>,
        limit: usize,
    ) -> Read {
        let (source, page) = match result {
            Ok(ok) => ok,
            Err(e) => {
                // Asked again at the next queue change, not sooner; but a
                // missing baseline is asked for again an interval on.
                self.dirty |= !self.baseline;
                let warning = (!std::mem::replace(&mut self.warned, true))
                    .then(|| format!("cannot read the job list: {}", e.message));
                return Read {
                    warning,
                    ..Read::default()
                };
            }
        };
        self.source = Some(source);
        let sent = page.jobs.iter().filter(|j| j.status.is_finished()).count();
        let finished: Vec<Job> = page
            .jobs
            .into_iter()
            .filter(|j| j.status.is_finished())
            .take(READ_MAX)
            .collect();
        let news: Vec<bool> = finished.iter().map(|j| self.is_news(source, j)).collect();
        let fresh = news.iter().filter(|n| **n).count();
        // Could more new jobs hide past this page? The server says, or a
        // page as long as asked whose oldest job is news may.
        let more = page.has_more.unwrap_or(sent >= limit) || sent > READ_MAX;
        let gap = match (page.total, self.last_total) {
            (Some(total), Some(last)) if total >= last => Some(total - last),
            _ => None,
        };
        let short =
            self.baseline && more && gap.map_or(news.last() == Some(&true), |g| g as usize > fresh);
        let cap = match source {
            JobSource::JobsApi => LIMIT_MAX,
            JobSource::History => HISTORY_LIMIT_MAX,
        };
        if short && self.escalations < MAX_ESCALATIONS && limit < cap && sent <= limit {
            self.escalations += 1;
            let want = gap.map_or(limit * 10, |g| g as usize + PAGE);
            self.next_limit = want.clamp(limit + 1, cap);
            self.dirty = true;
            self.again = true;
            return Read {
                again: true,
                ..Read::default()
            };
        }
        self.escalations = 0;
        self.next_limit = PAGE;
        let warning = short.then(|| {
            let n = gap.map_or_else(|| "more".to_string(), |g| g.to_string());
            format!(
                "{n} jobs finished between two reads of the job list; \
                 only the newest {fresh} are reported"
            )
        });
        Read {
            jobs: self.fold(source, finished, &news, page.total),
            warning,
            again: false,
        }
    }

    /// The page becomes the last one read: its ids are the ones seen, its
    /// oldest key the floor. Returns the news, oldest first.
    fn fold(
        &mut self,
        source: JobSource,
        finished: Vec<Job>,
        news: &[bool],
        total: Option<u64>,
    ) -> Vec<Job> {
        self.seen.clear();
        if let Some(end) = finished.iter().filter_map(|j| j.end_ms).max() {
            self.last_end_ms = Some(self.last_end_ms.map_or(end, |e| e.max(end)));
        }
        let oldest = finished.iter().filter_map(|j| order_key(source, j)).min();
        if let Some(oldest) = oldest {
            self.floor = Some(self.floor.map_or(oldest, |f| f.max(oldest)));
        }
        let mut fresh = Vec::new();
        for (job, news) in finished.into_iter().zip(news) {
            let key = key_of(&job.id);
            self.seen.insert(key);
            self.unfinished.remove(&key);
            if *news {
                fresh.push(job);
            }
        }
        self.baseline = true;
        self.last_total = total;
        fresh.reverse();
        fresh
    }

    /// A finished job in a page: news unless it was in the last page, or
    /// it is below the floor and was never seen unfinished.
    fn is_news(&self, source: JobSource, job: &Job) -> bool {
        if !self.baseline {
            return false;
        }
        let key = key_of(&job.id);
        if self.seen.contains(&key) {
            return false;
        }
        self.unfinished.contains_key(&key)
            || match (self.floor, order_key(source, job)) {
                (Some(floor), Some(k)) => k >= floor,
                _ => true,
            }
    }

    /// Notes the prompt ids a `/queue` read listed as running or pending:
    /// once they finish, they are news whatever their creation time.
    pub fn note_unfinished(&mut self, ids: &[String]) {
        self.polls = self.polls.wrapping_add(1);
        let now = self.polls;
        for id in ids {
            self.unfinished.insert(key_of(id), now);
        }
        self.unfinished
            .retain(|_, seen| now.wrapping_sub(*seen) <= UNFINISHED_POLLS);
        if self.unfinished.len() > UNFINISHED_MAX {
            self.unfinished.retain(|_, seen| *seen == now);
        }
    }

    /// Folds in an HTTP poll: the queue counts and what `GET /queue` said
    /// (the running prompt, its create time, the server's `Date`). A
    /// changed queue asks for jobs (unless a WebSocket `status` already did
    /// since the last poll: one change, one read); a job running past
    /// `--max-job-time` (by [`JobTracker::running_age`]) begins a stall, and
    /// a stall ends when the running job changes.
    pub fn on_poll(
        &mut self,
        counts: (Option<u64>, Option<u64>, Option<u64>),
        queue: Option<&Queue>,
    ) -> Option<Stall> {
        let ws_asked = std::mem::take(&mut self.ws_status);
        // The WebSocket already told of this queue length (and asked, if it
        // was shorter): a poll sent before that `status` but answered after
        // it, then the next one, would otherwise count one change twice.
        let ws_told = self.ws_remaining.is_some() && self.ws_remaining == counts.0;
        if self.last_queue.is_some_and(|q| q != counts) && !ws_asked && !ws_told {
            self.dirty = true;
        }
        self.last_queue = Some(counts);
        if let Some(sample) = queue.and_then(|q| q.clock) {
            self.clock.observe(sample);
        }
        let server_now = self.clock.now_ms(unix_ms());
        let id = queue.and_then(|q| q.running_prompt_id.as_deref());
        let previous_poll = std::mem::replace(&mut self.last_poll_ms, server_now);
        if self.running.as_ref().map(|r| r.id.as_str()) != id {
            self.running = id.map(|id| Running {
                id: id.to_owned(),
                since: Instant::now(),
                create_ms: queue.and_then(|q| q.running_create_ms),
                not_before_ms: previous_poll,
            });
            if std::mem::take(&mut self.stalled) {
                self.dirty = true;
                return Some(Stall::Ended);
            }
        }
        let max = self.max_job_time?;
        let age = self.running_age()?;
        if age > max && !self.stalled {
            self.stalled = true;
            let id = self.running.as_ref()?.id.clone();
            return Some(Stall::Began { id, age });
        }
        None
    }

    /// The running job's age by the one rule (see `jobs::age`): on the
    /// server's clock from its own times, else from first sight.
    pub fn running_age(&self) -> Option<Duration> {
        let r = self.running.as_ref()?;
        let begun = Begun {
            start_ms: None,
            create_ms: r.create_ms,
            previous_end_ms: self.last_end_ms,
            not_before_ms: r.not_before_ms,
        };
        running_age(begun, self.clock.now_ms(unix_ms()), Some(r.since.elapsed()))
    }

    /// The stall in force, if any: the job and its age now.
    pub fn stall(&self) -> Option<(String, Duration)> {
        let r = self.running.as_ref().filter(|_| self.stalled)?;
        Some((r.id.clone(), self.running_age()?))
    }

    /// A finished job was reported: if it is the stalled one, the stall
    /// ends now rather than at the next poll.
    pub fn job_finished(&mut self, id: &str) -> Option<Stall> {
        let running = self.running.as_ref().is_some_and(|r| r.id == id);
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

/// What a source really orders its jobs by: creation on the Jobs API (its
/// `sort_by` default), completion on `/history` (insertion order).
fn order_key(source: JobSource, job: &Job) -> Option<u64> {
    match source {
        JobSource::JobsApi => job.create_ms,
        JobSource::History => job.end_ms.or(job.start_ms),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manager::jobs::JobStatus;
    use crate::manager::jobs::test_job;

    /// A finished job created at `create` (and ended 10 ms later).
    fn job(id: &str, create: u64) -> Job {
        Job {
            create_ms: Some(create),
            end_ms: Some(create + 10),
            ..test_job(id, JobStatus::Completed)
        }
    }

    fn page(jobs: &[(&str, u64)], total: Option<u64>, has_more: bool) -> Page {
        Page {
            jobs: jobs.iter().map(|(i, c)| job(i, *c)).collect(),
            has_more: Some(has_more),
            total,
        }
    }

    fn running(id: &str) -> Queue {
        Queue {
            running_prompt_id: Some(id.into()),
            ..Queue::default()
        }
    }

    fn read(t: &mut JobTracker, p: Page) -> Read {
        let (_, limit) = t.start_fetch();
        t.finish_fetch(Ok((JobSource::JobsApi, p)), limit)
    }

    fn ids(r: &Read) -> Vec<&str> {
        r.jobs.iter().map(|j| j.id.as_str()).collect()
    }

    #[test]
    fn the_first_page_is_the_baseline_and_each_job_is_news_once() {
        let mut t = JobTracker::new(Duration::from_secs(1), None);
        assert_eq!(t.due(), None, "idle: nothing to ask");
        assert!(!t.has_baseline());
        let r = read(&mut t, page(&[("old", 1)], Some(1), false));
        assert!(r.jobs.is_empty(), "the baseline is not news");
        assert!(t.has_baseline());
        t.queue_status(0);
        let due = t.due().unwrap();
        assert!(
            due >= Instant::now() + Duration::from_millis(900),
            "one per interval"
        );
        let r = read(
            &mut t,
            page(&[("b", 3), ("a", 2), ("old", 1)], Some(3), false),
        );
        assert_eq!(ids(&r), ["a", "b"], "oldest first");
        // A reconnect reads again at once: nothing twice, the rest news.
        t.session_opening();
        let (_, limit) = t.start_fetch();
        let p = page(&[("c", 4), ("b", 3), ("a", 2)], None, false);
        let r = t.finish_fetch(Ok((JobSource::History, p)), limit);
        assert_eq!(ids(&r), ["c"]);
        assert_eq!(t.source(), Some(JobSource::History));
    }

    #[test]
    fn a_job_that_finishes_out_of_creation_order_is_still_news() {
        let mut t = JobTracker::new(Duration::from_secs(1), None);
        // B (created at 3) is pending while newer ones finish before it.
        t.note_unfinished(&["b".to_string()]);
        let r = read(&mut t, page(&[("y", 5), ("z", 4)], Some(3), true));
        assert!(r.jobs.is_empty());
        // B failed: the list, newest created first, has it third.
        let r = read(&mut t, page(&[("y", 5), ("z", 4)], Some(4), true));
        assert!(r.again, "one finished that the page does not show");
        let (_, limit) = t.start_fetch();
        assert!(limit > PAGE);
        let p = page(&[("y", 5), ("z", 4), ("b", 3), ("w", 2)], Some(4), false);
        let r = t.finish_fetch(Ok((JobSource::JobsApi, p)), limit);
        assert_eq!(ids(&r), ["b"], "w is below the floor and was never queued");
        assert!(r.warning.is_none());
    }

    #[test]
    fn a_burst_is_read_whole_and_a_server_ignoring_limit_is_not_warned_about() {
        let mut t = JobTracker::new(Duration::from_secs(1), None);
        read(&mut t, page(&[("old", 1)], Some(1), false));
        let burst: Vec<(String, u64)> = (0..120).rev().map(|i| (format!("j{i}"), 10 + i)).collect();
        let refs: Vec<(&str, u64)> = burst.iter().map(|(i, c)| (i.as_str(), *c)).collect();
        let r = read(&mut t, page(&refs[..PAGE], Some(121), true));
        assert!(
            r.again && r.jobs.is_empty(),
            "held: the burst stays in order"
        );
        let soon = Instant::now() + Duration::from_millis(1);
        assert!(t.due_by(soon), "asked again at once");
        let (_, limit) = t.start_fetch();
        assert_eq!(limit, 120 + PAGE);
        let mut whole = refs.clone();
        whole.push(("old", 1));
        let r = t.finish_fetch(
            Ok((JobSource::JobsApi, page(&whole, Some(121), false))),
            limit,
        );
        assert_eq!(r.jobs.len(), 120);
        assert_eq!(r.jobs[0].id, "j0", "oldest first");
        assert!(r.warning.is_none());
        // Back to small pages; a server that sends everything anyway.
        let more: Vec<(String, u64)> = (0..80).rev().map(|i| (format!("k{i}"), 500 + i)).collect();
        let mut all: Vec<(&str, u64)> = more.iter().map(|(i, c)| (i.as_str(), *c)).collect();
        all.extend(whole);
        let r = read(&mut t, page(&all, Some(201), false));
        assert_eq!(r.jobs.len(), 80);
        assert!(r.warning.is_none() && !r.again);
    }

    #[test]
    fn only_a_shorter_queue_asks_and_a_poll_after_a_status_does_not_ask_again() {
        let mut t = JobTracker::new(Duration::from_secs(1), None);
        read(&mut t, page(&[], Some(0), false));
        t.session_started(0);
        let idle = (Some(0), Some(0), Some(0));
        let busy = (Some(1), Some(1), Some(0));
        t.on_poll(idle, None);
        t.queue_status(1);
        t.queue_status(1);
        assert_eq!(t.due(), None, "queued and started: nothing finished");
        t.on_poll(busy, Some(&running("a")));
        assert_eq!(t.due(), None, "the status said it first");
        t.queue_status(0);
        assert!(t.due().is_some());
        t.start_fetch();
        t.on_poll(idle, None);
        assert_eq!(t.due(), None, "one change, one read");
        // Without a WebSocket (degraded), the poll asks.
        t.on_poll(busy, Some(&running("b")));
        t.on_poll(idle, None);
        assert!(t.due().is_some());
    }

    #[test]
    fn unfinished_ids_are_bounded_and_forgotten() {
        let mut t = JobTracker::new(Duration::from_secs(1), None);
        let many: Vec<String> = (0..UNFINISHED_MAX + 10).map(|i| i.to_string()).collect();
        t.note_unfinished(&many[..UNFINISHED_MAX / 2]);
        t.note_unfinished(&many[UNFINISHED_MAX / 2..]);
        assert!(t.unfinished.len() <= UNFINISHED_MAX);
        for _ in 0..=UNFINISHED_POLLS {
            t.note_unfinished(&[]);
        }
        assert!(t.unfinished.is_empty());
    }

    #[test]
    fn a_stall_begins_after_max_job_time_and_ends_when_the_job_changes() {
        let mut t = JobTracker::new(Duration::from_secs(1), Some(Duration::from_millis(1)));
        let q = (Some(1), Some(1), Some(0));
        assert_eq!(t.on_poll(q, Some(&running("a"))), None);
        std::thread::sleep(Duration::from_millis(2));
        assert!(matches!(
            t.on_poll(q, Some(&running("a"))),
            Some(Stall::Began { .. })
        ));
        assert_eq!(t.on_poll(q, Some(&running("a"))), None, "reported once");
        assert_eq!(
            t.on_poll((Some(0), Some(0), Some(0)), None),
            Some(Stall::Ended)
        );
        assert!(t.due().is_some(), "a moved queue asks for jobs");
        // Or as soon as the stalled job is reported finished.
        assert_eq!(t.on_poll(q, Some(&running("b"))), None);
        std::thread::sleep(Duration::from_millis(2));
        assert!(matches!(
            t.on_poll(q, Some(&running("b"))),
            Some(Stall::Began { .. })
        ));
        assert_eq!(t.job_finished("a"), None);
        assert_eq!(t.job_finished("b"), Some(Stall::Ended));
        assert_eq!(t.on_poll((Some(0), Some(0), Some(0)), None), None);
    }
}
