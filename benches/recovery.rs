//! Detection and recovery latency of `comfyctl watch`, measured against
//! real `comfyui-mock` processes killed and restarted on one port.
//!
//! Run: `cargo bench --bench recovery` (env `RESTARTS`, default 20;
//! `MIN_OUTAGE_MS`, default 1000, and `MAX_OUTAGE_MS`, default 5000: the
//! outages are spread evenly between them). Prints a markdown table.
//!
//! - detection: from sending the signal to reading the `disconnected` event;
//! - recovery: from reading the restarted mock's readiness line to reading
//!   the `connected` event;
//! - gate lag (`GATES`, default 20): `health --wait` started on a closed
//!   port, then the mock started there; from reading its readiness line to
//!   the gate's exit, beside an `until curl -sf …; do sleep 1; done` loop
//!   gating the same way.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::support::{self, MockServer, Proc};
use common::{env_or, quantile};

const WAIT: Duration = Duration::from_secs(60);

fn main() {
    let restarts: usize = env_or("RESTARTS", 20);
    let max_outage = Duration::from_millis(env_or("MAX_OUTAGE_MS", 5000));
    let min_outage = Duration::from_millis(env_or("MIN_OUTAGE_MS", 1000));

    let mut mock = MockServer::start(&[]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_comfyctl"));
    cmd.args(["watch", "--json", "--url", &mock.url()]);
    let mut watch = Proc::spawn(cmd);
    common::wait_state(&mut watch, "connected", WAIT);

    let mut detect = Vec::new();
    let mut recover = Vec::new();
    for i in 0..restarts {
        let signal = if i % 2 == 0 {
            libc::SIGTERM
        } else {
            libc::SIGKILL
        };
        // Signal, then time the event; reaping comes after, so its polling
        // is not counted.
        let sent = Instant::now();
        support::send_signal(mock.pid(), signal);
        common::wait_state(&mut watch, "disconnected", WAIT);
        detect.push((signal, sent.elapsed()));
        mock.kill_with(libc::SIGKILL);
        let outage = if restarts > 1 {
            min_outage + (max_outage - min_outage).mul_f64(i as f64 / (restarts - 1) as f64)
        } else {
            min_outage
        };
        // The outage itself is the thing being simulated: a fixed wait is
        // the point here, not a synchronisation.
        std::thread::sleep(outage.saturating_sub(sent.elapsed()));
        mock.restart();
        let ready = Instant::now();
        common::wait_state(&mut watch, "connected", WAIT);
        recover.push(ready.elapsed());
    }
    watch.signal(libc::SIGINT);
    watch.wait_exit(WAIT);

    let ms = |d: &Duration| d.as_secs_f64() * 1000.0;
    let mut term: Vec<f64> = detect
        .iter()
        .filter(|(s, _)| *s == libc::SIGTERM)
        .map(|(_, d)| ms(d))
        .collect();
    let mut kill: Vec<f64> = detect
        .iter()
        .filter(|(s, _)| *s == libc::SIGKILL)
        .map(|(_, d)| ms(d))
        .collect();
    let mut rec: Vec<f64> = recover.iter().map(ms).collect();
    let gates: usize = env_or("GATES", 20);
    let mut ours = gate_lag(gates, |url| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_comfyctl"));
        cmd.args(["health", "-q", "--wait", "60s", "--url", url]);
        cmd
    });
    let mut loop_lag = gate_lag(gates.min(10), |url| {
        let mut cmd = Command::new("sh");
        cmd.args([
            "-c",
            &format!("until curl -sf -o /dev/null {url}/system_stats; do sleep 1; done"),
        ]);
        cmd
    });
    println!("| measure (default settings) | n | median ms | p95 ms | max ms |");
    println!("|---|---|---|---|---|");
    for (name, v) in [
        ("detection, SIGTERM", &mut term),
        ("detection, SIGKILL", &mut kill),
        ("recovery after restart", &mut rec),
        ("gate lag: comfyctl health --wait", &mut ours),
        ("gate lag: until curl -sf …; sleep 1", &mut loop_lag),
    ] {
        v.sort_by(f64::total_cmp);
        println!(
            "| {name} | {} | {:.1} | {:.1} | {:.1} |",
            v.len(),
            quantile(v, 0.5),
            quantile(v, 0.95),
            v.last().copied().unwrap_or(f64::NAN)
        );
    }
    println!(
        "\noutages spread from {:?} to {:?} over {restarts} restarts",
        min_outage, max_outage
    );
}

/// Starts `gate(url)` on a closed port, then a mock on that port; returns,
/// per run, ms from reading the readiness line to the gate's exit.
fn gate_lag(runs: usize, gate: impl Fn(&str) -> Command) -> Vec<f64> {
    let mut lags = Vec::new();
    for _ in 0..runs {
        let hold = support::RefusedPort::new();
        let port = hold.port();
        let url = format!("http://127.0.0.1:{port}");
        let mut cmd = gate(&url);
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let mut waiting = cmd.spawn().expect("spawn gate");
        // Let the gate find the port closed first (and settle into its
        // schedule at a random phase): the closed period is the scenario.
        std::thread::sleep(Duration::from_millis(300 + rand_ms(500)));
        let mock = MockServer::start_on(port, &[]);
        let ready = Instant::now();
        // Poll the exit every 0.5 ms: the support's 20 ms step would be the
        // resolution of the whole measurement.
        let mut status = None;
        while status.is_none() && ready.elapsed() < WAIT {
            status = waiting.try_wait().ok().flatten();
            std::thread::sleep(Duration::from_micros(500));
        }
        let lag = ready.elapsed();
        if status.is_none() {
            let _ = waiting.kill();
        }
        // Reaps it (at once: it exited or was just killed).
        let _ = waiting.wait();
        if status.is_some_and(|s| s.success()) {
            lags.push(lag.as_secs_f64() * 1000.0);
        }
        drop(mock);
    }
    lags
}

/// A pseudo-random number of ms below `max`, from the clock.
fn rand_ms(max: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    nanos % max.max(1)
}
