//! `comfyui-mock`: a mock ComfyUI server for `comfyctl`'s tests.
//!
//! It speaks the HTTP and WebSocket protocol captured from a real ComfyUI
//! 0.3.64 (see `shared/fixtures/comfyui/README.md`), simulates prompt
//! execution, and has flags for the faults a monitor must survive. After
//! binding it prints one readiness line on stdout; everything else goes to
//! stderr.

#![forbid(unsafe_code)]

mod args;
mod failures;
mod faults;
mod jobs;
mod middleware;
mod node_sim;
mod nodes;
mod preview;
mod routes;
mod sockets;
mod state;
mod store;
mod token;
mod worker;
mod ws;

use std::io::Write as _;
use std::net::SocketAddr;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::serve::ListenerExt as _;
use clap::Parser as _;
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;

use crate::args::Args;
use crate::sockets::Out;
use crate::state::Mock;

/// Why the mock could not start: one line for its stderr.
#[derive(Debug)]
pub struct Failure(pub String);

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Every error the mock meets is reported by its message alone.
impl<E: std::error::Error> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

/// The mock's own result type.
pub type Result<T> = std::result::Result<T, Failure>;

/// How long shutdown waits for WebSocket close handshakes before exiting.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(600);

fn main() -> ExitCode {
    let args = Args::parse();
    // Blocking the loop must stop every task, as in ComfyUI's one loop.
    let mut builder = if args.block_loop_ms.is_some() {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("comfyui-mock: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("comfyui-mock: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<()> {
    let args = Arc::new(args);
    store::configure(args.clock_behind, args.stamps_create_time());
    // Install the handlers first, so a signal during --delay-ready or right
    // after the readiness line is handled rather than killing us.
    let shutdown = shutdown_signal()?;
    tokio::pin!(shutdown);
    if let Some(delay) = args.delay_ready {
        delay_ready(delay, shutdown.as_mut()).await;
    }
    let listeners = bind_all(&args).await?;
    let addrs = listeners
        .iter()
        .map(TcpListener::local_addr)
        .collect::<std::io::Result<Vec<_>>>()?;
    let served = serve_all(&args, listeners)?;
    announce(&addrs, args.ports.is_some())?;
    let sig = shutdown.await;
    stop(sig, served).await;
    // Exit at once: open slow bodies and held sockets must not delay us.
    std::process::exit(0);
}

/// Installs the shutdown handlers now (SIGTERM/SIGINT; Ctrl-C/Ctrl-Break
/// on Windows); the future names the first of them that arrives.
fn shutdown_signal() -> std::io::Result<impl Future<Output = &'static str>> {
    comfyctl::platform::signals::install()
}

/// `--delay-ready`: waits before binding; a signal meanwhile exits at once.
async fn delay_ready(delay: Duration, shutdown: Pin<&mut impl Future<Output = &'static str>>) {
    eprintln!("comfyui-mock: --delay-ready: sleeping {delay:?} before binding");
    tokio::select! {
        () = tokio::time::sleep(delay) => {}
        sig = shutdown => {
            eprintln!("comfyui-mock: {sig} before ready, exiting");
            std::process::exit(0);
        }
    }
}

/// Binds `--port`, and with `--ports N` N-1 more free ports on `--host`.
async fn bind_all(args: &Args) -> Result<Vec<TcpListener>> {
    let count = args.ports.unwrap_or(1);
    let mut listeners = Vec::new();
    for i in 0..count {
        let port = if i == 0 { args.port } else { 0 };
        listeners.push(bind(&args.host, port).await?);
    }
    Ok(listeners)
}

/// What shutdown has to stop: the mocks, and the tasks that own the
/// listening sockets.
struct Served {
    mocks: Vec<Arc<Mock>>,
    acceptors: Vec<JoinHandle<()>>,
}

/// Serves each listener: an independent mock, or with `--hang-headers` a
/// task that accepts and never answers.
fn serve_all(args: &Arc<Args>, listeners: Vec<TcpListener>) -> Result<Served> {
    let mut mocks = Vec::new();
    let mut acceptors = Vec::new();
    for listener in listeners {
        if args.hang_headers {
            acceptors.push(tokio::spawn(faults::hang_forever(listener)));
        } else {
            let (mock, tasks) = start_mock(args.clone(), listener)?;
            mocks.push(mock);
            acceptors.extend(tasks);
        }
    }
    Ok(Served { mocks, acceptors })
}

/// The shutdown after `sig`, up to the exit: listeners first, then the
/// WebSocket close handshakes.
async fn stop(sig: &str, served: Served) {
    eprintln!("comfyui-mock: {sig}: closing websockets and exiting");
    // Close the listening sockets first, as a dying server's port would be:
    // a client reacting to the close frame must not reconnect to us.
    for task in served.acceptors {
        task.abort();
        let _ = task.await;
    }
    close_websockets(&served.mocks).await;
    let _ = std::io::stderr().flush();
}

/// Binds with SO_REUSEADDR set explicitly, so a restart can take the port
/// back while the previous process's connections are in TIME_WAIT.
async fn bind(host: &str, port: u16) -> Result<TcpListener> {
    let mut last_err = None;
    for addr in tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| Failure(format!("cannot resolve --host {host}: {e}")))?
    {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        socket.set_reuseaddr(true)?;
        match socket.bind(addr).and_then(|()| socket.listen(1024)) {
            Ok(listener) => return Ok(listener),
            Err(e) => last_err = Some(Failure(format!("cannot bind {addr}: {e}"))),
        }
    }
    Err(last_err.unwrap_or_else(|| Failure(format!("--host {host} resolved to no address"))))
}

/// Starts one independent mock (state, worker, server) on `listener`.
/// Returns it with the tasks that own the listening socket.
fn start_mock(args: Arc<Args>, listener: TcpListener) -> Result<(Arc<Mock>, Vec<JoinHandle<()>>)> {
    let mock = Mock::new(args.clone())?;
    tokio::spawn(worker::run(mock.clone()));
    if let Some(every) = args.status_interval {
        let mock = mock.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.tick().await; // the first tick is immediate
            loop {
                ticks.tick().await;
                mock.broadcast_status();
            }
        });
    }
    let app = routes::app(mock.clone());
    let mut tasks = Vec::new();
    if args.ws_invalid {
        let (listener, acceptor) = faults::intercept_ws(listener)?;
        tasks.push(acceptor);
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    } else {
        // Many small WebSocket frames: Nagle's algorithm would add delays.
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tasks.push(tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        }));
    }
    Ok((mock, tasks))
}

/// Prints the readiness line, the parent's signal that the port is open.
fn announce(addrs: &[SocketAddr], with_ports: bool) -> Result<()> {
    let first = addrs.first().ok_or_else(|| Failure("no listener".into()))?;
    let mut line = format!(
        r#"{{"event":"listening","addr":{},"port":{},"pid":{}"#,
        serde_json::to_string(&first.to_string())?,
        first.port(),
        std::process::id()
    );
    if with_ports {
        let ports: Vec<u16> = addrs.iter().map(SocketAddr::port).collect();
        line.push_str(&format!(r#","ports":{}"#, serde_json::to_string(&ports)?));
    }
    line.push('}');
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    eprintln!(
        "comfyui-mock: listening on {first} (pid {})",
        std::process::id()
    );
    Ok(())
}

/// Sends every socket a 1001 "going away" close frame and waits (bounded)
/// for the handshakes to finish, so the frame is read before the TCP
/// connection goes away.
async fn close_websockets(mocks: &[Arc<Mock>]) {
    for mock in mocks {
        mock.refuse_ws
            .store(true, std::sync::atomic::Ordering::SeqCst);
        mock.tell_all(|| Out::Close(1001, "going away".into()));
    }
    let deadline = Instant::now() + SHUTDOWN_GRACE;
    while Instant::now() < deadline && mocks.iter().any(|m| m.open_sockets() > 0) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
