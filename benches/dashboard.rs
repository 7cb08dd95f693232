//! Idle cost of the full-screen dashboard beside today's live view: one
//! `comfyctl watch --interval 5s` over 10 idle mock servers on a real
//! pseudo-terminal, once as the dashboard and once with `--plain` (the
//! fleet table), each measured over the same idle window. Prints a
//! markdown table: CPU as % of one core, bytes drawn per minute, peak RSS.
//!
//! First, in process, the cost of one frame of a large fleet (10, 100 and
//! 1000 rows on a 200×50 screen): folding a poll in, composing the frame,
//! and diffing it into terminal bytes, with the selection moving so the
//! table scrolls.
//!
//! Run: `cargo bench --bench dashboard` (env `IDLE_SECS`, default 60;
//! `SERVERS`, default 10; `COMFYCTL_BIN` measures another build, e.g. the
//! release binary; `FRAMES_ONLY=1` skips the idle runs).

mod common;

use std::io::Read;
use std::os::fd::FromRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::support::MockServer;
use common::{clock_ticks, cpu_ticks, env_or, peak_rss_kib};

/// Time for the first polls and frames before the idle window opens.
const WARMUP: Duration = Duration::from_secs(8);

fn main() {
    frames();
    if std::env::var_os("FRAMES_ONLY").is_some() {
        return;
    }
    let idle = Duration::from_secs(env_or("IDLE_SECS", 60));
    let servers: usize = env_or("SERVERS", 10);
    let mock = MockServer::start(&["--ports", &servers.to_string()]);
    let ports: Vec<u64> = mock.ready()["ports"]
        .as_array()
        .expect("readiness line lists ports")
        .iter()
        .filter_map(|p| p.as_u64())
        .collect();
    let file = std::env::temp_dir().join(format!("comfyctl-dash-bench-{}", std::process::id()));
    let list: Vec<String> = ports
        .iter()
        .map(|p| format!("http://127.0.0.1:{p}"))
        .collect();
    std::fs::write(&file, list.join("\n")).unwrap();

    println!(
        "| view ({servers} idle servers, --interval 5s, {} s) | CPU (% of one core) | bytes drawn per minute | peak RSS |",
        idle.as_secs()
    );
    println!("|---|---|---|---|");
    for (name, extra) in [
        ("dashboard", None),
        ("live view (--plain)", Some("--plain")),
    ] {
        let bin = std::env::var("COMFYCTL_BIN")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_comfyctl").to_owned());
        let mut cmd = Command::new(bin);
        cmd.args(["watch", "--interval", "5s", "--targets"])
            .arg(&file)
            .args(extra)
            .env_remove("NO_COLOR")
            .env_remove("COMFYCTL_FORCE_TTY")
            .env("TERM", "xterm-256color");
        let (cpu, bytes, rss) = measure(cmd, idle);
        println!(
            "| {name} | {cpu:.3} % | {:.0} | {:.1} MiB |",
            bytes as f64 / idle.as_secs_f64() * 60.0,
            rss as f64 / 1024.0
        );
    }
    let _ = std::fs::remove_file(&file);
}

/// Prints what one frame costs at 10, 100 and 1000 rows.
fn frames() {
    use comfyctl::dashboard_costs::measure;
    let rounds = 200;
    println!(
        "| rows (200×50, {rounds} frames) | fold one poll | compose a frame | diff to bytes | bytes per frame |"
    );
    println!("|---|---|---|---|---|");
    for servers in [10, 100, 1000] {
        let c = measure(servers, (200, 50), rounds);
        println!(
            "| {servers} | {:.1} µs | {:.2} ms | {:.2} ms | {} |",
            c.update.as_secs_f64() * 1e6,
            c.compose.as_secs_f64() * 1e3,
            c.paint.as_secs_f64() * 1e3,
            c.bytes
        );
    }
    println!();
}

/// Runs `cmd` on a 120×40 pty; returns CPU %, bytes written during the
/// idle window, and peak RSS (KiB).
fn measure(mut cmd: Command, idle: Duration) -> (f64, u64, u64) {
    let (mut master, mut slave) = (0, 0);
    let size = libc::winsize {
        ws_row: 40,
        ws_col: 120,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two descriptors we then own.
    let rc = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    assert_eq!(rc, 0, "openpty");
    // SAFETY: both descriptors are fresh and owned here.
    let (mut master, slave) = unsafe {
        (
            std::fs::File::from_raw_fd(master),
            std::fs::File::from_raw_fd(slave),
        )
    };
    cmd.stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    // SAFETY: setsid and ioctl are async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            libc::setsid();
            libc::ioctl(0, libc::TIOCSCTTY, 0);
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn comfyctl");
    drop(cmd);
    let read = Arc::new(AtomicU64::new(0));
    let counter = read.clone();
    // The terminal must be drained or the child blocks on its writes.
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok(n) = master.read(&mut buf) {
            if n == 0 {
                break;
            }
            counter.fetch_add(n as u64, Ordering::Relaxed);
        }
    });
    std::thread::sleep(WARMUP);
    let pid = child.id();
    let (ticks0, bytes0, t0) = (cpu_ticks(pid), read.load(Ordering::Relaxed), Instant::now());
    std::thread::sleep(idle);
    let ticks = cpu_ticks(pid) - ticks0;
    let bytes = read.load(Ordering::Relaxed) - bytes0;
    let cpu = ticks as f64 / clock_ticks() / t0.elapsed().as_secs_f64() * 100.0;
    let rss = peak_rss_kib(pid);
    let _ = child.kill();
    let _ = child.wait();
    let _ = reader.join();
    (cpu, bytes, rss)
}
