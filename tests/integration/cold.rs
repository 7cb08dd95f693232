//! Cold starts: `health --wait --pid/--pid-file` gives up as soon as the
//! ComfyUI process is gone, and a long wait off a terminal says it is alive.

use std::process::Command;
use std::time::{Duration, Instant};

use crate::support::external::TempDir;
use crate::support::{MockServer, Proc, RefusedPort, Spawn, poll_until};
use crate::util::{comfyctl, comfyctl_std, http_get};

/// A stand-in for the ComfyUI process a worker started.
fn sleeper() -> Proc {
    let mut cmd = Command::new("sleep");
    cmd.arg("120");
    Proc::spawn(cmd)
}

/// `comfyctl health --wait …` running, stdout captured raw.
fn gate(args: &[&str]) -> Proc {
    let mut cmd = comfyctl_std();
    cmd.arg("health").args(args);
    Spawn::new(cmd).raw().start()
}

/// Waits (bounded) for the first "not yet" line: the first poll is done and
/// the gate is in its first interval.
fn first_poll_done(gate: &Proc) {
    let seen = poll_until(Duration::from_secs(20), || {
        gate.stderr().contains("comfyctl: not yet:")
    });
    assert!(seen, "no 'not yet' line: {}", gate.stderr());
}

fn system_stats_served(mock: &MockServer) -> u64 {
    let (code, body) = http_get(mock.port(), "/__mock/requests");
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    v["system_stats"].as_u64().expect("system_stats count")
}

#[test]
fn the_gate_ends_within_a_poll_when_the_process_dies_during_the_wait() {
    // Up but not ready, polled every 5 s: only the PID can end this early.
    let mock = MockServer::start(&[]);
    let mut comfyui = sleeper();
    let pid = comfyui.pid().to_string();
    let url = mock.url();
    let mut gate = gate(&[
        "--wait",
        "60s",
        "--interval",
        "5s",
        "--pid",
        &pid,
        "--url",
        &url,
        "--require-node",
        "NoSuchNode",
    ]);
    first_poll_done(&gate);
    // Killed, not reaped: a zombie whose exit status the kernel still holds.
    comfyui.signal(libc::SIGKILL);
    let killed = Instant::now();
    let code = gate.wait_code(Duration::from_secs(20));
    let took = killed.elapsed();
    let text = gate.text();
    eprintln!("the gate ended {took:?} after the kill");
    assert_eq!(code, Some(1), "{text}{}", gate.stderr());
    assert!(took < Duration::from_secs(2), "took {took:?}");
    let said = format!("the ComfyUI process {pid} exited (killed by signal 9 (SIGKILL))");
    assert!(text.contains(&said), "{text}");
    // Watching the process asked the server nothing: one poll, one probe.
    assert_eq!(system_stats_served(&mock), 1);
    comfyui.stop_with(libc::SIGKILL);
}

#[test]
fn a_process_already_gone_fails_at_once_with_no_status_to_tell() {
    let mut comfyui = sleeper();
    let pid = comfyui.pid().to_string();
    // Reaped: its exit status is ours alone, and gone with it.
    comfyui.stop_with(libc::SIGKILL);
    let refused = RefusedPort::new();
    let started = Instant::now();
    let out = comfyctl()
        .args(["health", "--wait", "60s", "--json", "--pid", &pid, "--url"])
        .arg(refused.addr())
        .output()
        .expect("comfyctl ran");
    assert_eq!(out.status.code(), Some(1));
    assert!(started.elapsed() < Duration::from_secs(5));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["error"]["kind"], "process_exited");
    assert_eq!(
        v["error"]["message"],
        format!("the ComfyUI process {pid} exited")
    );
}

#[test]
fn a_pid_file_written_after_the_gate_started_is_followed() {
    let dir = TempDir::new("cold-pidfile");
    let file = dir.join("comfyui.pid");
    let refused = RefusedPort::new();
    let file_arg = file.display().to_string();
    let addr = refused.addr();
    let mut gate = gate(&["--wait", "60s", "--pid-file", &file_arg, "--url", &addr]);
    first_poll_done(&gate);
    // The worker starts ComfyUI, writes its PID, and ComfyUI dies at once.
    let mut comfyui = sleeper();
    let pid = comfyui.pid();
    std::fs::write(&file, format!("{pid}\n")).expect("pid file written");
    comfyui.stop_with(libc::SIGKILL);
    let stopped = Instant::now();
    assert_eq!(gate.wait_code(Duration::from_secs(20)), Some(1));
    assert!(stopped.elapsed() < Duration::from_secs(2));
    let text = gate.text();
    assert!(text.contains("gave up after"), "{text}");
    assert!(
        text.contains(&format!("the ComfyUI process {pid} exited")),
        "{text}"
    );
}

#[test]
fn a_bad_pid_or_pid_file_is_a_usage_error() {
    let refused = RefusedPort::new();
    let dir = TempDir::new("cold-badpid");
    let garbage = dir.write("bad.pid", "comfyui\n");
    let garbage = garbage.display().to_string();
    let dir_arg = dir.path().display().to_string();
    let cases: [&[&str]; 6] = [
        &["--wait", "5s", "--pid-file", &dir_arg],
        &["--wait", "5s", "--pid", "abc"],
        &["--wait", "5s", "--pid", "0"],
        &["--wait", "5s", "--pid", "-1"],
        &["--pid", "4242"],
        &["--wait", "5s", "--pid-file", &garbage],
    ];
    for args in cases {
        let out = comfyctl()
            .arg("health")
            .args(args)
            .args(["--url", &refused.addr()])
            .output()
            .expect("comfyctl ran");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--pid"), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

#[test]
fn a_long_wait_off_a_terminal_says_every_10s_that_it_is_alive() {
    let refused = RefusedPort::new();
    let args = ["--wait", "12s", "--url", &refused.addr()];
    // At the same time, on a (forced) terminal: the spinner, and no lines.
    let mut cmd = comfyctl_std();
    cmd.arg("health").args(args).env("COMFYCTL_FORCE_TTY", "1");
    let mut on_terminal = Spawn::new(cmd).raw().start();
    let started = Instant::now();
    let out = comfyctl()
        .arg("health")
        .args(args)
        .output()
        .expect("comfyctl ran");
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("comfyctl: still waiting"))
        .collect();
    eprintln!("{took:?}: {lines:?}");
    // One line at 10 s, with the last error; not one per poll.
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with("comfyctl: still waiting after 10s of 12s: connection refused"),
        "{}",
        lines[0]
    );
    assert_eq!(on_terminal.wait_code(Duration::from_secs(20)), Some(1));
    let drawn = on_terminal.stderr();
    assert!(!drawn.contains("still waiting"), "{drawn}");
    assert!(drawn.contains("waited"), "no spinner: {drawn}");
}
