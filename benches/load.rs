//! The load comfyctl puts on a peer that is not a working ComfyUI, beside
//! the interval it was given. Run: `cargo bench --bench load` (env
//! `LOAD_SECS`, default 30; `INTERVAL_SECS`, default 5). Prints a markdown
//! table of requests per minute for `watch` and `health --wait`, run at the
//! same time against:
//!
//! - a down server: accepts TCP and never answers (a hung process or a
//!   wedged proxy); counted as accepted connections, each carrying one GET;
//! - a refused port: nothing listens; counted from comfyctl's own reports
//!   (the server side cannot count what never reached it), 3 connects per
//!   attempt;
//! - a proxy answering 502: `comfyui-mock --html`, counted by the mock
//!   (`GET /__mock/requests`).
//!
//! The rule: fast retries only while connections are refused; a peer that
//! answers (or hangs) gets about one attempt (3 requests) per interval.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::env_or;
use common::support::{MockServer, Proc, RefusedPort};

const COMFYCTL: &str = env!("CARGO_BIN_EXE_comfyctl");

/// A server that accepts every connection and never writes a byte.
struct Silent {
    port: u16,
    accepted: Arc<AtomicU64>,
}

impl Silent {
    fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let accepted = Arc::new(AtomicU64::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::Relaxed);
                held.push(stream);
                // Clients time out and close; keep the list bounded.
                if held.len() > 512 {
                    held.drain(..256);
                }
            }
        });
        Silent { port, accepted }
    }
}

fn served(mock: &MockServer) -> u64 {
    let mut s = TcpStream::connect(("127.0.0.1", mock.port())).expect("connect");
    write!(
        s,
        "GET /__mock/requests HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .expect("write");
    let mut body = String::new();
    s.read_to_string(&mut body).expect("read");
    let json = body.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let v: serde_json::Value = serde_json::from_str(json).unwrap_or_default();
    v["requests"].as_u64().unwrap_or(0)
}

fn spawn(args: &[&str]) -> Proc {
    let mut cmd = Command::new(COMFYCTL);
    cmd.args(args);
    Proc::spawn(cmd)
}

/// HTTP requests attempted while refused: 3 connects per attempt, from the
/// attempts `watch --json` reported.
fn refused_requests(p: &mut Proc) -> u64 {
    // Reconnect lines are paced; each counts the attempts it held back.
    let attempts = p
        .lines_so_far()
        .iter()
        .filter(|l| l.contains("\"event\":\"reconnect\""))
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .map(|v| 1 + v["skipped"].as_u64().unwrap_or(0))
        .sum::<u64>();
    3 * (attempts + 1)
}

fn main() {
    let secs: u64 = env_or("LOAD_SECS", 30);
    let interval: u64 = env_or("INTERVAL_SECS", 5);
    let every = format!("{interval}s");
    let wait = format!("{secs}s");

    let silent = Silent::start();
    let proxy = MockServer::start(&["--html"]);
    let proxy_health = MockServer::start(&["--html"]);
    let silent_health = Silent::start();
    let hold = RefusedPort::new();
    let refused = hold.port();
    let url = |port: u16| format!("http://127.0.0.1:{port}");

    let t0 = Instant::now();
    // Same order as read below: silent, refused, proxy.
    let mut watches = [url(silent.port), url(refused), proxy.url()]
        .map(|u| spawn(&["watch", "--json", "--url", &u, "--interval", &every]));
    let mut gates = [url(silent_health.port), proxy_health.url()].map(|u| {
        spawn(&[
            "health",
            "-q",
            "--url",
            &u,
            "--wait",
            &wait,
            "--interval",
            &every,
        ])
    });
    // The window is the measurement itself: waiting it out is the point.
    std::thread::sleep(Duration::from_secs(secs));
    let minutes = t0.elapsed().as_secs_f64() / 60.0;
    let silent_n = silent.accepted.load(Ordering::Relaxed);
    let proxy_n = served(&proxy);
    let refused_n = refused_requests(&mut watches[1]);
    for gate in &mut gates {
        gate.wait_exit(Duration::from_secs(secs + 30));
    }
    let silent_gate = silent_health.accepted.load(Ordering::Relaxed);
    let proxy_gate = served(&proxy_health);
    for w in &mut watches {
        w.signal(libc::SIGINT);
        w.wait_exit(Duration::from_secs(30));
    }

    let per_min = |n: u64| n as f64 / minutes;
    let one_per_interval = 60.0 / interval as f64 * 3.0;
    println!(
        "| peer (over {secs} s, --interval {interval}s) | watch: requests/min | health --wait: requests/min | one attempt per interval |"
    );
    println!("|---|---|---|---|");
    println!(
        "| down server (accepts, never answers) | {:.1} | {:.1} | {one_per_interval:.0} |",
        per_min(silent_n),
        per_min(silent_gate)
    );
    println!(
        "| refused port (connects attempted; costs the server nothing) | {:.1} | – | fast by design |",
        per_min(refused_n)
    );
    println!(
        "| proxy answering 502 | {:.1} | {:.1} | {one_per_interval:.0} |",
        per_min(proxy_n),
        per_min(proxy_gate)
    );
}
