//! Load on what we watch: only a refused connection is retried fast; a peer
//! that answers (even with a 502 page) is polled about once per interval.
//! And discovery without `--url` keeps looking until a server answers.
//!
//! The load assertions are counts (requests the mock served) against an
//! upper bound derived from `--interval` and the run's measured length; the
//! machine being slow can only lower the count.

use std::time::{Duration, Instant};

use crate::support::{MockServer, Proc, RefusedPort, poll_until};
use crate::util::{WATCH_WAIT, comfyctl, comfyctl_std, http_get, metrics_port, parse_line, watch};

/// Requests the mock served so far, control endpoints excepted.
fn served(mock: &MockServer) -> u64 {
    let (code, body) = http_get(mock.port(), "/__mock/requests");
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    v["requests"].as_u64().expect("requests count")
}

/// Most HTTP requests one attempt or poll makes (`/system_stats`, `/prompt`,
/// `/queue`; a 502 stops before the WebSocket).
const PER_ATTEMPT: u64 = 3;

/// Most attempts in `elapsed` when, after a ramp of `ramp` shorter waits,
/// attempts are at least 0.8 × `interval` apart (the jitter), plus the first.
fn max_attempts(elapsed: Duration, interval: Duration, ramp: u64) -> u64 {
    1 + ramp + (elapsed.as_secs_f64() / (0.8 * interval.as_secs_f64())).ceil() as u64
}

#[test]
fn watch_paces_attempts_at_the_interval_while_a_proxy_answers_502() {
    let mock = MockServer::start(&["--html"]);
    let interval = Duration::from_secs(1);
    let started = Instant::now();
    let mut w = watch(
        &mock.url(),
        &["--interval", "1s", "--timeout", "1s", "--deadline", "3s"],
    );
    let status = w
        .wait_exit(WATCH_WAIT)
        .expect("watch gives up at --deadline");
    let elapsed = started.elapsed();
    assert_eq!(status.code(), Some(1), "stderr: {}", w.stderr());
    let requests = served(&mock);
    let bound = PER_ATTEMPT * max_attempts(elapsed, interval, 3);
    assert!(
        requests <= bound,
        "{requests} requests in {elapsed:?} at --interval 1s (at most {bound})"
    );
    // The schedule itself: after a short ramp, one attempt per interval.
    w.wait_line(|l| l.contains("\"event\":\"summary\""), WATCH_WAIT);
    let delays = reconnect_delays(&mut w);
    assert!(delays.len() >= 3, "reconnect events: {delays:?}");
    // One quick retry (a stale connection fails that way once), then a
    // quarter interval, half, and the interval from then on.
    assert!(
        delays.iter().skip(3).all(|&d| d >= 790),
        "later delays reach the interval: {delays:?}"
    );
    assert!(
        delays.iter().skip(1).all(|&d| d >= 190),
        "no fast retries at a peer that answers: {delays:?}"
    );
}

#[test]
fn health_wait_polls_a_502_proxy_once_per_interval() {
    let mock = MockServer::start(&["--html"]);
    let interval = Duration::from_millis(500);
    let started = Instant::now();
    comfyctl()
        .args(["health", "--url", &mock.url(), "--wait", "2s"])
        .args(["--interval", "500ms", "--timeout", "1s"])
        .assert()
        .code(1);
    let elapsed = started.elapsed();
    let requests = served(&mock);
    // Polls are paced from the end of one to the start of the next, so at
    // most one per interval (no jitter here).
    let polls = 1 + (elapsed.as_secs_f64() / interval.as_secs_f64()).floor() as u64;
    assert!(
        requests <= PER_ATTEMPT * polls,
        "{requests} requests in {elapsed:?} at --interval 500ms (at most {})",
        PER_ATTEMPT * polls
    );
    assert!(requests >= PER_ATTEMPT, "it did poll: {requests}");
}

#[test]
fn a_refused_port_is_still_retried_fast() {
    let refused = RefusedPort::new();
    let port = refused.port();
    let mut w = watch(
        &format!("http://127.0.0.1:{port}"),
        &["--interval", "5s", "--timeout", "1s"],
    );
    let line = w
        .wait_line(
            // Lines are paced (one per interval): any line past attempt 3.
            |l| {
                l.contains("\"event\":\"reconnect\"")
                    && parse_line(l)["attempt"].as_u64() >= Some(3)
            },
            WATCH_WAIT,
        )
        .unwrap_or_else(|| panic!("no third attempt; stderr: {}", w.stderr()));
    let delays = reconnect_delays(&mut w);
    assert!(
        delays.iter().all(|&d| d <= 250),
        "refused: fast retries, under --max-delay: {delays:?} ({line})"
    );
}

/// The `next_delay_ms` of every `reconnect` line so far.
fn reconnect_delays(w: &mut Proc) -> Vec<u64> {
    w.lines_so_far()
        .iter()
        .map(|l| parse_line(l))
        .filter(|v| v["event"] == "reconnect")
        .filter_map(|v| v["next_delay_ms"].as_u64())
        .collect()
}

/// `comfyctl ARGS…` probing only these loopback ports when no URL is given.
fn discovering(ports: &[u16], args: &[&str]) -> Proc {
    let list: Vec<String> = ports.iter().map(u16::to_string).collect();
    let mut cmd = comfyctl_std();
    cmd.env("COMFYCTL_DISCOVER_PORTS", list.join(","))
        .args(args);
    Proc::spawn(cmd)
}

/// `comfyctl ARGS…` with no URL, started while both discovery ports refuse;
/// once it said it found nothing, the mock starts on the second port. The
/// first port stays held (and refusing) for the caller.
pub(crate) fn found_late(args: &[&str]) -> (Proc, MockServer, RefusedPort) {
    let (first, second) = (RefusedPort::new(), RefusedPort::new());
    let p = discovering(&[first.port(), second.port()], args);
    assert!(
        poll_until(WATCH_WAIT, || p.stderr().contains("no ComfyUI answered")),
        "no discovery note; stderr: {}",
        p.stderr()
    );
    let mock = MockServer::start_on(second.port(), &[]);
    (p, mock, first)
}

#[test]
fn health_wait_finds_a_server_that_starts_after_it() {
    let (mut p, mock, _first) =
        found_late(&["health", "--json", "--wait", "30s", "--interval", "200ms"]);
    let status = p.wait_exit(WATCH_WAIT).expect("health --wait exits");
    assert_eq!(status.code(), Some(0), "stderr: {}", p.stderr());
    let line = p
        .wait_line(|l| l.contains("\"available\""), WATCH_WAIT)
        .expect("JSON status");
    let v = parse_line(&line);
    assert_eq!(v["available"], true, "{line}");
    assert_eq!(v["url"], mock.url(), "{line}");
}

/// Found late at the second address, the watch forgets the first one: a
/// `moved` line says so, `/metrics` keeps no series for the address that
/// never answered (an alert on it would fire for ever), and `--count`
/// judges the server that was found.
#[test]
fn a_server_found_late_replaces_the_address_probed_first() {
    let (mut p, mock, first) = found_late(&[
        "watch",
        "--json",
        "--count",
        "40",
        "--interval",
        "100ms",
        "--metrics",
        "127.0.0.1:0",
    ]);
    let a = first.port();
    let moved = p
        .wait_line(|l| l.contains("\"event\":\"moved\""), WATCH_WAIT)
        .unwrap_or_else(|| panic!("no moved line; stderr: {}", p.stderr()));
    let moved = parse_line(&moved);
    assert_eq!(moved["url"], mock.url(), "{moved}");
    assert_eq!(moved["from"], format!("http://127.0.0.1:{a}"), "{moved}");
    p.wait_line(
        |l| l.contains("\"state\":\"connected\"") && l.contains(&mock.url()),
        WATCH_WAIT,
    )
    .expect("connected at the address found");
    let metrics_port = metrics_port(&p);
    let mut text = String::new();
    assert!(
        poll_until(WATCH_WAIT, || {
            text = http_get(metrics_port, "/metrics").1;
            text.contains(&format!("comfyui_up{{target=\"{}\"}} 1", mock.url()))
        }),
        "{text}"
    );
    assert!(!text.contains(&format!("127.0.0.1:{a}")), "{text}");
    let status = p.wait_exit(WATCH_WAIT).expect("watch --count exits");
    assert_eq!(status.code(), Some(0), "stderr: {}", p.stderr());
}

#[test]
fn watch_finds_a_server_that_starts_after_it() {
    let (mut p, mock, _first) = found_late(&[
        "watch",
        "--json",
        "--until",
        "connected",
        "--interval",
        "1s",
    ]);
    let status = p
        .wait_exit(WATCH_WAIT)
        .expect("watch --until connected exits");
    assert_eq!(status.code(), Some(0), "stderr: {}", p.stderr());
    let line = p
        .wait_line(
            |l| l.contains("\"event\":\"state\"") && l.contains("\"state\":\"connected\""),
            WATCH_WAIT,
        )
        .expect("a connected state");
    let v = parse_line(&line);
    assert_eq!(v["url"], mock.url(), "{line}");
    assert!(
        v["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("no --url given"),
        "{line}"
    );
}

#[test]
fn a_bad_discover_ports_variable_names_itself() {
    let out = comfyctl()
        .env("COMFYCTL_DISCOVER_PORTS", "8188,nope")
        .args(["health"])
        .assert()
        .code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(err.contains("COMFYCTL_DISCOVER_PORTS"), "{err}");
}
