//! Soak: many server restarts under one `comfyctl watch --json`.
//!
//! Ignored by default (100 cycles take about 50 s, plus a release build);
//! run it with
//!
//! ```sh
//! cargo test --release --test integration soak -- --ignored --nocapture
//! ```
//!
//! `SOAK_CYCLES=N` sets the number of restarts (default 100).
//!
//! Each cycle takes the mock down in one of three ways, in turn, then starts
//! a new one on the same port:
//! - SIGTERM: the mock closes its WebSockets with a close frame and exits;
//! - SIGKILL: the socket just ends;
//! - SIGSTOP: the process hangs with its port open. watch runs with
//!   `--interval 500ms --timeout 500ms`, so the hang is judged (no pong and
//!   HTTP failed) within about a second. Once `disconnected` is reported the
//!   stopped process is SIGKILLed (a stopped process dies of SIGKILL without
//!   running again, so it never answers a late request) and a new one is
//!   started. Kill-and-restart rather than SIGCONT keeps every cycle a
//!   restart; recovery by SIGCONT is covered in `watch.rs`.
//!
//! Asserted: the `state` events are exactly `connecting`, `connected`, then
//! per cycle `disconnected`, `reconnecting`, `connected` (no event lost,
//! duplicated or reordered); one fallback warning per outage; the summary
//! counts one outage and one reconnect per cycle; and comfyctl's open file
//! descriptors (`/proc/PID/fd`) and resident memory (`VmRSS`) after the last
//! cycle are within a small bound of what they were after cycle 10.

use std::time::{Duration, Instant};

use crate::support::{MockServer, Proc, send_signal};
use crate::util::{fd_count, finish, proc_status_kib, states, wait_state, watch};

/// Allowed growth of the open file descriptors between cycle 10 and the
/// end: a pooled HTTP connection or two may or may not be open when sampled.
const FD_SLACK: usize = 4;
/// Allowed growth of VmRSS between cycle 10 and the end, KiB.
const RSS_SLACK_KIB: u64 = 8 * 1024;

#[derive(Clone, Copy, Debug)]
enum Outage {
    Term,
    Kill,
    Stop,
}

/// What one process looked like after a cycle.
#[derive(Debug, Clone, Copy)]
struct Sample {
    cycle: usize,
    fds: usize,
    rss_kib: u64,
}

fn sample(w: &Proc, cycle: usize) -> Sample {
    Sample {
        cycle,
        fds: fd_count(w.pid()).expect("/proc/PID/fd of watch"),
        rss_kib: proc_status_kib(w.pid(), "VmRSS").expect("VmRSS of watch"),
    }
}

fn cycles() -> usize {
    std::env::var("SOAK_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(100)
}

/// (min, mean, max) of some durations, for the report.
fn spread(ds: &[Duration]) -> String {
    if ds.is_empty() {
        return "-".into();
    }
    let ms = |d: &Duration| d.as_millis();
    let mean = ds.iter().sum::<Duration>() / ds.len() as u32;
    format!(
        "min {} ms, mean {} ms, max {} ms (n={})",
        ds.iter().map(ms).min().unwrap_or(0),
        ms(&mean),
        ds.iter().map(ms).max().unwrap_or(0),
        ds.len()
    )
}

#[test]
#[ignore = "soak: run with `cargo test --release --test integration soak -- --ignored --nocapture`"]
fn watch_reports_every_one_of_many_restarts_without_leaking() {
    let cycles = cycles();
    let baseline_cycle = if cycles >= 20 { 10 } else { 1 };
    let started = Instant::now();
    let mut mock = MockServer::start(&[]);
    let mut w = watch(&mock.url(), &["--interval", "500ms", "--timeout", "500ms"]);
    wait_state(&mut w, "connected");

    let kinds = [Outage::Term, Outage::Kill, Outage::Stop];
    let mut detect: [Vec<Duration>; 3] = Default::default();
    let mut recover = Vec::new();
    let mut baseline = None;
    let mut last = None;
    for cycle in 1..=cycles {
        let which = (cycle - 1) % kinds.len();
        let outage = kinds[which];
        let down_at = Instant::now();
        match outage {
            Outage::Term => {
                mock.kill();
            }
            Outage::Kill => {
                mock.kill_with(libc::SIGKILL);
            }
            Outage::Stop => mock.stop(),
        }
        let down = wait_state(&mut w, "disconnected");
        detect[which].push(down_at.elapsed());
        if let Outage::Stop = outage {
            let reason = down["reason"].as_str().unwrap_or_default();
            assert!(reason.contains("no pong"), "cycle {cycle}: {down}");
            send_signal(mock.pid(), libc::SIGKILL);
        }
        mock.restart();
        let up_at = Instant::now();
        let back = wait_state(&mut w, "connected");
        recover.push(up_at.elapsed());
        assert_eq!(back["previous"], "reconnecting", "cycle {cycle}: {back}");

        // Nothing lost, duplicated or out of order so far.
        let seen = states(&mut w);
        assert_eq!(
            seen.len(),
            2 + 3 * cycle,
            "cycle {cycle} ({outage:?}): {:?}",
            &seen[seen.len().saturating_sub(8)..]
        );
        if cycle == baseline_cycle {
            baseline = Some(sample(&w, cycle));
        }
        if cycle == cycles {
            last = Some(sample(&w, cycle));
        }
    }
    let took = started.elapsed();

    let mut expected = vec!["connecting", "connected"];
    for _ in 0..cycles {
        expected.extend(["disconnected", "reconnecting", "connected"]);
    }
    assert_eq!(states(&mut w), expected);

    let events = finish(&mut w);
    let summary = events.last().expect("summary");
    assert_eq!(summary["outages"], cycles, "{summary}");
    assert_eq!(summary["reconnects"], cycles, "{summary}");
    let warnings = events
        .iter()
        .filter(|e| e["event"] == "warning" && e["fallback"] == "placeholder")
        .count();
    assert_eq!(warnings, cycles, "one fallback warning per outage");

    let (base, end) = (baseline.expect("baseline"), last.expect("last sample"));
    eprintln!(
        "soak: {cycles} restarts in {took:.1?}\n  \
         detection after SIGTERM: {}\n  \
         detection after SIGKILL: {}\n  \
         detection after SIGSTOP: {}\n  \
         reconnected after restart: {}\n  \
         fds: {} after cycle {}, {} after cycle {}\n  \
         VmRSS: {} KiB after cycle {}, {} KiB after cycle {}; summary: {summary}",
        spread(&detect[0]),
        spread(&detect[1]),
        spread(&detect[2]),
        spread(&recover),
        base.fds,
        base.cycle,
        end.fds,
        end.cycle,
        base.rss_kib,
        base.cycle,
        end.rss_kib,
        end.cycle,
    );
    assert!(
        end.fds <= base.fds + FD_SLACK,
        "file descriptors grew: {base:?} → {end:?}"
    );
    assert!(
        end.rss_kib <= base.rss_kib + RSS_SLACK_KIB,
        "memory grew: {base:?} → {end:?}"
    );
}
