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
    /// `--json` prints an array (not one object): `--targets` was used or
    /// more than one URL was given, however many remain after dropping
    /// duplicates. Scripts can then rely on the shape from the command line.
    pub json_array: bool,
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
            json_array: false,
            tls: TlsSettings::default(),
        }
    }
}

/// The smallest duration a "greater than 0" flag takes.
const MS: Duration = Duration::from_millis(1);
/// Longest single request, poll period or hook run.
const HOUR: Duration = Duration::from_secs(3600);

/// Every duration flag's accepted range, `(flag, min, max)`, in one table.
/// The upper bounds keep deadlines far from `Instant` overflow and say what
/// is sensible: past an hour a single request or poll period is a hang.
pub const DURATION_LIMITS: [(&str, Duration, Duration); 6] = [
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

/// Most servers one process watches.
const MAX_TARGETS: usize = 10_000;
/// Most `--retries` accepted; with the 30 s cap this is already days.
const MAX_RETRIES: u32 = 10_000;

impl Config {
    /// Every problem with this configuration, not only the first. Empty
    /// means valid.
    pub fn validate(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Err(e) = check_duration("--timeout", self.timeout) {
            problems.push(e);
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

/// An environment variable's value; unset, empty or not UTF-8 is `None`.
fn env_value(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
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
    // COMFYUI_URL is read here, not by clap, so that its errors name the
    // variable and an empty value (or an empty item) counts as unset.
    let env_urls: Vec<String> = if global.url.is_empty() && global.targets.is_none() {
        env_value("COMFYUI_URL")
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    } else {
        Vec::new()
    };
    let (source, urls) = if global.url.is_empty() {
        ("COMFYUI_URL", &env_urls)
    } else {
        ("--url", &global.url)
    };
    config.json_array = urls.len() > 1 || global.targets.is_some();
    for url in urls {
        if let Some(t) = problems.take(Target::parse(url).map_err(|e| format!("{source}: {e}"))) {
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
                let mut found = 0;
                for (n, line) in text.lines().enumerate() {
                    let line = line.split('#').next().unwrap_or("").trim();
                    if line.is_empty() {
                        continue;
                    }
                    found += 1;
                    let parsed = Target::parse(line)
                        .map_err(|e| format!("--targets: {} line {}: {e}", path.display(), n + 1));
                    if let Some(t) = problems.take(parsed) {
                        config.targets.push(t);
                    }
                }
                if found == 0 {
                    problems.extend(vec![format!("--targets {}: no URLs in it", path.display())]);
                }
            }
        }
    }
    // The same server twice would run two monitors writing one metrics
    // series; compare normalised URLs (host case, default port, trailing /).
    let mut seen = std::collections::HashSet::new();
    config.targets.retain(|t| seen.insert(t.to_string()));
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
    let fallback = match global.fallback {
        Some(f) => Some(f),
        None => env_value("COMFYCTL_FALLBACK").and_then(|v| {
            let parsed = <FallbackArg as clap::ValueEnum>::from_str(v.trim(), true).map_err(|_| {
                format!("COMFYCTL_FALLBACK: '{v}' is not one of placeholder, skip, abort")
            });
            problems.take(parsed)
        }),
    };
    config.fallback_mode = match fallback.unwrap_or(FallbackArg::Placeholder) {
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
        .take(parse_bounded("--max-delay", &args.max_delay))
        .unwrap_or(Duration::from_millis(250));
    let deadline = deadline.and_then(|d| problems.take(parse_bounded("--deadline", d)));
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
        max_job_time: None,
    }
}

/// Builds `watch`'s settings.
pub fn watch_settings(config: &Config, args: &WatchArgs, problems: &mut Problems) -> WatchSettings {
    let mut settings = reconnect_policy(config, &args.policy, args.deadline.as_deref(), problems);
    if let Some(i) = problems.take(parse_bounded("--interval", &args.interval)) {
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
    settings.max_job_time = max_job_time(args.max_job_time.as_deref(), problems);
    settings
}

/// Parses `--max-job-time` (watch and health): greater than 0.
fn max_job_time(input: Option<&str>, problems: &mut Problems) -> Option<Duration> {
    let d = problems.take(parse_duration("--max-job-time", input?))?;
    if d.is_zero() {
        problems.extend(vec!["--max-job-time: must be greater than 0".into()]);
    }
    Some(d)
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

/// `IP:PORT`, `[IPv6]:PORT` or `HOST:PORT` (e.g. `localhost:0`): something
/// `--metrics` can listen on once the host is resolved.
fn is_listen_addr(addr: &str) -> bool {
    if addr.parse::<std::net::SocketAddr>().is_ok() {
        return true;
    }
    addr.rsplit_once(':').is_some_and(|(host, port)| {
        port.parse::<u16>().is_ok()
            && !host.is_empty()
            && host
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
    })
}

/// Builds `watch`'s sinks from their flags.
pub fn watch_sinks(args: &WatchArgs, problems: &mut Problems) -> WatchSinks {
    let hook_timeout = problems
        .take(parse_bounded("--hook-timeout", &args.hook_timeout))
        .unwrap_or(Duration::from_secs(10));
    if let Some(program) = &args.on_change
        && let Err(e) = find_program(program)
    {
        problems.extend(vec![format!("--on-change: {e}")]);
    }
    if let Some(addr) = &args.metrics
        && !is_listen_addr(addr)
    {
        problems.extend(vec![format!(
            "--metrics: '{addr}' is not an address; use IP:PORT or HOST:PORT, e.g. 127.0.0.1:9464 or localhost:0"
        )]);
    }
    let webhook = args.webhook.as_deref().and_then(|w| {
        let parsed = url::Url::parse(w)
            .ok()
            .filter(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if parsed.is_none() {
            // Webhook URLs carry their secret in the path or query: show
            // nothing of what was typed.
            problems.extend(vec![
                "--webhook: not an http(s) URL with a host (the URL is not shown)".into(),
            ]);
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

/// `--on-change PROGRAM` must name an executable file: a path (with a `/`)
/// as given, a bare name searched in `PATH`. Checked at start so a typo is
/// exit 2, not a note on every state change.
fn find_program(program: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &std::path::Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let shown = program.display();
    if program.components().count() > 1 || program.is_absolute() {
        return match std::fs::metadata(program) {
            Err(_) => Err(format!("'{shown}' does not exist")),
            Ok(_) if executable(program) => Ok(()),
            Ok(_) => Err(format!("'{shown}' is not an executable file")),
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|dir| executable(&dir.join(program))) {
        Ok(())
    } else {
        Err(format!("'{shown}' is not an executable found in PATH"))
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
    /// Not ready when more than this many jobs of the newest page failed.
    pub max_failed: Option<u32>,
    /// Not ready when the running job is older than this.
    pub max_job_time: Option<Duration>,
}

/// Builds `health`'s plan; workflow files are read and parsed here, so a
/// missing or malformed file is a usage error (exit 2) naming the flag.
pub fn health_plan(args: &HealthArgs, problems: &mut Problems) -> HealthPlan {
    let wait = args
        .wait
        .as_deref()
        .and_then(|w| problems.take(parse_bounded("--wait", w)));
    // A poll period without polling is a mistake worth pointing out: the
    // user expected a loop that will not happen.
    if args.interval.is_some() && args.wait.is_none() {
        problems.extend(vec![
            "--interval needs --wait (without --wait, health checks once)".into(),
        ]);
    }
    let interval = args
        .interval
        .as_deref()
        .and_then(|i| problems.take(parse_bounded("--interval", i)))
        .unwrap_or(Duration::from_secs(1));
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
        // An origin has no user:password; one that does is shown redacted.
        let valid = url::Url::parse(origin).ok().is_some_and(|u| {
            u.host_str().is_some()
                && matches!(u.scheme(), "http" | "https")
                && u.username().is_empty()
                && u.password().is_none()
        });
        if valid {
            checks.cors_origin = Some(origin.trim_end_matches('/').to_string());
        } else {
            problems.extend(vec![format!(
                "--require-cors: '{}' is not an origin; use e.g. http://localhost:5173",
                crate::manager::redact_str(origin)
            )]);
        }
    }
    checks.max_queue = args.max_queue;
    let expect_down = args.expect == ExpectArg::Down;
    let max_job_time = max_job_time(args.max_job_time.as_deref(), problems);
    let job_checks = args.max_failed.is_some() || max_job_time.is_some();
    if expect_down && (!checks.is_empty() || job_checks) {
        problems.extend(vec![
            "--expect down: readiness checks (--workflow, --require-*, --max-queue, --max-failed, --max-job-time) only apply to --expect up".into(),
        ]);
    }
    HealthPlan {
        wait,
        interval,
        expect_down,
        checks,
        max_failed: args.max_failed,
        max_job_time,
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
    fn metrics_listens_on_ip_or_host_with_a_port() {
        for ok in [
            "127.0.0.1:9464",
            "[::1]:0",
            "localhost:0",
            "monitor-host:9464",
        ] {
            assert!(is_listen_addr(ok), "{ok}");
        }
        for bad in ["localhost", ":9464", "localhost:x", "a b:1", "http://h:1"] {
            assert!(!is_listen_addr(bad), "{bad}");
        }
    }

    #[test]
    fn every_duration_flag_is_bounded_by_the_table() {
        for (flag, min, max) in DURATION_LIMITS {
            assert_eq!(check_duration(flag, max), Ok(max), "{flag}");
            assert_eq!(check_duration(flag, min), Ok(min), "{flag}");
            let err = check_duration(flag, max + Duration::from_secs(1)).unwrap_err();
            assert!(err.starts_with(flag) && err.contains("must be"), "{err}");
            assert!(check_duration(flag, Duration::ZERO).is_err(), "{flag}");
            let err = parse_bounded(flag, "500000000000y").unwrap_err();
            assert!(err.starts_with(flag), "{err}");
        }
    }

    #[test]
    fn header_errors_without_a_colon_show_no_value() {
        let err = parse_header("X-Api-Key=sk-abcdef123456").unwrap_err();
        assert!(
            err.contains("X-Api-Key") && !err.contains("sk-abc"),
            "{err}"
        );
        let err = parse_header("sk-abcdef123456").unwrap_err();
        assert!(!err.contains("sk-abc"), "{err}");
        let err = parse_header("=sk-abcdef123456").unwrap_err();
        assert!(!err.contains("sk-abc"), "{err}");
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
