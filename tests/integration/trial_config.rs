//! Issue 9, the configuration, security and one-shot items: secrets in
//! errors, duration limits, Authorization precedence, target lists, JSON
//! shape, `--expect down`, TLS against plain HTTP, environment variables,
//! the default port, and the smaller one-shot fixes.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use predicates::prelude::*;
use serde_json::Value;

use crate::support::{MockServer, Proc, RefusedPort, Spawn, poll_until};
use crate::util::{RUN_LIMIT, all_output, comfyctl, comfyctl_std, json};

/// A scratch directory of its own for one test.
fn scratch(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let dir = std::env::temp_dir().join(format!(
        "comfyctl-trial-{name}-{}-{nanos}",
        std::process::id()
    ));
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// A refused address, held for the test's life.
fn refused() -> RefusedPort {
    RefusedPort::new()
}

// ---------------------------------------------------------------------------
// 4. Secrets

#[test]
fn header_errors_name_the_flag_and_header_but_never_the_value() {
    for (header, name) in [
        ("X-Api-Key=sk-abcdef123456", Some("X-Api-Key")),
        ("sk-abcdef123456", None),
        ("X-Api-Key sk-abcdef123456", None),
    ] {
        let out = comfyctl()
            .args(["health", "--url", "127.0.0.1:1", "-H", header])
            .output()
            .expect("run comfyctl");
        let text = all_output(&out);
        assert_eq!(out.status.code(), Some(2), "{header}: {text}");
        assert!(text.contains("--header"), "{header}: {text}");
        assert!(!text.contains("abcdef123456"), "{header} leaked: {text}");
        if let Some(name) = name {
            assert!(text.contains(name), "{header}: names the header: {text}");
        }
    }
}

#[test]
fn a_mistyped_scheme_is_rejected_and_the_password_never_shown() {
    for url in [
        "http//user:secret@127.0.0.1:1",
        "https//user:secret@127.0.0.1:1",
        "http:/user:secret@127.0.0.1:1",
    ] {
        let out = comfyctl()
            .args(["health", "--url", url])
            .output()
            .expect("run comfyctl");
        let text = all_output(&out);
        assert_eq!(out.status.code(), Some(2), "{url}: {text}");
        assert!(text.contains("--url"), "{url}: {text}");
        assert!(!text.contains("secret"), "{url} leaked: {text}");
    }
}

#[test]
fn a_failing_webhook_is_shown_as_scheme_host_and_port_only() {
    let mock = MockServer::start(&[]);
    let hook = RefusedPort::new();
    let hook_port = hook.port();
    let webhook =
        format!("http://127.0.0.1:{hook_port}/services/T0/B1/pathsecret?token=querysecret");
    let mut cmd = comfyctl_std();
    cmd.args([
        "watch",
        "--interval",
        "200ms",
        "--hook-timeout",
        "500ms",
        "--webhook",
        &webhook,
        "--url",
        &mock.url(),
    ]);
    let watch = Proc::spawn(cmd);
    // Three attempts with 1 s and 2 s pauses between them, then one line.
    let logged = poll_until(Duration::from_secs(30), || {
        watch.stderr().contains("gave up after 3 attempts")
    });
    let stderr = watch.stderr();
    assert!(logged, "no webhook failure logged: {stderr}");
    assert!(
        stderr.contains(&format!("--webhook http://127.0.0.1:{hook_port}:")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("pathsecret") && !stderr.contains("querysecret"),
        "{stderr}"
    );
    drop(watch);

    // A malformed one is exit 2 and not echoed either.
    let out = comfyctl()
        .args([
            "watch",
            "--url",
            "127.0.0.1:1",
            "--webhook",
            "ftp://h/pathsecret?token=querysecret",
        ])
        .output()
        .expect("run comfyctl");
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("--webhook"), "{text}");
    assert!(!text.contains("secret"), "{text}");
}

// ---------------------------------------------------------------------------
// 6. Every duration flag has an upper bound

#[test]
fn every_duration_flag_has_an_upper_bound_and_never_panics() {
    let huge = "500000000000y";
    for (args, flag) in [
        (&["health", "--wait", huge][..], "--wait"),
        (
            &["health", "--wait", "1s", "--interval", huge][..],
            "--interval",
        ),
        (&["health", "--timeout", huge][..], "--timeout"),
        (&["health", "--timeout", "2h"][..], "--timeout"),
        (&["watch", "--interval", huge][..], "--interval"),
        (&["watch", "--deadline", huge][..], "--deadline"),
        (&["watch", "--max-delay", huge][..], "--max-delay"),
        (&["watch", "--hook-timeout", huge][..], "--hook-timeout"),
        (&["reconnect", "--deadline", huge][..], "--deadline"),
        (&["connect", "--timeout", huge][..], "--timeout"),
    ] {
        let out = comfyctl()
            .args(args)
            .args(["--url", "127.0.0.1:1"])
            .output()
            .expect("run comfyctl");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        let line = stderr.lines().find(|l| l.contains(flag));
        assert!(
            line.is_some_and(|l| l.contains("must be")),
            "{args:?}: {stderr}"
        );
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
}

// ---------------------------------------------------------------------------
// 7. Authorization precedence

/// A TCP proxy in front of `upstream` that records every byte clients send
/// (request heads, the WebSocket upgrade), for checking what went out.
struct RecordingProxy {
    port: u16,
    sent: Arc<Mutex<Vec<u8>>>,
    stop: Arc<AtomicBool>,
}

impl RecordingProxy {
    fn start(upstream: u16) -> RecordingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().unwrap().port();
        let sent = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (log, stopped) = (sent.clone(), stop.clone());
        thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !stopped.load(Ordering::Relaxed) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((client, _)) => relay(client, upstream, log.clone()),
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        RecordingProxy { port, sent, stop }
    }

    /// Everything clients sent, as text (WebSocket frames come out garbled;
    /// only the heads matter).
    fn sent(&self) -> String {
        String::from_utf8_lossy(&self.sent.lock().unwrap()).into_owned()
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Copies both ways between `client` and the upstream port, recording what
/// the client sends (capped at 1 MiB). Each side ends on EOF or after 10 s
/// of silence.
fn relay(client: TcpStream, upstream: u16, log: Arc<Mutex<Vec<u8>>>) {
    let _ = client.set_nonblocking(false);
    let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
        return;
    };
    for s in [&client, &server] {
        let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    }
    let (Ok(mut client_r), Ok(mut server_w)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    let (mut server_r, mut client_w) = (server, client);
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = client_r.read(&mut buf) {
            if n == 0 {
                break;
            }
            {
                let mut log = log.lock().unwrap();
                if log.len() < (1 << 20) {
                    log.extend_from_slice(&buf[..n]);
                }
            }
            if server_w.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = server_w.shutdown(std::net::Shutdown::Write);
    });
    thread::spawn(move || {
        let _ = std::io::copy(&mut server_r, &mut client_w);
        let _ = client_w.shutdown(std::net::Shutdown::Write);
    });
}

/// The Authorization values of every request head in `sent`, and the
/// number of request lines.
fn authorizations(sent: &str) -> (Vec<String>, usize) {
    let requests = sent.lines().filter(|l| l.starts_with("GET ")).count();
    let auths = sent
        .lines()
        .filter_map(|l| {
            l.split_once(':')
                .filter(|(n, _)| n.eq_ignore_ascii_case("authorization"))
                .map(|(_, v)| v.trim().to_string())
        })
        .collect();
    (auths, requests)
}

#[test]
fn an_explicit_authorization_header_wins_over_url_credentials_everywhere() {
    let mock = MockServer::start(&[]);
    let proxy = RecordingProxy::start(mock.port());
    let url = format!("http://alice:pw@127.0.0.1:{}", proxy.port);
    comfyctl()
        .args(["connect", "--retries", "0", "--url", &url])
        .args(["-H", "Authorization: Bearer T0KEN"])
        .assert()
        .code(0);
    let sent = proxy.sent();
    let (auths, requests) = authorizations(&sent);
    // Three probe GETs and the WebSocket upgrade.
    assert!(requests >= 4, "{sent}");
    assert!(sent.contains("GET /ws?clientId="), "{sent}");
    assert_eq!(
        auths.len(),
        requests,
        "one Authorization per request: {sent}"
    );
    assert!(auths.iter().all(|a| a == "Bearer T0KEN"), "{auths:?}");

    // Without the header, the URL's credentials are basic auth on both.
    let proxy = RecordingProxy::start(mock.port());
    let url = format!("http://alice:pw@127.0.0.1:{}", proxy.port);
    comfyctl()
        .args(["connect", "--retries", "0", "--url", &url])
        .assert()
        .code(0);
    let sent = proxy.sent();
    let (auths, requests) = authorizations(&sent);
    assert!(requests >= 4, "{sent}");
    assert_eq!(auths.len(), requests, "{sent}");
    assert!(auths.iter().all(|a| a.starts_with("Basic ")), "{auths:?}");
}

// ---------------------------------------------------------------------------
// 8, 9, 15. Target lists and the JSON shape

#[test]
fn a_targets_file_without_urls_is_a_usage_error() {
    let dir = scratch("empty-targets");
    for (name, text) in [("empty", ""), ("comments", "# nothing\n\n   # here\n")] {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        comfyctl()
            .args(["health", "--targets"])
            .arg(&path)
            .assert()
            .code(2)
            .stderr(
                predicate::str::contains("no URLs in it")
                    .and(predicate::str::contains("--targets")),
            );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn duplicate_targets_are_dropped_after_normalising_not_only_adjacent_ones() {
    let held = [RefusedPort::new(), RefusedPort::new()];
    let (a, b) = (held[0].port(), held[1].port());
    let out = comfyctl()
        .args(["health", "--json", "--timeout", "1s"])
        .args(["--url", &format!("http://127.0.0.1:{a}")])
        .args(["--url", &format!("127.0.0.1:{b}")])
        .args(["--url", &format!("HTTP://127.0.0.1:{a}/")])
        .args(["--url", &format!("http://127.0.0.1:{b}")])
        .output()
        .expect("run comfyctl");
    let all = json(&out.stdout);
    let urls: Vec<&str> = all
        .as_array()
        .expect("an array")
        .iter()
        .map(|s| s["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        [
            format!("http://127.0.0.1:{a}"),
            format!("http://127.0.0.1:{b}")
        ]
    );
}

#[test]
fn json_is_an_array_whenever_the_command_line_names_a_list() {
    let hold = refused();
    let url = hold.addr();
    let dir = scratch("shape");
    let one_line = dir.join("one");
    std::fs::write(&one_line, format!("{url}\n")).unwrap();
    let shape = |v: &Value| if v.is_array() { "array" } else { "object" };
    let run = |args: &[String], env: Option<&str>| {
        let mut cmd = comfyctl();
        cmd.args(args).args(["--json", "--timeout", "1s"]);
        if let Some(e) = env {
            cmd.env("COMFYUI_URL", e);
        }
        json(&cmd.output().expect("run comfyctl").stdout)
    };
    let targets = one_line.to_str().unwrap();
    for command in [
        &["health"][..],
        &["connect", "--retries", "0"][..],
        &["reconnect", "--deadline", "300ms"][..],
    ] {
        let with = |extra: &[&str]| -> Vec<String> {
            command.iter().chain(extra).map(|s| s.to_string()).collect()
        };
        assert_eq!(
            shape(&run(&with(&["--url", &url]), None)),
            "object",
            "{command:?}"
        );
        assert_eq!(
            shape(&run(&with(&["--targets", targets]), None)),
            "array",
            "{command:?}"
        );
        let twice = run(&with(&["--url", &url, "--url", &url]), None);
        assert_eq!(shape(&twice), "array", "{command:?}");
        assert_eq!(
            twice.as_array().unwrap().len(),
            1,
            "{command:?}: deduplicated"
        );
        let other = refused();
        let env_list = format!("{url},{}", other.addr());
        assert_eq!(
            shape(&run(&with(&[]), Some(&env_list))),
            "array",
            "{command:?}"
        );
        assert_eq!(shape(&run(&with(&[]), Some(&url))), "object", "{command:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------
// 14. --expect down

#[test]
fn expect_down_that_is_met_reads_as_success() {
    let hold = refused();
    let url = hold.addr();
    let out = comfyctl()
        .args(["health", "--expect", "down", "--wait", "5s", "--url", &url])
        .output()
        .expect("run comfyctl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("gone"), "{stdout}");
    assert!(
        !stdout.contains("unavailable") && !stdout.contains('✗'),
        "{stdout}"
    );
    assert!(!stderr.contains("warning:"), "{stderr}");

    let out = comfyctl()
        .args(["health", "--json", "--expect", "down", "--url", &url])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let status = json(&out.stdout);
    assert!(status["fallback"].is_null(), "{status}");

    // Still up at the deadline: a clear reason, exit 3.
    let mock = MockServer::start(&[]);
    let out = comfyctl()
        .args([
            "health",
            "--expect",
            "down",
            "--wait",
            "300ms",
            "--interval",
            "100ms",
        ])
        .args(["--url", &mock.url()])
        .output()
        .expect("run comfyctl");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("still up and answering"), "{stdout}");
    assert!(
        !stdout.contains("still missing: still answering"),
        "{stdout}"
    );
}

// ---------------------------------------------------------------------------
// 16. reconnect --json

#[test]
fn reconnect_json_error_is_the_status_error_object() {
    let out = comfyctl()
        .args([
            "reconnect",
            "--json",
            "--deadline",
            "300ms",
            "--url",
            &refused().addr(),
        ])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let report = json(&out.stdout);
    assert_eq!(report["reconnected"], false, "{report}");
    assert_eq!(report["error"]["kind"], "connection_refused", "{report}");
    let message = report["error"]["message"].as_str().expect("message");
    assert!(message.contains("reconnection failed"), "{report}");
    assert_eq!(report["fallback"], "placeholder", "{report}");
}

// ---------------------------------------------------------------------------
// 18. https:// at a plain-HTTP server

#[test]
fn https_at_a_plain_http_server_is_tls_with_a_hint() {
    let mock = MockServer::start(&[]);
    let url = format!("https://127.0.0.1:{}", mock.port());
    let out = comfyctl()
        .args(["health", "--json", "--url", &url])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let status = json(&out.stdout);
    assert_eq!(status["error"]["kind"], "tls", "{status}");
    let message = status["error"]["message"].as_str().unwrap();
    assert!(message.contains("plain HTTP? try http://"), "{message}");
}

// ---------------------------------------------------------------------------
// 21. Negative numbers and environment variables

#[test]
fn negative_numbers_name_their_flag() {
    for (args, flag) in [
        (&["watch", "--count", "-1"][..], "--count"),
        (&["connect", "--retries", "-1"][..], "--retries"),
        (&["watch", "--fail-after", "-2"][..], "--fail-after"),
        (&["health", "--max-queue", "-1"][..], "--max-queue"),
        (&["reconnect", "--max-attempts", "-3"][..], "--max-attempts"),
        (&["health", "--max-failed", "-1"][..], "--max-failed"),
        (&["health", "--max-job-time", "-1"][..], "--max-job-time"),
        (&["health", "--timeout", "-1"][..], "--timeout"),
        (&["watch", "--interval", "-5"][..], "--interval"),
    ] {
        comfyctl()
            .args(args)
            .args(["--url", "127.0.0.1:1"])
            .assert()
            .code(2)
            .stderr(
                predicate::str::contains(flag)
                    .and(predicate::str::contains("unexpected argument").not()),
            );
    }
}

/// Every whole-number flag, with the command that takes it and its range
/// as the error words it.
const NUMERIC_FLAGS: [(&str, &str, &str); 7] = [
    ("watch", "--count", "of at least 1"),
    ("connect", "--retries", "between 0 and 10000"),
    ("watch", "--fail-after", "between 1 and 100"),
    ("watch", "--recover-after", "between 1 and 100"),
    ("reconnect", "--max-attempts", "between 1 and 1000000"),
    ("health", "--max-queue", "of at least 0"),
    ("health", "--max-failed", "between 0 and 9"),
];

#[test]
fn every_numeric_flag_words_a_bad_number_the_same_way() {
    for (command, flag, range) in NUMERIC_FLAGS {
        for bad in ["-1", "ten", "1.5", "99999999999999999999999"] {
            let out = comfyctl()
                .args([command, flag, bad, "--url", "127.0.0.1:1"])
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{flag} {bad}: {stderr}");
            let want = format!("{flag}: expected a whole number {range}, got '{bad}'");
            assert!(
                stderr.contains(&want),
                "{flag} {bad}: want {want:?} in {stderr}"
            );
            assert_eq!(stderr.lines().count(), 2, "one problem, one line: {stderr}");
        }
    }
    let out = comfyctl()
        .args(["watch", "--backoff", "-1", "--url", "127.0.0.1:1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--backoff: expected a number between 1.0 and 10.0, got '-1'"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn environment_variables_are_named_in_their_errors_and_empty_means_unset() {
    let hold = refused();
    let url = hold.addr();
    // An empty item (trailing comma) is ignored.
    let out = comfyctl()
        .env("COMFYUI_URL", format!("{url},"))
        .args(["health", "--json", "--timeout", "1s"])
        .assert()
        .code(1)
        .get_output()
        .clone();
    assert_eq!(json(&out.stdout)["url"], format!("http://{url}"));

    // Empty: as if unset, so the local candidates are probed.
    comfyctl()
        .env("COMFYUI_URL", "")
        .args(["health", "--timeout", "300ms"])
        .assert()
        .stderr(
            predicate::str::contains("no --url given").and(predicate::str::contains("empty").not()),
        );

    for (var, value, args, flag) in [
        ("COMFYUI_URL", "ftp://h:1", &["health"][..], "--url"),
        (
            "COMFYCTL_FALLBACK",
            "bogus",
            &["health", "--url", "127.0.0.1:1"][..],
            "--fallback",
        ),
    ] {
        let out = comfyctl()
            .env(var, value)
            .args(args)
            .output()
            .expect("run comfyctl");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{var}: {stderr}");
        assert!(stderr.contains(var), "{var}: {stderr}");
        assert!(
            !stderr.contains(flag),
            "{var}: names a flag never typed: {stderr}"
        );
    }
}

// ---------------------------------------------------------------------------
// 22. Default port

#[test]
fn a_bare_host_means_port_8188_and_a_typed_scheme_keeps_its_default() {
    for (given, shown) in [
        ("127.0.0.1", "http://127.0.0.1:8188"),
        ("localhost/comfy", "http://localhost:8188/comfy"),
        ("http://127.0.0.1", "http://127.0.0.1"),
        ("127.0.0.1:80", "http://127.0.0.1"),
    ] {
        let out = comfyctl()
            .args(["health", "--json", "--timeout", "300ms", "--url", given])
            .output()
            .expect("run comfyctl");
        assert_eq!(json(&out.stdout)["url"], shown, "{given}");
    }
}

// ---------------------------------------------------------------------------
// 23. The smaller items

#[test]
fn interval_without_wait_is_a_usage_error() {
    comfyctl()
        .args(["health", "--interval", "2s", "--url", "127.0.0.1:1"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--interval needs --wait"));
}

#[test]
fn the_workflow_report_lists_each_problem_once_and_problems_is_always_an_array() {
    let mock = MockServer::start(&[]);
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let dir = scratch("workflow");
    let mut wf: Value =
        serde_json::from_slice(&std::fs::read(data.join("workflow_bad_ckpt.json")).unwrap())
            .unwrap();
    wf["3"]["inputs"]["sampler_name"] = Value::from("no_such_sampler");
    let two = dir.join("two_problems.json");
    std::fs::write(&two, wf.to_string()).unwrap();

    let out = comfyctl()
        .args(["health", "--url", &mock.url(), "--workflow"])
        .arg(&two)
        .assert()
        .code(3)
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    for needle in ["sd_xl_base_1.0.safetensors", "no_such_sampler"] {
        let times = stdout.lines().filter(|l| l.contains(needle)).count();
        assert_eq!(times, 1, "'{needle}' shown {times} times:\n{stdout}");
    }

    let good = data.join("workflow_api.json");
    let out = comfyctl()
        .args(["health", "--url", &mock.url(), "--workflow"])
        .arg(&good)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("valid (1 model input checked)"), "{stdout}");
    assert!(!stdout.contains("input(s)"), "{stdout}");

    let out = comfyctl()
        .args([
            "health",
            "--json",
            "--url",
            &mock.url(),
            "--require-node",
            "KSampler",
            "--workflow",
        ])
        .arg(&good)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let status = json(&out.stdout);
    for check in status["checks"].as_array().expect("checks") {
        assert_eq!(check["problems"], Value::Array(vec![]), "{check}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reconnect_any_prints_no_error_for_servers_it_stopped_trying() {
    let mock = MockServer::start(&[]);
    let hold = refused();
    let down = hold.addr();
    let out = comfyctl()
        .args([
            "reconnect",
            "--any",
            "--deadline",
            "20s",
            "--url",
            &mock.url(),
            "--url",
            &down,
        ])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let text = all_output(&out);
    assert!(text.contains("reconnected:"), "{text}");
    assert!(
        !text.contains("error:") && !text.contains("warning:"),
        "{text}"
    );
}

#[test]
fn a_failed_write_to_stdout_has_its_own_exit_code() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        eprintln!("skipped: no /dev/full");
        return;
    };
    let refused = RefusedPort::new();
    let mut cmd = comfyctl_std();
    cmd.args(["health", "--url", &refused.addr()])
        .stdin(std::process::Stdio::null())
        .stdout(full)
        .stderr(std::process::Stdio::null());
    let status = Spawn::new(cmd).preset_stdio().start().run(RUN_LIMIT).status;
    assert_eq!(status.and_then(|s| s.code()), Some(4));
}

#[test]
fn wait_always_allows_one_complete_check() {
    let mock = MockServer::start(&[]);
    comfyctl()
        .args(["health", "--wait", "1ms", "--url", &mock.url()])
        .assert()
        .code(0);
}

#[test]
fn on_change_must_name_an_executable_at_start() {
    let not_executable = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml");
    for program in [
        "/nonexistent/hook".to_string(),
        not_executable.display().to_string(),
        "no-such-program-anywhere-in-path".to_string(),
    ] {
        comfyctl()
            .args(["watch", "--url", "127.0.0.1:1", "--on-change", &program])
            .timeout(Duration::from_secs(20))
            .assert()
            .code(2)
            .stderr(predicate::str::contains("--on-change"));
    }
}

#[test]
fn version_prints_the_commit_and_build_date() {
    let out = comfyctl()
        .arg("--version")
        .assert()
        .code(0)
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.trim();
    assert!(
        line.starts_with(&format!("comfyctl {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{line}"
    );
    let built = line
        .split_once(", built ")
        .map(|(_, d)| d.trim_end_matches(')'))
        .unwrap_or_else(|| panic!("no build date: {line}"));
    let is_date = built.len() == 10
        && built.chars().enumerate().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    assert!(is_date || built == "unknown", "{line}");
}

// ---------------------------------------------------------------------------
// Issue 22 item 6: a password with an unencoded '/' splits the URL

#[test]
fn a_password_that_splits_the_url_is_refused_fast_without_any_of_it() {
    // Were the URL split at the '/', comfyctl would look up the made-up
    // host `hun` (here `hun.invalid`, which no resolver answers for: kind
    // dns, exit 1); exit 2 means nothing was looked up.
    let url = "https://alice:hun.invalid/ter2@127.0.0.1:1/comfy";
    let dir = std::env::temp_dir().join(format!("comfyctl-split-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let targets = dir.join("targets");
    std::fs::write(&targets, format!("{url}\n")).unwrap();
    let runs: [(&[&str], Option<&str>); 4] = [
        (&["health", "--json", "--url", url], None),
        (&["watch", "--count", "1", "--url", url], None),
        (&["connect", "--retries", "0"], Some(url)),
        (&["health", "--targets", targets.to_str().unwrap()], None),
    ];
    for (args, env) in runs {
        let started = Instant::now();
        let mut run = comfyctl();
        run.args(args);
        if let Some(v) = env {
            run.env("COMFYUI_URL", v);
        }
        let out = run.output().unwrap();
        let text = all_output(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {text}");
        assert!(started.elapsed() < Duration::from_secs(5), "{args:?}");
        for piece in ["alice", "hun", "ter2", "127.0.0.1:1"] {
            assert!(!text.contains(piece), "{args:?}: '{piece}' shown: {text}");
        }
        assert!(text.contains("%2F"), "{args:?}: says how to fix it: {text}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------
// Issue 17 item 8: the systemd unit's one home for credentials

#[test]
fn the_systemd_unit_reads_credentials_from_a_private_targets_file() {
    let unit = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("deploy/systemd/comfyctl-watch.service"),
    )
    .unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    // systemd copies the 0600 root file to a directory only the service's
    // dynamic user can read; the unit reads that copy.
    assert!(
        unit.lines()
            .any(|l| l == "LoadCredential=targets:/etc/comfyctl/targets"),
        "{unit}"
    );
    assert!(
        exec.contains("--targets ${CREDENTIALS_DIRECTORY}/targets"),
        "{exec}"
    );
    assert!(unit.contains("install -D -m 0600 -o root -g root targets /etc/comfyctl/targets"));
    assert!(!unit.contains("0644 targets"), "{unit}");
    // A COMFYUI_URL left in /etc/comfyctl/env is not silently dropped.
    let hold = refused();
    let dir = std::env::temp_dir().join(format!("comfyctl-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("targets"), format!("{}\n", hold.addr())).unwrap();
    let out = comfyctl()
        .env("COMFYUI_URL", "http://u:secret-pw@127.0.0.1:1")
        .env("CREDENTIALS_DIRECTORY", &dir)
        .args(["watch", "--count", "1", "--interval", "50ms"])
        .arg("--targets")
        .arg(dir.join("targets"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("note: COMFYUI_URL is ignored because --targets is given"),
        "{stderr}"
    );
    assert!(!stderr.contains("secret-pw"), "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

// ---------------------------------------------------------------------------
// Issue 22 item 14: hints for IPv6 without brackets and typos in checks

#[test]
fn an_ipv6_url_without_brackets_suggests_them() {
    for (url, fixed) in [
        ("::1:39781", "write [::1]:39781"),
        ("http://::1:39781", "write http://[::1]:39781"),
    ] {
        let out = comfyctl().args(["health", "--url", url]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{url}: {stderr}");
        assert!(stderr.contains(fixed), "{url}: {stderr}");
    }
}

#[test]
fn require_node_and_require_model_typos_get_did_you_mean() {
    let mock = MockServer::start(&[]);
    let out = comfyctl()
        .args(["health", "--json", "--url", &mock.url()])
        .args([
            "--require-node",
            "KSamplr",
            "--require-node",
            "NoSuchNodeAtAll",
        ])
        .args([
            "--require-model",
            "checkpoints/v1-5-pruned-emaonly.safetensor",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", all_output(&out));
    let status = json(&out.stdout);
    let detail = |check: &str| {
        status["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["check"] == check))
            .and_then(|c| c["detail"].as_str())
            .unwrap_or_else(|| panic!("no {check}: {status}"))
            .to_string()
    };
    assert!(
        detail("node KSamplr").ends_with("; did you mean 'KSampler'?"),
        "{status}"
    );
    assert!(
        !detail("node NoSuchNodeAtAll").contains("did you mean"),
        "nothing close, nothing offered: {status}"
    );
    assert!(
        detail("model checkpoints/v1-5-pruned-emaonly.safetensor")
            .ends_with("; did you mean 'v1-5-pruned-emaonly.safetensors'?"),
        "{status}"
    );
}
