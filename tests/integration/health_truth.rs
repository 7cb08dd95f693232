//! `health` tells the truth: job checks are readiness checks, `--timeout`
//! bounds the whole check, failures are counted within a window on the
//! server's clock, not ready looks not ready, and the last failure says how
//! long it ran.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::support::http::StubServer;
use crate::support::{MockServer, poll_until};
use crate::util::{comfyctl, http_get, http_post};

const WAIT: Duration = Duration::from_secs(30);

/// Queues `count` test jobs that hold the executor `ms` and end `outcome`.
fn post_job(mock: &MockServer, outcome: &str, ms: u64, count: u32) {
    let path = format!("/__mock/job?outcome={outcome}&ms={ms}&count={count}");
    assert_eq!(http_post(mock.port(), &path, ""), 200, "{path}");
}

/// Runs `comfyctl --url URL health ARGS…`: (exit code, stdout, stderr).
fn health(url: &str, args: &[&str]) -> (Option<i32>, String, String) {
    let out = comfyctl()
        .args(["--url", url, "health"])
        .args(args)
        .output()
        .unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

/// The `checks` entry named `name` in a JSON report.
fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["check"] == name))
        .unwrap_or_else(|| panic!("no check '{name}' in {report}"))
}

/// Two failures, then a job that runs for 30 s: `--max-failed 1` and
/// `--max-job-time 200ms` both fail, in JSON and in text, on the Jobs API.
/// On `/history` (0.3.64) a one-shot check has no start time to judge the
/// running job by (the age rule measures from first sight), so that check
/// passes and says its age is unknown, while `--max-failed` still fails.
#[test]
fn job_checks_are_ordinary_readiness_checks_in_json_and_text() {
    for flags in [&[][..], &["--no-jobs-api"][..]] {
        let history = !flags.is_empty();
        let mock = MockServer::start(flags);
        post_job(&mock, "failed", 0, 2);
        post_job(&mock, "completed", 30_000, 1);
        assert!(
            poll_until(WAIT, || {
                let (_, queue) = http_get(mock.port(), "/queue");
                let (_, history) = http_get(mock.port(), "/history");
                let queue: Value = serde_json::from_str(&queue).unwrap_or_default();
                let running = queue["queue_running"].as_array().map_or(0, Vec::len);
                history.matches("execution_error").count() >= 2 && running == 1
            }),
            "{flags:?}: the failures never finished or the long job never ran"
        );
        let url = mock.url();
        let limits = ["--max-failed", "1", "--max-job-time", "200ms"];
        // The long job passes 200 ms soon after it starts: poll for that as
        // a readiness probe would.
        let mut report = Value::Null;
        let stalled = poll_until(WAIT, || {
            let (code, stdout, _) = health(&url, &[&["--json"][..], &limits].concat());
            assert_eq!(code, Some(3), "{flags:?}: {stdout}");
            report = serde_json::from_str(&stdout).unwrap();
            history || check(&report, "running job ≤ 200ms")["ok"] == false
        });
        assert!(stalled, "{flags:?}: {report}");
        assert_eq!(report["fully_ready"], false, "{report}");
        assert!(report["error"].is_null(), "{report}");
        let failed = check(&report, "failed jobs ≤ 1 in 10m");
        assert_eq!(failed["ok"], false, "{report}");
        let detail = failed["detail"].as_str().unwrap();
        assert!(detail.starts_with("2 of the newest"), "{detail}");
        assert!(detail.ends_with("more than 1"), "{detail}");
        let stalled = check(&report, "running job ≤ 200ms");
        let detail = stalled["detail"].as_str().unwrap();
        if history {
            assert_eq!(stalled["ok"], true, "{report}");
            assert!(detail.ends_with("its age is unknown"), "{report}");
        } else {
            assert_eq!(stalled["ok"], false, "{report}");
            assert!(detail.contains("over --max-job-time 200ms"), "{report}");
        }

        let (code, text, _) = health(&url, &limits);
        assert_eq!(code, Some(3), "{text}");
        assert!(text.starts_with("◐ not ready  "), "{text}");
        assert!(
            text.contains("  ✗ failed jobs ≤ 1 in 10m: 2 of the newest"),
            "{text}"
        );
        let mark = if history { "✓" } else { "✗" };
        assert!(
            text.contains(&format!("  {mark} running job ≤ 200ms: job ")),
            "{text}"
        );
        assert!(!text.contains("● available"), "{text}");
        assert!(!text.contains("not ready: jobs"), "{text}");

        // Within the limits: ✓ lines, fully ready, exit 0.
        let (code, stdout, _) = health(
            &url,
            &["--json", "--max-failed", "2", "--max-job-time", "1h"],
        );
        assert_eq!(code, Some(0), "{stdout}");
        let report: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(report["fully_ready"], true, "{report}");
        assert_eq!(check(&report, "failed jobs ≤ 2 in 10m")["ok"], true);
        assert_eq!(check(&report, "running job ≤ 1h")["ok"], true);
        let (code, text, _) = health(&url, &["--max-failed", "2"]);
        assert_eq!(code, Some(0), "{text}");
        assert!(text.starts_with("● available  "), "{text}");
        assert!(
            text.contains("  ✓ failed jobs ≤ 2 in 10m: 2 of the newest"),
            "{text}"
        );
    }
}

/// A stand-in server whose every route answers one body that each of
/// comfyctl's parsers reads as its own (`/system_stats`, `/prompt`,
/// `/queue`, `/api/jobs`), with the given `Date` header: the server's clock.
fn stand_in(date: &str, jobs: Value) -> StubServer {
    let body = json!({
        "system": {"comfyui_version": "0.33.0", "python_version": "3.11", "pytorch_version": "2"},
        "devices": [],
        "exec_info": {"queue_remaining": 0},
        "queue_running": [],
        "queue_pending": [],
        "jobs": jobs,
        "pagination": {"offset": 0, "limit": 10, "total": 1, "has_more": false},
    })
    .to_string();
    let response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nDate: {date}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    StubServer::start("127.0.0.1", response)
}

/// A failed job as the 0.33 Jobs API lists it, ended at `end` (epoch ms).
fn failed_job(end: u64, message: &str) -> Value {
    json!({
        "id": "593870ce-a627-4097-ba01-17e4e02d015e",
        "status": "failed",
        "priority": 3,
        "create_time": end - 30,
        "execution_start_time": end - 24,
        "execution_end_time": end,
        "execution_error": {
            "prompt_id": "593870ce-a627-4097-ba01-17e4e02d015e",
            "node_id": "2",
            "node_type": "SaveImage",
            "executed": [],
            "exception_message": message,
            "exception_type": "Exception",
            "traceback": [],
        },
    })
}

/// 2020-01-01T00:00:00Z, epoch ms: far from our clock, on purpose.
const SERVER_EPOCH: u64 = 1_577_836_800_000;

/// The window is judged on the server's clock (its `Date` against its job
/// times), never ours: a failure from 2020 is recent to a server whose
/// clock says 2020, and old to one whose clock says two hours later.
#[test]
fn max_failed_counts_failures_within_the_window_on_the_server_clock() {
    let jobs = json!([failed_job(SERVER_EPOCH + 60_000, "boom")]);
    // One minute after the failure, on the server's clock.
    let recent = stand_in("Wed, 01 Jan 2020 00:02:00 GMT", jobs.clone());
    let (code, stdout, _) = health(&recent.url(), &["--json", "--max-failed", "0"]);
    assert_eq!(code, Some(3), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let failed = check(&report, "failed jobs ≤ 0 in 10m");
    assert_eq!(
        failed["detail"],
        "1 of the newest 1 jobs failed in the last 10m, more than 0"
    );
    let (code, _, _) = health(
        &recent.url(),
        &["--max-failed", "0", "--failed-within", "30s"],
    );
    assert_eq!(code, Some(0), "a minute-old failure is outside 30s");

    // Two hours later: an idle server with an old failure is ready again.
    let idle = stand_in("Wed, 01 Jan 2020 02:00:00 GMT", jobs);
    let (code, stdout, _) = health(&idle.url(), &["--json", "--max-failed", "0"]);
    assert_eq!(code, Some(0), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        check(&report, "failed jobs ≤ 0 in 10m")["detail"],
        "0 of the newest 1 jobs failed in the last 10m"
    );
    let (code, _, _) = health(&idle.url(), &["--max-failed", "0", "--failed-within", "3h"]);
    assert_eq!(code, Some(3));

    // More than the page health reads could never fail: refused, exit 2.
    let (code, _, stderr) = health(&idle.url(), &["--max-failed", "11"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("--max-failed: expected a whole number between 0 and 9, got '11'"),
        "{stderr}"
    );
    for bad in [
        &["--max-failed", "1", "--failed-within", "0s"][..],
        &["--failed-within", "5m"],
    ] {
        let (code, _, stderr) = health(&idle.url(), bad);
        assert_eq!(code, Some(2), "{bad:?}: {stderr}");
        assert!(stderr.contains("--failed-within"), "{stderr}");
    }
}

/// The README's example line: "last failure: 593870ce failed after 24ms in
/// node 2 (SaveImage): Exception: …", with the first line of the message
/// only and the server's control characters made harmless.
#[test]
fn the_last_failure_says_how_long_it_ran_first_line_and_terminal_safe() {
    let message =
        "**** ERROR: \u{1b}[31mred\u{1b}[0m outside the output folder.\n full_output_folder: /x\n";
    let server = stand_in(
        "Wed, 01 Jan 2020 00:02:00 GMT",
        json!([failed_job(SERVER_EPOCH + 60_000, message)]),
    );
    let (code, text, _) = health(&server.url(), &[]);
    assert_eq!(code, Some(0), "{text}");
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("jobs"))
        .unwrap_or_else(|| panic!("no jobs line: {text}"));
    assert!(
        line.contains(
            "last failure: 593870ce failed after 24ms in node 2 (SaveImage): Exception: **** ERROR: "
        ),
        "{line}"
    );
    assert!(!text.contains('\u{1b}'), "{text:?}");
    assert!(line.contains("\\u{1b}[31mred"), "{line}");
    assert!(!text.contains("full_output_folder"), "{text}");
    let (_, stdout, _) = health(&server.url(), &["--json"]);
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        report["jobs"]["last_failure"]["start_ms"],
        SERVER_EPOCH + 60_000 - 24
    );
}

/// A TCP proxy in front of a loopback port that holds each chunk a client
/// sends for `delay` before passing it on: a server that answers slowly.
/// Stopped on drop; its threads end with their connections.
struct SlowProxy {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SlowProxy {
    fn start(upstream: u16, delay: Duration) -> SlowProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = thread::spawn(move || {
            let until = Instant::now() + Duration::from_secs(120);
            while !stopped.load(Ordering::SeqCst) && Instant::now() < until {
                match listener.accept() {
                    Ok((client, _)) => {
                        let stopped = stopped.clone();
                        thread::spawn(move || relay(client, upstream, delay, &stopped));
                    }
                    Err(_) => thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        SlowProxy {
            port,
            stop,
            thread: Some(thread),
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for SlowProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One connection: answers flow back at once, requests wait `delay`.
fn relay(mut client: TcpStream, upstream: u16, delay: Duration, stop: &AtomicBool) {
    let _ = client.set_nonblocking(false);
    let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    if let (Ok(mut back), Ok(mut to)) = (server.try_clone(), client.try_clone()) {
        thread::spawn(move || {
            let _ = std::io::copy(&mut back, &mut to);
            let _ = to.shutdown(std::net::Shutdown::Both);
        });
    }
    let _ = client.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = [0u8; 16 * 1024];
    let until = Instant::now() + Duration::from_secs(60);
    while !stop.load(Ordering::SeqCst) && Instant::now() < until {
        match client.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                thread::sleep(delay);
                if server.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => break,
        }
    }
    let _ = server.shutdown(std::net::Shutdown::Write);
}

/// Every request takes 1.5 s, the Jobs API is missing (a 404, then
/// `/history`: a chain of two) and checks fetch `/object_info` and a model
/// folder: `--timeout 2s` still ends the whole check within about 2 s, and
/// `--wait 3s` within its deadline, where it used to take 7.5 s.
#[test]
fn timeout_bounds_the_whole_check_against_a_slow_server() {
    let mock = MockServer::start(&["--no-jobs-api"]);
    let proxy = SlowProxy::start(mock.port(), Duration::from_millis(1500));
    let checks = [
        "--require-node",
        "KSampler",
        "--require-model",
        "checkpoints/v1-5-pruned-emaonly.safetensors",
    ];
    let started = Instant::now();
    let (code, stdout, _) = health(
        &proxy.url(),
        &[&["--json", "--timeout", "2s"][..], &checks].concat(),
    );
    let took = started.elapsed();
    eprintln!("health --timeout 2s, answers after 1.5 s: {took:?}");
    assert!(
        took < Duration::from_millis(3500),
        "--timeout 2s took {took:?}"
    );
    assert_eq!(code, Some(0), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["available"], true, "{report}");
    assert_eq!(report["fully_ready"], true, "{report}");

    // A job check whose job list did not come in time fails, saying why.
    let started = Instant::now();
    let (code, stdout, _) = health(
        &proxy.url(),
        &["--json", "--timeout", "2s", "--max-failed", "0"],
    );
    let took = started.elapsed();
    assert!(took < Duration::from_millis(3500), "took {took:?}");
    assert_eq!(code, Some(3), "{stdout}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let detail = check(&report, "failed jobs ≤ 0 in 10m")["detail"]
        .as_str()
        .unwrap();
    assert!(
        detail.contains("cannot read the job list: timed out"),
        "{detail}"
    );

    // --wait: the first poll is bounded by --timeout, the rest by the deadline.
    let started = Instant::now();
    let (code, stdout, _) = health(
        &proxy.url(),
        &[
            "--timeout",
            "2s",
            "--wait",
            "3s",
            "--require-node",
            "NoSuchNode",
        ],
    );
    let took = started.elapsed();
    eprintln!("health --timeout 2s --wait 3s: {took:?}");
    assert_eq!(code, Some(3), "{stdout}");
    assert!(
        took < Duration::from_millis(4500),
        "--wait 3s took {took:?}"
    );
}

/// A fleet row that is up but not ready gets the not-ready mark, not the
/// green ● of a ready one; `--color always` shows it in yellow.
#[test]
fn fleet_rows_mark_not_ready_apart_from_ready() {
    let ready = MockServer::start(&[]);
    let busy = MockServer::start(&["--queue", "3"]);
    let urls = format!("{},{}", ready.url(), busy.url());
    let (code, text, _) = health(&urls, &["--max-queue", "1"]);
    assert_eq!(code, Some(3), "{text}");
    let row = |url: &str| {
        text.lines()
            .find(|l| l.contains(&format!("{url} ")))
            .unwrap_or_else(|| panic!("no row for {url}: {text}"))
            .to_string()
    };
    assert!(row(&ready.url()).starts_with("● "), "{text}");
    let busy_row = row(&busy.url());
    assert!(busy_row.starts_with("◐ "), "{text}");
    assert!(
        busy_row.contains("not ready: queue ≤ 1: 3 remaining"),
        "{text}"
    );
    let (_, colored, _) = health(&busy.url(), &["--max-queue", "1", "--color", "always"]);
    assert!(
        colored.contains("\u{1b}[33m") && colored.contains('◐'),
        "{colored:?}"
    );
}
