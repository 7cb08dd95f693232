//! Every limit a flag has, in tables, and the parsers that apply them;
//! problems are collected, not returned at the first.

use super::*;

/// The smallest duration a "greater than 0" flag takes.
pub(super) const MS: Duration = Duration::from_millis(1);
/// Longest single request, poll period or hook run.
pub(super) const HOUR: Duration = Duration::from_secs(3600);

/// Every duration flag's accepted range, `(flag, min, max)`, in one table.
/// The upper bounds keep deadlines far from `Instant` overflow and say what
/// is sensible: past an hour a single request or poll period is a hang.
pub const DURATION_LIMITS: [(&str, Duration, Duration); 8] = [
    ("--timeout", MS, HOUR),
    ("--interval", Duration::from_millis(50), HOUR),
    ("--wait", MS, Duration::from_secs(7 * 24 * 3600)),
    ("--deadline", MS, Duration::from_secs(30 * 24 * 3600)),
    (
        "--max-delay",
        Duration::from_millis(10),
        Duration::from_secs(600),
    ),
    ("--hook-timeout", MS, HOUR),
    ("--busy-grace", MS, HOUR),
    (
        "--failed-within",
        Duration::from_secs(1),
        Duration::from_secs(7 * 24 * 3600),
    ),
];

/// Checks `value` against `flag`'s row of [`DURATION_LIMITS`].
pub fn check_duration(flag: &str, value: Duration) -> Result<Duration, String> {
    let Some((_, min, max)) = DURATION_LIMITS.iter().find(|(f, _, _)| *f == flag) else {
        return Ok(value);
    };
    let show = |d: &Duration| humantime::format_duration(*d).to_string();
    if value.is_zero() && *min <= MS {
        Err(format!("{flag}: must be greater than 0"))
    } else if value < *min || value > *max {
        Err(format!(
            "{flag}: must be between {} and {}",
            show(min),
            show(max)
        ))
    } else {
        Ok(value)
    }
}

/// Parses a duration flag and checks it against [`DURATION_LIMITS`].
pub fn parse_bounded(flag: &str, input: &str) -> Result<Duration, String> {
    parse_duration(flag, input).and_then(|d| check_duration(flag, d))
}

/// Every whole-number flag's accepted range, `(flag, min, max)`, in one
/// table (`u64::MAX`: no upper bound).
pub const COUNT_LIMITS: [(&str, u64, u64); 7] = [
    // With the 30 s cap, 10,000 retries are already days.
    ("--retries", 0, 10_000),
    ("--fail-after", 1, 100),
    ("--recover-after", 1, 100),
    ("--count", 1, u64::MAX),
    ("--max-attempts", 1, 1_000_000),
    ("--max-queue", 0, u64::MAX),
    // health reads the newest page of 10 jobs: more can never fail.
    ("--max-failed", 0, 9),
];

/// `--backoff`'s accepted range (connect, watch and reconnect).
pub const BACKOFF_LIMITS: (f64, f64) = (1.0, 10.0);

/// Most servers one process watches.
pub(super) const MAX_TARGETS: usize = 10_000;

/// The one wording of a bad whole number, for every flag:
/// `--max-failed: expected a whole number between 0 and 9, got '-1'`.
fn count_error(flag: &str, min: u64, max: u64, got: &str) -> String {
    let range = if max == u64::MAX {
        format!("of at least {min}")
    } else {
        format!("between {min} and {max}")
    };
    let got: String = got.chars().take(40).collect();
    format!("{flag}: expected a whole number {range}, got '{got}'")
}

/// The range of `flag` in [`COUNT_LIMITS`] (any `u64` for a flag not in it).
fn count_range(flag: &str) -> (u64, u64) {
    COUNT_LIMITS
        .iter()
        .find(|(f, _, _)| *f == flag)
        .map_or((0, u64::MAX), |(_, min, max)| (*min, *max))
}

/// Checks `value` against `flag`'s row of [`COUNT_LIMITS`].
pub fn check_count(flag: &str, value: u64) -> Result<u64, String> {
    let (min, max) = count_range(flag);
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(count_error(flag, min, max, &value.to_string()))
    }
}

/// Parses a whole-number flag and checks it against [`COUNT_LIMITS`]; a
/// sign, a word, a fraction or a number past the range all get the same
/// sentence.
pub fn parse_count(flag: &str, input: &str) -> Result<u64, String> {
    let s = input.trim();
    let (min, max) = count_range(flag);
    match s.parse::<u64>() {
        Ok(n) if s.starts_with(|c: char| c.is_ascii_digit()) => check_count(flag, n),
        _ => Err(count_error(flag, min, max, s)),
    }
}

/// [`parse_count`] for a flag whose range fits a `u32` (every row but
/// `--count` and `--max-queue`).
pub fn parse_count_u32(flag: &str, input: &str) -> Result<u32, String> {
    let n = parse_count(flag, input)?;
    u32::try_from(n).map_err(|_| {
        count_error(
            flag,
            count_range(flag).0,
            u64::from(u32::MAX),
            &n.to_string(),
        )
    })
}

/// Parses `--backoff` and checks it against [`BACKOFF_LIMITS`].
pub(super) fn parse_backoff(input: &str, problems: &mut Problems) -> f64 {
    let default = ConnectPolicy::default().backoff;
    let (min, max) = BACKOFF_LIMITS;
    let s = input.trim();
    match s.parse::<f64>() {
        Ok(factor) if factor.is_finite() && (min..=max).contains(&factor) => factor,
        _ => {
            let got: String = s.chars().take(40).collect();
            problems.extend(vec![format!(
                "--backoff: expected a number between {min:.1} and {max:.1}, got '{got}'"
            )]);
            default
        }
    }
}

/// Problems with the client settings: the timeout's range, and headers a
/// stock server or the URL must decide.
pub(super) fn validate_client(client: &ClientSettings) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(e) = check_duration("--timeout", client.timeout) {
        problems.push(e);
    }
    for (name, _) in &client.headers {
        if name == "origin" {
            problems.push(
                "--header Origin: not allowed; a stock ComfyUI answers 403 to a foreign Origin"
                    .to_string(),
            );
        } else if name == "host" {
            problems.push("--header Host: not allowed; put the host in --url".to_string());
        }
    }
    problems
}

/// Parses a duration flag: humantime (`500ms`, `5s`, `2m`, `1h 30m`) or a
/// bare number of seconds.
pub fn parse_duration(flag: &str, input: &str) -> Result<Duration, String> {
    let s = input.trim();
    if let Ok(secs) = s.parse::<f64>() {
        if (0.0..1e9).contains(&secs) {
            return Ok(Duration::from_secs_f64(secs));
        }
        return Err(format!(
            "{flag}: '{s}' is not a valid duration; use e.g. 500ms, 5s, 2m"
        ));
    }
    humantime::parse_duration(s)
        .map_err(|_| format!("{flag}: '{s}' is not a valid duration; use e.g. 500ms, 5s, 2m"))
}

/// Parses `Name: value`. The message never repeats the value: it may be a
/// secret.
pub fn parse_header(input: &str) -> Result<(HeaderName, HeaderValue), String> {
    let Some((name, value)) = input.split_once(':') else {
        // Without a colon there is no telling name from value: `sk-…` alone
        // is a valid header name. Only a name before `=` is shown.
        let named = input
            .split_once('=')
            .map(|(n, _)| n.trim())
            .filter(|n| HeaderName::from_bytes(n.as_bytes()).is_ok());
        return Err(match named {
            Some(name) => format!(
                "--header '{name}': expected 'Name: value' with a colon, not '=' (the value is not shown)"
            ),
            None => {
                "--header: expected 'Name: value' with a colon (the value is not shown)".to_string()
            }
        });
    };
    let name = name.trim();
    let name = HeaderName::from_bytes(name.as_bytes())
        .map_err(|_| format!("--header '{name}: ***': '{name}' is not a valid header name"))?;
    let mut value = HeaderValue::from_str(value.trim()).map_err(|_| {
        format!("--header '{name}: ***': the value has characters a header cannot carry")
    })?;
    value.set_sensitive(true);
    Ok((name, value))
}

/// Collects parse problems while building a value, so all are reported.
/// Each is kept once: some flags (`--backoff`) are checked by two layers.
#[derive(Default)]
pub struct Problems(Vec<String>);

impl Problems {
    /// Keeps `Ok` values; records `Err` messages and returns `None`.
    pub fn take<T>(&mut self, r: Result<T, String>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(e);
                None
            }
        }
    }

    /// Adds problems found later (e.g. by `validate()`).
    pub fn extend(&mut self, more: Vec<String>) {
        for problem in more {
            self.push(problem);
        }
    }

    fn push(&mut self, problem: String) {
        if !self.0.contains(&problem) {
            self.0.push(problem);
        }
    }

    /// `Err(Error::Config)` if anything was recorded.
    pub fn finish(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Config(self.0))
        }
    }
}
