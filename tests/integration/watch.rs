//! The reconnection suite: `watch`, `reconnect` and `health` while real
//! `comfyui-mock` processes are killed (SIGTERM, SIGKILL, SIGSTOP) and
//! restarted on the same port.

use std::time::{Duration, Instant};

use predicates::prelude::*;
use serde_json::Value;

use crate::support::{MockServer, Proc, RefusedPort};
use crate::util::{
    comfyctl, comfyctl_std, finish, http_post, parse_line as parse, states, wait_state, watch,
};

/// Generous: the suite must pass on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(30);

#[test]
fn every_line_has_ts_url_and_event() {
    let mock = MockServer::start(&[]);
    let mut w = watch(&mock.url(), &["--interval", "200ms"]);
    wait_state(&mut w, "connected");
    w.wait_line(|l| l.contains("\"source\":\"http\""), WAIT)
        .expect("an HTTP poll");
    finish(&mut w);
    for line in w.lines_so_far() {
        let v = parse(&line);
        let ts = v["ts"].as_str().expect("ts");
        assert!(
            humantime::parse_rfc3339(ts).is_ok() && ts.contains('.'),
            "{ts}"
        );
        assert_eq!(v["url"], mock.url());
        assert!(v["event"].is_string());
    }
}

#[test]
fn state_sequence_across_a_restart_with_repeated_attempts_while_down() {
    let mut mock = MockServer::start(&[]);
    let mut w = watch(&mock.url(), &["--interval", "1s"]);
    wait_state(&mut w, "connected");
    mock.kill();
    wait_state(&mut w, "disconnected");
    wait_state(&mut w, "reconnecting");
    // Repeated attempts while the server is down, each announced.
    let first = w.wait_line(|l| l.contains("\"event\":\"reconnect\""), WAIT);
    let second = w.wait_line(|l| l.contains("\"event\":\"reconnect\""), WAIT);
    assert!(first.is_some() && second.is_some(), "attempts while down");
    mock.restart();
    let back = wait_state(&mut w, "connected");
    assert_eq!(back["previous"], "reconnecting");
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
    let summary = finish(&mut w).pop().expect("summary");
    assert_eq!(summary["outages"], 1);
    assert_eq!(summary["reconnects"], 1);
}

#[test]
fn three_restart_cycles_are_all_reported_in_order() {
    let mut mock = MockServer::start(&[]);
    let mut w = watch(&mock.url(), &["--interval", "1s"]);
    wait_state(&mut w, "connected");
    for _ in 0..3 {
        mock.kill();
        wait_state(&mut w, "disconnected");
        mock.restart();
        wait_state(&mut w, "connected");
    }
    let cycle = ["disconnected", "reconnecting", "connected"];
    let mut expected = vec!["connecting", "connected"];
    for _ in 0..3 {
        expected.extend(cycle);
    }
    assert_eq!(states(&mut w), expected);
    let summary = finish(&mut w).pop().expect("summary");
    assert_eq!(summary["outages"], 3);
    assert_eq!(summary["reconnects"], 3);
    let warnings = w
        .lines_so_far()
        .iter()
        .filter(|l| {
            l.contains("\"event\":\"warning\"") && l.contains("\"fallback\":\"placeholder\"")
        })
        .count();
    assert_eq!(warnings, 3, "one fallback warning per outage");
}

#[test]
fn messages_still_arrive_after_reconnection() {
    let mut mock = MockServer::start(&[]);
    let mut w = watch(&mock.url(), &["--interval", "1s"]);
    wait_state(&mut w, "connected");
    mock.kill_with(libc::SIGKILL);
    wait_state(&mut w, "disconnected");
    mock.restart();
    wait_state(&mut w, "connected");

    // A queue change made after the restart reaches the watcher by WebSocket.
    assert_eq!(http_post(mock.port(), "/__mock/queue?remaining=4", ""), 200);
    w.wait_line(
        |l| l.contains("\"source\":\"websocket\"") && l.contains("\"queue_remaining\":4"),
        WAIT,
    )
    .expect("queue update after reconnect");

    // An execution without a client_id is broadcast as progress_state.
    let prompt = r#"{"prompt": {"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}}, "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}}"#;
    assert_eq!(http_post(mock.port(), "/prompt", prompt), 200);
    let progress = w
        .wait_line(|l| l.contains("\"event\":\"progress\""), WAIT)
        .expect("progress after reconnect");
    assert_eq!(parse(&progress)["type"], "progress_state");
    finish(&mut w);
}

#[test]
fn sigterm_and_sigkill_are_reported_from_the_socket_not_the_poll() {
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        let mut mock = MockServer::start(&[]);
        // A 10-minute poll interval: only the socket can report this.
        let mut w = watch(&mock.url(), &["--interval", "10m"]);
        wait_state(&mut w, "connected");
        let killed = Instant::now();
        mock.kill_with(signal);
        let down = wait_state(&mut w, "disconnected");
        let took = killed.elapsed();
        assert!(took < Duration::from_secs(10), "signal {signal}: {took:?}");
        let reason = down["reason"].as_str().unwrap();
        assert!(reason.contains("WebSocket"), "signal {signal}: {reason}");
        finish(&mut w);
    }
}

#[test]
fn sigstop_hang_is_detected_by_ping_and_http_then_recovers_on_sigcont() {
    let mock = MockServer::start(&[]);
    let mut w = watch(&mock.url(), &["--interval", "1s", "--timeout", "1s"]);
    wait_state(&mut w, "connected");
    let stopped = Instant::now();
    mock.stop();
    let down = wait_state(&mut w, "disconnected");
    let took = stopped.elapsed();
    let reason = down["reason"].as_str().unwrap();
    assert!(
        reason.contains("no pong") && reason.contains("HTTP"),
        "{reason}"
    );
    // interval + timeout is 2 s; allow for a loaded machine.
    assert!(
        took < Duration::from_secs(20),
        "hung server detected after {took:?}"
    );
    mock.cont();
    wait_state(&mut w, "connected");
    finish(&mut w);
}

#[test]
fn refused_websocket_with_working_http_is_degraded_until_it_is_accepted() {
    let mock = MockServer::start(&["--refuse-ws"]);
    let mut w = watch(&mock.url(), &["--interval", "300ms"]);
    let degraded = wait_state(&mut w, "degraded");
    assert!(
        degraded["reason"].as_str().unwrap().contains("403"),
        "{degraded}"
    );
    // Polling goes on while degraded: the queue is still reported.
    w.wait_line(
        |l| l.contains("\"source\":\"http\"") && l.contains("\"available\":true"),
        WAIT,
    )
    .expect("HTTP polls while degraded");
    assert_eq!(http_post(mock.port(), "/__mock/refuse-ws?on=0", ""), 200);
    wait_state(&mut w, "connected");
    finish(&mut w);
}

#[test]
fn health_is_0_while_up_and_1_while_down_around_a_kill() {
    let mut mock = MockServer::start(&[]);
    let url = mock.url();
    comfyctl()
        .args(["health", "-q", "--url", &url])
        .assert()
        .code(0);
    mock.kill();
    comfyctl()
        .args(["health", "-q", "--url", &url])
        .assert()
        .code(1);
    mock.restart();
    comfyctl()
        .args(["health", "-q", "--url", &url])
        .assert()
        .code(0);
}

#[test]
fn reconnect_gives_up_loudly_when_the_server_stays_down() {
    let refused = RefusedPort::new();
    let port = refused.port();
    comfyctl()
        .args(["reconnect", "--max-attempts", "3", "--url"])
        .arg(format!("127.0.0.1:{port}"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("reconnection failed"))
        .stderr(predicate::str::contains("fallback=placeholder"));
    comfyctl()
        .args(["reconnect", "--deadline", "1s", "--url"])
        .arg(format!("127.0.0.1:{port}"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "reconnection failed: gave up after 1s",
        ));
}

#[test]
fn reconnect_succeeds_once_the_server_is_back() {
    let late = MockServer::start_late(Duration::from_millis(1000));
    let port = late.port();
    comfyctl()
        .args(["reconnect", "--deadline", "60s", "--url"])
        .arg(format!("127.0.0.1:{port}"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("reconnected:"));
}

#[test]
fn fallback_abort_makes_watch_exit_1_once_down() {
    let mut mock = MockServer::start(&[]);
    let mut w = watch(&mock.url(), &["--fallback", "abort"]);
    wait_state(&mut w, "connected");
    mock.kill();
    let status = w.wait_exit(WAIT).expect("watch exits when down with abort");
    assert_eq!(status.code(), Some(1));
    let lines = w.lines_so_far();
    assert!(
        lines.iter().any(|l| l.contains("\"fallback\":\"abort\"")),
        "warning before exit: {lines:?}"
    );
}

#[test]
fn until_and_count_stop_watch_for_scripts() {
    let late = MockServer::start_late(Duration::from_millis(1000));
    let port = late.port();
    comfyctl()
        .args(["watch", "--until", "connected", "--url"])
        .arg(format!("127.0.0.1:{port}"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("connected"));
    let out = comfyctl()
        .args([
            "watch",
            "--json",
            "--count",
            "2",
            "--interval",
            "100ms",
            "--url",
        ])
        .arg(format!("127.0.0.1:{port}"))
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8_lossy(&out);
    let polls = text
        .lines()
        .filter(|l| l.contains("\"source\":\"http\""))
        .count();
    assert_eq!(polls, 2, "{text}");
}

#[test]
fn live_view_shows_state_queue_and_the_fallback_warning() {
    let mut mock = MockServer::start(&["--queue", "2"]);
    let mut cmd = comfyctl_std();
    cmd.env("COMFYCTL_FORCE_TTY", "1")
        .env_remove("NO_COLOR")
        .args(["watch", "--interval", "300ms", "--url", &mock.url()]);
    let mut w = Proc::raw(cmd);
    // A coloured state line, and the status line with the queue.
    assert!(
        w.wait_for(
            &[
                "\x1b[32m\x1b[1mconnected",
                "2 remaining · 1 running · 1 pending"
            ],
            WAIT
        ),
        "{}",
        w.text()
    );
    mock.kill();
    assert!(
        w.wait_for(
            &["disconnected", "fallback=placeholder", "reconnect attempt"],
            WAIT
        ),
        "fallback warning with the attempt: {}",
        w.text()
    );
    w.signal(libc::SIGTERM);
    assert_eq!(w.wait_code(WAIT), Some(0));
    assert!(
        w.wait_for(&["summary: uptime", "1 outage"], WAIT),
        "{}",
        w.text()
    );
}

#[test]
fn plain_output_off_a_terminal_has_no_ansi() {
    let mut mock = MockServer::start(&[]);
    let mut cmd = comfyctl_std();
    cmd.env_remove("NO_COLOR")
        .args(["watch", "--interval", "300ms", "--url", &mock.url()]);
    let mut w = Proc::spawn(cmd);
    w.wait_line(|l| l.contains("connected"), WAIT)
        .expect("connected");
    mock.kill();
    w.wait_line(|l| l.contains("disconnected"), WAIT)
        .expect("disconnected");
    w.signal(libc::SIGINT);
    w.wait_exit(WAIT);
    let all = w.lines_so_far().join("\n");
    assert!(!all.contains('\x1b'), "{all}");
    assert!(all.contains("summary: uptime"), "{all}");
}

#[test]
fn the_same_client_id_is_reused_after_reconnecting() {
    let mut mock = MockServer::start(&[]);
    let mut w = watch(&mock.url(), &["--interval", "1s"]);
    wait_state(&mut w, "connected");
    let clients = |port: u16| -> Vec<String> {
        let (_, body) = crate::util::http_get(port, "/__mock/clients");
        let v: Value = serde_json::from_str(&body).unwrap();
        v["clients"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    };
    let before = clients(mock.port());
    assert_eq!(before.len(), 1, "{before:?}");
    mock.kill();
    mock.restart();
    wait_state(&mut w, "connected");
    assert_eq!(clients(mock.port()), before);
    finish(&mut w);
}
