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

/// The library's one-shot connect runs the monitor's session code: the same
/// event vocabulary as a watch (`state`, `status`, `reconnecting`, `queue`)
/// on the same `Envelope` channel, and a polite close once it worked.
#[test]
fn connect_all_reports_in_the_watch_vocabulary() {
    use comfyctl::manager::{
        ClientSettings, ConnectPolicy, ErrorKind, Event, Rule, State, Target, Verdict,
    };
    let mock = MockServer::start(&["--queue", "2"]);
    let refused = RefusedPort::new();
    let targets = vec![
        Target::parse(&mock.url()).unwrap(),
        Target::parse(&refused.addr()).unwrap(),
    ];
    let policy = ConnectPolicy {
        retries: 1,
        backoff: 1.0,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (results, events) = rt.block_on(async {
        let (tx, mut rx) = tokio::sync::mpsc::channel(64);
        let collect = async {
            let mut seen = Vec::new();
            while let Some(envelope) = rx.recv().await {
                seen.push(envelope);
            }
            seen
        };
        let client = ClientSettings::default();
        tokio::join!(
            comfyctl::manager::connect_all(targets, &client, policy, Rule::All, tx),
            collect
        )
    });
    // One of two refused: the fleet is unavailable under the All rule.
    assert_eq!(results.fleet, Verdict::Unavailable);
    let results = results.servers;
    // Results in target order: the mock at once, the refused port after
    // its retry.
    assert!(results[0].status.available, "{:?}", results[0].status);
    assert_eq!(results[0].status.queue_remaining, Some(2));
    assert_eq!(results[0].attempts, 1);
    assert!(!results[1].status.available);
    assert_eq!(results[1].attempts, 2);
    let error = results[1].status.error.as_ref().unwrap();
    assert_eq!(error.kind, ErrorKind::ConnectionRefused);

    let states = |url: &str| -> Vec<State> {
        events
            .iter()
            .filter(|e| *e.url == *url)
            .filter_map(|e| match e.event {
                Event::State { state, .. } => Some(state),
                _ => None,
            })
            .collect()
    };
    let good = results[0].status.url.clone();
    let bad = results[1].status.url.clone();
    assert_eq!(states(&good), [State::Connecting, State::Connected]);
    assert_eq!(states(&bad), [State::Connecting, State::Failed]);
    assert!(
        events
            .iter()
            .any(|e| *e.url == *good && e.event == Event::Queue { queue_remaining: 2 })
    );
    let retries: Vec<u32> = events
        .iter()
        .filter(|e| *e.url == *bad)
        .filter_map(|e| match &e.event {
            Event::Reconnecting { attempt, error, .. } => {
                assert_eq!(error.as_ref().unwrap().kind, ErrorKind::ConnectionRefused);
                Some(*attempt)
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        retries,
        [1],
        "one retry announced, none after the last attempt"
    );
    // The session was closed with a close frame, not dropped.
    assert!(
        crate::support::poll_until(Duration::from_secs(10), || mock
            .stderr()
            .contains("ended: peer closed")),
        "{}",
        mock.stderr()
    );
}

/// Serves the mock's HTTP but breaks every WebSocket upgrade: answers it
/// with bytes that are not HTTP, or (`reset`) with a TCP reset, as a proxy
/// that mangles WebSockets does. Each connection is a thread of its own;
/// the listener stops on drop.
struct GarbageUpgrade {
    port: u16,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl GarbageUpgrade {
    fn start(upstream: u16, reset: bool) -> GarbageUpgrade {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(60);
            while !stopped.load(Ordering::SeqCst) && Instant::now() < until {
                match listener.accept() {
                    Ok((conn, _)) => {
                        std::thread::spawn(move || answer(conn, upstream, reset));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        GarbageUpgrade { port, stop }
    }
}

impl Drop for GarbageUpgrade {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// One request: `/ws` gets garbage or a reset, anything else the mock's
/// answer.
fn answer(mut conn: std::net::TcpStream, upstream: u16, reset: bool) {
    use std::io::{Read, Write};
    let _ = conn.set_nonblocking(false);
    let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 64 * 1024 {
        match conn.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    if path.starts_with("/ws") && reset {
        // SO_LINGER 0: closing sends RST, not FIN.
        let linger = libc::linger {
            l_onoff: 1,
            l_linger: 0,
        };
        use std::os::fd::AsRawFd;
        // SAFETY: a valid socket and a correctly sized option value.
        unsafe {
            libc::setsockopt(
                conn.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_LINGER,
                (&linger as *const libc::linger).cast(),
                std::mem::size_of::<libc::linger>() as libc::socklen_t,
            );
        }
        return;
    }
    if path.starts_with("/ws") {
        let _ = conn.write_all(b"\x00\xffSSH-2.0-not-http\r\n\r\n");
        return;
    }
    let (code, body) = crate::util::http_get(upstream, &path);
    let _ = write!(
        conn,
        "HTTP/1.1 {code} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// HTTP answers, the WebSocket breaks the protocol (its upgrade answered
/// with garbage, or frames that are not frames): the server is reachable
/// but its live channel does not work, exit 3, as `watch` calls it
/// `degraded`. Only an HTTP failure is exit 1.
#[test]
fn a_websocket_that_breaks_the_protocol_is_exit_3() {
    let mock = MockServer::start(&[]);
    for reset in [false, true] {
        let garbage = GarbageUpgrade::start(mock.port(), reset);
        let url = format!("http://127.0.0.1:{}", garbage.port);
        let out = comfyctl()
            .args(["connect", "--json", "--retries", "0", "--url", &url])
            .output()
            .unwrap();
        let status = json(&out.stdout);
        assert_eq!(out.status.code(), Some(3), "reset {reset}: {status}");
        assert_eq!(status["available"], false, "{status}");
        assert_eq!(status["version"], "0.3.64", "HTTP answered: {status}");
    }
    let invalid = MockServer::start(&["--ws-invalid"]);
    comfyctl()
        .args(["connect", "--retries", "0", "--url", &invalid.url()])
        .assert()
        .code(3);
    let refused = RefusedPort::new();
    comfyctl()
        .args(["connect", "--retries", "0", "--url", &refused.url()])
        .assert()
        .code(1);
}
