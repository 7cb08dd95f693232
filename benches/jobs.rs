//! What job tracking costs the watched server: requests and bytes per minute
//! sent by one `watch --interval 5s`, through a counting relay, while the
//! server is idle and while a job finishes every few seconds. Printed as a
//! markdown table. Run: `cargo bench --bench jobs` (`SECS`, default 15, per
//! phase; `EVERY_MS`, default 3000, between jobs).

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::relay::Relay;
use common::support::{MockServer, Proc};
use common::{env_or, wait_state};

const COMFYCTL: &str = env!("CARGO_BIN_EXE_comfyctl");

/// One phase's totals: (requests, job requests, bytes up, bytes down).
fn counters(r: &Relay) -> [u64; 4] {
    [
        r.requests.load(Ordering::Relaxed),
        r.jobs.load(Ordering::Relaxed),
        r.up.load(Ordering::Relaxed),
        r.down.load(Ordering::Relaxed),
    ]
}

fn post_job(port: u16) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "POST /__mock/job?outcome=completed&ms=500 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut sink = Vec::new();
    let _ = s.read_to_end(&mut sink);
}

fn main() {
    let secs: u64 = env_or("SECS", 15);
    let every = Duration::from_millis(env_or("EVERY_MS", 3000));
    println!("| measure (watch --interval 5s, per minute) | idle | jobs flowing | ");
    println!("|---|---|---|");
    let mut rows: Vec<(String, [f64; 2])> = Vec::new();
    for (name, args) in [
        ("Jobs API (0.33)", &[][..]),
        ("/history (0.3.64)", &["--no-jobs-api"][..]),
    ] {
        let mock = MockServer::start(args);
        let relay = Relay::start(mock.port());
        let mut cmd = Command::new(COMFYCTL);
        cmd.args(["watch", "--json", "--interval", "5s", "--url"])
            .arg(format!("http://127.0.0.1:{}", relay.port));
        let mut w = Proc::spawn(cmd);
        wait_state(&mut w, "connected", Duration::from_secs(30));
        // The session-start request (two on 0.3.64: the 404, then /history)
        // belongs to connecting, not to the idle minute.
        let start = if args.is_empty() { 1 } else { 2 };
        let deadline = Instant::now() + Duration::from_secs(30);
        while relay.jobs.load(Ordering::Relaxed) < start && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        let mut per_min = [[0f64; 4]; 2];
        for (phase, busy) in [false, true].into_iter().enumerate() {
            let before = counters(&relay);
            let t0 = Instant::now();
            let end = t0 + Duration::from_secs(secs);
            // The phase's length is what is measured: waiting it out is the point.
            while Instant::now() < end {
                if busy {
                    post_job(mock.port());
                }
                std::thread::sleep(every.min(end.saturating_duration_since(Instant::now())));
            }
            let took = t0.elapsed().as_secs_f64();
            let after = counters(&relay);
            for i in 0..4 {
                per_min[phase][i] = (after[i] - before[i]) as f64 * 60.0 / took;
            }
        }
        let jobs = w
            .lines_so_far()
            .iter()
            .filter(|l| l.contains("\"event\":\"job\""))
            .count();
        for (i, what) in [
            "HTTP requests",
            "job-list requests",
            "bytes sent",
            "bytes received",
        ]
        .iter()
        .enumerate()
        {
            rows.push((format!("{name}: {what}"), [per_min[0][i], per_min[1][i]]));
        }
        rows.push((
            format!("{name}: jobs reported (whole run)"),
            [0.0, jobs as f64],
        ));
    }
    for (what, [idle, busy]) in rows {
        println!("| {what} | {idle:.1} | {busy:.1} |");
    }
}
