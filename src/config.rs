//! Raw CLI arguments → a validated [`Config`]. No clap type goes past here.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};

use crate::cli::{
    ColorArg, ExpectArg, FallbackArg, GlobalArgs, HealthArgs, ReconnectPolicyArgs, WatchArgs,
};
use crate::error::Error;
use crate::manager::readiness::Checks;
use crate::manager::{FallbackMode, Target, TlsSettings, WatchSettings, workflow};
use crate::render::Output;

/// Everything the manager needs to know, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// The servers; empty means "find a local one" (8188, then 8000).
    pub targets: Vec<Target>,
    /// Time limit for each request or attempt.
    pub timeout: Duration,
    /// Retries after the first attempt (`connect`).
    pub max_retries: u32,
    /// Backoff growth factor between attempts.
    pub retry_backoff: f64,
    /// What callers should do while the backend is unavailable.
    pub fallback_mode: FallbackMode,
    /// Extra request headers (values are marked sensitive).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// Which certificates https:// servers may present.
    pub tls: TlsSettings,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            targets: Vec::new(),
            timeout: Duration::from_secs(5),
            max_retries: 3,
            retry_backoff: 2.0,
            fallback_mode: FallbackMode::Placeholder,
            headers: Vec::new(),
            tls: TlsSettings::default(),
        }
    }
}

/// Longest `--timeout` accepted: past this a "check" is a hang.
const MAX_TIMEOUT: Duration = Duration::from_secs(3600);
/// Most servers one process watches.
const MAX_TARGETS: usize = 10_000;
/// Most `--retries` accepted; with the 30 s cap this is already days.
const MAX_RETRIES: u32 = 10_000;

impl Config {
    /// Every problem with this configuration, not only the first. Empty
    /// means valid.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.timeout.is_zero() {
            problems.push("--timeout: must be greater than 0".to_string());
        } else if self.timeout > MAX_TIMEOUT {
            problems.push("--timeout: must be at most 1h".to_string());
        }
        if self.max_retries > MAX_RETRIES {
            problems.push(format!("--retries: must be at most {MAX_RETRIES}"));
        }
        if !self.retry_backoff.is_finite() || self.retry_backoff < 1.0 || self.retry_backoff > 10.0
        {
            problems.push(format!(
                "--backoff: must be between 1.0 and 10.0, got {}",
                self.retry_backoff
            ));
        }
        for (name, _) in &self.headers {
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
        let name = input.split_whitespace().next().unwrap_or("");
        return Err(format!(
            "--header '{name}…': expected 'Name: value' with a colon"
        ));
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

/// Parses a float flag.
fn parse_f64(flag: &str, input: &str) -> Result<f64, String> {
    input
        .trim()
        .parse::<f64>()
        .map_err(|_| format!("{flag}: '{}' is not a number", input.trim()))
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

/// Builds the [`Config`] shared by every command from the global flags.
/// `retries` and `backoff` come from the commands that take them.
pub fn from_global(
    global: &GlobalArgs,
    retries: Option<u32>,
    backoff: Option<&str>,
    problems: &mut Problems,
) -> Config {
    let mut config = Config::default();
    for url in &global.url {
        if let Some(t) = problems.take(Target::parse(url).map_err(|e| format!("--url: {e}"))) {
            config.targets.push(t);
        }
    }
    if let Some(path) = &global.targets {
        match std::fs::read_to_string(path) {
            Err(e) => problems.extend(vec![format!(
                "--targets: cannot read {}: {e}",
                path.display()
            )]),
            Ok(text) => {
                for (n, line) in text.lines().enumerate() {
                    let line = line.split('#').next().unwrap_or("").trim();
                    if line.is_empty() {
                        continue;
                    }
                    let parsed = Target::parse(line)
                        .map_err(|e| format!("--targets: {} line {}: {e}", path.display(), n + 1));
                    if let Some(t) = problems.take(parsed) {
                        config.targets.push(t);
                    }
                }
            }
        }
    }
    config.targets.dedup();
    if config.targets.len() > MAX_TARGETS {
        problems.extend(vec![format!(
            "--url/--targets: at most {MAX_TARGETS} servers"
        )]);
    }
    if let Some(t) = problems.take(parse_duration("--timeout", &global.timeout)) {
        config.timeout = t;
    }
    config.headers = global
        .headers
        .iter()
        .filter_map(|h| problems.take(parse_header(h)))
        .collect();
    config.tls.insecure = global.insecure;
    // --insecure wins, as in curl; the file is still checked so a typo in
    // COMFYCTL_CACERT does not go unnoticed.
    if let Some(path) = &global.cacert {
        let certs = TlsSettings::load_pem(path).map_err(|e| format!("--cacert: {e}"));
        if let Some(certs) = problems.take(certs) {
            config.tls.ca_certs = certs;
        }
    }
    if let Some(r) = retries {
        config.max_retries = r;
    }
    if let Some(b) = backoff.and_then(|b| problems.take(parse_f64("--backoff", b))) {
        config.retry_backoff = b;
    }
    config.fallback_mode = match global.fallback {
        FallbackArg::Placeholder => FallbackMode::Placeholder,
        FallbackArg::Skip => FallbackMode::Skip,
        FallbackArg::Abort => FallbackMode::Abort,
    };
    problems.extend(config.validate());
    config
}

/// Builds the pacing of reconnection from its flags (`config` must come from
/// `from_global` with this command's `--backoff`).
pub fn reconnect_policy(
    config: &Config,
    args: &ReconnectPolicyArgs,
    deadline: Option<&str>,
    problems: &mut Problems,
) -> WatchSettings {
    // --backoff was parsed and range-checked into `config` by `from_global`.
    let factor = config.retry_backoff;
    let max_delay = problems
        .take(parse_duration("--max-delay", &args.max_delay))
        .unwrap_or(Duration::from_millis(250));
    if max_delay < Duration::from_millis(10) || max_delay > Duration::from_secs(600) {
        problems.extend(vec!["--max-delay: must be between 10ms and 10m".into()]);
    }
    let deadline = deadline.and_then(|d| problems.take(parse_duration("--deadline", d)));
    if deadline.is_some_and(|d| d.is_zero()) {
        problems.extend(vec!["--deadline: must be greater than 0".into()]);
    }
    if args.max_attempts == Some(0) {
        problems.extend(vec!["--max-attempts: must be at least 1".into()]);
    }
    WatchSettings {
        interval: Duration::from_secs(5),
        timeout: config.timeout,
        fail_after: 1,
        recover_after: 1,
        reconnect: WatchSettings::reconnect_backoff(factor, max_delay),
        max_attempts: args.max_attempts,
        deadline,
        fallback: config.fallback_mode,
    }
}

/// Builds `watch`'s settings.
pub fn watch_settings(config: &Config, args: &WatchArgs, problems: &mut Problems) -> WatchSettings {
    let mut settings = reconnect_policy(config, &args.policy, args.deadline.as_deref(), problems);
    if let Some(i) = problems.take(parse_duration("--interval", &args.interval)) {
        if i < Duration::from_millis(50) || i > Duration::from_secs(3600) {
            problems.extend(vec!["--interval: must be between 50ms and 1h".into()]);
        }
        settings.interval = i;
    }
    for (flag, n) in [
        ("--fail-after", args.fail_after),
        ("--recover-after", args.recover_after),
    ] {
        if !(1..=100).contains(&n) {
            problems.extend(vec![format!("{flag}: must be between 1 and 100")]);
        }
    }
    settings.fail_after = args.fail_after;
    settings.recover_after = args.recover_after;
    if args.count == Some(0) {
        problems.extend(vec!["--count: must be at least 1".into()]);
    }
    settings
}

/// Where `watch` sends events besides the screen.
#[derive(Debug, Clone, Default)]
pub struct WatchSinks {
    /// Address for `/metrics`.
    pub metrics: Option<String>,
    /// Program run on every state change.
    pub on_change: Option<std::path::PathBuf>,
    /// URL POSTed on every state change.
    pub webhook: Option<url::Url>,
    /// Time limit for one hook run or webhook attempt.
    pub hook_timeout: Duration,
}

/// Builds `watch`'s sinks from their flags.
pub fn watch_sinks(args: &WatchArgs, problems: &mut Problems) -> WatchSinks {
    let hook_timeout = problems
        .take(parse_duration("--hook-timeout", &args.hook_timeout))
        .unwrap_or(Duration::from_secs(10));
    if hook_timeout.is_zero() {
        problems.extend(vec!["--hook-timeout: must be greater than 0".into()]);
    }
    if let Some(addr) = &args.metrics
        && addr.parse::<std::net::SocketAddr>().is_err()
    {
        problems.extend(vec![format!(
            "--metrics: '{addr}' is not an address; use e.g. 127.0.0.1:9464"
        )]);
    }
    let webhook = args.webhook.as_deref().and_then(|w| {
        let parsed = url::Url::parse(w)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if parsed.is_none() {
            problems.extend(vec![format!(
                "--webhook: '{}' is not an http(s) URL",
                crate::manager::redact_str(w)
            )]);
        }
        parsed
    });
    WatchSinks {
        metrics: args.metrics.clone(),
        on_change: args.on_change.clone(),
        webhook,
        hook_timeout,
    }
}

/// What `health` should do: check once or wait, for up or down, with which
/// readiness checks.
#[derive(Debug, Clone)]
pub struct HealthPlan {
    /// The overall deadline of `--wait`; `None` checks once.
    pub wait: Option<Duration>,
    /// Poll interval while waiting.
    pub interval: Duration,
    /// Wait for the server to go away instead of coming up.
    pub expect_down: bool,
    /// The readiness checks.
    pub checks: Checks,
}

/// Builds `health`'s plan; workflow files are read and parsed here, so a
/// missing or malformed file is a usage error (exit 2) naming the flag.
pub fn health_plan(args: &HealthArgs, problems: &mut Problems) -> HealthPlan {
    let wait = args
        .wait
        .as_deref()
        .and_then(|w| problems.take(parse_duration("--wait", w)));
    if wait.is_some_and(|w| w.is_zero()) {
        problems.extend(vec!["--wait: must be greater than 0".into()]);
    }
    let interval = problems
        .take(parse_duration("--interval", &args.interval))
        .unwrap_or(Duration::from_secs(1));
    if interval < Duration::from_millis(50) || interval > Duration::from_secs(3600) {
        problems.extend(vec!["--interval: must be between 50ms and 1h".into()]);
    }
    let mut checks = Checks::default();
    for path in &args.workflow {
        let shown = path.display().to_string();
        if let Some(wf) =
            problems.take(workflow::load(path).map_err(|e| format!("--workflow: {e}")))
        {
            checks.workflows.push((shown, wf));
        }
    }
    checks.nodes = args.require_node.clone();
    for spec in &args.require_model {
        match spec.split_once('/') {
            Some((folder, name)) if !folder.is_empty() && !name.is_empty() => {
                checks.models.push((folder.to_string(), name.to_string()));
            }
            _ => problems.extend(vec![format!(
                "--require-model: '{spec}' must be FOLDER/NAME, e.g. checkpoints/v1-5-pruned-emaonly.safetensors"
            )]),
        }
    }
    if let Some(origin) = &args.require_cors {
        let valid = url::Url::parse(origin)
            .ok()
            .is_some_and(|u| u.host_str().is_some() && matches!(u.scheme(), "http" | "https"));
        if valid {
            checks.cors_origin = Some(origin.trim_end_matches('/').to_string());
        } else {
            problems.extend(vec![format!(
                "--require-cors: '{origin}' is not an origin; use e.g. http://localhost:5173"
            )]);
        }
    }
    checks.max_queue = args.max_queue;
    let expect_down = args.expect == ExpectArg::Down;
    if expect_down && !checks.is_empty() {
        problems.extend(vec![
            "--expect down: readiness checks (--workflow, --require-*, --max-queue) only apply to --expect up".into(),
        ]);
    }
    HealthPlan {
        wait,
        interval,
        expect_down,
        checks,
    }
}

/// Decides the output mode once, in this order: `--json` or `--color`, then
/// `NO_COLOR`, then `TERM=dumb`, then whether stdout is a terminal.
/// `COMFYCTL_FORCE_TTY=1` makes stdout count as a terminal (for tests).
pub fn output(global: &GlobalArgs) -> Output {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let tty = crate::render::forced_tty() || console::Term::stdout().is_term();
    let dumb = env("TERM").is_some_and(|t| t == "dumb");
    let color = match global.color {
        _ if global.json => false,
        ColorArg::Always => true,
        ColorArg::Never => false,
        ColorArg::Auto => env("NO_COLOR").is_none() && !dumb && tty,
    };
    Output {
        json: global.json,
        color,
        live: tty && !dumb && !global.json && !global.quiet,
        quiet: global.quiet,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("--t", "5s"), Ok(Duration::from_secs(5)));
        assert_eq!(
            parse_duration("--t", "250ms"),
            Ok(Duration::from_millis(250))
        );
        assert_eq!(parse_duration("--t", "2"), Ok(Duration::from_secs(2)));
        assert_eq!(
            parse_duration("--t", "1.5"),
            Ok(Duration::from_millis(1500))
        );
        let err = parse_duration("--timeout", "5 parsecs").unwrap_err();
        assert!(
            err.starts_with("--timeout:") && err.contains("5 parsecs"),
            "{err}"
        );
        assert!(parse_duration("--t", "-1").is_err());
        assert!(parse_duration("--t", "NaN").is_err());
    }

    #[test]
    fn headers_never_echo_values() {
        let (n, v) = parse_header("Authorization: Bearer abc").unwrap();
        assert_eq!(n, "authorization");
        assert!(v.is_sensitive());
        let err = parse_header("Bad Name: secret-value").unwrap_err();
        assert!(!err.contains("secret-value"), "{err}");
        let err = parse_header("X-Token: line\nbreak").unwrap_err();
        assert!(!err.contains("line"), "{err}");
        assert!(parse_header("nocolon").unwrap_err().contains("colon"));
    }

    #[test]
    fn validate_lists_every_problem() {
        let config = Config {
            timeout: Duration::ZERO,
            retry_backoff: -1.0,
            max_retries: 1_000_000,
            headers: vec![parse_header("Origin: http://x").unwrap()],
            ..Config::default()
        };
        let problems = config.validate();
        assert_eq!(problems.len(), 4, "{problems:?}");
        assert!(Config::default().validate().is_empty());
    }
}
