//! The retry driver's policies: when to give up and how to pace, one
//! constructor per command that retries.

use std::time::Duration;

use tokio::time::Instant;

use crate::manager::backoff::Backoff;
use crate::manager::monitor::WatchSettings;
use crate::manager::settings::ConnectPolicy;

/// `health --wait`'s poll period while connections are refused (when
/// `--interval` is longer).
const UNREACHABLE_POLL: Duration = Duration::from_millis(250);

/// When to stop trying. Without a limit, never.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct GiveUp {
    /// After this many attempts.
    pub(crate) attempts: Option<u32>,
    /// Once this long has passed since the first attempt, judged after
    /// each failed attempt (a pause may run past it).
    pub(crate) after: Option<Duration>,
    /// At this instant: every attempt after the first, every look for a
    /// server and every pause is cut short there.
    pub(crate) at: Option<Instant>,
    /// A peer whose HTTP answers (`degraded`) is never given up on: it
    /// can take work.
    pub(crate) spare_up: bool,
}

/// How long to pause between attempts.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Pacing {
    /// The same schedule whatever went wrong: the pause before retry `n`
    /// is `delay(n)`.
    Fixed(Backoff),
    /// Fast only while connections are refused (that costs the server
    /// nothing); a peer that answers, or stays silent, is paced towards one
    /// attempt per interval, so a proxy in front of a dead backend is not
    /// loaded for as long as the outage lasts.
    Adaptive {
        /// While refused: before retry `n`.
        refused: Backoff,
        /// While a peer answers with an error or not at all: before the
        /// `k`th such failure in a row.
        answered: Backoff,
        /// The first of those comes on the refused schedule: right after a
        /// session ends, a stale pooled connection or a server halfway
        /// through exiting fails that way once, and one quick retry is free.
        first_answered_fast: bool,
        /// While HTTP answers but the session does not (`degraded`).
        up: Duration,
        /// While refused, watch the port between attempts and try again as
        /// soon as it opens (a refused connect is free).
        watch_port: bool,
    },
}

/// When to give up and how to pace.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// When to stop.
    pub(crate) give_up: GiveUp,
    /// The pauses.
    pub(crate) pacing: Pacing,
}

impl Policy {
    /// `connect`: `retries` after the first attempt, 1 s apart and growing
    /// by `backoff`, whatever went wrong.
    pub(crate) fn connect(policy: ConnectPolicy) -> Policy {
        Policy {
            give_up: GiveUp {
                attempts: Some(policy.retries.saturating_add(1)),
                ..GiveUp::default()
            },
            pacing: Pacing::Fixed(Backoff::connect(policy.backoff)),
        }
    }

    /// The way back of `watch` and `reconnect`: until `--max-attempts` or
    /// `--deadline` (never while degraded), refused attempts on the
    /// reconnect schedule, others a quarter interval, half, then once per
    /// interval.
    pub(crate) fn watch(settings: &WatchSettings) -> Policy {
        Policy {
            give_up: GiveUp {
                attempts: settings.max_attempts,
                after: settings.deadline,
                at: None,
                spare_up: true,
            },
            pacing: Pacing::Adaptive {
                refused: settings.reconnect,
                answered: settings.answered_backoff(),
                first_answered_fast: true,
                up: settings.interval,
                watch_port: true,
            },
        }
    }

    /// `health --wait`: until `deadline`; refused polls every 250 ms (or
    /// `interval` if shorter), any other once per `interval`.
    pub(crate) fn health_wait(interval: Duration, deadline: Instant) -> Policy {
        Policy {
            give_up: GiveUp {
                at: Some(deadline),
                ..GiveUp::default()
            },
            pacing: Pacing::Adaptive {
                refused: Backoff::constant(interval.min(UNREACHABLE_POLL)),
                answered: Backoff::constant(interval),
                first_answered_fast: false,
                up: interval,
                watch_port: true,
            },
        }
    }

    /// The webhook sender: `attempts` tries, 1 s and then 2 s apart.
    pub(crate) fn webhook(attempts: u32) -> Policy {
        Policy {
            give_up: GiveUp {
                attempts: Some(attempts),
                ..GiveUp::default()
            },
            pacing: Pacing::Fixed(Backoff::webhook()),
        }
    }

    /// The longest the pauses of `attempts` tries can add up to under a
    /// fixed schedule (nominal, before jitter).
    pub(crate) fn pauses(&self, attempts: u32) -> Duration {
        match self.pacing {
            Pacing::Fixed(b) => (1..attempts).map(|n| b.nominal(n)).sum(),
            Pacing::Adaptive { .. } => Duration::ZERO,
        }
    }
}

impl Pacing {
    /// The pause after failed attempt `n`; `answered` counts failures in
    /// a row at a peer that answered.
    pub(super) fn delay(&self, n: u32, refused: bool, up: bool, answered: &mut u32) -> Duration {
        let (fast, slow, first_fast, every) = match *self {
            Pacing::Fixed(backoff) => return backoff.delay(n),
            Pacing::Adaptive {
                refused,
                answered,
                first_answered_fast,
                up,
                ..
            } => (refused, answered, first_answered_fast, up),
        };
        if up {
            *answered = 0;
            every
        } else if refused {
            *answered = 0;
            fast.delay(n)
        } else {
            *answered += 1;
            match (first_fast, *answered) {
                (true, 1) => fast.delay(1),
                (true, k) => slow.delay(k - 1),
                (false, k) => slow.delay(k),
            }
        }
    }

    pub(super) fn watches_port(&self) -> bool {
        matches!(
            self,
            Pacing::Adaptive {
                watch_port: true,
                ..
            }
        )
    }
}
