//! Raw CLI arguments → one validated [`Plan`] per command, and the
//! [`Output`] decision. The only module (with `lib.rs` and `main.rs`) that
//! sees clap: commands take their plan, the manager its own settings types.

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};

use crate::cli::{
    Cli, ColorArg, Command, ConnectArgs, ExpectArg, FallbackArg, GlobalArgs, HealthArgs,
    ReconnectArgs, ReconnectPolicyArgs, UntilArg, WatchArgs,
};
use crate::error::Error;
use crate::manager::readiness::Checks;
use crate::manager::{
    ClientSettings, ConnectPolicy, FallbackMode, Target, TlsSettings, WatchSettings, workflow,
};
use crate::render::Output;

/// A validated command line: what to run, with everything it needs.
#[derive(Debug, Clone)]
pub enum Plan {
    /// `comfyctl health`.
    Health(HealthPlan),
    /// `comfyctl connect`.
    Connect(ConnectPlan),
    /// `comfyctl watch`.
    Watch(WatchPlan),
    /// `comfyctl reconnect`.
    Reconnect(ReconnectPlan),
    /// `comfyctl completions SHELL`: the script to print.
    Completions(Vec<u8>),
}

/// What every command that talks to servers shares.
#[derive(Debug, Clone)]
pub struct Common {
    /// The servers; empty means "find a local one" (8188, then 8000).
    pub targets: Vec<Target>,
    /// `--json` prints an array (not one object): `--targets` was used or
    /// more than one URL was given, however many remain after dropping
    /// duplicates. Scripts can then rely on the shape from the command line.
    pub json_array: bool,
    /// `--any`: with several servers, one success is enough.
    pub any: bool,
    /// How requests are made: timeout, headers, TLS trust.
    pub client: ClientSettings,
    /// What callers should do while the backend is unavailable.
    pub fallback: FallbackMode,
}

/// What `connect` should do.
#[derive(Debug, Clone)]
pub struct ConnectPlan {
    /// Servers, client and fallback.
    pub common: Common,
    /// Retries and backoff.
    pub policy: ConnectPolicy,
}

/// What `reconnect` should do.
#[derive(Debug, Clone)]
pub struct ReconnectPlan {
    /// Servers, client and fallback.
    pub common: Common,
    /// The monitors' pacing (reconnection backoff, attempts).
    pub settings: WatchSettings,
    /// Give up after this long in all.
    pub deadline: Duration,
}

/// `--until` as a plan: the state `watch` stops at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Until {
    /// Every server (or, with `--any`, one) is connected.
    Connected,
    /// Every server (or, with `--any`, one) is down.
    Disconnected,
}

/// What `watch` should do.
#[derive(Debug, Clone)]
pub struct WatchPlan {
    /// Servers, client and fallback.
    pub common: Common,
    /// The monitors' pacing and judgement.
    pub settings: WatchSettings,
    /// Where events go besides the screen.
    pub sinks: WatchSinks,
    /// Stop once this state holds.
    pub until: Option<Until>,
    /// Stop after this many HTTP polls per server.
    pub count: Option<u64>,
}

/// Turns the parsed command line into its [`Plan`], or every problem with
/// it at once (`Error::Config`, exit 2).
pub fn plan(cli: &Cli) -> Result<Plan, Error> {
    let mut problems = Problems::default();
    let global = &cli.global;
    let plan = match &cli.command {
        // Completions need no server: a bad $COMFYUI_URL must not stop them.
        Command::Completions(args) => return Ok(Plan::Completions(completion_script(args.shell))),
        Command::Health(args) => {
            let common = common(global, &mut problems);
            Plan::Health(health_plan(common, args, &mut problems))
        }
        Command::Connect(args) => {
            let common = common(global, &mut problems);
            Plan::Connect(connect_plan(common, args, &mut problems))
        }
        Command::Watch(args) => {
            let common = common(global, &mut problems);
            Plan::Watch(watch_plan(common, args, &mut problems))
        }
        Command::Reconnect(args) => {
            let common = common(global, &mut problems);
            Plan::Reconnect(reconnect_plan(common, args, &mut problems))
        }
    };
    problems.finish()?;
    Ok(plan)
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

/// Every count flag's accepted range, `(flag, min, max)`, in one table
/// (`u64::MAX`: no upper bound).
pub const COUNT_LIMITS: [(&str, u64, u64); 5] = [
    // With the 30 s cap, 10,000 retries are already days.
    ("--retries", 0, 10_000),
    ("--fail-after", 1, 100),
    ("--recover-after", 1, 100),
    ("--count", 1, u64::MAX),
    ("--max-attempts", 1, u64::MAX),
];

/// `--backoff`'s accepted range (connect, watch and reconnect).
pub const BACKOFF_LIMITS: (f64, f64) = (1.0, 10.0);

/// Most servers one process watches.
const MAX_TARGETS: usize = 10_000;

/// Checks `value` against `flag`'s row of [`COUNT_LIMITS`].
pub fn check_count(flag: &str, value: u64) -> Result<u64, String> {
    let Some((_, min, max)) = COUNT_LIMITS.iter().find(|(f, _, _)| *f == flag) else {
        return Ok(value);
    };
    if (*min..=*max).contains(&value) {
        Ok(value)
    } else if *min == 0 {
        Err(format!("{flag}: must be at most {max}"))
    } else if *max == u64::MAX {
        Err(format!("{flag}: must be at least {min}"))
    } else {
        Err(format!("{flag}: must be between {min} and {max}"))
    }
}

/// Parses `--backoff` and checks it against [`BACKOFF_LIMITS`].
fn parse_backoff(input: &str, problems: &mut Problems) -> f64 {
    let default = ConnectPolicy::default().backoff;
    let Some(factor) = problems.take(parse_f64("--backoff", input)) else {
        return default;
    };
    let (min, max) = BACKOFF_LIMITS;
    if !factor.is_finite() || factor < min || factor > max {
        problems.extend(vec![format!(
            "--backoff: must be between {min:.1} and {max:.1}, got {factor}"
        )]);
    }
    factor
}

/// Problems with the client settings: the timeout's range, and headers a
/// stock server or the URL must decide.
fn validate_client(client: &ClientSettings) -> Vec<String> {
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

/// The servers named by `--url`, `$COMFYUI_URL` or `--targets`, parsed,
/// deduplicated and bounded; the bool is [`Common::json_array`].
fn targets(global: &GlobalArgs, problems: &mut Problems) -> (Vec<Target>, bool) {
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
    let json_array = urls.len() > 1 || global.targets.is_some();
    let mut targets = Vec::new();
    for url in urls {
        if let Some(t) = problems.take(Target::parse(url).map_err(|e| format!("{source}: {e}"))) {
            targets.push(t);
        }
    }
    if let Some(path) = &global.targets {
        targets.extend(targets_file(path, problems));
    }
    // The same server twice would run two monitors writing one metrics
    // series; compare normalised URLs (host case, default port, trailing /).
    let mut seen = std::collections::HashSet::new();
    targets.retain(|t| seen.insert(t.to_string()));
    if targets.len() > MAX_TARGETS {
        problems.extend(vec![format!(
            "--url/--targets: at most {MAX_TARGETS} servers"
        )]);
    }
    (targets, json_array)
}

/// The servers listed in a `--targets` file, one per line (`#` comments).
fn targets_file(path: &std::path::Path, problems: &mut Problems) -> Vec<Target> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            problems.extend(vec![format!(
                "--targets: cannot read {}: {e}",
                path.display()
            )]);
            return Vec::new();
        }
    };
    let mut targets = Vec::new();
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
            targets.push(t);
        }
    }
    if found == 0 {
        problems.extend(vec![format!("--targets {}: no URLs in it", path.display())]);
    }
    targets
}

/// `--fallback`, else `$COMFYCTL_FALLBACK`, else placeholder.
fn fallback(global: &GlobalArgs, problems: &mut Problems) -> FallbackMode {
    let fallback = match global.fallback {
        Some(f) => Some(f),
        None => env_value("COMFYCTL_FALLBACK").and_then(|v| {
            let parsed = <FallbackArg as clap::ValueEnum>::from_str(v.trim(), true).map_err(|_| {
                format!("COMFYCTL_FALLBACK: '{v}' is not one of placeholder, skip, abort")
            });
            problems.take(parsed)
        }),
    };
    match fallback.unwrap_or(FallbackArg::Placeholder) {
        FallbackArg::Placeholder => FallbackMode::Placeholder,
        FallbackArg::Skip => FallbackMode::Skip,
        FallbackArg::Abort => FallbackMode::Abort,
    }
}

/// Builds what every server command shares from the global flags.
fn common(global: &GlobalArgs, problems: &mut Problems) -> Common {
    let (targets, json_array) = targets(global, problems);
    let mut client = ClientSettings::default();
    if let Some(t) = problems.take(parse_duration("--timeout", &global.timeout)) {
        client.timeout = t;
    }
    client.headers = global
        .headers
        .iter()
        .filter_map(|h| problems.take(parse_header(h)))
        .collect();
    client.tls.insecure = global.insecure;
    // --insecure wins, as in curl; the file is still checked so a typo in
    // COMFYCTL_CACERT does not go unnoticed.
    if let Some(path) = &global.cacert {
        let certs = TlsSettings::load_pem(path).map_err(|e| format!("--cacert: {e}"));
        if let Some(certs) = problems.take(certs) {
            client.tls.ca_certs = certs;
        }
    }
    let fallback = fallback(global, problems);
    problems.extend(validate_client(&client));
    Common {
        targets,
        json_array,
        any: global.any,
        client,
        fallback,
    }
}

/// Builds `connect`'s plan.
fn connect_plan(common: Common, args: &ConnectArgs, problems: &mut Problems) -> ConnectPlan {
    let _ = problems.take(check_count("--retries", u64::from(args.retries)));
    let backoff = parse_backoff(&args.backoff, problems);
    ConnectPlan {
        common,
        policy: ConnectPolicy {
            retries: args.retries,
            backoff,
        },
    }
}

/// Builds the pacing of reconnection from its flags (watch and reconnect).
fn reconnect_settings(
    common: &Common,
    args: &ReconnectPolicyArgs,
    deadline: Option<&str>,
    problems: &mut Problems,
) -> WatchSettings {
    let factor = parse_backoff(&args.backoff, problems);
    let max_delay = problems
        .take(parse_bounded("--max-delay", &args.max_delay))
        .unwrap_or(Duration::from_millis(250));
    let deadline = deadline.and_then(|d| problems.take(parse_bounded("--deadline", d)));
    if let Some(n) = args.max_attempts {
        let _ = problems.take(check_count("--max-attempts", u64::from(n)));
    }
    WatchSettings {
        interval: Duration::from_secs(5),
        timeout: common.client.timeout,
        fail_after: 1,
        recover_after: 1,
        reconnect: WatchSettings::reconnect_backoff(factor, max_delay),
        max_attempts: args.max_attempts,
        deadline,
        fallback: common.fallback,
        max_job_time: None,
    }
}

/// Builds `reconnect`'s plan.
fn reconnect_plan(common: Common, args: &ReconnectArgs, problems: &mut Problems) -> ReconnectPlan {
    let settings = reconnect_settings(&common, &args.policy, Some(&args.deadline), problems);
    // A bad --deadline is already a problem; the value then never runs.
    let deadline = settings.deadline.unwrap_or(Duration::from_secs(300));
    ReconnectPlan {
        common,
        settings,
        deadline,
    }
}

/// Builds `watch`'s plan: settings, sinks and stop rules.
fn watch_plan(common: Common, args: &WatchArgs, problems: &mut Problems) -> WatchPlan {
    let mut settings =
        reconnect_settings(&common, &args.policy, args.deadline.as_deref(), problems);
    if let Some(i) = problems.take(parse_bounded("--interval", &args.interval)) {
        settings.interval = i;
    }
    for (flag, n) in [
        ("--fail-after", args.fail_after),
        ("--recover-after", args.recover_after),
    ] {
        let _ = problems.take(check_count(flag, u64::from(n)));
    }
    settings.fail_after = args.fail_after;
    settings.recover_after = args.recover_after;
    if let Some(n) = args.count {
        let _ = problems.take(check_count("--count", n));
    }
    settings.max_job_time = max_job_time(args.max_job_time.as_deref(), problems);
    WatchPlan {
        common,
        settings,
        sinks: watch_sinks(args, problems),
        until: args.until.map(|u| match u {
            UntilArg::Connected => Until::Connected,
            UntilArg::Disconnected => Until::Disconnected,
        }),
        count: args.count,
    }
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
fn watch_sinks(args: &WatchArgs, problems: &mut Problems) -> WatchSinks {
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
    /// Servers, client and fallback.
    pub common: Common,
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
fn health_plan(common: Common, args: &HealthArgs, problems: &mut Problems) -> HealthPlan {
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
        common,
        wait,
        interval,
        expect_down,
        checks,
        max_failed: args.max_failed,
        max_job_time,
    }
}

/// The completion script for `shell`, generated from the clap definition
/// (the files in `completions/` are this output, checked by a test).
pub fn completion_script(shell: clap_complete::Shell) -> Vec<u8> {
    use clap::CommandFactory;
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "comfyctl", &mut buf);
    buf
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
    fn plan_lists_every_problem() {
        use clap::Parser;
        let cli = Cli::try_parse_from([
            "comfyctl",
            "connect",
            "--url",
            "127.0.0.1:1",
            "--timeout",
            "0",
            "--backoff",
            "-1",
            "--retries",
            "1000000",
            "-H",
            "Origin: http://x",
        ])
        .unwrap();
        let Err(Error::Config(problems)) = plan(&cli) else {
            panic!("a bad command line must not plan");
        };
        assert_eq!(problems.len(), 4, "{problems:?}");
        let cli = Cli::try_parse_from(["comfyctl", "connect", "--url", "127.0.0.1:1"]).unwrap();
        assert!(matches!(plan(&cli), Ok(Plan::Connect(_))));
    }

    #[test]
    fn every_count_flag_is_bounded_by_the_table() {
        for (flag, min, max) in COUNT_LIMITS {
            assert_eq!(check_count(flag, min), Ok(min), "{flag}");
            assert_eq!(check_count(flag, max), Ok(max), "{flag}");
            if min > 0 {
                let err = check_count(flag, min - 1).unwrap_err();
                assert!(err.starts_with(flag) && err.contains("must be"), "{err}");
            }
            if max < u64::MAX {
                let err = check_count(flag, max + 1).unwrap_err();
                assert!(err.starts_with(flag) && err.contains("must be"), "{err}");
            }
        }
    }
}
