//! Network faults for real: each scenario runs on a thread of its own that
//! moved into a private network namespace (`unshare(CLONE_NEWNET)`, loopback
//! up), so the mock and comfyctl it spawns live there too, and nftables
//! rules change that namespace's network while they run. The host's network
//! is never touched.
//!
//! Without root or `nft` each test prints one line saying why and skips; with
//! `CI` set it fails instead.
//!
//! Every wait is bounded by a generous deadline; nothing asserts speed.

use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{MockServer, POLL_STEP, Proc, poll_until, proc, send_signal};
use crate::util::{
    WATCH_WAIT, comfyctl, fd_count, finish, http_get, parse_line, proc_status_kib, states,
    wait_state, watch,
};

/// The nftables table every scenario uses inside its namespace.
const TABLE: &str = "comfyctl_faults";

/// Why a namespace cannot be made here, if it cannot.
fn unavailable() -> Option<String> {
    match proc::run(Command::new("nft").arg("--version")) {
        Ok(o) if o.status.success() => {}
        _ => return Some("nft (nftables) is not installed".into()),
    }
    match proc::run(Command::new("ip").arg("-V")) {
        Ok(o) if o.status.success() => None,
        _ => Some("ip (iproute2) is not installed".into()),
    }
}

/// Runs `scenario` inside a fresh network namespace, on a thread of its
/// own (namespaces are per thread; children inherit the spawning thread's).
/// Skips with one line, or fails under `CI`, when that is impossible.
fn in_netns(name: &str, scenario: impl FnOnce() + Send + 'static) {
    let setup = move || -> Result<(), String> {
        if let Some(why) = unavailable() {
            return Err(why);
        }
        // SAFETY: unshare(2) only changes this thread's namespaces.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(format!(
                "unshare(CLONE_NEWNET) failed: {} (needs root or CAP_SYS_ADMIN)",
                std::io::Error::last_os_error()
            ));
        }
        let up = proc::run(Command::new("ip").args(["link", "set", "lo", "up"]))
            .map_err(|e| format!("ip link set lo up: {e}"))?
            .status;
        if !up.success() {
            return Err(format!("ip link set lo up: {up}"));
        }
        nft(&format!(
            "add table inet {TABLE}\n\
             add chain inet {TABLE} input {{ type filter hook input priority 0; policy accept; }}\n"
        ));
        Ok(())
    };
    let outcome = thread::Builder::new()
        .name(format!("netns-{name}"))
        .spawn(move || {
            setup()?;
            scenario();
            Ok::<(), String>(())
        })
        .expect("spawn scenario thread")
        .join();
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(why)) if std::env::var_os("CI").is_some() => {
            panic!("netfaults {name}: cannot make a network namespace: {why}")
        }
        Ok(Err(why)) => eprintln!("netfaults {name}: skipped: {why}"),
        Err(panic) => std::panic::resume_unwind(panic),
    }
}

/// Applies an nftables script in the current thread's namespace.
fn nft(script: &str) {
    let out = proc::output(
        Command::new("nft").args(["-f", "-"]),
        Some(script.as_bytes()),
        proc::TOOL_LIMIT,
    )
    .expect("nft runs");
    assert!(
        out.status.success(),
        "nft failed: {}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `{ p1, p2, … }` for an nft set expression.
fn port_set(ports: &[u16]) -> String {
    let list: Vec<String> = ports.iter().map(u16::to_string).collect();
    format!("{{ {} }}", list.join(", "))
}

/// Packets to and from these ports vanish: a pulled cable, no RST, no FIN.
fn blackhole(ports: &[u16]) {
    let set = port_set(ports);
    nft(&format!(
        "add rule inet {TABLE} input tcp dport {set} drop\n\
         add rule inet {TABLE} input tcp sport {set} drop\n"
    ));
}

/// Only new connections (SYN without ACK) to these ports vanish.
fn drop_new_connections(ports: &[u16]) {
    nft(&format!(
        "add rule inet {TABLE} input tcp dport {} tcp flags & (syn | ack) == syn drop\n",
        port_set(ports)
    ));
}

/// Every packet to these ports is answered with a TCP reset.
fn reject_with_reset(ports: &[u16]) {
    nft(&format!(
        "add rule inet {TABLE} input tcp dport {} reject with tcp reset\n",
        port_set(ports)
    ));
}

/// Removes every rule: the network is whole again.
fn heal() {
    nft(&format!("flush chain inet {TABLE} input\n"));
}

/// The `state` events from `from` on (as parsed lines).
fn state_events(p: &mut Proc) -> Vec<Value> {
    p.lines_so_far()
        .iter()
        .map(|l| parse_line(l))
        .filter(|v| v["event"] == "state")
        .collect()
}

#[test]
fn blackhole_mid_session_is_a_silent_outage_and_heals() {
    in_netns("blackhole", || {
        let mock = MockServer::start(&[]);
        let mut w = watch(&mock.url(), &["--interval", "500ms", "--timeout", "1s"]);
        wait_state(&mut w, "connected");
        blackhole(&[mock.port()]);
        let down = wait_state(&mut w, "disconnected");
        let reason = down["reason"].as_str().unwrap_or_default();
        assert_eq!(down["previous"], "connected", "no state in between: {down}");
        assert!(
            !reason.contains("reset") && !reason.contains("refused"),
            "nothing answered, so not a reset: {down}"
        );
        assert!(
            reason.contains("no pong") && reason.contains("timed out"),
            "says nothing answered: {down}"
        );
        // While blackholed, attempts time out and are paced, not refused.
        let retry = w
            .wait_line(|l| l.contains("\"event\":\"reconnect\""), WATCH_WAIT)
            .expect("a reconnect attempt while blackholed");
        let retry = parse_line(&retry);
        assert_eq!(retry["error"]["kind"], "timeout", "{retry}");
        heal();
        let back = wait_state(&mut w, "connected");
        assert_eq!(back["previous"], "reconnecting", "{back}");
        let events = finish(&mut w);
        let summary = events.last().expect("summary");
        assert_eq!(summary["outages"], 1, "{summary}");
        assert_eq!(
            states(&mut w),
            [
                "connecting",
                "connected",
                "disconnected",
                "reconnecting",
                "connected"
            ]
        );
    });
}

#[test]
fn dropped_syns_while_the_socket_lives_only_warn() {
    in_netns("syn-drop", || {
        // Without keep-alive every poll needs new connections, as behind a
        // proxy that closes them; the WebSocket stays the one established.
        let mock = MockServer::start(&["--http-close"]);
        let mut w = watch(&mock.url(), &["--interval", "500ms", "--timeout", "1s"]);
        wait_state(&mut w, "connected");
        let before = state_events(&mut w).len();
        drop_new_connections(&[mock.port()]);
        // Every poll needs fresh connections: those SYNs vanish, so polls
        // fail while pings on the established socket still get pongs.
        for round in 0..2 {
            let line = w
                .wait_line(
                    |l| {
                        l.contains("\"event\":\"warning\"")
                            && l.contains("HTTP poll failed while the WebSocket is alive")
                    },
                    WATCH_WAIT,
                )
                .unwrap_or_else(|| {
                    panic!(
                        "no warning (round {round}); got:\n{}",
                        w.lines_so_far().join("\n")
                    )
                });
            assert!(line.contains("timed out"), "{line}");
        }
        assert_eq!(
            state_events(&mut w).len(),
            before,
            "state unchanged: {:?}",
            states(&mut w)
        );
        heal();
        let events = finish(&mut w);
        let summary = events.last().expect("summary");
        assert_eq!(summary["outages"], 0, "{summary}");
        assert_eq!(states(&mut w), ["connecting", "connected"]);
    });
}

#[test]
fn reset_is_reported_at_once_and_retried_like_a_refused_port() {
    in_netns("reset", || {
        let mock = MockServer::start(&[]);
        let mut w = watch(&mock.url(), &["--interval", "500ms", "--timeout", "1s"]);
        wait_state(&mut w, "connected");
        reject_with_reset(&[mock.port()]);
        let down = wait_state(&mut w, "disconnected");
        assert_eq!(down["previous"], "connected", "{down}");
        let reason = down["reason"].as_str().unwrap_or_default();
        assert!(reason.contains("reset"), "says reset: {down}");
        // New connections get a reset too: refused, so the fast schedule.
        let mut delays = Vec::new();
        for _ in 0..3 {
            let line = w
                .wait_line(|l| l.contains("\"event\":\"reconnect\""), WATCH_WAIT)
                .expect("reconnect attempts");
            let v = parse_line(&line);
            assert_eq!(v["error"]["kind"], "connection_refused", "{v}");
            delays.push(v["next_delay_ms"].as_u64().unwrap_or(u64::MAX));
        }
        assert!(
            delays.iter().all(|&d| d <= 250),
            "paced as for a refused port: {delays:?}"
        );
        heal();
        let back = wait_state(&mut w, "connected");
        assert_eq!(back["previous"], "reconnecting", "{back}");
        finish(&mut w);
    });
}

#[test]
fn blackhole_during_one_shot_commands_ends_at_the_documented_bounds() {
    in_netns("one-shot", || {
        let mock = MockServer::start(&[]);
        blackhole(&[mock.port()]);
        let url = mock.url();
        let generous = Duration::from_secs(20);

        let started = Instant::now();
        let out = comfyctl()
            .args(["health", "--json", "--url", &url, "--timeout", "1s"])
            .assert()
            .code(1);
        let took = started.elapsed();
        let v: Value = serde_json::from_slice(&out.get_output().stdout).expect("json");
        assert_eq!(v["error"]["kind"], "timeout", "{v}");
        assert!(took >= Duration::from_secs(1), "waited --timeout: {took:?}");
        assert!(took < Duration::from_secs(1) + generous, "{took:?}");

        // 3 attempts of at most 1 s, and backoffs of 1 s and 2 s (+20 %).
        let bound = Duration::from_secs(3) + Duration::from_secs_f64(1.2 + 2.4);
        let started = Instant::now();
        comfyctl()
            .args([
                "connect",
                "--url",
                &url,
                "--retries",
                "2",
                "--timeout",
                "1s",
            ])
            .assert()
            .code(1);
        let took = started.elapsed();
        assert!(took < bound + generous, "connect took {took:?}");

        let started = Instant::now();
        comfyctl()
            .args(["health", "--url", &url, "--wait", "3s", "--timeout", "1s"])
            .assert()
            .code(1);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(3),
            "waited to the deadline: {took:?}"
        );
        assert!(took < Duration::from_secs(3) + generous, "{took:?}");
    });
}

/// `GET /system_stats` requests one mock of a `--ports` process served.
fn polls(port: u16) -> u64 {
    let (code, body) = http_get(port, "/__mock/requests");
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).expect("json");
    v["system_stats"].as_u64().expect("count")
}

#[test]
fn a_fleet_keeps_its_cadence_while_a_fifth_is_blackholed() {
    in_netns("fleet", || {
        let mock = MockServer::start(&["--ports", "50"]);
        let ports: Vec<u16> = mock.ready()["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .filter_map(|p| p.as_u64().and_then(|p| u16::try_from(p).ok()))
            .collect();
        assert_eq!(ports.len(), 50);
        let mut cmd = crate::util::comfyctl_std();
        // A long --timeout and two failed rounds before a judgement keep a
        // loaded machine's slow pong from passing for an outage.
        cmd.args(["watch", "--json", "--interval", "1s", "--timeout", "3s"])
            .args(["--fail-after", "2"]);
        for port in &ports {
            cmd.args(["--url", &format!("http://127.0.0.1:{port}")]);
        }
        let mut w = Proc::spawn(cmd);
        let connected = |w: &mut Proc| {
            w.lines_so_far()
                .iter()
                .map(|l| parse_line(l))
                .filter(|v| v["event"] == "state" && v["state"] == "connected")
                .count()
        };
        assert!(
            poll_until(WATCH_WAIT, || connected(&mut w) >= 50),
            "all 50 connected; stderr: {}",
            w.stderr()
        );
        let (dark, healthy) = ports.split_at(10);
        blackhole(dark);
        let interval = Duration::from_secs(1);
        // Each count is read with its own clock, so slow reads under load
        // do not stretch anyone's window.
        let start: Vec<(u64, Instant)> = healthy
            .iter()
            .map(|&p| (polls(p), Instant::now()))
            .collect();
        let t0 = Instant::now();
        // The window is the measurement (how many polls fit), not a wait
        // for something to happen.
        let window = Duration::from_secs(8);
        while t0.elapsed() < window {
            thread::sleep(POLL_STEP);
        }
        let end: Vec<(u64, Instant)> = healthy
            .iter()
            .map(|&p| (polls(p), Instant::now()))
            .collect();
        let mut report = Vec::new();
        for ((port, (a, ta)), (b, tb)) in healthy.iter().zip(&start).zip(&end) {
            let expected = (*tb - *ta).as_secs_f64() / interval.as_secs_f64();
            let n = (b - a) as f64;
            report.push(format!("{port}: {n}/{expected:.1}"));
            assert!(
                n >= expected * 0.8 - 1.0 && n <= expected * 1.2 + 1.0,
                "port {port}: {n} polls in the window, expected about {expected:.1}; all: {report:?}"
            );
        }
        let dark_urls: Vec<String> = dark
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect();
        let down = |w: &mut Proc| {
            w.lines_so_far()
                .iter()
                .map(|l| parse_line(l))
                .filter(|v| v["event"] == "state" && v["state"] == "disconnected")
                .count()
        };
        assert!(
            poll_until(WATCH_WAIT, || down(&mut w) >= 10),
            "the 10 blackholed servers are reported down"
        );
        let rss = proc_status_kib(w.pid(), "VmHWM").expect("VmHWM");
        assert!(rss < 64 * 1024, "peak memory {rss} KiB");
        // The healthy 40 never changed state; only the dark 10 did.
        for v in state_events(&mut w) {
            let url = v["url"].as_str().unwrap_or_default();
            if v["state"] != "connecting" && v["state"] != "connected" {
                assert!(
                    dark_urls.iter().any(|d| d == url),
                    "a healthy server changed state: {v}"
                );
            }
        }
        heal();
        finish(&mut w);
    });
}

/// Soak with faults: 100 cycles through blackhole, reset, SIGKILL and
/// SIGSTOP under one `watch`. Ignored by default; run with
/// `cargo test --release --test integration netfaults_soak -- --ignored --nocapture`
/// (`SOAK_CYCLES=N` to change the count).
#[test]
#[ignore = "soak: cargo test --release --test integration netfaults_soak -- --ignored --nocapture"]
fn netfaults_soak_reports_every_outage_once_and_in_order() {
    in_netns("soak", || {
        let cycles: usize = std::env::var("SOAK_CYCLES")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n| n > 0)
            .unwrap_or(100);
        let started = Instant::now();
        let mut mock = MockServer::start(&[]);
        let mut w = watch(&mock.url(), &["--interval", "500ms", "--timeout", "500ms"]);
        wait_state(&mut w, "connected");
        let mut base = None;
        let mut worst = [Duration::ZERO; 4];
        for cycle in 1..=cycles {
            let which = (cycle - 1) % 4;
            let at = Instant::now();
            match which {
                0 => blackhole(&[mock.port()]),
                1 => reject_with_reset(&[mock.port()]),
                2 => {
                    mock.kill_with(libc::SIGKILL);
                }
                _ => mock.stop(),
            }
            wait_state(&mut w, "disconnected");
            match which {
                0 | 1 => heal(),
                2 => mock.restart(),
                _ => {
                    send_signal(mock.pid(), libc::SIGKILL);
                    mock.restart();
                }
            }
            let back = wait_state(&mut w, "connected");
            worst[which] = worst[which].max(at.elapsed());
            assert_eq!(back["previous"], "reconnecting", "cycle {cycle}: {back}");
            let seen = states(&mut w);
            assert_eq!(seen.len(), 2 + 3 * cycle, "cycle {cycle}: {seen:?}");
            let sample = (
                fd_count(w.pid()).expect("fds"),
                proc_status_kib(w.pid(), "VmRSS").expect("rss"),
            );
            if cycle == 10.min(cycles) {
                base = Some(sample);
            }
            if cycle == cycles {
                let (fds, rss) = base.expect("baseline");
                eprintln!(
                    "netfaults soak: {cycles} cycles in {:.1?}; worst outage→connected: \
                     blackhole {:?}, reset {:?}, SIGKILL {:?}, SIGSTOP {:?}; \
                     fds {fds} → {}, VmRSS {rss} → {} KiB",
                    started.elapsed(),
                    worst[0],
                    worst[1],
                    worst[2],
                    worst[3],
                    sample.0,
                    sample.1
                );
                assert!(sample.0 <= fds + 4, "fds grew: {fds} → {}", sample.0);
                assert!(sample.1 <= rss + 8 * 1024, "RSS grew: {rss} → {}", sample.1);
            }
        }
        let events = finish(&mut w);
        let summary = events.last().expect("summary");
        assert_eq!(summary["outages"], cycles, "{summary}");
        assert_eq!(summary["reconnects"], cycles, "{summary}");
    });
}
