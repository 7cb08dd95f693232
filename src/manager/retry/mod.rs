//! The one retry driver. Everything that tries again runs its attempt
//! through [`drive`] under a [`Policy`]: `connect` (a fixed number of
//! tries), the way back of `watch` and `reconnect` (until `--max-attempts`
//! or `--deadline`, fast only while refused), `health --wait` (until its
//! deadline) and the webhook sender (3 tries). The policy says when to give
//! up and how to pace; a [`Discovery`] keeps looking for a server meanwhile.

use std::time::Duration;

use tokio::time::Instant;

use super::http::HttpClient;
use super::{Target, discovery, port};

mod policy;

pub(crate) use policy::Policy;

/// Why an attempt failed, as far as the driver cares.
#[derive(Debug)]
pub(crate) struct Failure<E> {
    /// The attempt's own account, handed back on giving up.
    pub(crate) error: E,
    /// The connection was refused: nothing listens.
    pub(crate) refused: bool,
    /// HTTP answered, the rest of the session did not (`degraded`).
    pub(crate) up: bool,
}

impl<E> Failure<E> {
    /// A failure that was neither refused nor up.
    pub(crate) fn other(error: E) -> Failure<E> {
        Failure {
            error,
            refused: false,
            up: false,
        }
    }
}

/// The attempts ended without success.
#[derive(Debug)]
pub(crate) struct GaveUp<E> {
    /// Attempts made.
    pub(crate) attempts: u32,
    /// [`GiveUp::attempts`] was reached.
    pub(crate) out_of_attempts: bool,
    /// [`GiveUp::after`] had passed.
    pub(crate) past: Option<Duration>,
    /// The last failure; `None` when [`GiveUp::at`] cut an attempt short.
    pub(crate) last: Option<E>,
}

/// Candidates to keep probing (no URL given) until one answers like
/// ComfyUI; empty once one did.
#[derive(Clone)]
pub(crate) struct Discovery {
    /// The client to probe them with.
    pub(crate) http: HttpClient,
    /// What is left to look on.
    pub(crate) candidates: Vec<Target>,
}

/// One kind of attempt, and what its owner does around it.
pub(crate) trait Attempts {
    /// What a successful attempt gives.
    type Done;
    /// What a failed one says.
    type Error;

    /// Where attempts go: the port watched while refused.
    fn target(&self) -> Option<&Target> {
        None
    }

    /// Before attempt `n` (1-based).
    async fn before(&mut self, _n: u32) {}

    /// Attempt `n`.
    async fn attempt(&mut self, n: u32) -> Result<Self::Done, Failure<Self::Error>>;

    /// The discovery found ComfyUI at `target`: attempts go there now.
    async fn found(&mut self, _target: Target) {}

    /// Attempt `n` failed; the next comes after `delay`.
    async fn retrying(&mut self, _n: u32, _failure: &Failure<Self::Error>, _delay: Duration) {}
}

/// Runs attempts until one succeeds or `policy` gives up. This is the one
/// loop in comfyctl that retries an attempt.
pub(crate) async fn drive<A: Attempts>(
    a: &mut A,
    policy: &Policy,
    mut discovery: Option<&mut Discovery>,
) -> Result<A::Done, GaveUp<A::Error>> {
    let started = Instant::now();
    let give_up = policy.give_up;
    let cut = |attempts: u32, last: Option<A::Error>| GaveUp {
        attempts,
        out_of_attempts: false,
        past: None,
        last,
    };
    let mut answered = 0u32;
    let mut n = 0u32;
    loop {
        n = n.saturating_add(1);
        a.before(n).await;
        // Every candidate refused (or there was no discovery): only then
        // may the next attempt come fast.
        let all_refused = match look(discovery.as_deref_mut(), give_up.at).await {
            None => return Err(cut(n - 1, None)),
            Some(Ok(found)) => {
                a.found(found).await;
                true
            }
            Some(Err(all_refused)) => all_refused,
        };
        // The first attempt always runs to its end (each request has its
        // own timeout): `health --wait 1ms` on a healthy server is ready.
        let attempt = a.attempt(n);
        let result = match give_up.at {
            Some(at) if n > 1 => match tokio::time::timeout_at(at, attempt).await {
                Ok(result) => result,
                Err(_) => return Err(cut(n, None)),
            },
            _ => attempt.await,
        };
        let failure = match result {
            Ok(done) => return Ok(done),
            Err(failure) => failure,
        };
        let out_of_attempts = give_up.attempts.is_some_and(|max| n >= max);
        let past = give_up.after.filter(|d| started.elapsed() >= *d);
        if (out_of_attempts || past.is_some()) && !(give_up.spare_up && failure.up) {
            return Err(GaveUp {
                attempts: n,
                out_of_attempts,
                past,
                last: Some(failure.error),
            });
        }
        let refused = all_refused && failure.refused;
        let delay = policy.pacing.delay(n, refused, failure.up, &mut answered);
        a.retrying(n, &failure, delay).await;
        let looking = discovery.as_ref().is_some_and(|d| !d.candidates.is_empty());
        let watch = refused && !looking && policy.pacing.watches_port();
        if !pause(a.target().filter(|_| watch), delay, give_up.at).await {
            return Err(cut(n, Some(failure.error)));
        }
    }
}

/// One round of discovery, if one is still going: the server found, or
/// whether every candidate refused (true without a discovery); `None` when
/// `at` passed while looking.
async fn look(
    discovery: Option<&mut Discovery>,
    at: Option<Instant>,
) -> Option<Result<Target, bool>> {
    let Some(d) = discovery.filter(|d| !d.candidates.is_empty()) else {
        return Some(Err(true));
    };
    let round = discovery::discover_round(&d.http, &d.candidates);
    let found = match at {
        Some(at) => tokio::time::timeout_at(at, round).await.ok()?,
        None => round.await,
    };
    if found.is_ok() {
        d.candidates.clear();
    }
    Some(found)
}

/// Pauses for `delay`, watching `port` meanwhile when given (back as soon
/// as it stops refusing); false once `at` has come.
async fn pause(port: Option<&Target>, delay: Duration, at: Option<Instant>) -> bool {
    if let Some(target) = port {
        let left = at.map_or(delay, |at| at.saturating_duration_since(Instant::now()));
        port::wait_until_not_refused(target, delay.min(left)).await;
        return at.is_none_or(|at| Instant::now() < at);
    }
    if let Some(at) = at
        && Instant::now() + delay >= at
    {
        tokio::time::sleep_until(at).await;
        return false;
    }
    tokio::time::sleep(delay).await;
    true
}

#[cfg(test)]
mod tests {
    use super::policy::{GiveUp, Pacing};
    use super::*;
    use crate::manager::Backoff;

    /// Fails `fails` times (refused or not), then succeeds.
    struct Flaky {
        fails: u32,
        refused: bool,
        delays: Vec<Duration>,
    }

    impl Attempts for Flaky {
        type Done = u32;
        type Error = &'static str;

        async fn attempt(&mut self, n: u32) -> Result<u32, Failure<&'static str>> {
            if n > self.fails {
                return Ok(n);
            }
            Err(Failure {
                error: "no",
                refused: self.refused,
                up: false,
            })
        }

        async fn retrying(&mut self, _n: u32, _f: &Failure<&'static str>, delay: Duration) {
            self.delays.push(delay);
        }
    }

    fn flaky(fails: u32, refused: bool) -> Flaky {
        Flaky {
            fails,
            refused,
            delays: Vec::new(),
        }
    }

    fn quick(attempts: Option<u32>) -> Policy {
        let ms = Duration::from_millis(1);
        Policy {
            give_up: GiveUp {
                attempts,
                ..GiveUp::default()
            },
            pacing: Pacing::Adaptive {
                refused: Backoff::constant(ms),
                answered: Backoff::constant(ms * 3),
                first_answered_fast: true,
                up: ms * 5,
                watch_port: false,
            },
        }
    }

    #[tokio::test]
    async fn retries_until_an_attempt_works_or_the_count_runs_out() {
        let mut a = flaky(2, true);
        assert_eq!(drive(&mut a, &quick(None), None).await.unwrap(), 3);
        let mut a = flaky(5, true);
        let gave_up = drive(&mut a, &quick(Some(3)), None).await.unwrap_err();
        assert_eq!((gave_up.attempts, gave_up.out_of_attempts), (3, true));
        assert_eq!(gave_up.last, Some("no"));
        assert_eq!(a.delays.len(), 2, "no pause after the last attempt");
    }

    #[tokio::test]
    async fn only_refused_attempts_come_fast() {
        let ms = Duration::from_millis(1);
        let mut a = flaky(3, true);
        drive(&mut a, &quick(None), None).await.unwrap();
        assert_eq!(a.delays, [ms, ms, ms]);
        // The first answered failure is retried fast, the rest slowly.
        let mut a = flaky(3, false);
        drive(&mut a, &quick(None), None).await.unwrap();
        assert_eq!(a.delays, [ms, ms * 3, ms * 3]);
    }

    #[tokio::test]
    async fn a_hard_deadline_ends_the_pauses() {
        let policy = Policy::health_wait(Duration::from_secs(60), Instant::now());
        let mut a = flaky(10, false);
        let gave_up = drive(&mut a, &policy, None).await.unwrap_err();
        assert_eq!(gave_up.attempts, 1, "the first attempt always runs");
    }

    #[test]
    fn the_webhook_pauses_one_then_two_seconds() {
        let policy = Policy::webhook(3);
        assert_eq!(policy.pauses(3), Duration::from_secs(3));
        let mut answered = 0;
        let delays: Vec<Duration> = (1..3)
            .map(|n| policy.pacing.delay(n, false, false, &mut answered))
            .collect();
        assert_eq!(delays, [Duration::from_secs(1), Duration::from_secs(2)]);
    }
}
