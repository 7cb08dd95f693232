//! The one guard for child processes in tests: every program a test starts
//! (comfyctl, the mock, nginx, prometheus, promtool, nft) runs as a [`Proc`].
//! Options choose how stdout is captured (lines or raw bytes), whether the
//! child gets its own process group, and whether its peak memory is
//! measured. Dropping a `Proc` kills and reaps the child (its whole group
//! with [`Spawn::group`]), also when the test panics.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use super::{TERM_TIMEOUT, poll_until, send_signal};

/// Keeps at most this much of a child's stderr (the tail).
const STDERR_KEEP: usize = 1024 * 1024;

/// How long `wait_exit` waits for the pipes to drain after the child exits
/// (a grandchild may hold them open).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Peak RSS comes from GNU time (`-f %M`), which forks a small copy of
/// itself before exec. Not from our own wait4(2): Linux carries the
/// pre-exec address space's high-water mark into the child's ru_maxrss, and
/// std spawns with vfork semantics, so a child of this (large, busy) test
/// process would report the test process's peak, not its own. Without GNU
/// time, VmHWM is sampled from /proc while the child runs: a lower bound,
/// but a body buffered whole takes far longer to read than one sample step.
const GNU_TIME: &str = "/usr/bin/time";

/// Upper bound of the /proc sampler's life (it stops at the child's exit).
const SAMPLE_LIMIT: Duration = Duration::from_secs(600);

/// How stdout is captured.
enum Capture {
    /// Line by line, into a channel ([`Proc::wait_line`]).
    Lines,
    /// As raw bytes ([`Proc::text`], [`Proc::run`]).
    Raw,
    /// The command's stdio is left as the caller configured it; raw bytes
    /// come from the reader the caller set up (a pty master), if any.
    Preset(Option<Box<dyn Read + Send>>),
}

/// Options for starting a [`Proc`].
pub struct Spawn {
    cmd: Command,
    capture: Capture,
    group: bool,
    peak_rss: bool,
    stdin: Option<Vec<u8>>,
}

impl Spawn {
    /// Starts `cmd` with stdout captured line by line, stderr collected,
    /// stdin null.
    pub fn new(cmd: Command) -> Spawn {
        Spawn {
            cmd,
            capture: Capture::Lines,
            group: false,
            peak_rss: false,
            stdin: None,
        }
    }

    /// Captures stdout as raw bytes (for live views that redraw in place
    /// without newlines, and for runs to completion).
    pub fn raw(mut self) -> Spawn {
        self.capture = Capture::Raw;
        self
    }

    /// Captures raw bytes from `reader` instead of a stdout pipe; the
    /// command's stdin/stdout/stderr stay as the caller set them (a pty).
    pub fn raw_from(mut self, reader: impl Read + Send + 'static) -> Spawn {
        self.capture = Capture::Preset(Some(Box::new(reader)));
        self
    }

    /// Leaves the command's stdin/stdout/stderr as the caller set them
    /// (e.g. stdout to `/dev/full`); nothing is captured.
    pub fn preset_stdio(mut self) -> Spawn {
        self.capture = Capture::Preset(None);
        self
    }

    /// Runs the child in its own process group; signals and the kill on
    /// drop go to the whole group.
    pub fn group(mut self) -> Spawn {
        self.group = true;
        self
    }

    /// Measures the child's peak RSS ([`Proc::peak_rss_kib`]). Implies
    /// [`Spawn::group`], since GNU time runs the program as its own child.
    pub fn peak_rss(mut self) -> Spawn {
        self.peak_rss = true;
        self.group = true;
        self
    }

    /// Writes `bytes` to the child's stdin, then closes it.
    pub fn stdin(mut self, bytes: impl Into<Vec<u8>>) -> Spawn {
        self.stdin = Some(bytes.into());
        self
    }

    /// Spawns the child; panics if it cannot be started.
    pub fn start(self) -> Proc {
        self.try_start()
            .unwrap_or_else(|(cmd, e)| panic!("cannot spawn {cmd}: {e}"))
    }

    /// Spawns the child; `Err` names the program when it cannot start.
    pub fn try_start(self) -> Result<Proc, (String, std::io::Error)> {
        use std::os::unix::process::CommandExt;
        let Spawn {
            cmd,
            capture,
            group,
            peak_rss,
            stdin,
        } = self;
        let gnu_time = peak_rss && std::path::Path::new(GNU_TIME).exists();
        let report = gnu_time.then(report_path);
        let mut cmd = match &report {
            Some(report) => wrap_in_time(&cmd, report),
            None => cmd,
        };
        if group {
            cmd.process_group(0);
        }
        let raw = !matches!(capture, Capture::Lines);
        let preset = matches!(capture, Capture::Preset(_));
        let from = match capture {
            Capture::Preset(reader) => reader,
            _ => None,
        };
        if !preset {
            cmd.stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        }
        let mut child = cmd.spawn().map_err(|e| (format!("{cmd:?}"), e))?;
        drop(cmd); // closes our copies of descriptors handed to the child
        if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
            thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
        let stderr = Collector::start(child.stderr.take().map(|e| Box::new(e) as _), STDERR_KEEP);
        let stdout_reader: Option<Box<dyn Read + Send>> =
            from.or_else(|| child.stdout.take().map(|o| Box::new(o) as _));
        let out = if raw {
            Out::Raw(Collector::start(stdout_reader, usize::MAX))
        } else {
            Out::Lines {
                rx: forward_lines(stdout_reader),
                seen: Vec::new(),
                cursor: 0,
                closed: false,
            }
        };
        let pid = child.id();
        let sampled = (peak_rss && !gnu_time).then(|| sample_hwm(pid));
        Ok(Proc {
            child,
            pid,
            group,
            out,
            stderr,
            exit: None,
            report,
            sampled,
        })
    }
}

/// A fresh file name for GNU time's report.
fn report_path() -> PathBuf {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "comfyctl-rss-{}-{}",
        std::process::id(),
        RUNS.fetch_add(1, Ordering::SeqCst)
    ))
}

/// `cmd` as `GNU_TIME -f %M -o REPORT PROGRAM ARGS…`, same env and dir.
fn wrap_in_time(cmd: &Command, report: &PathBuf) -> Command {
    let mut wrapped = Command::new(GNU_TIME);
    wrapped.arg("-f").arg("%M").arg("-o").arg(report);
    copy_command(cmd, wrapped)
}

/// A new command running what `cmd` runs (program, arguments, environment
/// changes, directory); stdio is not copied.
fn clone_command(cmd: &Command) -> Command {
    copy_command(cmd, Command::new(cmd.get_program()))
}

/// Appends `cmd`'s program (unless `into` runs it already), arguments,
/// environment changes and directory to `into`.
fn copy_command(cmd: &Command, mut into: Command) -> Command {
    if into.get_program() != cmd.get_program() {
        into.arg(cmd.get_program());
    }
    into.args(cmd.get_args());
    for (key, value) in cmd.get_envs() {
        match value {
            Some(v) => into.env(key, v),
            None => into.env_remove(key),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        into.current_dir(dir);
    }
    into
}

/// Samples VmHWM of `pid` every millisecond until it is gone.
fn sample_hwm(pid: u32) -> Arc<AtomicU64> {
    let peak = Arc::new(AtomicU64::new(0));
    let sink = peak.clone();
    thread::spawn(move || {
        let deadline = Instant::now() + SAMPLE_LIMIT;
        while Instant::now() < deadline {
            let Some(hwm) = proc_status_kib(pid, "VmHWM") else {
                break;
            };
            sink.fetch_max(hwm, Ordering::Relaxed);
            thread::sleep(Duration::from_millis(1));
        }
    });
    peak
}

/// A `kB` line of `/proc/PID/status` (e.g. `VmRSS`, `VmHWM`), in KiB.
pub fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// Bytes read from a pipe by a background thread, keeping the last `keep`.
struct Collector {
    buf: Arc<Mutex<Vec<u8>>>,
    closed: Arc<AtomicBool>,
}

impl Collector {
    fn start(from: Option<Box<dyn Read + Send>>, keep: usize) -> Collector {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let closed = Arc::new(AtomicBool::new(false));
        if let Some(mut from) = from {
            let (sink, done) = (buf.clone(), closed.clone());
            thread::spawn(move || {
                let mut chunk = [0u8; 8192];
                // A pty master reports EIO once the child is gone.
                while let Ok(n) = from.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    let mut b = sink.lock().unwrap_or_else(|e| e.into_inner());
                    b.extend_from_slice(&chunk[..n]);
                    if b.len() > keep {
                        let cut = b.len() - keep;
                        b.drain(..cut);
                    }
                }
                done.store(true, Ordering::Release);
            });
        } else {
            closed.store(true, Ordering::Release);
        }
        Collector { buf, closed }
    }

    fn bytes(&self) -> Vec<u8> {
        self.buf.lock().map(|b| b.clone()).unwrap_or_default()
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes()).into_owned()
    }

    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }
}

/// Forwards lines from a reader thread to a channel.
fn forward_lines(from: Option<Box<dyn Read + Send>>) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(from) = from {
        thread::spawn(move || {
            for line in BufReader::new(from).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    rx
}

/// Captured stdout.
enum Out {
    Lines {
        rx: Receiver<String>,
        /// Every line received so far.
        seen: Vec<String>,
        /// Index in `seen` where the next `wait_line` starts looking.
        cursor: usize,
        /// Set once stdout reached end of file.
        closed: bool,
    },
    Raw(Collector),
}

/// A guarded child process (see the module doc). Dropping it kills and
/// reaps it.
pub struct Proc {
    child: Child,
    pid: u32,
    group: bool,
    out: Out,
    stderr: Collector,
    exit: Option<ExitStatus>,
    /// GNU time's report file, with [`Spawn::peak_rss`].
    report: Option<PathBuf>,
    /// VmHWM samples, with [`Spawn::peak_rss`] and no GNU time.
    sampled: Option<Arc<AtomicU64>>,
}

/// What a child run to its end left behind ([`Proc::run`]).
pub struct Finished {
    /// Exit status; `None` if it had to be killed at the limit.
    pub status: Option<ExitStatus>,
    /// Everything it wrote to stdout.
    pub stdout: Vec<u8>,
    /// The tail of its stderr.
    pub stderr: Vec<u8>,
    /// From spawn to exit (or to the limit).
    pub took: Duration,
    /// Peak RSS in KiB, with [`Spawn::peak_rss`].
    pub peak_rss_kib: Option<u64>,
}

impl Proc {
    /// Spawns `cmd` with the default options ([`Spawn::new`]).
    pub fn spawn(cmd: Command) -> Proc {
        Spawn::new(cmd).start()
    }

    /// Spawns `cmd` with stdout captured as raw bytes ([`Spawn::raw`]).
    pub fn raw(cmd: Command) -> Proc {
        Spawn::new(cmd).raw().start()
    }

    /// The child's process id (GNU time's with [`Spawn::peak_rss`]).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    fn pull(&mut self) {
        if let Out::Lines { rx, seen, .. } = &mut self.out {
            seen.extend(rx.try_iter());
        }
    }

    /// Waits up to `timeout` for a stdout line matching `pred` and returns
    /// it. Like `expect`, each call looks only at lines after those examined
    /// by the previous call. `None` on timeout or when stdout closed first.
    pub fn wait_line(
        &mut self,
        mut pred: impl FnMut(&str) -> bool,
        timeout: Duration,
    ) -> Option<String> {
        let Out::Lines {
            rx, seen, cursor, ..
        } = &mut self.out
        else {
            panic!("wait_line needs line capture");
        };
        let deadline = Instant::now() + timeout;
        let mut closed = false;
        loop {
            seen.extend(rx.try_iter());
            while *cursor < seen.len() {
                let at = *cursor;
                *cursor += 1;
                if pred(&seen[at]) {
                    return Some(seen[at].clone());
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if closed || left.is_zero() {
                return None;
            }
            match rx.recv_timeout(left) {
                Ok(line) => seen.push(line),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => closed = true,
            }
        }
    }

    /// Every stdout line received so far (line capture).
    pub fn lines_so_far(&mut self) -> Vec<String> {
        self.pull();
        match &self.out {
            Out::Lines { seen, .. } => seen.clone(),
            Out::Raw(c) => c.text().lines().map(String::from).collect(),
        }
    }

    /// Everything written to stdout so far, lossily as text (raw capture).
    pub fn text(&self) -> String {
        match &self.out {
            Out::Raw(c) => c.text(),
            Out::Lines { .. } => panic!("text needs raw capture"),
        }
    }

    /// Polls until stdout contains every needle, or `timeout` passes (raw
    /// capture).
    pub fn wait_for(&self, needles: &[&str], timeout: Duration) -> bool {
        poll_until(timeout, || {
            let text = self.text();
            needles.iter().all(|n| text.contains(n))
        })
    }

    /// The tail of the child's stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.text()
    }

    /// Sends a signal (e.g. `libc::SIGINT`), to the group with
    /// [`Spawn::group`]; nothing once the child was reaped.
    pub fn signal(&self, sig: i32) {
        if self.exit.is_some() {
            return;
        }
        if self.group {
            if let Ok(pgid) = libc::pid_t::try_from(self.pid) {
                // SAFETY: kill(2) has no memory-safety preconditions.
                unsafe {
                    libc::kill(-pgid, sig);
                }
            }
        } else {
            send_signal(self.pid, sig);
        }
    }

    /// Waits up to `timeout` for the child to exit; reaps it.
    /// Once it has exited, everything it wrote has been read (bounded by
    /// `DRAIN_TIMEOUT`), so output checks right after see the last lines.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.exit.is_none() {
            let child = &mut self.child;
            let mut status = None;
            poll_until(timeout, || {
                status = child.try_wait().ok().flatten();
                status.is_some()
            });
            self.exit = status;
            if self.exit.is_some() {
                self.drain();
            }
        }
        self.exit
    }

    /// Reads stdout to its end and waits for stderr to close, both bounded.
    fn drain(&mut self) {
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        match &mut self.out {
            Out::Lines {
                rx, seen, closed, ..
            } => {
                while !*closed {
                    let left = deadline.saturating_duration_since(Instant::now());
                    match rx.recv_timeout(left) {
                        Ok(line) => seen.push(line),
                        Err(RecvTimeoutError::Disconnected) => *closed = true,
                        Err(RecvTimeoutError::Timeout) => break,
                    }
                }
            }
            Out::Raw(c) => {
                // End of file for a pipe; EIO for a pty master once the
                // child (the last holder of the slave) is gone.
                poll_until(deadline.saturating_duration_since(Instant::now()), || {
                    c.is_closed()
                });
            }
        }
        let stderr = &self.stderr;
        poll_until(deadline.saturating_duration_since(Instant::now()), || {
            stderr.is_closed()
        });
    }

    /// Waits up to `timeout` for the exit and returns its code (`None` on
    /// timeout or death by signal).
    pub fn wait_code(&mut self, timeout: Duration) -> Option<i32> {
        self.wait_exit(timeout).and_then(|s| s.code())
    }

    /// Whether the child is still alive.
    pub fn is_running(&mut self) -> bool {
        self.wait_exit(Duration::ZERO).is_none()
    }

    /// Sends `sig` (SIGCONT first, in case the child is stopped), waits up
    /// to [`TERM_TIMEOUT`] for the exit, then SIGKILLs; reaps and returns
    /// the exit status.
    pub fn stop_with(&mut self, sig: i32) -> ExitStatus {
        if let Some(status) = self.exit {
            return status;
        }
        self.signal(libc::SIGCONT);
        self.signal(sig);
        match self.wait_exit(TERM_TIMEOUT) {
            Some(status) => status,
            None => self.kill_and_reap().expect("child reaped"),
        }
    }

    /// SIGCONT (so a stopped child is not left frozen), SIGKILL, then reap.
    fn kill_and_reap(&mut self) -> Option<ExitStatus> {
        if let Some(status) = self.exit {
            return Some(status);
        }
        if let Ok(Some(status)) = self.child.try_wait() {
            self.exit = Some(status);
            return self.exit;
        }
        self.signal(libc::SIGCONT);
        self.signal(libc::SIGKILL);
        let _ = self.child.kill();
        self.exit = self.child.wait().ok();
        self.exit
    }

    /// Waits up to `limit` for the child to end by itself (killing it
    /// then), and returns what it left behind.
    pub fn run(mut self, limit: Duration) -> Finished {
        let started = Instant::now();
        let status = self.wait_exit(limit);
        let took = started.elapsed();
        if status.is_none() {
            self.kill_and_reap();
            self.drain();
        }
        let peak_rss_kib = self.peak_rss_kib();
        let stdout = match &mut self.out {
            Out::Raw(c) => c.bytes(),
            Out::Lines { seen, rx, .. } => {
                seen.extend(rx.try_iter());
                seen.iter()
                    .flat_map(|l| format!("{l}\n").into_bytes())
                    .collect()
            }
        };
        Finished {
            status,
            stdout,
            stderr: self.stderr.bytes(),
            took,
            peak_rss_kib,
        }
    }

    /// Peak RSS in KiB of the program (not of GNU time), once it exited;
    /// `None` without [`Spawn::peak_rss`].
    pub fn peak_rss_kib(&self) -> Option<u64> {
        if let Some(peak) = &self.sampled {
            return Some(peak.load(Ordering::Relaxed));
        }
        let report = self.report.as_ref()?;
        let text = std::fs::read_to_string(report).unwrap_or_default();
        // GNU time may write "Command exited with non-zero status N" first.
        let kib = text
            .lines()
            .filter_map(|l| l.trim().parse().ok())
            .next_back()
            .unwrap_or_else(|| panic!("no %M from {GNU_TIME}: {text:?}"));
        Some(kib)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill_and_reap();
        if let Some(report) = &self.report {
            let _ = std::fs::remove_file(report);
        }
    }
}

/// How long a local tool (openssl, promtool, nft, ip) may run.
pub const TOOL_LIMIT: Duration = Duration::from_secs(60);

/// Runs what `cmd` describes to its end within `limit` (killed then), with
/// `stdin` written to it, as a `std::process::Output`; `Err` when it cannot
/// be started (e.g. not installed).
pub fn output(cmd: &Command, stdin: Option<&[u8]>, limit: Duration) -> std::io::Result<Output> {
    let mut spawn = Spawn::new(clone_command(cmd)).raw();
    if let Some(bytes) = stdin {
        spawn = spawn.stdin(bytes);
    }
    let done = spawn.try_start().map_err(|(_, e)| e)?.run(limit);
    Ok(Output {
        status: done.status.unwrap_or_else(killed),
        stdout: done.stdout,
        stderr: done.stderr,
    })
}

/// [`output`] for a local tool, bounded by [`TOOL_LIMIT`].
pub fn run(cmd: &Command) -> std::io::Result<Output> {
    output(cmd, None, TOOL_LIMIT)
}

/// The status of a child killed by SIGKILL.
fn killed() -> ExitStatus {
    use std::os::unix::process::ExitStatusExt;
    ExitStatus::from_raw(libc::SIGKILL)
}
