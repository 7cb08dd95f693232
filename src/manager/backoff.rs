//! Exponential backoff with jitter and a cap.

use std::time::Duration;

/// `base × factor^(attempt-1)`, capped, then spread by ±`jitter` so that many
/// clients do not retry in lockstep (the result never exceeds the cap).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first delay.
    pub base: Duration,
    /// Growth per attempt (≥ 1.0).
    pub factor: f64,
    /// The longest delay.
    pub cap: Duration,
    /// Fraction of spread around the nominal delay, 0.0 to 1.0.
    pub jitter: f64,
}

impl Backoff {
    /// The schedule `connect` uses between attempts: 1 s base, 30 s cap, ±20 %.
    pub fn connect(factor: f64) -> Backoff {
        Backoff {
            base: Duration::from_secs(1),
            factor,
            cap: Duration::from_secs(30),
            jitter: 0.2,
        }
    }

    /// The same pause every time, exactly `delay`.
    pub fn constant(delay: Duration) -> Backoff {
        Backoff {
            base: delay,
            factor: 1.0,
            cap: delay,
            jitter: 0.0,
        }
    }

    /// The webhook sender's pauses: 1 s, then 2 s.
    pub fn webhook() -> Backoff {
        Backoff {
            base: Duration::from_secs(1),
            factor: 2.0,
            cap: Duration::from_secs(2),
            jitter: 0.0,
        }
    }

    /// The delay before retry number `attempt` (1 for the first retry).
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, rand::random::<f64>())
    }

    /// [`Backoff::delay`] with the random draw `r` in `[0, 1)` given, for tests.
    pub fn delay_with(&self, attempt: u32, r: f64) -> Duration {
        if self.jitter == 0.0 && self.factor <= 1.0 {
            // Exact, without a round trip through seconds as f64.
            return self.base.min(self.cap);
        }
        let nominal = self.nominal(attempt).as_secs_f64();
        let spread = 1.0 - self.jitter + 2.0 * self.jitter * r.clamp(0.0, 1.0);
        Duration::from_secs_f64((nominal * spread).min(self.cap.as_secs_f64()))
    }

    /// The delay without jitter.
    pub fn nominal(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(64) as i32;
        let secs = self.base.as_secs_f64() * self.factor.max(1.0).powi(exp);
        Duration::from_secs_f64(secs.min(self.cap.as_secs_f64()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_by_the_factor_and_stops_at_the_cap() {
        let b = Backoff::connect(2.0);
        let secs: Vec<f64> = (1..=7).map(|n| b.nominal(n).as_secs_f64()).collect();
        assert_eq!(secs, [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]);
        assert_eq!(b.nominal(10_000), Duration::from_secs(30));
    }

    #[test]
    fn jitter_stays_within_bounds_and_under_the_cap() {
        let b = Backoff::connect(2.0);
        assert_eq!(b.delay_with(1, 0.0), Duration::from_secs_f64(0.8));
        assert_eq!(b.delay_with(1, 1.0), Duration::from_secs_f64(1.2));
        assert_eq!(b.delay_with(9, 1.0), Duration::from_secs(30));
        for n in 1..20 {
            let d = b.delay(n);
            assert!(d >= b.nominal(n).mul_f64(0.8) - Duration::from_nanos(1));
            assert!(d <= b.cap);
        }
    }

    #[test]
    fn factor_one_is_constant() {
        let b = Backoff::connect(1.0);
        assert_eq!(b.nominal(1), b.nominal(5));
    }
}
