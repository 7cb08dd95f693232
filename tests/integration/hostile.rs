//! The hostile world: servers that answer with the wrong thing, too much,
//! too slowly or not at all, WebSockets that misbehave, redirects that try to
//! carry credentials away, and bad command lines.
//!
//! Each case checks the classified error kind and message, the documented
//! exit code, and that comfyctl finishes in bounded time and memory. Time
//! bounds are loose on purpose (a loaded 2-core machine must pass); speed
//! is measured by the benches, not here.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::http::StubServer;
use crate::support::{MockServer, Spawn};
use crate::util::{
    all_output, comfyctl, comfyctl_std, finish, json, proc_status_kib, states, wait_state, watch,
};

/// Generous upper bound for anything that should happen "soon".
const WAIT: Duration = Duration::from_secs(30);
/// Upper bound for one comfyctl run that is expected to end by itself.
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// Peak RSS a comfyctl process may reach whatever the server sends (a
/// debug build idles at about 15 MiB): the body cap is 1 MiB (16 MiB for
/// /queue), so a 300 MiB body must not show up here.
const RSS_LIMIT_KIB: u64 = 64 * 1024;
/// The same for a 40 MiB WebSocket frame: tighter, so that holding the
/// whole frame (40 MiB on top of the baseline) fails while buffering up to
/// the 16 MiB message cap would still pass.
const WS_RSS_LIMIT_KIB: u64 = 40 * 1024;

// ---------------------------------------------------------------------------
// Measuring one run: exit code, output, peak RSS, time (see `Spawn::peak_rss`)

/// What a finished comfyctl run left behind.
struct Measured {
    /// Exit code; `None` if it had to be killed at [`RUN_LIMIT`].
    code: Option<i32>,
    stdout: Vec<u8>,
    stderr: String,
    /// Peak resident set size of the comfyctl process, KiB.
    max_rss_kib: u64,
    took: Duration,
}

impl Measured {
    fn status(&self) -> Value {
        json(&self.stdout)
    }
}

/// Runs comfyctl with `args` to its end (killed at [`RUN_LIMIT`]) and
/// measures it.
fn run_measured(args: &[&str]) -> Measured {
    let mut cmd = comfyctl_std();
    cmd.args(args);
    let run = Spawn::new(cmd).raw().peak_rss().start().run(RUN_LIMIT);
    Measured {
        code: run.status.and_then(|s| s.code()),
        stdout: run.stdout,
        stderr: String::from_utf8_lossy(&run.stderr).into_owned(),
        max_rss_kib: run.peak_rss_kib.expect("peak RSS measured"),
        took: run.took,
    }
}

/// `health --json` against `url`; returns (exit code, Status).
fn health_json(url: &str, extra: &[&str]) -> (i32, Value) {
    let out = comfyctl()
        .args(["health", "--json", "--url", url])
        .args(extra)
        .output()
        .expect("run comfyctl");
    (out.status.code().expect("exit code"), json(&out.stdout))
}

/// `connect --json --retries 0` against `url`; returns (exit code, Status).
fn connect_json(url: &str, extra: &[&str]) -> (i32, Value) {
    let out = comfyctl()
        .args(["connect", "--json", "--retries", "0", "--url", url])
        .args(extra)
        .output()
        .expect("run comfyctl");
    (out.status.code().expect("exit code"), json(&out.stdout))
}

fn message(status: &Value) -> &str {
    status["error"]["message"].as_str().unwrap_or_default()
}

/// What a message says after its last "within ": for messages that end
/// with a duration, that duration (e.g. "1s" or "900ms").
fn after_within(msg: &str) -> &str {
    msg.rsplit("within ").next().unwrap_or_default()
}

// ---------------------------------------------------------------------------
// 1. Bodies that are not ComfyUI's JSON

#[test]
fn spoiled_bodies_are_not_comfyui_with_exit_1() {
    for (flag, needle) in [
        ("--garbage-json", "not valid JSON"),
        ("--wrong-shape", "unexpected JSON shape"),
        ("--empty-body", "not valid JSON"),
        ("--html", "HTML page"),
    ] {
        let mock = MockServer::start(&[flag]);
        let (code, status) = health_json(&mock.url(), &[]);
        assert_eq!(code, 1, "{flag}: {status}");
        assert_eq!(status["available"], false, "{flag}");
        assert_eq!(status["error"]["kind"], "not_comfyui", "{flag}: {status}");
        assert_eq!(status["fallback"], "placeholder", "{flag}");
        let msg = message(&status);
        assert!(
            msg.starts_with("not ComfyUI:") && msg.contains(needle),
            "{flag}: {msg}"
        );
        assert!(
            msg.contains("/system_stats"),
            "{flag} names the route: {msg}"
        );
        match flag {
            "--html" => assert_eq!(status["error"]["status"], 502, "{status}"),
            // JSON that broke in the middle is not "an HTML page or plain
            // text": that hint is for bodies that are not JSON at all.
            "--garbage-json" => assert!(!msg.contains("HTML page"), "{msg}"),
            "--wrong-shape" => assert!(msg.contains("missing field `system`"), "{msg}"),
            _ => assert!(msg.contains("EOF"), "{msg}"),
        }
        // connect agrees: HTTP answering with the wrong thing is exit 1
        // (exit 3 is reserved for a working HTTP with a bad WebSocket).
        let (code, status) = connect_json(&mock.url(), &[]);
        assert_eq!(code, 1, "connect {flag}: {status}");
        assert_eq!(status["error"]["kind"], "not_comfyui", "{flag}");
        assert_eq!(status["attempts"], 1);
    }
}

#[test]
fn plain_text_where_json_belongs_gets_the_proxy_hint() {
    let server = StubServer::start(
        "127.0.0.1",
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 21\r\nConnection: close\r\n\r\nWelcome to the portal"
            .into(),
    );
    let (code, status) = health_json(&server.url(), &[]);
    assert_eq!(code, 1, "{status}");
    assert_eq!(status["error"]["kind"], "not_comfyui");
    assert!(
        message(&status).contains("an HTML page or plain text"),
        "{status}"
    );
}

// ---------------------------------------------------------------------------
// 2. Bodies far over the cap

#[test]
fn a_300_mib_body_is_cut_off_quickly_in_small_memory() {
    let mock = MockServer::start(&["--huge-body", "300"]);
    let run = run_measured(&["health", "--json", "--timeout", "20s", "--url", &mock.url()]);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let status = run.status();
    assert_eq!(status["error"]["kind"], "not_comfyui", "{status}");
    assert!(message(&status).contains("larger than 1 MiB"), "{status}");
    assert!(run.took < WAIT, "took {:?}", run.took);
    eprintln!(
        "--huge-body 300: exit 1 after {:?}, peak RSS {} KiB",
        run.took, run.max_rss_kib
    );
    assert!(
        run.max_rss_kib < RSS_LIMIT_KIB,
        "peak RSS {} KiB reading a 300 MiB body",
        run.max_rss_kib
    );
}

#[test]
fn a_declared_length_over_the_cap_is_refused_without_reading() {
    // Claims 300 MiB and sends one byte, then holds the connection: only the
    // Content-Length check can end this before the timeout.
    let server = StubServer::start_holding(
        "127.0.0.1",
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 314572800\r\n\r\n{"
            .into(),
    );
    let run = run_measured(&[
        "health",
        "--json",
        "--timeout",
        "30s",
        "--url",
        &server.url(),
    ]);
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    let status = run.status();
    assert_eq!(status["error"]["kind"], "not_comfyui", "{status}");
    assert!(message(&status).contains("larger than 1 MiB"), "{status}");
    // Well under the 30 s timeout: it did not wait for the body.
    assert!(run.took < Duration::from_secs(20), "took {:?}", run.took);
}

// ---------------------------------------------------------------------------
// 3. Answers that never finish, or never start

#[test]
fn a_body_or_headers_that_never_arrive_time_out_in_bounded_time() {
    for flag in ["--slow-body", "--hang-headers"] {
        let mock = MockServer::start(&[flag]);
        let run = run_measured(&["health", "--json", "--timeout", "1s", "--url", &mock.url()]);
        assert_eq!(run.code, Some(1), "{flag}: stderr: {}", run.stderr);
        let status = run.status();
        assert_eq!(status["error"]["kind"], "timeout", "{flag}: {status}");
        let msg = message(&status);
        // Headers that never come: no answer; a body that never ends: the
        // answer started and its body stalled.
        let ok = if flag == "--slow-body" {
            msg.contains("answered GET /system_stats but the body stalled")
                && msg.contains("within 1s")
        } else {
            msg.starts_with("timed out: no answer from 127.0.0.1:")
                && msg.contains("within 1s")
                && msg.contains("(GET /system_stats)")
        };
        assert!(ok, "{flag}: {msg}");
        assert!(run.took < WAIT, "{flag}: --timeout 1s took {:?}", run.took);

        // connect: HTTP never answered, so 1 (not 3).
        let (code, status) = connect_json(&mock.url(), &["--timeout", "1s"]);
        assert_eq!(code, 1, "connect {flag}: {status}");
        assert_eq!(status["error"]["kind"], "timeout", "connect {flag}");
    }
}

#[test]
fn health_wait_against_a_hung_server_ends_at_its_deadline_with_exit_1() {
    let mock = MockServer::start(&["--hang-headers"]);
    let run = run_measured(&[
        "health",
        "--json",
        "--wait",
        "2s",
        "--interval",
        "200ms",
        "--timeout",
        "1s",
        "--url",
        &mock.url(),
    ]);
    // Never reachable within the deadline: 1, not 3.
    assert_eq!(run.code, Some(1), "stderr: {}", run.stderr);
    assert_eq!(run.status()["error"]["kind"], "timeout");
    assert!(run.took < WAIT, "--wait 2s took {:?}", run.took);
}

// ---------------------------------------------------------------------------
// 4. WebSockets that misbehave

#[test]
fn a_websocket_that_upgrades_and_says_nothing_is_ws_closed_exit_3() {
    let mock = MockServer::start(&["--ws-silent"]);
    let started = Instant::now();
    let (code, status) = connect_json(&mock.url(), &["--timeout", "1s"]);
    assert_eq!(code, 3, "{status}");
    assert_eq!(status["error"]["kind"], "ws_closed", "{status}");
    let msg = message(&status);
    assert!(msg.contains("sent no status message within"), "{msg}");
    // One readable duration ("1s", "900ms"), not "995ms 978us 918ns".
    let named = after_within(msg);
    assert!(
        !named.contains(' ')
            && humantime::parse_duration(named).is_ok_and(|d| d <= Duration::from_secs(1)),
        "{msg}"
    );
    assert!(started.elapsed() < WAIT);

    // watch: HTTP works, the socket is useless: degraded.
    let mut w = watch(&mock.url(), &["--interval", "500ms", "--timeout", "1s"]);
    let degraded = wait_state(&mut w, "degraded");
    let reason = degraded["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("no status message"), "{degraded}");
    finish(&mut w);
}

#[test]
fn invalid_frames_are_ws_closed_exit_3_and_degraded_in_watch() {
    let mock = MockServer::start(&["--ws-invalid"]);
    let (code, status) = connect_json(&mock.url(), &["--timeout", "5s"]);
    assert_eq!(code, 3, "{status}");
    assert_eq!(status["error"]["kind"], "ws_closed", "{status}");
    assert!(message(&status).contains("broke the protocol"), "{status}");

    let mut w = watch(&mock.url(), &["--interval", "500ms"]);
    let degraded = wait_state(&mut w, "degraded");
    assert!(
        degraded["reason"]
            .as_str()
            .is_some_and(|r| r.contains("broke the protocol")),
        "{degraded}"
    );
    finish(&mut w);
}

#[test]
fn binary_frames_and_unknown_types_are_ignored() {
    for flags in [&["--ws-binary"][..], &["--ws-unknown-type"][..]] {
        let mock = MockServer::start(flags);
        let (code, status) = connect_json(&mock.url(), &[]);
        assert_eq!(code, 0, "{flags:?}: {status}");
        assert_eq!(status["available"], true);
    }
    // In watch the frames arrive while the session is held: they must not
    // end it, nor be reported as anything.
    let mock = MockServer::start(&["--ws-binary", "--ws-unknown-type"]);
    let mut w = watch(&mock.url(), &["--interval", "300ms"]);
    wait_state(&mut w, "connected");
    for _ in 0..3 {
        w.wait_line(
            |l| l.contains("\"source\":\"http\"") && l.contains("\"available\":true"),
            WAIT,
        )
        .expect("HTTP polls go on");
    }
    let events = finish(&mut w);
    assert_eq!(states(&mut w), ["connecting", "connected"], "{events:?}");
    assert!(
        !events
            .iter()
            .any(|e| e["event"] == "progress" || e["event"] == "warning"),
        "{events:?}"
    );
}

#[test]
fn a_40_mib_text_frame_is_refused_at_the_cap_in_small_memory() {
    let mock = MockServer::start(&["--ws-huge", "40"]);
    // connect returns at the first `status`, before the huge frame: the
    // session works, so 0.
    let run = run_measured(&["connect", "--json", "--retries", "0", "--url", &mock.url()]);
    assert_eq!(run.code, Some(0), "stderr: {}", run.stderr);
    eprintln!(
        "connect against --ws-huge 40: peak RSS {} KiB",
        run.max_rss_kib
    );
    assert!(
        run.max_rss_kib < WS_RSS_LIMIT_KIB,
        "{} KiB",
        run.max_rss_kib
    );

    // watch holds the session and so reads the frame: it is refused at the
    // 16 MiB cap, the socket is dropped and that is reported. A long
    // --timeout keeps the (slow, debug-built) mock's own work out of it.
    let mut w = watch(&mock.url(), &["--interval", "2s", "--timeout", "10s"]);
    wait_state(&mut w, "connected");
    let down = wait_state(&mut w, "disconnected");
    let reason = down["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("size cap"), "{down}");
    let peak = proc_status_kib(w.pid(), "VmHWM").expect("VmHWM of watch");
    eprintln!("watch against --ws-huge 40: peak RSS {peak} KiB");
    assert!(peak < WS_RSS_LIMIT_KIB, "watch peaked at {peak} KiB");
    finish(&mut w);
}

#[test]
fn a_close_with_an_error_code_is_reported_with_the_code() {
    let mock = MockServer::start(&["--ws-close-code", "1011"]);
    let mut w = watch(&mock.url(), &["--interval", "1s"]);
    wait_state(&mut w, "connected");
    let down = wait_state(&mut w, "disconnected");
    assert_eq!(down["previous"], "connected");
    let reason = down["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("closed the WebSocket") && reason.contains("code 1011"),
        "{down}"
    );
    finish(&mut w);
}

#[test]
fn a_socket_that_never_answers_pings_is_degraded_while_http_works() {
    let mock = MockServer::start(&["--ws-no-pong"]);
    let mut w = watch(&mock.url(), &["--interval", "500ms", "--timeout", "500ms"]);
    wait_state(&mut w, "connected");
    let degraded = wait_state(&mut w, "degraded");
    assert_eq!(degraded["previous"], "connected");
    let reason = degraded["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("stopped answering pings") && reason.contains("HTTP works"),
        "{degraded}"
    );
    finish(&mut w);
}

// ---------------------------------------------------------------------------
// 5. Redirects to another host

#[test]
fn a_redirect_to_another_host_is_not_followed_and_leaks_nothing() {
    // 127.0.0.2 is loopback on Linux; elsewhere it may not be configured.
    let other = match StubServer::try_start(
        "127.0.0.2",
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into(),
        false,
    ) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("skipped: cannot bind 127.0.0.2 ({e})");
            return;
        }
    };
    let redirect = format!(
        "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.2:{}/system_stats\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        other.port()
    );
    let first = StubServer::start("127.0.0.1", redirect);
    let url = format!("http://user:pw@127.0.0.1:{}", first.port());
    let out = comfyctl()
        .args(["health", "--json", "--url", &url, "-H", "X-Token: secret"])
        .output()
        .expect("run comfyctl");
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let status = json(&out.stdout);
    assert_eq!(status["error"]["kind"], "http_status", "{status}");
    assert_eq!(status["error"]["status"], 302, "{status}");
    let msg = message(&status);
    assert!(
        msg.contains("HTTP 302") && msg.contains("redirects to another origin are not followed"),
        "{msg}"
    );
    assert!(!all_output(&out).contains("secret"), "header value shown");

    // The first server did get the credentials (so a leak would show) …
    let sent = first.heads().join("\n").to_ascii_lowercase();
    assert!(
        sent.contains("authorization: basic dxnlcjpwdw==") && sent.contains("x-token: secret"),
        "{sent}"
    );
    // … and the other host got nothing at all.
    other.flush(WAIT);
    let leaked: Vec<String> = other
        .heads()
        .into_iter()
        .filter(|h| !h.starts_with("GET /__sentinel"))
        .collect();
    assert!(
        leaked.is_empty(),
        "the other host was contacted: {leaked:?}"
    );
}

#[test]
fn a_connection_closed_without_an_answer_is_a_network_error() {
    let server = StubServer::start("127.0.0.1", String::new());
    let (code, status) = health_json(&server.url(), &["--timeout", "10s"]);
    assert_eq!(code, 1, "{status}");
    assert_eq!(status["error"]["kind"], "network", "{status}");
    assert!(
        message(&status).contains("closed the connection without answering"),
        "{status}"
    );
}

// ---------------------------------------------------------------------------
// 6. Bad command lines

#[test]
fn bad_input_exits_2_naming_the_flag() {
    let dir = std::env::temp_dir().join(format!("comfyctl-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let not_json = dir.join("not-json.json");
    std::fs::write(&not_json, "{\"1\": {\"class_type\": ").expect("write");
    let missing = dir.join("does-not-exist.json");
    let (not_json, missing) = (
        not_json.to_string_lossy().into_owned(),
        missing.to_string_lossy().into_owned(),
    );
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["health", "--url", "gopher://127.0.0.1:8188"],
            "--url",
            "unsupported scheme 'gopher'",
        ),
        (
            &["health", "--url", "http://127.0.0.1:0"],
            "--url",
            "port 0",
        ),
        (
            &["health", "--url", "http://127.0.0.1:70000"],
            "--url",
            "invalid port",
        ),
        (&["health", "--url", "http://:8188"], "--url", "no host"),
        (&["health", "--url", "http://"], "--url", "no host"),
        (
            &["health", "--url", "127.0.0.1:1", "--timeout", "5 parsecs"],
            "--timeout",
            "'5 parsecs' is not a valid duration",
        ),
        (
            &["watch", "--url", "127.0.0.1:1", "--interval", "5 parsecs"],
            "--interval",
            "'5 parsecs' is not a valid duration",
        ),
        (
            &["health", "--url", "127.0.0.1:1", "--wait", "5 parsecs"],
            "--wait",
            "'5 parsecs' is not a valid duration",
        ),
        (
            &[
                "health",
                "--url",
                "127.0.0.1:1",
                "--wait",
                "1s",
                "--interval",
                "5 parsecs",
            ],
            "--interval",
            "'5 parsecs' is not a valid duration",
        ),
        (
            &["connect", "--url", "127.0.0.1:1", "--backoff", "-1"],
            "--backoff",
            "between 1.0 and 10.0",
        ),
        (
            &["watch", "--url", "127.0.0.1:1", "--backoff=-1"],
            "--backoff",
            "between 1.0 and 10.0",
        ),
        (
            &["reconnect", "--url", "127.0.0.1:1", "--backoff=-0.5"],
            "--backoff",
            "between 1.0 and 10.0",
        ),
        (
            &["watch", "--url", "127.0.0.1:1", "--backoff", "fast"],
            "--backoff",
            "got 'fast'",
        ),
        (
            &["health", "--url", "127.0.0.1:1", "--workflow", &missing],
            "--workflow",
            "cannot read",
        ),
        (
            &["health", "--url", "127.0.0.1:1", "--workflow", &not_json],
            "--workflow",
            "is not JSON",
        ),
    ];
    for (args, flag, needle) in cases {
        let out = comfyctl().args(*args).output().expect("run comfyctl");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}: usage errors go to stderr");
        let line = stderr
            .lines()
            .find(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("{args:?}: no '{needle}' in: {stderr}"));
        assert!(
            line.contains(flag),
            "{args:?}: the line names {flag}: {line}"
        );
        // Each problem is listed once, even when two layers check it.
        let times = stderr.lines().filter(|l| l.contains(needle)).count();
        assert_eq!(times, 1, "{args:?}: listed {times} times: {stderr}");
    }

    // Every problem at once, each naming its flag.
    let out = comfyctl()
        .args([
            "health",
            "--url",
            "gopher://127.0.0.1:8188",
            "--timeout",
            "5 parsecs",
            "--wait",
            "5 parsecs",
            "--workflow",
            &missing,
        ])
        .output()
        .expect("run comfyctl");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    for flag in ["--url:", "--timeout:", "--wait:", "--workflow:"] {
        assert!(stderr.contains(flag), "{flag} missing: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// 7. IPv6 loopback

#[test]
fn ipv6_loopback_works_for_health_and_watch() {
    if let Err(e) = TcpListener::bind("[::1]:0") {
        eprintln!("skipped: no IPv6 loopback on this machine ({e})");
        return;
    }
    let mock = MockServer::start(&["--host", "::1"]);
    assert!(
        mock.ready()["addr"]
            .as_str()
            .is_some_and(|a| a.starts_with("[::1]:")),
        "{}",
        mock.ready_line()
    );
    let url = format!("http://[::1]:{}", mock.port());
    let (code, status) = health_json(&url, &[]);
    assert_eq!(code, 0, "{status}");
    assert_eq!(status["url"], url.as_str());
    assert_eq!(status["version"], "0.3.64");
    comfyctl()
        .args(["watch", "--until", "connected", "--url"])
        .arg(format!("[::1]:{}", mock.port()))
        .assert()
        .code(0);
    let (code, status) = connect_json(&url, &[]);
    assert_eq!(code, 0, "{status}");
}
