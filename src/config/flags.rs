//! The one flag table: every flag that takes a duration, a whole number or
//! a factor has a row here with its default and its limits. `cli.rs` takes
//! its `default_value` from the row and `config` parses through it, so a
//! flag and its limits cannot drift apart; a test walks every clap argument
//! and fails on one without a row.

use std::time::Duration;

/// The smallest duration a "greater than 0" flag takes.
pub const MS: Duration = Duration::from_millis(1);
/// Longest single request, poll period or hook run.
pub const HOUR: Duration = Duration::from_secs(3600);

/// One flag's row: its name, the commands that take it, its default and
/// its limits (`L`: [`Durations`], [`Counts`] or [`Factors`]). A flag with
/// another default in another command has a row of its own.
#[derive(Debug)]
pub struct Flag<L: 'static> {
    /// The long name, as messages show it: `--timeout`.
    pub name: &'static str,
    /// The commands that take it (`""`: a global option); the table test
    /// matches rows to clap's arguments by it.
    #[cfg_attr(not(test), allow(dead_code))]
    pub commands: &'static [&'static str],
    /// clap's `default_value`, shown in `--help` as `[default: …]`.
    pub default: Option<&'static str>,
    /// The value used when the flag is absent but clap has no default
    /// (the help text states it, e.g. `--interval`'s 1s under `--wait`).
    pub implied: Option<&'static str>,
    /// The accepted range.
    pub limits: L,
}

/// A duration flag's range. The upper bounds keep deadlines far from
/// `Instant` overflow and say what is sensible: past an hour a single
/// request or poll period is a hang. `Duration::MAX`: no upper bound.
#[derive(Debug)]
pub struct Durations {
    /// The shortest accepted (`MS`: "greater than 0").
    pub min: Duration,
    /// The longest accepted.
    pub max: Duration,
}

/// A whole-number flag's range (`u64::MAX`: no upper bound).
#[derive(Debug)]
pub struct Counts {
    /// The smallest accepted.
    pub min: u64,
    /// The largest accepted.
    pub max: u64,
}

/// A factor's range (`--backoff`).
#[derive(Debug)]
pub struct Factors {
    /// The smallest accepted.
    pub min: f64,
    /// The largest accepted.
    pub max: f64,
}

const fn duration(
    name: &'static str,
    commands: &'static [&'static str],
    default: Option<&'static str>,
    min: Duration,
    max: Duration,
) -> Flag<Durations> {
    Flag {
        name,
        commands,
        default,
        implied: None,
        limits: Durations { min, max },
    }
}

const fn count(
    name: &'static str,
    commands: &'static [&'static str],
    default: Option<&'static str>,
    min: u64,
    max: u64,
) -> Flag<Counts> {
    Flag {
        name,
        commands,
        default,
        implied: None,
        limits: Counts { min, max },
    }
}

/// `--timeout`: each request or attempt.
pub const TIMEOUT: Flag<Durations> = duration("--timeout", &[""], Some("5s"), MS, HOUR);
/// `watch --interval`: the HTTP poll and WebSocket ping period.
pub const WATCH_INTERVAL: Flag<Durations> = duration(
    "--interval",
    &["watch"],
    Some("5s"),
    Duration::from_millis(50),
    HOUR,
);
/// `health --interval`: the poll period of `--wait`.
pub const HEALTH_INTERVAL: Flag<Durations> = Flag {
    implied: Some("1s"),
    ..duration(
        "--interval",
        &["health"],
        None,
        Duration::from_millis(50),
        HOUR,
    )
};
/// `health --wait`: the overall deadline.
pub const WAIT: Flag<Durations> = duration(
    "--wait",
    &["health"],
    None,
    MS,
    Duration::from_secs(7 * 24 * 3600),
);
/// `watch --deadline`: the longest one outage may last.
pub const WATCH_DEADLINE: Flag<Durations> = duration(
    "--deadline",
    &["watch"],
    None,
    MS,
    Duration::from_secs(30 * 24 * 3600),
);
/// `reconnect --deadline`: the longest the whole reconnect may take.
pub const RECONNECT_DEADLINE: Flag<Durations> = duration(
    "--deadline",
    &["reconnect"],
    Some("5m"),
    MS,
    Duration::from_secs(30 * 24 * 3600),
);
/// `--max-delay`: the longest wait between reconnection attempts.
pub const MAX_DELAY: Flag<Durations> = duration(
    "--max-delay",
    &["watch", "reconnect"],
    Some("250ms"),
    Duration::from_millis(10),
    Duration::from_secs(600),
);
/// `--hook-timeout`: one hook run or webhook attempt.
pub const HOOK_TIMEOUT: Flag<Durations> =
    duration("--hook-timeout", &["watch"], Some("10s"), MS, HOUR);
/// `--busy-grace`: how long a silent busy server still counts as up.
pub const BUSY_GRACE: Flag<Durations> = duration("--busy-grace", &["watch"], None, MS, HOUR);
/// `--failed-within`: the window `--max-failed` counts in. Its implied
/// 10m is as long as `watch`'s rolling tally of recent jobs, several probe
/// periods (so a burst between two probes is seen), and short enough that
/// an idle server with old failures, which gets no new work to prove
/// itself, is ready again within minutes.
pub const FAILED_WITHIN: Flag<Durations> = Flag {
    implied: Some("10m"),
    ..duration(
        "--failed-within",
        &["health"],
        None,
        Duration::from_secs(1),
        Duration::from_secs(7 * 24 * 3600),
    )
};
/// `--max-job-time`: greater than 0, no upper bound (long video jobs are
/// legitimate).
pub const MAX_JOB_TIME: Flag<Durations> = duration(
    "--max-job-time",
    &["watch", "health"],
    None,
    MS,
    Duration::MAX,
);

/// `--retries`: with the 30 s cap, 10,000 retries are already days.
pub const RETRIES: Flag<Counts> = count("--retries", &["connect"], Some("3"), 0, 10_000);
/// `--fail-after`: failed probe rounds before hung or degraded.
pub const FAIL_AFTER: Flag<Counts> = count("--fail-after", &["watch"], Some("1"), 1, 100);
/// `--recover-after`: good attempts before `degraded` ends.
pub const RECOVER_AFTER: Flag<Counts> = count("--recover-after", &["watch"], Some("1"), 1, 100);
/// `--count`: HTTP polls before `watch` stops.
pub const COUNT: Flag<Counts> = count("--count", &["watch"], None, 1, u64::MAX);
/// `--max-attempts`: attempts in one outage.
pub const MAX_ATTEMPTS: Flag<Counts> = count(
    "--max-attempts",
    &["watch", "reconnect"],
    None,
    1,
    1_000_000,
);
/// `--max-queue`: the longest queue that is still ready.
pub const MAX_QUEUE: Flag<Counts> = count("--max-queue", &["health"], None, 0, u64::MAX);
/// `--max-failed`: health reads the newest page of 10 jobs, so more can
/// never fail.
pub const MAX_FAILED: Flag<Counts> = count("--max-failed", &["health"], None, 0, 9);

/// `--backoff`: the growth of the delay between attempts. connect and the
/// reconnect pacing of watch and reconnect share the factor and its range;
/// their first delays differ (1s and 100ms, from the manager's schedules,
/// as each one's help says).
pub const BACKOFF: Flag<Factors> = Flag {
    name: "--backoff",
    commands: &["connect", "watch", "reconnect"],
    default: Some("2.0"),
    implied: None,
    limits: Factors {
        min: 1.0,
        max: 10.0,
    },
};

#[cfg(test)]
#[path = "flags_tests.rs"]
mod tests;
