//! Detection and recovery latency of `comfyctl watch`, measured against
//! real `comfyui-mock` processes killed and restarted on one port.
//!
//! Run: `cargo bench --bench recovery` (env `RESTARTS`, default 20;
//! `MIN_OUTAGE_MS`, default 1000, and `MAX_OUTAGE_MS`, default 5000: the
//! outages are spread evenly between them). Prints a markdown table.
//!
//! - detection: from sending the signal to reading the `disconnected` event;
//! - recovery: from reading the restarted mock's readiness line to reading
//!   the `connected` event.

mod common;

use std::process::Command;
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
    println!("| measure (default settings) | n | median ms | p95 ms | max ms |");
    println!("|---|---|---|---|---|");
    for (name, v) in [
        ("detection, SIGTERM", &mut term),
        ("detection, SIGKILL", &mut kill),
        ("recovery after restart", &mut rec),
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
