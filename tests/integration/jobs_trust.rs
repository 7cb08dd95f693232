//! The job view you can trust: every job that finishes after `connected`
//! is reported exactly once (on the Jobs API and on `/history`), also when
//! it finishes milliseconds after the line, out of creation order, in a
//! burst bigger than a page, or while `degraded`; one queue change costs
//! one read.

use std::collections::HashMap;
use std::time::Duration;

use serde_json::Value;

use crate::support::http::http_post_reply;
use crate::support::{MockServer, Proc, poll_until};
use crate::util::{comfyctl_std, finish, http_get, http_post, parse_line, wait_state, watch_cmd};

const WAIT: Duration = Duration::from_secs(30);

/// EmptyImage → PreviewImage: real ComfyUI finishes it in about 7 ms.
const TRIVIAL: &str = r#"{"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}}, "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}"#;

/// POSTs the trivial prompt (to the front of the queue if `front`), as a
/// user's script does; returns its prompt id.
fn submit(port: u16, front: bool) -> String {
    let body = format!(r#"{{"prompt": {TRIVIAL}, "front": {front}}}"#);
    let (code, reply) = http_post_reply(port, "/prompt", &body);
    assert_eq!(code, 200, "{reply}");
    parse_line(&reply)["prompt_id"].as_str().unwrap().to_owned()
}

/// Queues `count` mock jobs that hold the executor `ms` and end `outcome`.
fn post_job(port: u16, outcome: &str, ms: u64, count: u32) {
    let path = format!("/__mock/job?outcome={outcome}&ms={ms}&count={count}");
    assert_eq!(http_post(port, &path, ""), 200, "{path}");
}

fn finished_count(port: u16) -> usize {
    http_get(port, "/history")
        .1
        .matches("\"status_str\"")
        .count()
}

fn job_events(events: &[Value]) -> Vec<&Value> {
    events.iter().filter(|e| e["event"] == "job").collect()
}

/// Waits for the next `job` line of `w`; without one, panics with `what`
/// and the lines so far.
fn next_job(w: &mut Proc, what: &str) -> String {
    w.wait_line(|l| l.contains("\"event\":\"job\""), WAIT)
        .unwrap_or_else(|| panic!("{what}{}", w.lines_so_far().join("\n")))
}

/// Job-list requests the mock logged (either source).
fn job_requests(mock: &MockServer) -> usize {
    mock.stderr()
        .lines()
        .filter(|l| l.contains("GET /api/jobs") || l.contains("GET /history"))
        .count()
}

/// One fleet `watch` over every port; each server gets the trivial job
/// `delay` after its own `connected` line. Returns the events and the
/// submitted id per URL.
fn watch_and_submit(ports: &[u16], delay: Duration) -> (Vec<Value>, HashMap<String, String>) {
    let mut cmd = comfyctl_std();
    cmd.args(["watch", "--json", "--interval", "1s"]);
    for p in ports {
        cmd.args(["--url", &format!("http://127.0.0.1:{p}")]);
    }
    let mut w = Proc::spawn(cmd);
    let mut submitters = Vec::new();
    for _ in ports {
        let line = w
            .wait_line(
                |l| l.contains("\"event\":\"state\"") && l.contains("\"state\":\"connected\""),
                WAIT,
            )
            .unwrap_or_else(|| panic!("{}", w.lines_so_far().join("\n")));
        let url = parse_line(&line)["url"].as_str().unwrap().to_owned();
        let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
        submitters.push(std::thread::spawn(move || {
            // The user's script: the workload starts `delay` after the line.
            std::thread::sleep(delay);
            (url, submit(port, false))
        }));
    }
    let submitted: HashMap<String, String> =
        submitters.into_iter().map(|t| t.join().unwrap()).collect();
    for i in 0..ports.len() {
        next_job(
            &mut w,
            &format!("{delay:?}: job {} of {} missing:\n", i + 1, ports.len()),
        );
    }
    (finish(&mut w), submitted)
}

fn every_job_after_connected_is_reported_once(mock_args: &[&str]) {
    let mut args = vec!["--ports", "20"];
    args.extend_from_slice(mock_args);
    let mock = MockServer::start(&args);
    let ports = mock.ports();
    // Jobs that finished before watching began are not news.
    for p in &ports {
        submit(*p, false);
    }
    assert!(poll_until(WAIT, || ports
        .iter()
        .all(|p| finished_count(*p) == 1)));
    for delay in [0, 50, 300].map(Duration::from_millis) {
        let (events, submitted) = watch_and_submit(&ports, delay);
        let jobs = job_events(&events);
        assert_eq!(jobs.len(), ports.len(), "{delay:?}: {jobs:?}");
        for job in jobs {
            let url = job["url"].as_str().unwrap();
            assert_eq!(job["id"], submitted[url].as_str(), "{delay:?}: {job}");
            assert_eq!(job["status"], "completed");
        }
        for s in events.iter().filter(|e| e["event"] == "summary") {
            assert_eq!(s["jobs_completed"], 1, "{delay:?}: {s}");
        }
    }
}

#[test]
fn jobs_right_after_connected_are_reported_once_on_the_jobs_api() {
    every_job_after_connected_is_reported_once(&[]);
}

#[test]
fn jobs_right_after_connected_are_reported_once_on_history() {
    every_job_after_connected_is_reported_once(&["--no-jobs-api"]);
}

/// A runs, B pends, C is put at the front; A finishes, C finishes, B
/// fails: all three reported once, B as failed.
fn front_queued_jobs_are_all_reported(mock_args: &[&str]) {
    let mock = MockServer::start(mock_args);
    let port = mock.port();
    let mut w = crate::util::watch(&mock.url(), &["--interval", "200ms"]);
    wait_state(&mut w, "connected");
    post_job(port, "completed", 800, 1);
    post_job(port, "failed", 400, 1);
    let c = submit(port, true);
    let mut jobs = Vec::new();
    for _ in 0..3 {
        jobs.push(parse_line(&next_job(&mut w, "")));
    }
    let statuses: Vec<&str> = jobs.iter().map(|j| j["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["completed", "completed", "failed"], "{jobs:?}");
    assert_eq!(jobs[1]["id"], c.as_str(), "C ran second: {jobs:?}");
    let events = finish(&mut w);
    assert_eq!(job_events(&events).len(), 3);
    let summary = events.last().unwrap();
    assert_eq!(
        (&summary["jobs_completed"], &summary["jobs_failed"]),
        (&2.into(), &1.into())
    );
}

#[test]
fn front_queued_jobs_are_all_reported_on_the_jobs_api() {
    front_queued_jobs_are_all_reported(&[]);
}

#[test]
fn front_queued_jobs_are_all_reported_on_history() {
    front_queued_jobs_are_all_reported(&["--no-jobs-api"]);
}

/// 120 jobs finish between two reads: all counted and reported, and no
/// warning, also from a server that ignores `limit`.
fn a_burst_of_120_is_counted_whole(mock_args: &[&str]) {
    let mock = MockServer::start(mock_args);
    let mut w = crate::util::watch(&mock.url(), &["--interval", "2s"]);
    wait_state(&mut w, "connected");
    post_job(mock.port(), "completed", 0, 120);
    for i in 0..120 {
        next_job(&mut w, &format!("job {i}: "));
    }
    let events = finish(&mut w);
    assert_eq!(events.last().unwrap()["jobs_completed"], 120);
    let warnings: Vec<&Value> = events.iter().filter(|e| e["event"] == "warning").collect();
    assert!(warnings.is_empty(), "{warnings:?}");
    let ids: std::collections::HashSet<&str> = job_events(&events)
        .iter()
        .map(|j| j["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 120);
}

#[test]
fn a_burst_over_50_is_counted_whole() {
    a_burst_of_120_is_counted_whole(&[]);
}

#[test]
fn a_burst_from_a_server_that_ignores_limit_is_counted_without_a_warning() {
    a_burst_of_120_is_counted_whole(&["--ignore-limit"]);
}

/// WebSocket refused, HTTP fine: the polls' queue changes drive job
/// reads, and the summary counts the jobs.
#[test]
fn jobs_are_reported_while_degraded() {
    let mock = MockServer::start(&["--refuse-ws"]);
    let mut w = crate::util::watch(&mock.url(), &["--interval", "300ms"]);
    wait_state(&mut w, "degraded");
    post_job(mock.port(), "completed", 300, 4);
    for i in 0..4 {
        next_job(&mut w, &format!("job {i}: "));
    }
    let events = finish(&mut w);
    assert!(
        !events.iter().any(|e| e["state"] == "connected"),
        "stayed degraded"
    );
    assert_eq!(events.last().unwrap()["jobs_completed"], 4);
}

/// One queue change is one read, not one from the WebSocket `status` and
/// another from the next poll that sees the queue move. A job sends three
/// `status` messages (queued, started, finished), but only a shorter queue
/// can mean a finished job: one read per job (it was three or four).
#[test]
fn one_queue_change_costs_one_job_read() {
    let mock = MockServer::start(&[]);
    let mut w = crate::util::watch(&mock.url(), &["--interval", "200ms"]);
    wait_state(&mut w, "connected");
    // Polls have seen the idle queue (the job's changes are then news to
    // them too).
    let polls = |m: &MockServer| m.stderr().matches("GET /system_stats").count();
    let idle = polls(&mock);
    assert!(poll_until(WAIT, || polls(&mock) >= idle + 2));
    let before = job_requests(&mock);
    // Queued (one change), then finished 700 ms later (another), with
    // polls every 200 ms seeing the queue at 1 in between.
    post_job(mock.port(), "completed", 700, 1);
    next_job(&mut w, "");
    let now = polls(&mock);
    assert!(poll_until(WAIT, || polls(&mock) >= now + 3));
    let made = job_requests(&mock) - before;
    assert_eq!(made, 1, "{}", mock.stderr());
    finish(&mut w);
}

/// `health --max-job-time` and `--json`: the exit code and the running
/// job's `age_ms`.
fn health_age(mock: &MockServer, max: &str) -> (Option<i32>, Value) {
    let out = crate::util::comfyctl()
        .args([
            "--url",
            &mock.url(),
            "health",
            "--json",
            "--max-job-time",
            max,
        ])
        .output()
        .unwrap();
    let report = crate::util::json(&out.stdout);
    (
        out.status.code(),
        report["jobs"]["running"]["age_ms"].clone(),
    )
}

/// Waits until the mock has run its job for `at_least` (its own clock).
fn running_for(mock: &MockServer, at_least: Duration) {
    let started = std::time::Instant::now();
    assert!(poll_until(WAIT, || {
        http_get(mock.port(), "/queue")
            .1
            .contains("queue_running\":[[")
            && started.elapsed() >= at_least
    }));
}

/// A fresh `watch --count 1` on a job that has already run 3 s judges it
/// as `health` does: stalled, exit 3 (it said `connected`, exit 0).
#[test]
fn a_fresh_watch_judges_a_long_running_job_as_health_does() {
    let mock = MockServer::start(&["--version", "0.33.0"]);
    post_job(mock.port(), "completed", 60_000, 1);
    running_for(&mock, Duration::from_secs(3));
    let (code, age) = health_age(&mock, "1s");
    assert_eq!(code, Some(3));
    assert!(age.as_u64().unwrap() >= 2000, "{age}");
    let out = crate::util::comfyctl()
        .args(["watch", "--json", "--url", &mock.url()])
        .args([
            "--interval",
            "200ms",
            "--count",
            "1",
            "--max-job-time",
            "1s",
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let states: Vec<Value> = text
        .lines()
        .map(parse_line)
        .filter(|e| e["event"] == "state")
        .collect();
    let last = states.last().unwrap();
    assert_eq!(last["state"], "stalled", "{text}");
    let reason = last["reason"].as_str().unwrap();
    assert!(reason.contains("over --max-job-time 1s"), "{reason}");
    assert_eq!(out.status.code(), Some(3), "{text}");
}

/// A stall that begins during `--count` is printed with (before) the poll
/// that found it, so the run ends 3, never `stalled` then exit 0. The
/// counts cover the poll that finds the stall (the fourth or so: 0.3.64
/// gives no create time, so the age is from first sight).
#[test]
fn watch_count_ends_3_when_a_stall_begins_during_the_count() {
    let mock = MockServer::start(&[]);
    post_job(mock.port(), "completed", 60_000, 1);
    for count in 3..=8 {
        let out = crate::util::comfyctl()
            .args(["watch", "--json", "--url", &mock.url()])
            .args(["--interval", "100ms", "--max-job-time", "250ms"])
            .args(["--count", &count.to_string()])
            .timeout(WAIT)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let states: Vec<Value> = text
            .lines()
            .map(parse_line)
            .filter(|e| e["event"] == "state")
            .collect();
        if states.iter().all(|e| e["state"] != "stalled") {
            // Over before the job had been seen for 250 ms: not stalled.
            assert_eq!(out.status.code(), Some(0), "--count {count}: {text}");
            continue;
        }
        let last = states.last().unwrap();
        assert_eq!(last["state"], "stalled", "--count {count}: {text}");
        assert_eq!(out.status.code(), Some(3), "--count {count}: {text}");
    }
}

/// A server 10 minutes behind: a job 1 s old is 1 s old to health, watch
/// and the metric, not 10 minutes.
#[test]
fn a_server_clock_skew_does_not_move_the_age() {
    let mock = MockServer::start(&["--version", "0.33.0", "--clock-behind", "10m"]);
    post_job(mock.port(), "completed", 60_000, 1);
    running_for(&mock, Duration::from_millis(500));
    let (code, age) = health_age(&mock, "30s");
    assert_eq!(code, Some(0), "{age}");
    assert!(age.as_u64().unwrap() < 5000, "{age}");
    let mut w = Proc::spawn(watch_cmd(
        "200ms",
        &[
            "--max-job-time",
            "30s",
            "--metrics",
            "127.0.0.1:0",
            "--url",
            &mock.url(),
        ],
    ));
    let port = crate::util::metrics_port(&w);
    wait_state(&mut w, "connected");
    let mut metric = None;
    assert!(poll_until(WAIT, || {
        let text = http_get(port, "/metrics").1;
        metric = text
            .lines()
            .find(|l| l.starts_with("comfyui_running_job_age_seconds{"))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .filter(|v| *v > 0.0);
        metric.is_some()
    }));
    assert!(metric.unwrap() < 10.0, "{metric:?}");
    let events = finish(&mut w);
    assert!(!events.iter().any(|e| e["state"] == "stalled"));
}

/// `/history` (0.3.64) gives no start or create time: idle time before the
/// job is not run time; watch judges from first sight in `/queue`.
#[test]
fn on_history_the_age_is_from_first_sight_not_from_the_previous_job() {
    let mock = MockServer::start(&["--no-jobs-api"]);
    submit(mock.port(), false);
    assert!(poll_until(WAIT, || finished_count(mock.port()) == 1));
    // Idle for 2 s, then a long job.
    let idle = std::time::Instant::now();
    assert!(poll_until(WAIT, || idle.elapsed() >= Duration::from_secs(2)));
    post_job(mock.port(), "completed", 60_000, 1);
    running_for(&mock, Duration::ZERO);
    let (code, age) = health_age(&mock, "1s");
    assert_eq!(code, Some(0), "not 2 s of idle time: {age}");
    assert!(age.is_null(), "{age}");
    let mut w = crate::util::watch(
        &mock.url(),
        &["--interval", "200ms", "--max-job-time", "1s"],
    );
    let first = wait_state(&mut w, "connected");
    assert_eq!(first["previous"], "connecting");
    let stalled = wait_state(&mut w, "stalled");
    assert!(
        stalled["reason"]
            .as_str()
            .unwrap()
            .contains("over --max-job-time 1s"),
        "{stalled}"
    );
    finish(&mut w);
}
