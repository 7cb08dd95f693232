//! Test support: run `comfyui-mock` (and other long-running programs) as
//! real child processes, with guards that kill and reap them even when a
//! test panics.
//!
//! Every wait here is bounded by a deadline and polls; nothing sleeps a
//! fixed time to synchronise.

use std::collections::BTreeMap;
use std::process::{Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

/// Prometheus, promtool, nginx and openssl as guarded child processes.
pub mod external;
/// The plain HTTP client and the stub HTTP server.
pub mod http;
/// Ports where nothing listens, held for a test's life.
pub mod port;
/// The child-process guard.
pub mod proc;

pub use port::RefusedPort;
pub use proc::{Proc, Spawn};

/// How long to wait for the mock's readiness line. Generous: a loaded
/// 2-core machine running tests in parallel can be slow to spawn.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long `kill()` waits after SIGTERM before sending SIGKILL.
pub const TERM_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `restart()` keeps retrying while the port is still busy.
pub const RESTART_TIMEOUT: Duration = Duration::from_secs(15);
/// Poll step of every wait loop.
pub const POLL_STEP: Duration = Duration::from_millis(20);

/// Path of the mock binary built by cargo for this test target.
pub fn mock_bin() -> &'static str {
    env!("CARGO_BIN_EXE_comfyui-mock")
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

/// A running `comfyui-mock` process, on a [`Proc`]. Dropping it kills and
/// reaps it.
pub struct MockServer {
    proc: Proc,
    port: u16,
    /// User arguments without `--port`; reused by `restart`.
    args: Vec<String>,
    ready_line: String,
    ready: serde_json::Value,
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

    /// Starts a mock that opens its port only after `delay`
    /// (`--delay-ready`), for tests that start a server after comfyctl.
    /// Returns at once; until then the port refuses connections (it is
    /// held by a [`RefusedPort`] that the mock shares, so no other program
    /// can take it meanwhile).
    pub fn start_late(delay: Duration) -> LateMock {
        let hold = RefusedPort::new();
        let mut cmd = Command::new(mock_bin());
        cmd.arg("--port")
            .arg(hold.port().to_string())
            .arg("--delay-ready")
            .arg(format!("{}ms", delay.as_millis()));
        LateMock {
            _proc: Proc::spawn(cmd),
            hold,
        }
    }

    fn spawn(port: u16, args: Vec<String>, timeout: Duration) -> Result<MockServer, String> {
        let mut cmd = Command::new(mock_bin());
        cmd.arg("--port").arg(port.to_string()).args(&args);
        let mut proc = Proc::spawn(cmd);
        let Some(line) = proc.wait_line(|_| true, timeout) else {
            let status = proc.wait_exit(Duration::ZERO);
            let status = status.unwrap_or_else(|| proc.stop_with(libc::SIGKILL));
            return Err(format!(
                "comfyui-mock {args:?} on port {port}: no readiness line within {timeout:?} \
                 ({status}); stderr:\n{}",
                proc.stderr()
            ));
        };
        let ready: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| format!("readiness line is not JSON ({e}): {line:?}"))?;
        let port = ready["port"]
            .as_u64()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| format!("readiness line without a port: {line:?}"))?;
        Ok(MockServer {
            proc,
            port,
            args,
            ready_line: line,
            ready,
        })
    }

    /// The port the mock listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The mock's process id.
    pub fn pid(&self) -> u32 {
        self.proc.pid()
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

    /// Every port of a `--ports N` mock, from the readiness line.
    pub fn ports(&self) -> Vec<u16> {
        self.ready["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_u64().unwrap() as u16)
            .collect()
    }

    /// The tail of the mock's stderr so far (its log).
    pub fn stderr(&self) -> String {
        self.proc.stderr()
    }

    /// Whether the process is still alive (not exited, not reaped).
    pub fn is_running(&mut self) -> bool {
        self.proc.is_running()
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
        self.proc.stop_with(sig)
    }

    /// SIGSTOP: the process hangs (TCP connects still succeed).
    pub fn stop(&self) {
        self.proc.signal(libc::SIGSTOP);
    }

    /// SIGCONT: resume after [`MockServer::stop`].
    pub fn cont(&self) {
        self.proc.signal(libc::SIGCONT);
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

/// A mock started by [`MockServer::start_late`]: its port refuses
/// connections until the mock's delay has passed.
pub struct LateMock {
    _proc: Proc,
    /// Kept bound (not listening) so the port stays ours until the mock
    /// listens on it too.
    hold: RefusedPort,
}

impl LateMock {
    /// The port the mock will listen on.
    pub fn port(&self) -> u16 {
        self.hold.port()
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
}
