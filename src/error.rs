//! Typed errors and the one exit-code table that scripts rely on.

use std::process::ExitCode;

use crate::manager::{State, Verdict};

/// How comfyctl ends. This is the contract for scripts; the README and
/// `--help` repeat it, and the integration tests assert every code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Available, and ready where readiness checks were asked for.
    Ok,
    /// Unavailable: unreachable, not ComfyUI, or timed out, after the retries.
    Unavailable,
    /// Usage or configuration error.
    Usage,
    /// Reachable but not ready: readiness checks failed (`--max-failed`,
    /// `--max-job-time` included), or HTTP answers but the WebSocket does
    /// not work (`degraded`).
    NotReady,
    /// The result could not be written (stdout full or failing); a closed
    /// pipe is not this: `comfyctl … | head` ends normally.
    Output,
    /// Interrupted by Ctrl-C or SIGTERM.
    Interrupted,
}

impl Exit {
    /// The process exit status for this outcome.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Unavailable => 1,
            Exit::Usage => 2,
            Exit::NotReady => 3,
            Exit::Output => 4,
            Exit::Interrupted => 130,
        }
    }
}

impl Exit {
    /// The one rule that turns what a command found out about a server into
    /// its exit code: ready is 0, reachable but not ready is 3, never
    /// reachable is 1 (the manager's [`Verdict::judge`]).
    pub fn judge(reachable: bool, ready: bool) -> Exit {
        Exit::from(Verdict::judge(reachable, ready))
    }
}

/// The one mapping from what the manager decided (for a server, or for a
/// fleet under its `All`/`Any` rule) to an exit code.
impl From<Verdict> for Exit {
    fn from(verdict: Verdict) -> Exit {
        match verdict {
            Verdict::Ready => Exit::Ok,
            Verdict::NotReady => Exit::NotReady,
            Verdict::Unavailable => Exit::Unavailable,
        }
    }
}

/// `connect`, `watch --count` and `reconnect`: only a full session is ready
/// (see the manager's `From<State> for Verdict`).
impl From<State> for Exit {
    fn from(state: State) -> Exit {
        Exit::from(Verdict::from(state))
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

/// The exit-code table as shown in `--help`; kept beside [`Exit`] so the two
/// cannot drift apart.
pub const EXIT_CODE_HELP: &str = "\
Exit codes:
  0    available, and ready where readiness checks were asked for
  1    unavailable: unreachable, not ComfyUI, or timed out, after the retries
  2    usage or configuration error
  3    reachable but not ready: readiness checks failed (health's
       --max-failed and --max-job-time included), or HTTP answers but the
       WebSocket does not work (refused, silent, closed or broken)
  4    the result could not be written to stdout (e.g. disk full)
  130  interrupted";

/// Errors that end a command before it has a result to report.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid; every problem is listed, not only the first.
    #[error("invalid configuration:\n{}", .0.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Config(Vec<String>),
    /// Writing output failed (for example a closed pipe).
    #[error("cannot write output: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// The exit code this error maps to.
    pub fn exit(&self) -> Exit {
        match self {
            Error::Config(_) => Exit::Usage,
            Error::Io(_) => Exit::Output,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_the_documented_table() {
        for (exit, code) in [
            (Exit::Ok, 0),
            (Exit::Unavailable, 1),
            (Exit::Usage, 2),
            (Exit::NotReady, 3),
            (Exit::Output, 4),
            (Exit::Interrupted, 130),
        ] {
            assert_eq!(exit.code(), code);
            let line = EXIT_CODE_HELP
                .lines()
                .any(|l| l.trim_start().starts_with(&format!("{code} ")));
            assert!(line, "exit code {code} missing from the help table");
        }
    }

    #[test]
    fn states_and_statuses_map_through_the_one_rule() {
        assert_eq!(Exit::from(State::Connected), Exit::Ok);
        assert_eq!(Exit::from(State::Degraded), Exit::NotReady);
        assert_eq!(Exit::from(State::Stalled), Exit::NotReady);
        for down in [State::Disconnected, State::Failed] {
            assert_eq!(Exit::from(down), Exit::Unavailable);
        }
        assert_eq!(Exit::judge(false, true), Exit::Ok);
    }

    #[test]
    fn config_error_lists_every_problem() {
        let e = Error::Config(vec!["--timeout: bad".into(), "--url: bad".into()]);
        let text = e.to_string();
        assert!(text.contains("--timeout: bad") && text.contains("--url: bad"));
        assert_eq!(e.exit(), Exit::Usage);
    }
}
