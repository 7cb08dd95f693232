//! Measurement helpers shared by the benchmarks.
#![allow(dead_code)]

use std::time::Duration;

pub mod relay;
#[path = "../../tests/integration/support/mod.rs"]
pub mod support;

use support::Proc;

/// Waits for the next NDJSON `state` event with this state, or panics.
pub fn wait_state(p: &mut Proc, state: &str, within: Duration) {
    let needle = format!("\"state\":\"{state}\"");
    p.wait_line(
        |l| l.contains("\"event\":\"state\"") && l.contains(&needle),
        within,
    )
    .unwrap_or_else(|| panic!("no {state} within {within:?}: {}", p.stderr()));
}

/// utime + stime of a process, in clock ticks.
pub fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields 14 and 15 (utime, stime) are 12 and 13 after the ')'.
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    fields
        .get(11)
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0)
        + fields
            .get(12)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
}

/// Clock ticks per second.
pub fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}

/// Peak resident set size (VmHWM) of a running process, KiB.
pub fn peak_rss_kib(pid: u32) -> u64 {
    support::proc::proc_status_kib(pid, "VmHWM").unwrap_or(0)
}

/// The `q` quantile (nearest rank) of `v`, sorting it.
pub fn quantile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// An environment setting, or its default.
pub fn env_or<T: std::str::FromStr>(key: &str, default: T) -> T {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
