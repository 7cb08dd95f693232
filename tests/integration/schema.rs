//! Real output against the committed JSON Schemas in `schema/`: every
//! document `health`, `connect` and `reconnect --json` print, every line of
//! `watch --json` through a kill and a restart with jobs done and failed,
//! a `moved` line, and every `--webhook` body. A failure names the path in
//! the document and in the schema.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::support::http::{OK_EMPTY, StubServer};
use crate::support::port::RefusedPort;
use crate::support::{MockServer, poll_until};
use crate::util::{WATCH_WAIT, comfyctl, finish, http_post, parse_line, wait_state};

/// `schema/NAME.json`, compiled.
fn validator(name: &str) -> jsonschema::Validator {
    let path = format!("{}/schema/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    jsonschema::draft202012::new(&schema).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Panics with every error's document and schema path unless `doc` is valid.
fn assert_valid(name: &str, doc: &Value) {
    let errors: Vec<String> = validator(name)
        .iter_errors(doc)
        .map(|e| {
            format!(
                "at {} (schema {}): {e}",
                e.instance_path().as_str(),
                e.schema_path().as_str()
            )
        })
        .collect();
    assert!(errors.is_empty(), "{name}.json: {errors:#?}\n{doc}");
}

/// Runs `comfyctl ARGS…`; returns its exit code and stdout parsed as one
/// JSON document.
fn run_json(args: &[&str]) -> (Option<i32>, Value) {
    let out = comfyctl().args(args).output().expect("comfyctl runs");
    let text = String::from_utf8_lossy(&out.stdout);
    let doc = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON document ({e}): {text}"));
    (out.status.code(), doc)
}

/// Queues one mock job that holds the executor `ms` and ends `outcome`.
fn post_job(mock: &MockServer, outcome: &str, ms: u64) {
    let path = format!("/__mock/job?outcome={outcome}&ms={ms}&count=1");
    assert_eq!(http_post(mock.port(), &path, ""), 200, "{path}");
}

#[test]
fn health_reports_match_the_schema_up_failing_down_and_as_an_array() {
    let mock = MockServer::start(&[]);
    let garbage = MockServer::start(&["--garbage-json"]);
    let refused = RefusedPort::new();
    post_job(&mock, "failed", 0);
    post_job(&mock, "completed", 0);
    let workflow = format!(
        "{}/tests/data/workflow_bad_ckpt.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let (url, dead, bad) = (mock.url(), refused.url(), garbage.url());
    let checks = [
        "--require-node",
        "KSampler",
        "--require-model",
        "checkpoints/missing.safetensors",
        "--workflow",
        &workflow,
        "--max-queue",
        "3",
        "--max-failed",
        "0",
        "--max-job-time",
        "1m",
        "--require-cors",
        "http://app",
    ];
    let mut cases: Vec<(Vec<&str>, Option<i32>)> = vec![
        (vec!["--url", &url, "health", "--json"], Some(0)),
        (vec!["--url", &dead, "health", "--json"], Some(1)),
        (
            vec!["--url", &dead, "health", "--json", "--expect", "down"],
            Some(0),
        ),
        (vec!["--url", &bad, "health", "--json"], Some(1)),
    ];
    let many = format!("{url},{dead}");
    cases.push((vec!["--url", &many, "health", "--json"], Some(1)));
    let mut with_checks = vec!["--url", url.as_str(), "health", "--json"];
    with_checks.extend(checks);
    cases.push((with_checks, Some(3)));
    for (args, code) in cases {
        let (exit, doc) = run_json(&args);
        assert_eq!(exit, code, "{args:?}: {doc}");
        assert_valid("report", &doc);
    }
}

#[test]
fn connect_and_reconnect_reports_match_their_schemas() {
    let mock = MockServer::start(&[]);
    let refused = RefusedPort::new();
    let (url, dead) = (mock.url(), refused.url());
    let many = format!("{url},{dead}");
    for (args, code) in [
        (vec!["--url", &url, "connect", "--json"], Some(0)),
        (
            vec!["--url", &dead, "connect", "--json", "--retries", "1"],
            Some(1),
        ),
        (
            vec!["--url", &many, "connect", "--json", "--retries", "0"],
            Some(1),
        ),
    ] {
        let (exit, doc) = run_json(&args);
        assert_eq!(exit, code, "{args:?}: {doc}");
        assert_valid("report", &doc);
    }
    for (args, code) in [
        (vec!["--url", &url, "reconnect", "--json"], Some(0)),
        (
            vec!["--url", &dead, "reconnect", "--json", "--deadline", "1s"],
            Some(1),
        ),
    ] {
        let (exit, doc) = run_json(&args);
        assert_eq!(exit, code, "{args:?}: {doc}");
        assert_valid("reconnect", &doc);
    }
}

/// Waits until `p` printed a `job` line with this status.
fn wait_job(p: &mut crate::support::Proc, status: &str) {
    let needle = format!("\"status\":\"{status}\"");
    p.wait_line(
        |l| l.contains("\"event\":\"job\"") && l.contains(&needle),
        WATCH_WAIT,
    )
    .unwrap_or_else(|| panic!("no {status} job; got:\n{}", p.lines_so_far().join("\n")));
}

#[test]
fn every_watch_line_and_webhook_body_matches_the_schema_through_a_restart() {
    let mut mock = MockServer::start(&[]);
    let receiver = StubServer::start("127.0.0.1", OK_EMPTY.into());
    let hook = format!("{}/hook", receiver.url());
    let mut w = crate::util::watch(
        &mock.url(),
        &[
            "--interval",
            "200ms",
            "--max-job-time",
            "300ms",
            "--webhook",
            &hook,
        ],
    );
    wait_state(&mut w, "connected");
    post_job(&mock, "completed", 1500);
    post_job(&mock, "failed", 0);
    wait_job(&mut w, "completed");
    wait_job(&mut w, "failed");
    mock.kill();
    wait_state(&mut w, "reconnecting");
    w.wait_line(|l| l.contains("\"event\":\"reconnect\""), WATCH_WAIT)
        .expect("a reconnect line");
    mock.restart();
    wait_state(&mut w, "connected");
    let events = finish(&mut w);
    let mut seen = BTreeSet::new();
    for event in &events {
        assert_valid("event", event);
        seen.insert(event["event"].as_str().unwrap_or_default().to_string());
    }
    let expected = [
        "job",
        "progress",
        "reconnect",
        "state",
        "status",
        "summary",
        "warning",
    ];
    assert_eq!(seen, expected.iter().map(|s| s.to_string()).collect());
    let stalled = events.iter().any(|e| e["state"] == "stalled");
    assert!(stalled, "the 1.5 s job passed --max-job-time 300ms");

    // Every state change reached the webhook, each body a valid state line.
    let changes = events.iter().filter(|e| e["event"] == "state").count();
    let mut bodies = Vec::new();
    assert!(
        poll_until(WATCH_WAIT, || {
            bodies = receiver.json_bodies();
            bodies.len() >= changes
        }),
        "{} of {changes} webhook bodies",
        bodies.len()
    );
    for body in &bodies {
        assert_valid("webhook", body);
        assert_valid("event", body);
    }
}

#[test]
fn a_moved_line_matches_the_schema() {
    let (mut p, mock, _first) =
        crate::pacing::found_late(&["watch", "--json", "--count", "3", "--interval", "100ms"]);
    let moved = p
        .wait_line(|l| l.contains("\"event\":\"moved\""), WATCH_WAIT)
        .unwrap_or_else(|| panic!("no moved line; stderr: {}", p.stderr()));
    assert_eq!(parse_line(&moved)["url"], mock.url());
    p.wait_exit(WATCH_WAIT).expect("watch --count exits");
    p.wait_line(
        |l| l.contains("\"event\":\"summary\""),
        Duration::from_secs(5),
    );
    let lines = p.lines_so_far();
    assert!(lines.iter().any(|l| l.contains("\"event\":\"moved\"")));
    for line in lines {
        assert_valid("event", &parse_line(&line));
    }
}
