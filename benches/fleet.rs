//! Fleet scale: one `comfyctl watch` over 100, 500 and 1000 mock servers
//! (one `comfyui-mock --ports N` process). Prints a markdown table of peak
//! RSS, CPU use, and how long a full round of probes takes.
//!
//! Run: `cargo bench --bench fleet` (env `SIZES`, default `100,500,1000`;
//! `COMFYCTL_BIN` measures another comfyctl build;
//! `ROUNDS`, default 3 steady rounds at `--interval 5s`; `JOBS=1` makes every
//! server finish a job each interval during the steady rounds, alternately
//! completed and failed, so job tracking is measured too).

mod common;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::support::{MockServer, Proc};
use common::{clock_ticks, cpu_ticks, peak_rss_kib};

const INTERVAL: Duration = Duration::from_secs(5);

fn main() {
    let sizes: Vec<usize> = std::env::var("SIZES")
        .unwrap_or_else(|_| "100,500,1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let rounds: u32 = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let jobs = std::env::var("JOBS").is_ok_and(|v| v == "1");
    let max = sizes.iter().copied().max().unwrap_or(0);
    let mock = MockServer::start(&["--ports", &max.to_string()]);
    let ports: Vec<u16> = mock.ready()["ports"]
        .as_array()
        .expect("readiness line lists ports")
        .iter()
        .map(|p| p.as_u64().unwrap() as u16)
        .collect();
    let dir = std::env::temp_dir().join(format!("comfyctl-fleet-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    println!(
        "| targets | first full round | steady round spread (median) | polls/target/interval | peak RSS | CPU (% of one core) | jobs reported |"
    );
    println!("|---|---|---|---|---|---|---|");
    for &n in &sizes {
        let file = dir.join(format!("targets-{n}.txt"));
        let list: Vec<String> = ports[..n]
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect();
        std::fs::write(&file, list.join("\n")).unwrap();
        // `COMFYCTL_BIN`: measure another build (say, an older one) instead.
        let bin = std::env::var("COMFYCTL_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_comfyctl").to_owned());
        let mut cmd = Command::new(bin);
        cmd.args(["watch", "--json", "--interval", "5s", "--targets"])
            .arg(&file);
        let started = Instant::now();
        let mut watch = Proc::spawn(cmd);
        let pid = watch.pid();

        // First full round: every target has one successful HTTP poll.
        let mut polls: HashMap<String, Vec<Instant>> = HashMap::new();
        let mut first_round = None;
        let steady_end_at = |t0: Instant| t0 + INTERVAL * (rounds + 1);
        let mut cpu_start = None;
        let deadline = Instant::now() + INTERVAL * (rounds + 6) + Duration::from_secs(60);
        let mut steady_from = None;
        while Instant::now() < deadline {
            let Some(line) = watch.wait_line(
                |l| l.contains("\"source\":\"http\"") && l.contains("\"available\":true"),
                Duration::from_secs(30),
            ) else {
                break;
            };
            let v: serde_json::Value = serde_json::from_str(&line).unwrap();
            polls
                .entry(v["url"].as_str().unwrap().to_string())
                .or_default()
                .push(Instant::now());
            if first_round.is_none() && polls.len() == n {
                first_round = Some(started.elapsed());
                steady_from = Some(Instant::now());
                if jobs {
                    let targets = ports[..n].to_vec();
                    std::thread::spawn(move || post_jobs(&targets, rounds));
                }
                cpu_start = Some((cpu_ticks(pid), Instant::now()));
            }
            if let Some(t0) = steady_from
                && Instant::now() >= steady_end_at(t0)
            {
                break;
            }
        }
        let (ticks0, t0) = cpu_start.expect("first round completed");
        let cpu =
            (cpu_ticks(pid) - ticks0) as f64 / clock_ticks() / t0.elapsed().as_secs_f64() * 100.0;
        let rss = peak_rss_kib(pid);
        // Steady rounds: the k-th poll of every target; spread = last - first.
        let mut spreads = Vec::new();
        for k in 1..=rounds as usize {
            let times: Vec<Instant> = polls.values().filter_map(|v| v.get(k).copied()).collect();
            if times.len() == n {
                let (lo, hi) = (times.iter().min().unwrap(), times.iter().max().unwrap());
                spreads.push(hi.duration_since(*lo));
            }
        }
        spreads.sort();
        let spread = spreads.get(spreads.len() / 2).copied();
        let window = steady_from.map(|t| t.elapsed()).unwrap_or_default();
        let per_interval = polls.values().map(|v| v.len()).sum::<usize>() as f64
            / n as f64
            / (window.as_secs_f64() / INTERVAL.as_secs_f64() + 1.0);
        let reported = watch
            .lines_so_far()
            .iter()
            .filter(|l| l.contains("\"event\":\"job\""))
            .count();
        println!(
            "| {n} | {:.2} s | {} | {:.2} | {:.1} MiB | {:.2} % | {reported} |",
            first_round.unwrap().as_secs_f64(),
            spread.map_or("n/a".into(), |s| format!(
                "{:.0} ms",
                s.as_secs_f64() * 1000.0
            )),
            per_interval,
            rss as f64 / 1024.0,
            cpu
        );
        watch.signal(libc::SIGINT);
        watch.wait_exit(Duration::from_secs(30));
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// One job per server per interval, `rounds` times: completed, then failed,
/// and so on (each a `/__mock/job` POST straight to the mock).
fn post_jobs(ports: &[u16], rounds: u32) {
    for round in 0..rounds {
        let outcome = if round % 2 == 0 {
            "completed"
        } else {
            "failed"
        };
        let next = Instant::now() + INTERVAL;
        for &port in ports {
            let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
                continue;
            };
            let _ = write!(
                s,
                "POST /__mock/job?outcome={outcome} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = s.read_to_end(&mut Vec::new());
        }
        // Pacing the load generator is the point of this wait.
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}
