//! The parsers that apply the flag table's limits ([`super::flags`]);
//! problems are collected, not returned at the first.

use super::flags::*;
use super::*;

/// Most servers one process watches.
pub(super) const MAX_TARGETS: usize = 10_000;

impl Flag<Durations> {
    /// Checks `value` against this row's range.
    pub fn check(&self, value: Duration) -> Result<Duration, String> {
        let Durations { min, max } = self.limits;
        let show = |d: Duration| humantime::format_duration(d).to_string();
        if value.is_zero() && min <= MS {
            Err(format!("{}: must be greater than 0", self.name))
        } else if value < min || value > max {
            Err(format!(
                "{}: must be between {} and {}",
                self.name,
                show(min),
                show(max)
            ))
        } else {
            Ok(value)
        }
    }

    /// Parses this flag's value and checks its range.
    pub fn parse(&self, input: &str) -> Result<Duration, String> {
        parse_duration(self.name, input).and_then(|d| self.check(d))
    }

    /// The value when the flag is absent or bad: its default, else its
    /// implied default (zero for neither, which no plan then runs with).
    pub fn fallback(&self) -> Duration {
        self.default
            .or(self.implied)
            .and_then(|d| self.parse(d).ok())
            .unwrap_or_default()
    }

    /// `input` parsed (a bad one recorded in `problems`), or the fallback.
    pub fn or_fallback(&self, input: Option<&str>, problems: &mut Problems) -> Duration {
        input
            .and_then(|i| problems.take(self.parse(i)))
            .unwrap_or_else(|| self.fallback())
    }
}

impl Flag<Counts> {
    /// The one wording of a bad whole number, for every flag:
    /// `--max-failed: expected a whole number between 0 and 9, got '-1'`.
    fn error(&self, max: u64, got: &str) -> String {
        let min = self.limits.min;
        let range = if max == u64::MAX {
            format!("of at least {min}")
        } else {
            format!("between {min} and {max}")
        };
        let got: String = got.chars().take(40).collect();
        format!(
            "{}: expected a whole number {range}, got '{got}'",
            self.name
        )
    }

    /// Checks `value` against this row's range.
    pub fn check(&self, value: u64) -> Result<u64, String> {
        let Counts { min, max } = self.limits;
        if (min..=max).contains(&value) {
            Ok(value)
        } else {
            Err(self.error(max, &value.to_string()))
        }
    }

    /// Parses this flag's value and checks its range; a sign, a word, a
    /// fraction or a number past the range all get the same sentence.
    pub fn parse(&self, input: &str) -> Result<u64, String> {
        let s = input.trim();
        match s.parse::<u64>() {
            Ok(n) if s.starts_with(|c: char| c.is_ascii_digit()) => self.check(n),
            _ => Err(self.error(self.limits.max, s)),
        }
    }

    /// [`Flag::parse`] for a row whose range fits a `u32` (every row but
    /// `--count` and `--max-queue`).
    pub fn parse_u32(&self, input: &str) -> Result<u32, String> {
        let n = self.parse(input)?;
        u32::try_from(n).map_err(|_| self.error(u64::from(u32::MAX), &n.to_string()))
    }

    /// The value when the flag is bad: its default (0 without one).
    pub fn fallback(&self) -> u32 {
        self.default
            .and_then(|d| self.parse_u32(d).ok())
            .unwrap_or_default()
    }
}

impl Flag<Factors> {
    /// Parses this flag's value and checks its range; a bad one is
    /// recorded and the default returned.
    pub fn parse(&self, input: &str, problems: &mut Problems) -> f64 {
        let Factors { min, max } = self.limits;
        let s = input.trim();
        match s.parse::<f64>() {
            Ok(factor) if factor.is_finite() && (min..=max).contains(&factor) => factor,
            _ => {
                let got: String = s.chars().take(40).collect();
                problems.extend(vec![format!(
                    "{}: expected a number between {min:.1} and {max:.1}, got '{got}'",
                    self.name
                )]);
                self.fallback()
            }
        }
    }

    /// The default factor.
    pub fn fallback(&self) -> f64 {
        self.default
            .and_then(|d| d.parse().ok())
            .unwrap_or(self.limits.min)
    }
}

/// Problems with the client settings: the timeout's range, and headers a
/// stock server or the URL must decide.
pub(super) fn validate_client(client: &ClientSettings) -> Vec<String> {
    let mut problems = Vec::new();
    if let Err(e) = TIMEOUT.check(client.timeout) {
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
