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

pub mod flags;
mod health;
mod limits;
mod names;
mod sinks;
mod targets;

use flags::*;
use health::*;
pub use health::{HealthPlan, Process, parse_pid};
use limits::*;
pub use names::name_flags;
pub use sinks::WatchSinks;
use sinks::*;
use targets::*;

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

impl Plan {
    /// What the command shares with the others, if it talks to servers.
    pub fn common(&self) -> Option<&Common> {
        match self {
            Plan::Health(p) => Some(&p.common),
            Plan::Connect(p) => Some(&p.common),
            Plan::Watch(p) => Some(&p.common),
            Plan::Reconnect(p) => Some(&p.common),
            Plan::Completions(_) => None,
        }
    }
}

/// What every command that talks to servers shares.
#[derive(Debug, Clone)]
pub struct Common {
    /// The servers; empty means "find a local one" among `discovery`.
    pub targets: Vec<Target>,
    /// Where a local server is looked for when `targets` is empty (8188,
    /// then 8000, or `COMFYCTL_DISCOVER_PORTS`); empty otherwise.
    pub discovery: Vec<Target>,
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
    /// Choices the command line left to comfyctl that the user should
    /// hear about (printed on stderr as `note: …` before the run).
    pub notes: Vec<String>,
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
    // The manager's messages name what to change; here, by its flag.
    name_flags();
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
    let mut notes = Vec::new();
    let (targets, json_array) = targets(global, problems, &mut notes);
    let discovery = if targets.is_empty() {
        discovery_candidates(problems)
    } else {
        Vec::new()
    };
    let mut client = ClientSettings::default();
    // Its range is checked with the other client settings, below.
    if let Some(t) = problems.take(parse_duration(TIMEOUT.name, &global.timeout)) {
        client.timeout = t;
    }
    client.headers = global
        .headers
        .iter()
        .filter_map(|h| problems.take(parse_header(h)))
        .collect();
    authorization(
        global.token.as_deref(),
        &targets,
        &mut client,
        problems,
        &mut notes,
    );
    client.tls.insecure = global.insecure;
    // Discovery probes plain http:// on loopback only.
    client.tls.plain_only = !targets.iter().any(Target::uses_tls);
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
        discovery,
        json_array,
        any: global.any,
        client,
        fallback,
        notes,
    }
}

/// Builds `connect`'s plan.
fn connect_plan(common: Common, args: &ConnectArgs, problems: &mut Problems) -> ConnectPlan {
    let retries = problems
        .take(RETRIES.parse_u32(&args.retries))
        .unwrap_or_else(|| RETRIES.fallback());
    let backoff = BACKOFF.parse(&args.backoff, problems);
    ConnectPlan {
        common,
        policy: ConnectPolicy { retries, backoff },
    }
}

/// Builds the pacing of reconnection from its flags (watch and reconnect).
fn reconnect_settings(
    common: &Common,
    args: &ReconnectPolicyArgs,
    deadline: (&Flag<Durations>, Option<&str>),
    problems: &mut Problems,
) -> WatchSettings {
    let factor = BACKOFF.parse(&args.backoff, problems);
    let max_delay = MAX_DELAY.or_fallback(Some(&args.max_delay), problems);
    let (deadline_flag, deadline) = deadline;
    let deadline = deadline.and_then(|d| problems.take(deadline_flag.parse(d)));
    let max_attempts = args
        .max_attempts
        .as_deref()
        .and_then(|n| problems.take(MAX_ATTEMPTS.parse_u32(n)));
    WatchSettings {
        // reconnect polls as often as a watch does by default.
        interval: WATCH_INTERVAL.fallback(),
        timeout: common.client.timeout,
        fail_after: 1,
        recover_after: 1,
        reconnect: WatchSettings::reconnect_backoff(factor, max_delay),
        max_attempts,
        deadline,
        fallback: common.fallback,
        max_job_time: None,
        busy_grace: None,
    }
}

/// Builds `reconnect`'s plan.
fn reconnect_plan(common: Common, args: &ReconnectArgs, problems: &mut Problems) -> ReconnectPlan {
    let deadline = (&RECONNECT_DEADLINE, Some(args.deadline.as_str()));
    let settings = reconnect_settings(&common, &args.policy, deadline, problems);
    // A bad --deadline is already a problem; the value then never runs.
    let deadline = settings
        .deadline
        .unwrap_or_else(|| RECONNECT_DEADLINE.fallback());
    ReconnectPlan {
        common,
        settings,
        deadline,
    }
}

/// Builds `watch`'s plan: settings, sinks and stop rules.
fn watch_plan(common: Common, args: &WatchArgs, problems: &mut Problems) -> WatchPlan {
    let deadline = (&WATCH_DEADLINE, args.deadline.as_deref());
    let mut settings = reconnect_settings(&common, &args.policy, deadline, problems);
    if let Some(i) = problems.take(WATCH_INTERVAL.parse(&args.interval)) {
        settings.interval = i;
    }
    let count = |flag: &Flag<Counts>, n: &str, problems: &mut Problems| {
        problems
            .take(flag.parse_u32(n))
            .unwrap_or_else(|| flag.fallback())
    };
    settings.fail_after = count(&FAIL_AFTER, &args.fail_after, problems);
    settings.recover_after = count(&RECOVER_AFTER, &args.recover_after, problems);
    let polls = args
        .count
        .as_deref()
        .and_then(|n| problems.take(COUNT.parse(n)));
    settings.max_job_time = optional(&MAX_JOB_TIME, args.max_job_time.as_deref(), problems);
    settings.busy_grace = optional(&BUSY_GRACE, args.busy_grace.as_deref(), problems);
    WatchPlan {
        common,
        settings,
        sinks: watch_sinks(args, problems),
        until: args.until.map(|u| match u {
            UntilArg::Connected => Until::Connected,
            UntilArg::Disconnected => Until::Disconnected,
        }),
        count: polls,
    }
}

/// An optional duration flag: `None` when absent, a problem when bad.
fn optional(
    flag: &Flag<Durations>,
    input: Option<&str>,
    problems: &mut Problems,
) -> Option<Duration> {
    problems.take(flag.parse(input?))
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
/// `COMFYCTL_FORCE_TTY=1` makes stdout count as a terminal (for tests);
/// `COLUMNS` is read here too, once, for a live view off a terminal.
pub fn output(cli: &Cli) -> Output {
    let global = &cli.global;
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    // Set to anything but 0: draw live views even into a pipe.
    let forced_tty = env("COMFYCTL_FORCE_TTY").is_some_and(|v| v != "0");
    let columns = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse().ok());
    let tty = forced_tty
        || (console::Term::stdout().is_term() && crate::platform::terminal::ansi_ready());
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
        tui: tty && !dumb && !global.json && !global.quiet && !global.plain,
        forced_tty,
        columns,
        panic_test: env("COMFYCTL_TEST_DASHBOARD_PANIC").is_some(),
    }
}

#[cfg(test)]
mod tests;
