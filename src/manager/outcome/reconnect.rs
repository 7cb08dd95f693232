//! `reconnect`'s outcomes: each server's progress folded from the fleet's
//! events, when the fleet is done under its rule, and what each server
//! came to.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{Outcomes, Rule, Verdict};
use crate::manager::{Envelope, ErrorKind, Event, ProbeError, State, TargetId};

/// How one server's reconnection went.
#[derive(Default)]
pub(super) struct Progress {
    attempts: u32,
    state: Option<State>,
    last_error: Option<ProbeError>,
    connected_after: Option<Duration>,
    failure: Option<String>,
}

/// How the run as a whole ended, which decides what an unfinished server's
/// outcome means.
struct Ending {
    /// The deadline passed before the fleet finished.
    timed_out: bool,
    /// `--any` and some server came back: the others were stopped, not failed.
    any_won: bool,
    /// The deadline, for "gave up after …".
    deadline: Duration,
}

/// What one server's reconnection came to.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// The full session came back after this long.
    Reconnected(Duration),
    /// Stopped because another server won (`--any`): no error line and no
    /// fallback warning.
    Stopped,
    /// Failed or gave up: the exit its last state calls for, and the error
    /// whose message tells the whole story.
    Failed(Verdict, ProbeError),
}

impl Progress {
    /// Folds one of this server's events in; `since_start` is the time since
    /// reconnect started.
    fn observe(&mut self, event: Event, since_start: Duration) {
        match event {
            Event::Reconnecting { attempt, error, .. } => {
                self.attempts = attempt;
                self.last_error = error;
            }
            Event::State { state, reason, .. } => {
                self.state = Some(state);
                match state {
                    State::Connected if self.connected_after.is_none() => {
                        self.connected_after = Some(since_start);
                    }
                    State::Failed => self.failure = Some(reason),
                    State::Degraded => {
                        self.last_error = Some(ProbeError::new(ErrorKind::WsRefused, reason));
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }

    /// Attempts made, the successful one included.
    fn attempts(&self) -> u32 {
        self.attempts + u32::from(self.connected_after.is_some())
    }

    /// Turns this server's progress into its outcome once the run is over.
    fn outcome(&self, ending: &Ending) -> Outcome {
        if let Some(took) = self.connected_after {
            return Outcome::Reconnected(took);
        }
        if ending.any_won && self.failure.is_none() {
            return Outcome::Stopped;
        }
        let why = self
            .last_error
            .as_ref()
            .map_or("no answer", |e| e.message.as_str());
        let failure = match (&self.failure, ending.timed_out) {
            (Some(f), _) => f.clone(),
            (None, true) => format!(
                "reconnection failed: gave up after {}: {why}",
                shown(ending.deadline)
            ),
            (None, false) => format!("reconnection failed: stopped: {why}"),
        };
        // The same {kind, message, status} object as Status: the kind and
        // status of the last attempt, the whole story as the message.
        let error = match &self.last_error {
            Some(last) => ProbeError {
                message: failure,
                ..last.clone()
            },
            None if ending.timed_out => ProbeError::new(ErrorKind::Timeout, failure),
            None => ProbeError::new(ErrorKind::Network, failure),
        };
        Outcome::Failed(
            self.state.map_or(Verdict::Unavailable, Verdict::from),
            error,
        )
    }
}

/// Every server's progress, in target order, and when the fleet is done:
/// `reconnect`'s outcomes, decided from the fleet's events.
pub struct Tally {
    order: Vec<(TargetId, Arc<str>)>,
    progress: HashMap<TargetId, Progress>,
    rule: Rule,
    started: Instant,
    timed_out: bool,
}

impl Tally {
    /// A tally of the servers in `order`, judged by `rule`, from `started`.
    pub fn new(order: Vec<(TargetId, Arc<str>)>, rule: Rule, started: Instant) -> Tally {
        let progress = order
            .iter()
            .map(|(id, _)| (*id, Progress::default()))
            .collect();
        Tally {
            order,
            progress,
            rule,
            started,
            timed_out: false,
        }
    }

    /// Finished: all servers back or one failed; with `--any`, one back or
    /// all failed.
    pub fn finished(&self) -> bool {
        let size = self.order.len();
        let back = self
            .progress
            .values()
            .filter(|p| p.connected_after.is_some());
        let failed = self.progress.values().filter(|p| p.failure.is_some());
        let (back, failed) = (back.count(), failed.count());
        self.rule.holds(back, size) || self.rule.fails(failed, size)
    }
}

impl Tally {
    /// Folds one event in; false when it is about no server of the tally.
    pub fn observe(&mut self, envelope: Envelope) -> bool {
        let since_start = self.started.elapsed();
        match self.progress.get_mut(&envelope.id) {
            Some(p) => {
                p.observe(envelope.event, since_start);
                true
            }
            None => false,
        }
    }

    /// The deadline passed before the fleet finished.
    pub fn time_out(&mut self) {
        self.timed_out = true;
    }

    /// Every server's outcome in target order, and the fleet's verdict;
    /// `deadline` is the one the run had, for "gave up after …".
    pub fn outcomes(&self, deadline: Duration) -> Outcomes<Reconnected> {
        let ending = Ending {
            timed_out: self.timed_out,
            any_won: self.rule == Rule::Any
                && self.progress.values().any(|p| p.connected_after.is_some()),
            deadline,
        };
        let servers = self
            .order
            .iter()
            .map(|(id, url)| {
                let p = &self.progress[id];
                Reconnected {
                    url: url.clone(),
                    attempts: p.attempts(),
                    elapsed: p.connected_after.unwrap_or(self.started.elapsed()),
                    outcome: p.outcome(&ending),
                }
            })
            .collect();
        Outcomes::new(servers, self.rule, |r| r.outcome.verdict())
    }
}

/// One server's reconnection, once the run is over.
#[derive(Debug)]
pub struct Reconnected {
    /// The server.
    pub url: Arc<str>,
    /// Attempts made, the successful one included.
    pub attempts: u32,
    /// How long it took to come back, or the whole run.
    pub elapsed: Duration,
    /// What it came to.
    pub outcome: Outcome,
}

impl Outcome {
    /// Back is ready; stopped is unavailable; a failure as its last state.
    pub fn verdict(&self) -> Verdict {
        match self {
            Outcome::Reconnected(_) => Verdict::Ready,
            Outcome::Stopped => Verdict::Unavailable,
            Outcome::Failed(verdict, _) => *verdict,
        }
    }
}

/// A deadline as the command line shows it: `500ms`, `5s`, `1m 30s`.
fn shown(d: Duration) -> String {
    if d < Duration::from_secs(1) {
        return format!("{}ms", d.as_millis());
    }
    humantime::format_duration(Duration::from_secs(d.as_secs())).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(state: State, reason: &str) -> Event {
        Event::State {
            state,
            previous: None,
            reason: reason.into(),
        }
    }

    fn refused(attempt: u32) -> Event {
        Event::Reconnecting {
            attempt,
            error: Some(ProbeError::new(ErrorKind::ConnectionRefused, "refused")),
            next_delay: Duration::from_millis(100),
        }
    }

    const ENDED: Ending = Ending {
        timed_out: false,
        any_won: false,
        deadline: Duration::from_secs(5),
    };

    #[test]
    fn giving_up_keeps_the_last_attempts_kind_and_tells_the_whole_story() {
        let mut p = Progress::default();
        p.observe(refused(1), Duration::ZERO);
        p.observe(refused(2), Duration::ZERO);
        let ending = Ending {
            timed_out: true,
            ..ENDED
        };
        let Outcome::Failed(exit, error) = p.outcome(&ending) else {
            panic!("not a failure");
        };
        assert_eq!(exit, Verdict::Unavailable);
        assert_eq!(error.kind, ErrorKind::ConnectionRefused);
        assert_eq!(
            error.message,
            "reconnection failed: gave up after 5s: refused"
        );
        assert_eq!(p.attempts(), 2);

        // No attempt ever failed with an error: a timeout with no answer.
        let Outcome::Failed(_, error) = Progress::default().outcome(&ending) else {
            panic!("not a failure");
        };
        assert_eq!(error.kind, ErrorKind::Timeout);
        assert!(error.message.ends_with(": no answer"), "{}", error.message);
    }

    #[test]
    fn the_first_connection_counts_as_an_attempt_and_fixes_the_time() {
        let mut p = Progress::default();
        p.observe(refused(1), Duration::ZERO);
        p.observe(state(State::Connected, "up"), Duration::from_millis(300));
        p.observe(state(State::Degraded, "ws"), Duration::from_millis(900));
        p.observe(state(State::Connected, "up"), Duration::from_millis(950));
        assert_eq!(p.attempts(), 2);
        assert_eq!(
            p.outcome(&ENDED),
            Outcome::Reconnected(Duration::from_millis(300))
        );
    }

    #[test]
    fn with_any_the_losers_are_stopped_but_a_failure_stays_a_failure() {
        let won = Ending {
            any_won: true,
            ..ENDED
        };
        assert_eq!(Progress::default().outcome(&won), Outcome::Stopped);
        let mut failed = Progress::default();
        failed.observe(state(State::Failed, "gave up: refused"), Duration::ZERO);
        let Outcome::Failed(_, error) = failed.outcome(&won) else {
            panic!("not a failure");
        };
        assert_eq!(error.message, "gave up: refused");
    }

    #[test]
    fn all_needs_every_server_back_and_any_needs_every_server_failed() {
        let order: Vec<(TargetId, Arc<str>)> =
            vec![(TargetId(0), "a".into()), (TargetId(1), "b".into())];
        for any in [false, true] {
            let mut tally = Tally::new(order.clone(), Rule::any_if(any), Instant::now());
            let a = tally.progress.get_mut(&TargetId(0)).unwrap();
            a.observe(state(State::Connected, "up"), Duration::ZERO);
            assert_eq!(tally.finished(), any, "one back, any={any}");
        }
        for any in [false, true] {
            let mut tally = Tally::new(order.clone(), Rule::any_if(any), Instant::now());
            let a = tally.progress.get_mut(&TargetId(0)).unwrap();
            a.observe(state(State::Failed, "x"), Duration::ZERO);
            assert_eq!(tally.finished(), !any, "one failed, any={any}");
        }
    }
}
