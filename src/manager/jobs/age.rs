//! The one age rule for a running job, judged here for `health
//! --max-job-time`, `watch --max-job-time` (`stalled`) and the metric
//! `comfyui_running_job_age_seconds` alike.
//!
//! From the server's data where it gives any: its start time, else the
//! latest of its create time, the previous job's end (ComfyUI runs one
//! prompt at a time) and the last poll that showed another job running,
//! measured on the server's own clock (its `Date` headers), never our
//! clock minus its timestamps. Where it gives no time at all (`/history`
//! on 0.3.64), from the moment we first saw the job running in `/queue`,
//! on our clock: conservative, it never counts idle time before the job.

use std::time::Duration;

use crate::manager::Setting;
use crate::manager::status::ClockSample;

/// What changed about the running job after an HTTP poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stall {
    /// The running job has run longer than `--max-job-time`.
    Began {
        /// The job.
        id: String,
        /// How long it has been running (by the one age rule).
        age: Duration,
    },
    /// The stalled job finished or the queue moved on.
    Ended,
}

/// The server's clock, as its `Date` headers bound it: the offset
/// (server − ours, ms) lies within the bounds every sample allows.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerClock {
    bounds: Option<(i64, i64)>,
}

impl ServerClock {
    /// Narrows the offset with one answer: it was written at some moment
    /// between sending and receiving, during the `Date` second.
    pub fn observe(&mut self, s: ClockSample) {
        let lo = s.date_ms as i64 - s.received_ms as i64;
        let hi = s.date_ms as i64 + 999 - s.sent_ms as i64;
        self.bounds = match self.bounds {
            Some((a, b)) if a.max(lo) <= b.min(hi) => Some((a.max(lo), b.min(hi))),
            // The first sample, or the server's clock was set: start over.
            _ => Some((lo, hi)),
        };
    }

    /// The server's time when ours reads `ours_ms`, once a sample came.
    pub fn now_ms(&self, ours_ms: u64) -> Option<u64> {
        let (lo, hi) = self.bounds?;
        u64::try_from(ours_ms as i64 + (lo + hi) / 2).ok()
    }

    /// A clock from one sample (`health`'s one probe).
    pub fn from_sample(sample: Option<ClockSample>) -> ServerClock {
        let mut clock = ServerClock::default();
        if let Some(s) = sample {
            clock.observe(s);
        }
        clock
    }
}

/// What the server says about when the running job began (its epoch ms).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Begun {
    /// `execution_start_time`, where given.
    pub start_ms: Option<u64>,
    /// `create_time` (0.33; not on 0.3.64).
    pub create_ms: Option<u64>,
    /// The newest end of a finished job: the running one started after it.
    pub previous_end_ms: Option<u64>,
    /// A poll that showed another job (or none) running: it started after.
    pub not_before_ms: Option<u64>,
}

impl Begun {
    /// When the job started, on the server's clock, if the server says.
    /// Without a start or create time there is none: the previous job's
    /// end alone would count the idle time before this job.
    pub fn start(&self) -> Option<u64> {
        self.start_ms.or_else(|| {
            let bounds = [self.previous_end_ms, self.not_before_ms];
            Some(bounds.into_iter().flatten().fold(self.create_ms?, u64::max))
        })
    }
}

/// The running job's age by the rule above: `server_now_ms` is the
/// server's clock now, `seen_for` how long we have seen the job running.
pub fn running_age(
    begun: Begun,
    server_now_ms: Option<u64>,
    seen_for: Option<Duration>,
) -> Option<Duration> {
    match (begun.start(), server_now_ms) {
        (Some(start), Some(now)) => Some(Duration::from_millis(now.saturating_sub(start))),
        _ => seen_for,
    }
}

/// "2.4s, 0.4s over --max-job-time 2s" (the CLI's name of
/// [`Setting::MaxJobTime`]): the age and by how much it is
/// over the limit, never rounded to look equal to it.
pub fn over_limit(age: Duration, limit: Duration) -> String {
    let over = age.saturating_sub(limit);
    let fine = over < Duration::from_millis(100);
    format!(
        "{}, {} over {} {}",
        seconds(age, fine),
        seconds(over, fine),
        Setting::MaxJobTime,
        humantime::format_duration(limit)
    )
}

/// Seconds with one decimal, cut (not rounded) so it never reads more than
/// it is; with `fine`, milliseconds.
fn seconds(d: Duration, fine: bool) -> String {
    let ms = d.as_millis() as u64;
    if fine && ms < 1000 {
        format!("{ms}ms")
    } else if fine {
        format!("{}.{:03}s", ms / 1000, ms % 1000)
    } else if ms < 60_000 {
        format!("{}.{}s", ms / 1000, ms % 1000 / 100)
    } else {
        humantime::format_duration(Duration::from_millis(ms / 100 * 100)).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_server_clock_is_narrowed_by_its_date_headers_whatever_its_skew() {
        // The server is 10 minutes behind; its Date headers say so.
        let skew = -600_000i64;
        let mut clock = ServerClock::default();
        for ours in [1_000_000_300u64, 1_000_001_800, 1_000_003_050] {
            let server = (ours as i64 + skew) as u64;
            clock.observe(ClockSample {
                date_ms: server / 1000 * 1000,
                sent_ms: ours - 5,
                received_ms: ours + 5,
            });
        }
        let now = clock.now_ms(1_000_004_000).unwrap() as i64;
        assert!((now - (1_000_004_000 + skew)).abs() <= 500, "{now}");
        // A job the server created 1 s ago is 1 s old, not 10 min.
        let begun = Begun {
            create_ms: Some((1_000_003_000 + skew) as u64),
            ..Begun::default()
        };
        let age = running_age(begun, clock.now_ms(1_000_004_000), None).unwrap();
        assert!(age <= Duration::from_millis(1500), "{age:?}");
    }

    #[test]
    fn the_start_is_the_latest_the_server_allows_and_none_without_its_times() {
        let begun = Begun {
            start_ms: None,
            create_ms: Some(100),
            previous_end_ms: Some(900),
            not_before_ms: Some(500),
        };
        assert_eq!(begun.start(), Some(900));
        let history = Begun {
            previous_end_ms: Some(900),
            ..Begun::default()
        };
        assert_eq!(history.start(), None, "idle time is not run time");
        let seen = Some(Duration::from_secs(2));
        assert_eq!(running_age(history, Some(10_000), seen), seen);
    }

    #[test]
    fn the_over_limit_text_never_equals_the_limit() {
        crate::config::name_flags();
        let limit = Duration::from_secs(2);
        assert_eq!(
            over_limit(Duration::from_millis(2460), limit),
            "2.4s, 0.4s over --max-job-time 2s"
        );
        assert_eq!(
            over_limit(Duration::from_millis(2040), limit),
            "2.040s, 40ms over --max-job-time 2s"
        );
        assert!(over_limit(Duration::from_secs(125), limit).starts_with("2m 5s, 2m 3s over"));
    }
}
