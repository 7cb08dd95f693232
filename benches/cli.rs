//! Side-by-side benchmarks of `comfyctl` against the bundled mock, printed
//! as a markdown table. Run: `cargo bench --bench cli`.
//!
//! 1. one-shot `comfyctl health` next to `curl -sf /system_stats` (the
//!    practical floor), interleaved, `RUNS` times (default 50);
//!    then one-shot `comfyctl connect` (next to `BASELINE_BIN`, another
//!    comfyctl binary, when that is set);
//! 2. hung-server (SIGSTOP) detection in `watch` with default settings;
//! 3. idle cost of `watch --interval 5s` over `IDLE_SECS` (default 60):
//!    peak RSS, CPU, and false alarms (state changes) on a healthy server;
//! 4. what one `watch` sends the server per minute (bytes, requests), through
//!    a counting TCP relay, and whether it ever asks for `/object_info`;
//! 5. binary size and cold start (`comfyctl --version`).

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use common::relay::Relay;
use common::support::{MockServer, Proc};
use common::{clock_ticks, cpu_ticks, env_or, peak_rss_kib, quantile, wait_state};

const COMFYCTL: &str = env!("CARGO_BIN_EXE_comfyctl");

fn main() {
    let runs: usize = env_or("RUNS", 50);
    let idle_secs: u64 = env_or("IDLE_SECS", 60);
    let mock = MockServer::start(&[]);
    println!("| measure | comfyctl | peer | ratio |");
    println!("|---|---|---|---|");

    // 1. One-shot health next to curl.
    let curl_ok = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    let mut ours = Vec::new();
    let mut theirs = Vec::new();
    for _ in 0..runs {
        ours.push(time(|| {
            let s = Command::new(COMFYCTL)
                .args(["health", "-q", "--url", &mock.url()])
                .status()
                .unwrap();
            assert!(s.success());
        }));
        if curl_ok {
            theirs.push(time(|| {
                let s = Command::new("curl")
                    .args(["-sf", "-o", "/dev/null", &mock.base("/system_stats")])
                    .status()
                    .unwrap();
                assert!(s.success());
            }));
        }
    }
    let (m_ours, m_theirs) = (quantile(&mut ours, 0.5), quantile(&mut theirs, 0.5));
    println!(
        "| one-shot health, median of {runs} (peer: curl -sf /system_stats) | {:.2} ms | {} | {} |",
        m_ours,
        if curl_ok {
            format!("{m_theirs:.2} ms")
        } else {
            "curl missing".into()
        },
        if curl_ok {
            format!("{:.2}×", m_ours / m_theirs)
        } else {
            "n/a".into()
        },
    );

    // 1b. One-shot connect (HTTP probe, WebSocket handshake, first status,
    // polite close); the peer column is `BASELINE_BIN`, another comfyctl
    // binary (say, an older build), run interleaved, when given.
    let baseline = std::env::var("BASELINE_BIN").ok();
    let connect = |bin: &str| {
        time(|| {
            let s = Command::new(bin)
                .args(["connect", "--url", &mock.url()])
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(s.success());
        })
    };
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        ours.push(connect(COMFYCTL));
        if let Some(bin) = &baseline {
            theirs.push(connect(bin));
        }
    }
    let m_ours = quantile(&mut ours, 0.5);
    let (peer, ratio) = match &baseline {
        Some(_) => {
            let m = quantile(&mut theirs, 0.5);
            (
                format!("{m:.2} ms (BASELINE_BIN)"),
                format!("{:.2}×", m_ours / m),
            )
        }
        None => ("–".into(), "–".into()),
    };
    println!("| one-shot connect, median of {runs} | {m_ours:.2} ms | {peer} | {ratio} |");

    // 2. SIGSTOP detection with default settings (interval 5s, timeout 5s).
    {
        let hung = MockServer::start(&[]);
        let mut w = watch(&hung.url(), &[]);
        wait_state(&mut w, "connected", Duration::from_secs(30));
        let t = Instant::now();
        hung.stop();
        wait_state(&mut w, "disconnected", Duration::from_secs(60));
        let took = t.elapsed();
        hung.cont();
        println!(
            "| hung server (SIGSTOP) detected, defaults: interval 5s + timeout 5s | {:.2} s | – | – |",
            took.as_secs_f64()
        );
    }

    // 3 and 4. Idle cost and load on the server, through a counting relay.
    {
        let relay = Relay::start(mock.port());
        let mut w = watch(
            &format!("http://127.0.0.1:{}", relay.port),
            &["--interval", "5s"],
        );
        wait_state(&mut w, "connected", Duration::from_secs(30));
        let pid = w.pid();
        let switches0 = context_switches(pid);
        let (ticks0, bytes0, reqs0) = (
            cpu_ticks(pid),
            relay.up.load(Ordering::Relaxed),
            relay.requests.load(Ordering::Relaxed),
        );
        let down0 = relay.down.load(Ordering::Relaxed);
        let t0 = Instant::now();
        // The idle period itself is what is measured: waiting it out is the point.
        std::thread::sleep(Duration::from_secs(idle_secs));
        let secs = t0.elapsed().as_secs_f64();
        let cpu = (cpu_ticks(pid) - ticks0) as f64 / clock_ticks();
        let rss = peak_rss_kib(pid);
        let per_min = |v: u64| v as f64 * 60.0 / secs;
        let up = relay.up.load(Ordering::Relaxed) - bytes0;
        let down = relay.down.load(Ordering::Relaxed) - down0;
        let reqs = relay.requests.load(Ordering::Relaxed) - reqs0;
        let states = w
            .lines_so_far()
            .iter()
            .filter(|l| l.contains("\"event\":\"state\""))
            .count();
        println!(
            "| idle watch over {idle_secs} s: peak RSS | {:.1} MiB | – | – |",
            rss as f64 / 1024.0
        );
        println!(
            "| idle watch over {idle_secs} s: CPU | {:.3} s ({:.3} % of one core) | – | – |",
            cpu,
            cpu / secs * 100.0
        );
        println!(
            "| idle watch over {idle_secs} s: wakeups (context switches) per minute | {:.0} | – | – |",
            per_min(context_switches(pid) - switches0)
        );
        println!(
            "| idle watch over {idle_secs} s: false alarms (state changes after connected) | {} | – | – |",
            states.saturating_sub(2)
        );
        println!(
            "| sent to the server per minute | {:.0} bytes, {:.1} HTTP requests | – | – |",
            per_min(up),
            per_min(reqs)
        );
        println!(
            "| received from the server per minute | {:.0} bytes | – | – |",
            per_min(down)
        );
        println!(
            "| /object_info requests in the loop | {} | – | – |",
            relay.object_info.load(Ordering::Relaxed)
        );
    }

    // 5. Binary size and cold start.
    let size = std::fs::metadata(COMFYCTL).map(|m| m.len()).unwrap_or(0);
    let mut starts: Vec<f64> = (0..runs)
        .map(|_| {
            time(|| {
                Command::new(COMFYCTL)
                    .arg("--version")
                    .stdout(Stdio::null())
                    .status()
                    .unwrap();
            })
        })
        .collect();
    println!(
        "| release binary size | {:.2} MiB | – | – |",
        size as f64 / (1 << 20) as f64
    );
    println!(
        "| cold start, `comfyctl --version`, median of {runs} | {:.2} ms | – | – |",
        quantile(&mut starts, 0.5)
    );
}

fn watch(url: &str, extra: &[&str]) -> Proc {
    let mut cmd = Command::new(COMFYCTL);
    cmd.args(["watch", "--json", "--url", url]).args(extra);
    Proc::spawn(cmd)
}

fn time(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64() * 1000.0
}

/// Voluntary plus involuntary context switches of every thread of `pid`: a
/// cheap count of how often the process woke up.
fn context_switches(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .flatten()
        .filter_map(|t| std::fs::read_to_string(t.path().join("status")).ok())
        .flat_map(|status| {
            status
                .lines()
                .filter(|l| l.contains("ctxt_switches:"))
                .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                .collect::<Vec<_>>()
        })
        .sum()
}
