//! What the servers came to, and what the fleet did: the one place the
//! `All`/`Any` rule is written. Commands turn a [`Verdict`] into an exit
//! code; the manager never knows exit codes.

pub mod reconnect;
pub mod watch;

use super::event::State;

/// How a fleet's outcome follows from its servers'.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// Every server must get there (the default).
    All,
    /// One server is enough (`--any`).
    Any,
}

impl Rule {
    /// `Any` when `any`, else `All`.
    pub fn any_if(any: bool) -> Rule {
        if any { Rule::Any } else { Rule::All }
    }

    /// Whether `matching` of `size` servers are enough: all of them, or
    /// with `Any` one.
    pub fn holds(self, matching: usize, size: usize) -> bool {
        match self {
            Rule::All => matching == size,
            Rule::Any => matching >= 1,
        }
    }

    /// Whether `failed` of `size` servers fail the fleet: one of them, or
    /// with `Any` every one.
    pub fn fails(self, failed: usize, size: usize) -> bool {
        match self {
            Rule::All => failed >= 1,
            Rule::Any => failed == size,
        }
    }

    /// The fleet's verdict: with `All` the worst server's, with `Any` the
    /// best's (the most hopeful failure, not ready before unavailable).
    /// No servers at all is `Unavailable`.
    pub fn fleet(self, verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        let verdicts = verdicts.into_iter();
        let pick = match self {
            Rule::All => verdicts.max(),
            Rule::Any => verdicts.min(),
        };
        pick.unwrap_or(Verdict::Unavailable)
    }
}

/// What one server came to, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Available, and ready where readiness was asked for.
    Ready,
    /// Reachable, but not ready.
    NotReady,
    /// Never reachable.
    Unavailable,
}

impl Verdict {
    /// The one rule: ready, else reachable but not ready, else unavailable.
    pub fn judge(reachable: bool, ready: bool) -> Verdict {
        match (ready, reachable) {
            (true, _) => Verdict::Ready,
            (false, true) => Verdict::NotReady,
            (false, false) => Verdict::Unavailable,
        }
    }
}

/// Only a full session is ready; `degraded` (HTTP answers, the WebSocket
/// does not) and `stalled` (a job past `--max-job-time`) are reachable but
/// not ready.
impl From<State> for Verdict {
    fn from(state: State) -> Verdict {
        let reachable = matches!(state, State::Degraded | State::Stalled);
        Verdict::judge(reachable, state == State::Connected)
    }
}

/// Per-server outcomes in target order, and the fleet's verdict under a
/// [`Rule`].
#[derive(Debug, Clone)]
pub struct Outcomes<T> {
    /// One per server, in target order.
    pub servers: Vec<T>,
    /// The fleet's verdict.
    pub fleet: Verdict,
}

impl<T> Outcomes<T> {
    /// The outcomes, judged each by `verdict` and together by `rule`.
    pub fn new(servers: Vec<T>, rule: Rule, verdict: impl Fn(&T) -> Verdict) -> Outcomes<T> {
        let fleet = rule.fleet(servers.iter().map(verdict));
        Outcomes { servers, fleet }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_takes_the_worst_and_any_the_best() {
        use Verdict::*;
        let verdicts = [Ready, Unavailable, NotReady];
        assert_eq!(Rule::All.fleet(verdicts), Unavailable);
        assert_eq!(Rule::Any.fleet(verdicts), Ready);
        assert_eq!(Rule::Any.fleet([Unavailable, NotReady]), NotReady);
        assert_eq!(Rule::All.fleet([Ready, Ready]), Ready);
        assert_eq!(Rule::All.fleet([]), Unavailable);
        assert!(Rule::All.holds(2, 2) && !Rule::All.holds(1, 2));
        assert!(Rule::Any.holds(1, 2) && !Rule::Any.holds(0, 2));
        assert!(Rule::All.fails(1, 2) && !Rule::All.fails(0, 2));
        assert!(Rule::Any.fails(2, 2) && !Rule::Any.fails(1, 2));
    }

    #[test]
    fn states_map_through_the_one_rule() {
        assert_eq!(Verdict::from(State::Connected), Verdict::Ready);
        assert_eq!(Verdict::from(State::Degraded), Verdict::NotReady);
        assert_eq!(Verdict::from(State::Stalled), Verdict::NotReady);
        for down in [State::Disconnected, State::Failed] {
            assert_eq!(Verdict::from(down), Verdict::Unavailable);
        }
    }
}
