//! When `watch` stops, and what the fleet came to then: `--until`,
//! `--count`, `--fallback abort` and giving up, under the fleet's rule.

use std::collections::HashMap;

use super::{Rule, Verdict};
use crate::manager::{Event, FallbackMode, State, TargetId};

/// `--until`: the state `watch` stops at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Every server (or, with `Any`, one) is connected.
    Connected,
    /// Every server (or, with `Any`, one) is down.
    Disconnected,
}

/// What the stop conditions need to know about each server.
pub struct StopRules {
    size: usize,
    rule: Rule,
    until: Option<Until>,
    count: Option<u64>,
    states: HashMap<TargetId, State>,
    polls: HashMap<TargetId, u64>,
}

impl StopRules {
    /// The rules for `size` servers judged together by `rule`: stop at
    /// `until`, or once `count` polls are done.
    pub fn new(size: usize, rule: Rule, until: Option<Until>, count: Option<u64>) -> StopRules {
        StopRules {
            size,
            rule,
            until,
            count,
            states: HashMap::new(),
            polls: HashMap::new(),
        }
    }

    /// How many servers are in a state for which `pred` holds.
    fn matching(&self, pred: impl Fn(State) -> bool) -> usize {
        self.states.values().filter(|s| pred(**s)).count()
    }

    /// True when `pred` holds for all servers (or, with `--any`, for one).
    fn holds(&self, pred: impl Fn(State) -> bool) -> bool {
        self.rule.holds(self.matching(pred), self.size)
    }

    /// Folds an event in; returns the fleet's verdict if watching should
    /// stop.
    pub fn observe(&mut self, id: TargetId, event: &Event) -> Option<Verdict> {
        match event {
            Event::State { state, .. } => {
                self.states.insert(id, *state);
                // All mode: one server failed ends it; any mode: all of them.
                let failed = self.matching(|s| s == State::Failed);
                if self.rule.fails(failed, self.size) {
                    return Some(Verdict::Unavailable);
                }
                match self.until {
                    Some(Until::Connected) if self.holds(|s| s == State::Connected) => {
                        Some(Verdict::Ready)
                    }
                    Some(Until::Disconnected) if self.holds(State::is_down) => Some(Verdict::Ready),
                    // The count may have been reached while connecting.
                    _ => self.counted(),
                }
            }
            Event::Warning {
                fallback: Some(FallbackMode::Abort),
                ..
            } => {
                // All mode: one server down aborts; any mode: all of them.
                let down = self.matching(State::is_down);
                self.rule
                    .fails(down, self.size)
                    .then_some(Verdict::Unavailable)
            }
            Event::Status { .. } => {
                *self.polls.entry(id).or_default() += 1;
                self.counted()
            }
            _ => None,
        }
    }

    /// `--count N`: the exit once enough servers have had N polls and have
    /// been judged. A poll that ends while a server is still `connecting`
    /// counts, but the run waits for its verdict (`connected`, `degraded`
    /// or down), so a healthy server is never reported from `connecting`.
    fn counted(&self) -> Option<Verdict> {
        let n = self.count?;
        let done = self
            .polls
            .iter()
            .filter(|(id, p)| {
                **p >= n
                    && self
                        .states
                        .get(*id)
                        .is_some_and(|s| *s != State::Connecting)
            })
            .count();
        self.rule.holds(done, self.size).then(|| self.exit_now())
    }

    /// The verdict that describes the fleet now, for `--count`.
    fn exit_now(&self) -> Verdict {
        self.rule
            .fleet(self.states.values().map(|s| Verdict::from(*s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(state: State) -> Event {
        Event::State {
            state,
            previous: None,
            reason: "r".into(),
        }
    }

    #[test]
    fn one_failure_ends_all_and_one_arrival_ends_any() {
        let mut all = StopRules::new(2, Rule::All, Some(Until::Connected), None);
        assert_eq!(all.observe(TargetId(0), &state(State::Connected)), None);
        let failed = all.observe(TargetId(1), &state(State::Failed));
        assert_eq!(failed, Some(Verdict::Unavailable));

        let mut any = StopRules::new(2, Rule::Any, Some(Until::Connected), None);
        assert_eq!(any.observe(TargetId(0), &state(State::Failed)), None);
        let back = any.observe(TargetId(1), &state(State::Connected));
        assert_eq!(back, Some(Verdict::Ready));
    }
}
