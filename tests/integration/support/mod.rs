//! Test support: run `comfyui-mock` (and other long-running programs) as
//! real child processes, with guards that kill and reap them even when a
//! test panics.
//!
//! Every wait here is bounded by a deadline and polls; nothing sleeps a
//! fixed time to synchronise.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Prometheus, promtool, nginx and openssl as guarded child processes.
pub mod external;

/// How long to wait for the mock's readiness line. Generous: a loaded
/// 2-core machine running tests in parallel can be slow to spawn.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long `kill()` waits after SIGTERM before sending SIGKILL.
pub const TERM_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `restart()` keeps retrying while the port is still busy.
pub const RESTART_TIMEOUT: Duration = Duration::from_secs(15);
/// Poll step of every wait loop.
pub const POLL_STEP: Duration = Duration::from_millis(20);

/// Keeps at most this much of a child's stderr (the tail).
const STDERR_KEEP: usize = 64 * 1024;

/// Path of the mock binary built by cargo for this test target.
pub fn mock_bin() -> &'static str {
    env!("CARGO_BIN_EXE_comfyui-mock")
}

/// A port that was free a moment ago (bind 127.0.0.1:0, read it, close).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local_addr").port()
}

/// Calls `cond` every [`POLL_STEP`] until it returns true or `timeout`
/// passes; returns whether it became true.
pub fn poll_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(POLL_STEP);
    }
}

/// Sends `sig` to `pid`; errors (e.g. already reaped) are ignored.
pub fn send_signal(pid: u32, sig: i32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Collects a child's stderr in a background thread (tail only).
fn collect_stderr(child: &mut Child) -> Arc<Mutex<String>> {
    collect_stderr_until_closed(child).0
}

/// Like `collect_stderr`, also returning a flag set once stderr closed.
fn collect_stderr_until_closed(child: &mut Child) -> (Arc<Mutex<String>>, Arc<AtomicBool>) {
    let buf = Arc::new(Mutex::new(String::new()));
    let closed = Arc::new(AtomicBool::new(false));
    if let Some(mut stderr) = child.stderr.take() {
        let sink = buf.clone();
        let done = closed.clone();
        thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
                s.push_str(&String::from_utf8_lossy(&chunk[..n]));
                if s.len() > STDERR_KEEP {
                    let cut = s.len() - STDERR_KEEP;
                    let cut = (cut..s.len()).find(|&i| s.is_char_boundary(i)).unwrap_or(0);
                    s.drain(..cut);
                }
            }
            done.store(true, Ordering::Release);
        });
    } else {
        closed.store(true, Ordering::Release);
    }
    (buf, closed)
}

/// Forwards a child's stdout lines to a channel from a reader thread.
fn forward_lines(stdout: ChildStdout) -> Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

/// Waits up to `timeout` for the child to exit, reaping it.
fn wait_child(child: &mut Child, timeout: Duration) -> Option<ExitStatus> {
    let mut status = None;
    poll_until(timeout, || {
        status = child.try_wait().ok().flatten();
        status.is_some()
    });
    status
}

/// SIGCONT (so a stopped child is not left frozen), SIGKILL, then reap.
fn kill_and_reap(child: &mut Child) -> Option<ExitStatus> {
    if let Ok(Some(status)) = child.try_wait() {
        return Some(status);
    }
    send_signal(child.id(), libc::SIGCONT);
    let _ = child.kill();
    child.wait().ok()
}

/// Drops `--port N` / `--port=N` from user arguments.
fn without_port(args: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut skip = false;
    for arg in args {
        if std::mem::take(&mut skip) {
            continue;
        }
        if arg == "--port" {
            skip = true;
        } else if !arg.starts_with("--port=") {
            out.push(arg.clone());
        }
    }
    out
}

/// The port given in user arguments, if any.
fn port_arg(args: &[String]) -> Option<u16> {
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        if arg == "--port" {
            return it.next().and_then(|p| p.parse().ok());
        }
        if let Some(p) = arg.strip_prefix("--port=") {
            return p.parse().ok();
        }
    }
    None
}

/// A running `comfyui-mock` process. Dropping it kills and reaps it.
pub struct MockServer {
    child: Child,
    port: u16,
    pid: u32,
    /// User arguments without `--port`; reused by `restart`.
    args: Vec<String>,
    ready_line: String,
    ready: serde_json::Value,
    stderr: Arc<Mutex<String>>,
    /// Set once the process was reaped.
    exit: Option<ExitStatus>,
}

impl MockServer {
    /// Starts the mock with `args` (plus `--port 0` unless `args` has a
    /// `--port`) and waits for its readiness line. Panics, with the child's
    /// stderr, if it does not come within [`READY_TIMEOUT`].
    pub fn start(args: &[&str]) -> MockServer {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let port = port_arg(&args).unwrap_or(0);
        Self::spawn(port, without_port(&args), READY_TIMEOUT).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Starts the mock on a given port.
    pub fn start_on(port: u16, args: &[&str]) -> MockServer {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        Self::spawn(port, without_port(&args), READY_TIMEOUT).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Spawns and waits for readiness; `Err` carries a readable reason.
    pub fn try_start(port: u16, args: &[&str], timeout: Duration) -> Result<MockServer, String> {
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        Self::spawn(port, without_port(&args), timeout)
    }

    fn spawn(port: u16, args: Vec<String>, timeout: Duration) -> Result<MockServer, String> {
        let mut child = Command::new(mock_bin())
            .arg("--port")
            .arg(port.to_string())
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot spawn {}: {e}", mock_bin()))?;
        let stderr = collect_stderr(&mut child);
        let lines = forward_lines(child.stdout.take().expect("piped stdout"));
        let line = match lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(RecvTimeoutError::Timeout) => {
                kill_and_reap(&mut child);
                let err = stderr.lock().map(|s| s.clone()).unwrap_or_default();
                return Err(format!(
                    "comfyui-mock {args:?} on port {port}: no readiness line within {timeout:?}; stderr:\n{err}"
                ));
            }
            Err(RecvTimeoutError::Disconnected) => {
                let status = kill_and_reap(&mut child);
                // The stderr thread may still be copying the last bytes.
                poll_until(Duration::from_millis(500), || {
                    stderr.lock().is_ok_and(|s| !s.is_empty())
                });
                let err = stderr.lock().map(|s| s.clone()).unwrap_or_default();
                return Err(format!(
                    "comfyui-mock {args:?} on port {port} exited ({status:?}) before its readiness line; stderr:\n{err}"
                ));
            }
        };
        let ready: serde_json::Value = serde_json::from_str(&line).map_err(|e| {
            kill_and_reap(&mut child);
            format!("readiness line is not JSON ({e}): {line:?}")
        })?;
        let port = ready["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| format!("readiness line without a port: {line:?}"))?;
        // Keep draining stdout so the mock can never block on a full pipe.
        thread::spawn(move || for _ in lines {});
        Ok(MockServer {
            pid: child.id(),
            child,
            port,
            args,
            ready_line: line,
            ready,
            stderr,
            exit: None,
        })
    }

    /// The port the mock listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The mock's process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT` + `path` (which should start with `/`).
    pub fn base(&self, path: &str) -> String {
        format!("{}{path}", self.url())
    }

    /// `ws://127.0.0.1:PORT/ws?clientId=ID`.
    pub fn ws_url(&self, client_id: &str) -> String {
        format!("ws://127.0.0.1:{}/ws?clientId={client_id}", self.port)
    }

    /// The readiness line as printed.
    pub fn ready_line(&self) -> &str {
        &self.ready_line
    }

    /// The readiness line, parsed.
    pub fn ready(&self) -> &serde_json::Value {
        &self.ready
    }

    /// The tail of the mock's stderr so far (its log).
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Whether the process is still alive (not exited, not reaped).
    pub fn is_running(&mut self) -> bool {
        if self.exit.is_some() {
            return false;
        }
        match self.child.try_wait() {
            Ok(Some(status)) => {
                self.exit = Some(status);
                false
            }
            Ok(None) => true,
            Err(_) => false,
        }
    }

    /// SIGTERM, wait up to [`TERM_TIMEOUT`], then SIGKILL; reaps and returns
    /// the exit status.
    pub fn kill(&mut self) -> ExitStatus {
        self.kill_with(libc::SIGTERM)
    }

    /// Sends `sig` (SIGCONT first, in case the process is stopped), waits up
    /// to [`TERM_TIMEOUT`] for the exit, then SIGKILLs; reaps and returns
    /// the exit status.
    pub fn kill_with(&mut self, sig: i32) -> ExitStatus {
        if let Some(status) = self.exit {
            return status;
        }
        send_signal(self.pid, libc::SIGCONT);
        send_signal(self.pid, sig);
        let status = wait_child(&mut self.child, TERM_TIMEOUT)
            .or_else(|| kill_and_reap(&mut self.child))
            .expect("child reaped");
        self.exit = Some(status);
        status
    }

    /// SIGSTOP: the process hangs (TCP connects still succeed).
    pub fn stop(&self) {
        send_signal(self.pid, libc::SIGSTOP);
    }

    /// SIGCONT: resume after [`MockServer::stop`].
    pub fn cont(&self) {
        send_signal(self.pid, libc::SIGCONT);
    }

    /// Kills the process if it runs, then starts a new one on the same port
    /// with the same arguments, retrying while the port is still busy.
    /// Returns once the new readiness line has arrived.
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + RESTART_TIMEOUT;
        let mut last_err = String::new();
        while Instant::now() < deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            match Self::spawn(self.port, self.args.clone(), left.min(READY_TIMEOUT)) {
                Ok(new) => {
                    // The old child is reaped already; swap in the new one.
                    *self = new;
                    return;
                }
                Err(e) => {
                    last_err = e;
                    thread::sleep(Duration::from_millis(100));
                }
            }
        }
        panic!("restart on port {} failed: {last_err}", self.port);
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if self.exit.is_none() {
            kill_and_reap(&mut self.child);
        }
    }
}

/// Several mocks, by port (the seed's ServerManager).
#[derive(Default)]
pub struct ServerManager {
    servers: BTreeMap<u16, MockServer>,
    /// Arguments used by [`ServerManager::start`].
    args: Vec<String>,
}

impl ServerManager {
    /// A manager whose `start` passes no extra arguments.
    pub fn new() -> Self {
        Self::default()
    }

    /// A manager whose `start` passes `args` to every mock.
    pub fn with_args(args: &[&str]) -> Self {
        Self {
            servers: BTreeMap::new(),
            args: args.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// Starts a mock on `port` (0: a free port) and returns it. A mock
    /// already managed on that port is killed first.
    pub fn start(&mut self, port: u16) -> &MockServer {
        let args = self.args.clone();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.start_with(port, &args)
    }

    /// Like [`ServerManager::start`] with explicit arguments.
    pub fn start_with(&mut self, port: u16, args: &[&str]) -> &MockServer {
        if let Some(mut old) = self.servers.remove(&port) {
            old.kill();
        }
        let server = MockServer::start_on(port, args);
        let port = server.port();
        self.servers.entry(port).or_insert(server)
    }

    /// The mock on `port`, if managed.
    pub fn get(&self, port: u16) -> Option<&MockServer> {
        self.servers.get(&port)
    }

    /// Mutable access, e.g. for `stop()`/`cont()`.
    pub fn get_mut(&mut self, port: u16) -> Option<&mut MockServer> {
        self.servers.get_mut(&port)
    }

    /// SIGTERM (then SIGKILL) the mock on `port`; it stays managed so it can
    /// be restarted. Returns its exit status.
    pub fn kill(&mut self, port: u16) -> Option<ExitStatus> {
        self.servers.get_mut(&port).map(MockServer::kill)
    }

    /// Restarts the mock on `port` with its arguments. Panics if unknown.
    pub fn restart(&mut self, port: u16) -> &MockServer {
        let server = self
            .servers
            .get_mut(&port)
            .unwrap_or_else(|| panic!("no mock managed on port {port}"));
        server.restart();
        server
    }

    /// Kills every managed mock.
    pub fn kill_all(&mut self) {
        for server in self.servers.values_mut() {
            server.kill();
        }
    }

    /// Whether the mock on `port` is alive.
    pub fn is_running(&mut self, port: u16) -> bool {
        self.servers
            .get_mut(&port)
            .is_some_and(MockServer::is_running)
    }

    /// Ports of every managed mock, sorted.
    pub fn ports(&self) -> Vec<u16> {
        self.servers.keys().copied().collect()
    }
}

/// A long-running child process (e.g. `comfyctl watch`) with its stdout
/// lines forwarded to a channel. Dropping it kills and reaps it.
pub struct Proc {
    child: Child,
    lines: Receiver<String>,
    /// Every stdout line received so far.
    seen: Vec<String>,
    /// Index in `seen` where the next `wait_line` starts looking.
    cursor: usize,
    stderr: Arc<Mutex<String>>,
    stderr_closed: Arc<AtomicBool>,
    /// Set once stdout reached end of file.
    stdout_closed: bool,
    exit: Option<ExitStatus>,
}

/// How long `wait_exit` waits for the pipes to drain after the child exits
/// (a grandchild may hold them open).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

impl Proc {
    /// Spawns `cmd` with piped stdout/stderr and null stdin.
    pub fn spawn(mut cmd: Command) -> Proc {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn {cmd:?}: {e}"));
        let (stderr, stderr_closed) = collect_stderr_until_closed(&mut child);
        let lines = forward_lines(child.stdout.take().expect("piped stdout"));
        Proc {
            stderr_closed,
            stdout_closed: false,
            child,
            lines,
            seen: Vec::new(),
            cursor: 0,
            stderr,
            exit: None,
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn pull(&mut self) {
        self.seen.extend(self.lines.try_iter());
    }

    /// Waits up to `timeout` for a stdout line matching `pred` and returns
    /// it. Like `expect`, each call looks only at lines after those examined
    /// by the previous call. `None` on timeout or when stdout closed first.
    pub fn wait_line(
        &mut self,
        mut pred: impl FnMut(&str) -> bool,
        timeout: Duration,
    ) -> Option<String> {
        let deadline = Instant::now() + timeout;
        let mut closed = false;
        loop {
            self.pull();
            while self.cursor < self.seen.len() {
                let at = self.cursor;
                self.cursor += 1;
                if pred(&self.seen[at]) {
                    return Some(self.seen[at].clone());
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if closed || left.is_zero() {
                return None;
            }
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => closed = true,
            }
        }
    }

    /// Every stdout line received so far.
    pub fn lines_so_far(&mut self) -> Vec<String> {
        self.pull();
        self.seen.clone()
    }

    /// The tail of the child's stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Sends a signal (e.g. `libc::SIGINT`).
    pub fn signal(&self, sig: i32) {
        if self.exit.is_none() {
            send_signal(self.child.id(), sig);
        }
    }

    /// Waits up to `timeout` for the child to exit; reaps it.
    /// Once it has exited, everything it wrote has been read (bounded by
    /// `DRAIN_TIMEOUT`), so output checks right after see the last lines.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.exit.is_none() {
            self.exit = wait_child(&mut self.child, timeout);
            if self.exit.is_some() {
                self.drain();
            }
        }
        self.exit
    }

    /// Reads stdout to its end and waits for stderr to close, both bounded.
    fn drain(&mut self) {
        let deadline = Instant::now() + DRAIN_TIMEOUT;
        while !self.stdout_closed {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Disconnected) => self.stdout_closed = true,
                Err(RecvTimeoutError::Timeout) => break,
            }
        }
        let closed = self.stderr_closed.clone();
        poll_until(deadline.saturating_duration_since(Instant::now()), || {
            closed.load(Ordering::Acquire)
        });
    }

    /// Whether the child is still alive.
    pub fn is_running(&mut self) -> bool {
        self.wait_exit(Duration::ZERO).is_none()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exit.is_none() {
            kill_and_reap(&mut self.child);
        }
    }
}
