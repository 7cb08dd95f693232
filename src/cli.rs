//! The command line, as clap derive types. `config` turns them into a
//! `Plan`; nothing past it sees clap.
//!
//! Values that can be malformed (URLs, durations, numbers) are taken as
//! strings here and parsed in `config`, so that one run reports every
//! problem at once instead of stopping at the first, and every numeric flag
//! words its error the same way (`-1` included, hence
//! `allow_negative_numbers` on each).

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::flags;
use crate::error::EXIT_CODE_HELP;

/// `--version`: the package version, the commit and the build date (from
/// `build.rs`; "unknown" when built without git).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("COMFYCTL_COMMIT"),
    ", built ",
    env!("COMFYCTL_BUILD_DATE"),
    ")"
);

/// Tells people, scripts and CI whether a ComfyUI server is up, ready and
/// keeping up.
#[derive(Debug, Parser)]
#[command(name = "comfyctl", version = VERSION, about, propagate_version = true, after_help = EXIT_CODE_HELP)]
pub struct Cli {
    /// Options shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes, under their own `--help` heading so that
/// a command's own options stand apart from them.
#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Server URL: http(s)://host[:port][/prefix][?token=…] or host[:port]
    /// (port 8188 when neither scheme nor port is given); repeat for several
    /// servers.
    /// Default: $COMFYUI_URL (comma-separated); without either (or
    /// --targets), 127.0.0.1:8188 and 127.0.0.1:8000 are probed and the first
    /// ComfyUI wins.
    #[arg(long, value_delimiter = ',', global = true, value_name = "URL")]
    // The brackets are --help text (clap reads this doc), not rustdoc links.
    #[allow(rustdoc::broken_intra_doc_links)]
    pub url: Vec<String>,

    /// A file with one server URL per line (`#` starts a comment).
    #[arg(long, global = true, value_name = "FILE")]
    pub targets: Option<std::path::PathBuf>,

    /// With several servers, succeed when at least one is ready (default:
    /// all must be).
    #[arg(long, global = true)]
    pub any: bool,

    /// Extra request header, e.g. for a reverse proxy with auth (repeatable).
    #[arg(
        short = 'H',
        long = "header",
        global = true,
        value_name = "NAME: VALUE"
    )]
    pub headers: Vec<String>,

    /// Send `Authorization: Bearer TOKEN` on every request and the
    /// WebSocket upgrade. -H Authorization wins over it; it wins over the
    /// URL's user:password. Prefer the variable: a flag shows in `ps`.
    #[arg(
        long,
        env = "COMFYCTL_TOKEN",
        hide_env_values = true,
        global = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,

    /// Trust the CA certificates in this PEM file for https:// servers (a
    /// private CA, or a proxy's self-signed certificate), instead of the
    /// system's.
    #[arg(long, env = "COMFYCTL_CACERT", global = true, value_name = "FILE")]
    pub cacert: Option<std::path::PathBuf>,

    /// Do not verify TLS certificates at all (prints a warning; anyone on
    /// the path could read and change the traffic). Wins over --cacert.
    #[arg(long, global = true)]
    pub insecure: bool,

    /// Time limit for each request or attempt (e.g. 500ms, 5s, 1m).
    #[arg(
        long,
        default_value = flags::TIMEOUT.default,
        global = true,
        value_name = "DURATION",
        allow_negative_numbers = true
    )]
    pub timeout: String,

    /// What the calling pipeline should do while the backend is unavailable
    /// [default: $COMFYCTL_FALLBACK, else placeholder].
    #[arg(long, value_enum, global = true)]
    pub fallback: Option<FallbackArg>,

    /// Machine-readable output: one JSON object (NDJSON for streams).
    #[arg(long, global = true)]
    pub json: bool,

    /// When to use colour.
    #[arg(long, value_enum, default_value_t = ColorArg::Auto, global = true, value_name = "WHEN")]
    pub color: ColorArg,

    /// Print nothing; the exit code says it all.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// `watch` on a terminal: status lines (or the fleet table) instead of
    /// the full-screen dashboard.
    #[arg(long, visible_alias = "no-tui", global = true)]
    pub plain: bool,
}

/// `--fallback` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FallbackArg {
    /// Generate placeholder images instead.
    Placeholder,
    /// Skip generation.
    Skip,
    /// Abort the operation.
    Abort,
}

/// `--color` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// Colour when stdout is a terminal and NO_COLOR and TERM=dumb are unset.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// One health check, now, with no retries.
    Health(HealthArgs),
    /// Connect over HTTP and WebSocket, retrying with exponential backoff.
    Connect(ConnectArgs),
    /// Live monitor: state changes, queue, progress; reconnects in the background.
    Watch(WatchArgs),
    /// Keep trying until the full session (HTTP, WebSocket, status) is back.
    Reconnect(ReconnectArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(CompletionsArgs),
}

/// How reconnection is paced and when it gives up.
#[derive(Debug, Args)]
pub struct ReconnectPolicyArgs {
    /// Backoff factor between reconnection attempts (delays start at 100ms).
    #[arg(
        long,
        default_value = flags::BACKOFF.default,
        allow_negative_numbers = true,
        value_name = "FACTOR"
    )]
    pub backoff: String,

    /// Longest wait between reconnection attempts. Short, so a server that
    /// comes back is noticed quickly; a refused connect costs it nothing.
    #[arg(
        long,
        default_value = flags::MAX_DELAY.default,
        value_name = "DURATION",
        allow_negative_numbers = true
    )]
    pub max_delay: String,

    /// Give up after this many attempts in one outage.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_attempts: Option<String>,
}

/// `comfyctl watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// HTTP poll and WebSocket ping period.
    #[arg(
        long,
        default_value = flags::WATCH_INTERVAL.default,
        value_name = "DURATION",
        allow_negative_numbers = true
    )]
    pub interval: String,

    /// Consecutive failed probe rounds before the server counts as hung or
    /// degraded. A closed socket is reported at once regardless.
    #[arg(
        long,
        default_value = flags::FAIL_AFTER.default,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub fail_after: String,

    /// Consecutive good WebSocket attempts before `degraded` ends.
    #[arg(
        long,
        default_value = flags::RECOVER_AFTER.default,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub recover_after: String,

    /// Stop after N HTTP polls.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub count: Option<String>,

    /// Stop as soon as the server is in this state.
    #[arg(long, value_enum, value_name = "STATE")]
    pub until: Option<UntilArg>,

    /// Give up (state `failed`, exit 1) when one outage lasts this long.
    #[arg(long, value_name = "DURATION", allow_negative_numbers = true)]
    pub deadline: Option<String>,

    /// Reconnection pacing.
    #[command(flatten)]
    pub policy: ReconnectPolicyArgs,

    /// A job running longer than this puts the server in state `stalled`
    /// (off by default: long video jobs are legitimate).
    #[arg(long, value_name = "DURATION", allow_negative_numbers = true)]
    pub max_job_time: Option<String>,

    /// A server that goes silent (no pong, HTTP times out) while a job runs
    /// still counts as up for this long: custom nodes that block ComfyUI's
    /// event loop (off by default).
    #[arg(long, value_name = "DURATION", allow_negative_numbers = true)]
    pub busy_grace: Option<String>,

    /// Serve Prometheus metrics on this address, e.g. 127.0.0.1:9464
    /// (GET /metrics: OpenMetrics if the scraper asks for it, else classic text).
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<String>,

    /// Run this program (no shell) on every state change, with COMFYCTL_URL,
    /// COMFYCTL_STATE, COMFYCTL_PREVIOUS, COMFYCTL_REASON and COMFYCTL_TS set.
    #[arg(long, value_name = "PROGRAM")]
    pub on_change: Option<std::path::PathBuf>,

    /// POST every state change as JSON to this URL.
    #[arg(long, value_name = "URL")]
    pub webhook: Option<String>,

    /// Time limit for one --on-change run or one --webhook attempt.
    #[arg(
        long,
        default_value = flags::HOOK_TIMEOUT.default,
        value_name = "DURATION",
        allow_negative_numbers = true
    )]
    pub hook_timeout: String,
}

/// `--until` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UntilArg {
    /// Stop once connected.
    Connected,
    /// Stop once disconnected.
    Disconnected,
}

/// `comfyctl reconnect`.
#[derive(Debug, Args)]
pub struct ReconnectArgs {
    /// Give up after this long in all.
    #[arg(
        long,
        default_value = flags::RECONNECT_DEADLINE.default,
        value_name = "DURATION",
        allow_negative_numbers = true
    )]
    pub deadline: String,

    /// Reconnection pacing.
    #[command(flatten)]
    pub policy: ReconnectPolicyArgs,
}

/// `comfyctl health`.
#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Poll until every check passes or this overall deadline runs out
    /// (e.g. 5m). Without it, one check, now.
    #[arg(long, value_name = "DURATION", allow_negative_numbers = true)]
    pub wait: Option<String>,

    /// Poll interval for --wait [default: 1s]; only with --wait.
    #[arg(long, value_name = "DURATION", allow_negative_numbers = true)]
    pub interval: Option<String>,

    /// Wait for the server to come up (default) or to go away (port released).
    #[arg(long, value_enum, default_value_t = ExpectArg::Up, value_name = "STATE")]
    pub expect: ExpectArg,

    /// A workflow in API format ("Export (API)") or a /prompt body that must
    /// validate against the server's /object_info (repeatable).
    #[arg(long, value_name = "FILE")]
    pub workflow: Vec<std::path::PathBuf>,

    /// A node class that must exist in /object_info (repeatable).
    #[arg(long, value_name = "CLASS")]
    pub require_node: Vec<String>,

    /// A model file that GET /models/FOLDER must list (repeatable).
    #[arg(long, value_name = "FOLDER/NAME")]
    pub require_model: Vec<String>,

    /// The server must answer this Origin with CORS headers
    /// (ComfyUI started with --enable-cors-header).
    #[arg(long, value_name = "ORIGIN")]
    pub require_cors: Option<String>,

    /// Ready only while queue_remaining is at most N.
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_queue: Option<String>,

    /// Not ready (exit 3) when more than N of the newest 10 jobs failed
    /// within --failed-within (N is 0 to 9).
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub max_failed: Option<String>,

    /// The window --max-failed counts failures in, on the server's clock
    /// [default: 10m].
    #[arg(long, value_name = "DURATION")]
    pub failed_within: Option<String>,

    /// Not ready (exit 3) when the running job has run longer than this.
    #[arg(long, value_name = "DURATION", allow_negative_numbers = true)]
    pub max_job_time: Option<String>,

    /// Not ready (exit 3) while the primary device has less free VRAM than
    /// SIZE: 8GiB, 512MB (MB, GB: powers of 1000), 2G (K, M, G, T: powers
    /// of 1024, as KiB, MiB, GiB, TiB) or bytes.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true)]
    pub min_vram_free: Option<String>,

    /// With --wait: give up at once (exit 1) when this process (the ComfyUI
    /// you started) exits.
    #[arg(long, value_name = "PID", allow_negative_numbers = true)]
    pub pid: Option<String>,

    /// Like --pid, the PID read from FILE; a file not there yet is waited for.
    #[arg(long, value_name = "FILE", conflicts_with = "pid")]
    pub pid_file: Option<std::path::PathBuf>,
}

/// `--expect` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExpectArg {
    /// Wait until the server is up and ready.
    Up,
    /// Wait until the server has gone away (connections refused).
    Down,
}

/// `comfyctl connect`.
#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// Retries after the first attempt.
    #[arg(
        long,
        default_value = flags::RETRIES.default,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub retries: String,

    /// Backoff factor: the delay starts at 1s and grows by this much per retry.
    #[arg(
        long,
        default_value = flags::BACKOFF.default,
        allow_negative_numbers = true,
        value_name = "FACTOR"
    )]
    pub backoff: String,
}

/// `comfyctl completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        super::Cli::command().debug_assert();
    }
}
