//! Helpers for driving the real `comfyctl` binary.

use std::ffi::OsStr;
use std::process::{Command as StdCommand, Output};
use std::time::Duration;

use assert_cmd::assert::{Assert, OutputAssertExt};
use serde_json::Value;

pub use crate::support::http::{http_get, http_post};
pub use crate::support::proc::proc_status_kib;
use crate::support::{Proc, Spawn, proc};

/// Generous: the watch tests must pass on a loaded 2-core machine.
pub const WATCH_WAIT: Duration = Duration::from_secs(30);

/// How long a `comfyctl()` run may take before it is killed.
pub const RUN_LIMIT: Duration = Duration::from_secs(90);

/// `comfyctl` as built by cargo, with a clean environment: no URL or
/// fallback from the caller's shell, no colour, no fake terminal. Run to
/// its end under a [`Proc`] guard; `assert()` checks its output with
/// assert_cmd.
pub fn comfyctl() -> Run {
    Run {
        cmd: comfyctl_std(),
        limit: RUN_LIMIT,
    }
}

/// A command run to its end (killed at its time limit) by [`comfyctl`].
pub struct Run {
    cmd: StdCommand,
    limit: Duration,
}

impl Run {
    /// Adds an argument.
    pub fn arg(&mut self, arg: impl AsRef<OsStr>) -> &mut Run {
        self.cmd.arg(arg);
        self
    }

    /// Adds arguments.
    pub fn args(&mut self, args: impl IntoIterator<Item = impl AsRef<OsStr>>) -> &mut Run {
        self.cmd.args(args);
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> &mut Run {
        self.cmd.env(key, value);
        self
    }

    /// Sets the time limit.
    pub fn timeout(&mut self, limit: Duration) -> &mut Run {
        self.limit = limit;
        self
    }

    /// Runs it to its end.
    pub fn output(&mut self) -> std::io::Result<Output> {
        proc::output(&self.cmd, None, self.limit)
    }

    /// Runs it to its end, for assert_cmd's checks.
    pub fn assert(&mut self) -> Assert {
        let out = proc::output(&self.cmd, None, self.limit);
        out.unwrap_or_else(|e| panic!("cannot run comfyctl: {e}"))
            .assert()
    }
}

/// The same, as a std Command (for long-running children under `Proc`).
///
/// `COMFYCTL_TEST_EXE` points the suite at another build of comfyctl, run
/// through `COMFYCTL_TEST_RUNNER` when that is set: `scripts/cross.sh`
/// runs the portable tests against `comfyctl.exe` under `wine64` that way.
pub fn comfyctl_std() -> StdCommand {
    let mut cmd = match std::env::var_os("COMFYCTL_TEST_EXE") {
        Some(exe) => match std::env::var_os("COMFYCTL_TEST_RUNNER") {
            Some(runner) => {
                let mut cmd = StdCommand::new(runner);
                cmd.arg(exe);
                cmd
            }
            None => StdCommand::new(exe),
        },
        None => StdCommand::new(env!("CARGO_BIN_EXE_comfyctl")),
    };
    cmd.env("NO_COLOR", "1")
        .env_remove("COMFYUI_URL")
        .env_remove("COMFYCTL_FALLBACK")
        .env_remove("COMFYCTL_TOKEN")
        .env_remove("COMFYCTL_FORCE_TTY");
    cmd
}

/// Parses one JSON document from command output.
pub fn json(output: &[u8]) -> serde_json::Value {
    serde_json::from_slice(output)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(output)))
}

/// stdout and stderr as one string, for "never appears anywhere" checks.
pub fn all_output(o: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Number of open file descriptors of a process (`/proc/PID/fd`).
pub fn fd_count(pid: u32) -> Option<usize> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|d| d.count())
}

/// Parses one NDJSON line of `watch --json`.
pub fn parse_line(line: &str) -> Value {
    serde_json::from_str(line).unwrap_or_else(|e| panic!("not NDJSON ({e}): {line}"))
}

/// `comfyctl watch --json --url URL EXTRA…` as a guarded child.
pub fn watch(url: &str, extra: &[&str]) -> Proc {
    let mut cmd = comfyctl_std();
    cmd.args(["watch", "--json", "--url", url]).args(extra);
    Proc::spawn(cmd)
}

/// Waits for the next `state` event with this state; returns it.
pub fn wait_state(p: &mut Proc, state: &str) -> Value {
    let needle = format!("\"state\":\"{state}\"");
    let line = p
        .wait_line(
            |l| l.contains("\"event\":\"state\"") && l.contains(&needle),
            WATCH_WAIT,
        )
        .unwrap_or_else(|| {
            panic!(
                "no '{state}' state within {WATCH_WAIT:?}; got:\n{}\nstderr: {}",
                p.lines_so_far().join("\n"),
                p.stderr()
            )
        });
    parse_line(&line)
}

/// The `state` values reported so far, in order.
pub fn states(p: &mut Proc) -> Vec<String> {
    p.lines_so_far()
        .iter()
        .map(|l| parse_line(l))
        .filter(|v| v["event"] == "state")
        .map(|v| v["state"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Stops `watch` with SIGINT (exit 0, summary last); returns every event.
pub fn finish(p: &mut Proc) -> Vec<Value> {
    p.signal(libc::SIGINT);
    let status = p.wait_exit(WATCH_WAIT).expect("watch exits after SIGINT");
    assert_eq!(status.code(), Some(0), "stderr: {}", p.stderr());
    // The exit can be seen before the reader thread has forwarded the last
    // lines: wait for the summary (or the end of stdout) first.
    p.wait_line(|l| l.contains("\"event\":\"summary\""), WATCH_WAIT);
    let events: Vec<Value> = p.lines_so_far().iter().map(|l| parse_line(l)).collect();
    assert_eq!(
        events.last().map(|e| e["event"].clone()),
        Some(Value::from("summary")),
        "summary comes last"
    );
    events
}

/// The address from `serving metrics on http://ADDR/metrics` that a
/// `watch --metrics HOST:0` printed on stderr (waits for the line).
pub fn metrics_addr(p: &Proc) -> std::net::SocketAddr {
    let mut addr = None;
    crate::support::poll_until(WATCH_WAIT, || {
        addr = p.stderr().lines().find_map(|l| {
            l.split("serving metrics on http://")
                .nth(1)?
                .strip_suffix("/metrics")?
                .parse()
                .ok()
        });
        addr.is_some()
    });
    addr.unwrap_or_else(|| panic!("no metrics address on stderr: {}", p.stderr()))
}

/// The port of [`metrics_addr`] (the endpoint is on 127.0.0.1).
pub fn metrics_port(p: &Proc) -> u16 {
    metrics_addr(p).port()
}

/// `comfyctl watch --json --interval INTERVAL ARGS…` as a std Command, for
/// a test that adds to it (a pre_exec, a path) before spawning it.
pub fn watch_cmd(interval: &str, args: &[&str]) -> StdCommand {
    let mut cmd = comfyctl_std();
    cmd.args(["watch", "--json", "--interval", interval])
        .args(args);
    cmd
}

/// Spawns `cmd` on a fresh `cols`×`rows` pty as its controlling terminal
/// (stdin, stdout and stderr on the slave); returns the guarded child,
/// whose raw output is read from the master, and the master.
pub fn spawn_on_pty(mut cmd: StdCommand, cols: u16, rows: u16) -> (Proc, std::fs::File) {
    use std::os::fd::FromRawFd;
    use std::os::unix::process::CommandExt;
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors we then own.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty");
    // SAFETY: both descriptors are fresh and owned here.
    let (master, slave) = unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::fs::File::from_raw_fd(slave),
        )
    };
    cmd.stdin(slave.try_clone().unwrap())
        .stdout(slave.try_clone().unwrap())
        .stderr(slave);
    // SAFETY: setsid and ioctl are async-signal-safe; the child becomes
    // a session leader with the pty as its controlling terminal.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY, 0);
            Ok(())
        });
    }
    // The guard drops the command after spawning, closing our copies of
    // the slave; the reader then sees EIO once the child is gone.
    let proc = Spawn::new(cmd)
        .raw_from(master.try_clone().unwrap())
        .start();
    (proc, master)
}

/// Scrapes `/metrics` on 127.0.0.1:`port` until `ok` holds on the text
/// (asserting that it does within [`WATCH_WAIT`]); returns that text.
pub fn poll_scrape(port: u16, ok: impl Fn(&str) -> bool) -> String {
    let mut text = String::new();
    let found = crate::support::poll_until(WATCH_WAIT, || {
        text = http_get(port, "/metrics").1;
        ok(&text)
    });
    assert!(found, "{text}");
    text
}
