//! Time accounting for the summary: uptime, outages, reconnects, jobs.

use super::*;

/// Time accounting for the summary.
pub(super) struct Stats {
    pub(super) started: Instant,
    /// The first judgement (the first state after `connecting`): uptime is
    /// measured from here, as connecting is neither up nor down.
    pub(super) judged: Option<Instant>,
    pub(super) up: Duration,
    pub(super) since: Instant,
    pub(super) outage_started: Option<Instant>,
    pub(super) outages: u32,
    pub(super) longest_outage: Duration,
    pub(super) reconnects: u32,
    pub(super) jobs: [u32; 3],
}

impl Stats {
    /// Nothing counted yet, starting `now`.
    pub(super) fn new(now: Instant) -> Stats {
        Stats {
            started: now,
            judged: None,
            up: Duration::ZERO,
            since: now,
            outage_started: None,
            outages: 0,
            longest_outage: Duration::ZERO,
            reconnects: 0,
            jobs: [0; 3],
        }
    }
}

impl Monitor {
    /// Updates uptime and outage counts on a transition.
    pub(super) fn account(&mut self, previous: Option<State>, next: State) {
        let now = Instant::now();
        if next != State::Connecting && self.stats.judged.is_none() {
            self.stats.judged = Some(now);
        }
        if previous.is_some_and(State::is_up) {
            self.stats.up += now - self.stats.since;
        }
        self.stats.since = now;
        let was_down = previous.is_some_and(State::is_down);
        if next.is_down() && !was_down {
            self.stats.outages += 1;
            self.stats.outage_started = Some(now);
        }
        if next.is_up()
            && let Some(start) = self.stats.outage_started.take()
        {
            self.stats.longest_outage = self.stats.longest_outage.max(now - start);
        }
        if next.is_reconnect(previous) {
            self.stats.reconnects += 1;
        }
    }

    pub(super) fn summary(&mut self) -> Summary {
        let now = Instant::now();
        let mut up = self.stats.up;
        if self.state.is_some_and(State::is_up) {
            up += now - self.stats.since;
        }
        let mut longest = self.stats.longest_outage;
        if let Some(start) = self.stats.outage_started {
            longest = longest.max(now - start);
        }
        let total = now - self.stats.started;
        let judged = self.stats.judged.map_or(Duration::ZERO, |at| now - at);
        let pct = if judged.is_zero() {
            // Judged this very instant (or never): all or nothing.
            if self.state.is_some_and(State::is_up) {
                100.0
            } else {
                0.0
            }
        } else {
            (up.as_secs_f64() / judged.as_secs_f64() * 1000.0).round() / 10.0
        };
        Summary {
            duration_ms: total.as_millis() as u64,
            uptime_pct: pct.min(100.0),
            outages: self.stats.outages,
            longest_outage_ms: longest.as_millis() as u64,
            reconnects: self.stats.reconnects,
            jobs_completed: self.stats.jobs[0],
            jobs_failed: self.stats.jobs[1],
            jobs_cancelled: self.stats.jobs[2],
        }
    }
}
