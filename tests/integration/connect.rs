//! `comfyctl connect`: retries, backoff, and the WebSocket half.

use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::support::{MockServer, RefusedPort};
use crate::util::{comfyctl, json};

#[test]
fn connect_prints_version_and_queue() {
    let mock = MockServer::start(&["--queue", "1"]);
    comfyctl()
        .args(["connect", "--url", &mock.url()])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("connected:")
                .and(predicate::str::contains("ComfyUI 0.3.64"))
                .and(predicate::str::contains("1 remaining")),
        );
}

#[test]
fn refused_websocket_is_exit_3() {
    let mock = MockServer::start(&["--refuse-ws"]);
    let out = comfyctl()
        .args(["connect", "--json", "--retries", "0", "--url", &mock.url()])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("fallback=placeholder"))
        .get_output()
        .clone();
    let status = json(&out.stdout);
    assert_eq!(status["error"]["kind"], "ws_refused");
    assert_eq!(status["error"]["status"], 403);
    assert_eq!(status["attempts"], 1);
    // health only checks HTTP, so the same server is up for it.
    comfyctl()
        .args(["health", "-q", "--url", &mock.url()])
        .assert()
        .code(0);
}

#[test]
fn connect_succeeds_when_the_server_starts_late() {
    let late = MockServer::start_late(Duration::from_millis(1500));
    let port = late.port();
    let out = comfyctl()
        .args(["connect", "--json", "--retries", "5", "--url"])
        .arg(format!("127.0.0.1:{port}"))
        .assert()
        .code(0)
        .get_output()
        .clone();
    let status = json(&out.stdout);
    assert_eq!(status["available"], true);
    assert!(status["attempts"].as_u64().unwrap() > 1, "{status}");
}

#[test]
fn connect_gives_up_after_the_retries_with_backoff() {
    let refused = RefusedPort::new();
    let port = refused.port();
    let started = Instant::now();
    comfyctl()
        .args(["connect", "--retries", "2", "--backoff", "2", "--url"])
        .arg(format!("127.0.0.1:{port}"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains("after 3 attempts"))
        .stdout(predicate::str::contains("connection refused"));
    // Delays of 1 s and 2 s, each within ±20 % jitter: at least 2.4 s.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(2400), "took {took:?}");
}
