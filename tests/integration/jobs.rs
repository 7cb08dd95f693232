//! Jobs ("keeping up"): finished jobs reported once from the Jobs API or the
//! `/history` fallback, `stalled`, health's job checks, the idle-cost rule,
//! a fleet with one failing server, metrics, and the mock's Jobs API
//! against the 0.33 captures.

use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{MockServer, Proc, poll_until};
use crate::util::{
    comfyctl, comfyctl_std, finish, http_get, http_post, parse_line, poll_scrape, wait_state,
    watch_cmd,
};

const WAIT: Duration = Duration::from_secs(30);

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/comfyui-0.33")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// Queues `count` test jobs that hold the executor `ms` and end `outcome`.
fn post_job(mock: &MockServer, outcome: &str, ms: u64, count: u32) {
    let path = format!("/__mock/job?outcome={outcome}&ms={ms}&count={count}");
    assert_eq!(http_post(mock.port(), &path, ""), 200, "{path}");
}

/// Job-list requests in the mock's request log (either source, any prefix).
fn job_requests(mock: &MockServer) -> usize {
    mock.stderr()
        .lines()
        .filter(|l| l.contains("GET /api/jobs") || l.contains("/history -> "))
        .count()
}

fn count(mock: &MockServer, needle: &str) -> usize {
    mock.stderr().lines().filter(|l| l.contains(needle)).count()
}

/// Waits until the session-start request (the baseline) was answered, so
/// jobs queued afterwards are news.
fn wait_baseline(mock: &MockServer, at_least: usize) {
    assert!(
        poll_until(WAIT, || job_requests(mock) >= at_least),
        "no job request: {}",
        mock.stderr()
    );
}

/// The next `n` job events.
fn wait_jobs(w: &mut Proc, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let line = w
                .wait_line(|l| l.contains("\"event\":\"job\""), WAIT)
                .unwrap_or_else(|| {
                    panic!(
                        "job event {} of {n} missing:\n{}\n{}",
                        i + 1,
                        w.lines_so_far().join("\n"),
                        w.stderr()
                    )
                });
            parse_line(&line)
        })
        .collect()
}

fn watch(url: &str, extra: &[&str]) -> Proc {
    crate::util::watch(url, extra)
}

fn by_status<'a>(jobs: &'a [Value], status: &str) -> Vec<&'a Value> {
    jobs.iter().filter(|j| j["status"] == status).collect()
}

fn assert_each_outcome_once(events: &[Value], jobs: &[Value], with_queue_time: bool) {
    assert_eq!(jobs.len(), 3, "{jobs:?}");
    let completed = by_status(jobs, "completed");
    let failed = by_status(jobs, "failed");
    let cancelled = by_status(jobs, "cancelled");
    assert_eq!(
        (completed.len(), failed.len(), cancelled.len()),
        (1, 1, 1),
        "{jobs:?}"
    );
    // Held 400 ms before the nodes run: the durations show it.
    assert!(completed[0]["duration_ms"].as_u64().unwrap() >= 400);
    assert!(cancelled[0]["duration_ms"].as_u64().unwrap() >= 400);
    assert!(completed[0]["error"].is_null());
    let error = &failed[0]["error"];
    assert_eq!(error["node_id"], "2");
    assert_eq!(error["node_type"], "SaveImage");
    assert_eq!(error["exception_type"], "Exception");
    assert_eq!(
        error["message"],
        "**** ERROR: Saving image outside the output folder is not allowed."
    );
    let keys: BTreeSet<&str> = error
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        BTreeSet::from(["node_id", "node_type", "exception_type", "message"]),
        "never the traceback"
    );
    for job in jobs {
        assert_eq!(job["queued_ms"].is_u64(), with_queue_time, "{job}");
    }
    // Each reported once, nothing else: ids unique over the whole run.
    let all: Vec<&Value> = events.iter().filter(|e| e["event"] == "job").collect();
    assert_eq!(all.len(), 3, "{all:?}");
    let ids: HashSet<&str> = all.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 3);
    let summary = events.last().unwrap();
    assert_eq!(
        (
            &summary["jobs_completed"],
            &summary["jobs_failed"],
            &summary["jobs_cancelled"]
        ),
        (&Value::from(1), &Value::from(1), &Value::from(1))
    );
}

fn run_three_outcomes(mock_args: &[&str]) -> (MockServer, Vec<Value>, Vec<Value>) {
    let mock = MockServer::start(mock_args);
    let mut w = watch(&mock.url(), &["--interval", "200ms"]);
    wait_state(&mut w, "connected");
    wait_baseline(&mock, 1);
    post_job(&mock, "completed", 400, 1);
    post_job(&mock, "failed", 0, 1);
    post_job(&mock, "cancelled", 400, 1);
    let jobs = wait_jobs(&mut w, 3);
    // A few more polls: nothing is reported again.
    let polls = count(&mock, "GET /system_stats");
    assert!(poll_until(WAIT, || count(&mock, "GET /system_stats") >= polls + 3));
    let events = finish(&mut w);
    (mock, events, jobs)
}

#[test]
fn jobs_api_reports_each_outcome_once_with_times_and_error() {
    let (mock, events, jobs) = run_three_outcomes(&[]);
    assert_each_outcome_once(&events, &jobs, true);
    assert_eq!(count(&mock, "/history"), 0, "{}", mock.stderr());
}

#[test]
fn history_fallback_on_a_server_without_the_jobs_api() {
    let (mock, events, jobs) = run_three_outcomes(&["--no-jobs-api"]);
    // 0.3.64 has no create_time: no queue time, the rest the same.
    assert_each_outcome_once(&events, &jobs, false);
    assert_eq!(
        count(&mock, "GET /api/jobs -> 404"),
        1,
        "the source is chosen once per session: {}",
        mock.stderr()
    );
    assert!(count(&mock, "GET /history -> 200") >= 2);
}

#[test]
fn a_restart_mid_run_reports_no_job_twice_with_an_api_url() {
    let mut mock = MockServer::start(&[]);
    let url = format!("{}/api", mock.url());
    let mut w = watch(&url, &["--interval", "200ms"]);
    wait_state(&mut w, "connected");
    wait_baseline(&mock, 1);
    post_job(&mock, "completed", 0, 2);
    let before = wait_jobs(&mut w, 2);
    mock.restart();
    wait_state(&mut w, "connected");
    wait_baseline(&mock, 1);
    post_job(&mock, "failed", 0, 1);
    let after = wait_jobs(&mut w, 1);
    assert_eq!(after[0]["status"], "failed");
    let polls = count(&mock, "GET /api/system_stats");
    assert!(poll_until(WAIT, || count(&mock, "GET /api/system_stats") >= polls + 3));
    let events = finish(&mut w);
    let ids: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "job")
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 3);
    assert!(before.iter().all(|j| j["status"] == "completed"));
    assert!(!mock.stderr().contains("/api/api/"), "{}", mock.stderr());
    assert!(count(&mock, "GET /api/jobs -> 200") >= 1);
}

#[test]
fn stalled_after_max_job_time_and_clears_when_the_job_finishes() {
    let mock = MockServer::start(&[]);
    let dir = crate::fleet::scratch_dir("stalled-hook");
    let log = dir.join("log");
    let script = crate::fleet::hook_script(&dir, &log, "");
    let mut w = watch(
        &mock.url(),
        &[
            "--interval",
            "100ms",
            "--max-job-time",
            "300ms",
            "--on-change",
            script.to_str().unwrap(),
        ],
    );
    wait_state(&mut w, "connected");
    post_job(&mock, "completed", 1500, 1);
    let stalled = wait_state(&mut w, "stalled");
    assert_eq!(stalled["previous"], "connected");
    assert!(
        stalled["reason"]
            .as_str()
            .unwrap()
            .contains("--max-job-time 300ms"),
        "{stalled}"
    );
    let back = wait_state(&mut w, "connected");
    assert_eq!(back["previous"], "stalled");
    // The hook sees stalled like any other state (before stopping: runs
    // still queued when watch exits are not waited for).
    let mut text = String::new();
    assert!(
        poll_until(WAIT, || {
            text = std::fs::read_to_string(&log).unwrap_or_default();
            text.contains("connected|stalled|")
        }),
        "{text}"
    );
    assert!(text.contains("stalled|connected|"), "{text}");
    let events = finish(&mut w);
    let jobs: Vec<&Value> = events.iter().filter(|e| e["event"] == "job").collect();
    assert_eq!(jobs.len(), 1, "{jobs:?}");
    assert_eq!(jobs[0]["status"], "completed");
    let summary = events.last().unwrap();
    assert_eq!(summary["reconnects"], 0, "leaving stalled is no reconnect");
    assert_eq!(summary["outages"], 0);
    let _ = std::fs::remove_dir_all(dir);
}

/// A stalled server is reachable but not ready: `watch --count` ends 3,
/// as `health --max-job-time` does for the same server.
#[test]
fn watch_count_on_a_stalled_server_exits_3() {
    let mock = MockServer::start(&[]);
    post_job(&mock, "completed", 30_000, 1);
    let out = comfyctl()
        .args(["watch", "--json", "--url", &mock.url()])
        .args([
            "--interval",
            "100ms",
            "--max-job-time",
            "300ms",
            "--count",
            "12",
        ])
        .timeout(WAIT)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let last_state = text
        .lines()
        .map(parse_line)
        .rfind(|e| e["event"] == "state")
        .unwrap_or_else(|| panic!("no state event: {text}"));
    assert_eq!(last_state["state"], "stalled", "{text}");
    assert_eq!(out.status.code(), Some(3), "{text}");
}

#[test]
fn no_stall_without_max_job_time() {
    let mock = MockServer::start(&[]);
    let mut w = watch(&mock.url(), &["--interval", "100ms"]);
    wait_state(&mut w, "connected");
    post_job(&mock, "completed", 800, 1);
    wait_jobs(&mut w, 1);
    let events = finish(&mut w);
    assert!(!events.iter().any(|e| e["state"] == "stalled"));
}

#[test]
fn health_max_failed_and_max_job_time_exit_3_or_0() {
    let mock = MockServer::start(&[]);
    post_job(&mock, "failed", 0, 2);
    post_job(&mock, "completed", 0, 1);
    post_job(&mock, "completed", 20_000, 1);
    // Wait for the long job to run, after the three quick ones.
    assert!(poll_until(WAIT, || {
        let (_, body) = http_get(mock.port(), "/api/jobs?status=in_progress");
        body.contains("in_progress") && {
            let (_, done) = http_get(mock.port(), "/api/jobs?status=completed,failed");
            done.matches("\"id\"").count() == 3
        }
    }));
    let url = mock.url();
    let out = comfyctl()
        .args(["--url", &url, "health", "--json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let report = crate::util::json(&out.stdout);
    let jobs = &report["jobs"];
    assert_eq!(jobs["recent"]["failed"], 2, "{report}");
    assert_eq!(jobs["recent"]["completed"], 1);
    assert_eq!(jobs["recent"]["cancelled"], 0);
    assert_eq!(jobs["last_failure"]["error"]["node_type"], "SaveImage");
    assert!(jobs["last_failure"]["error"].get("traceback").is_none());
    assert!(jobs["running"]["id"].is_string());
    assert!(jobs["running"]["age_ms"].is_u64());

    let code = |args: &[&str]| {
        comfyctl()
            .args(["--url", &url, "health"])
            .args(args)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(code(&["--max-failed", "1"]), Some(3));
    assert_eq!(code(&["--max-failed", "2"]), Some(0));
    assert!(poll_until(WAIT, || code(&["--max-job-time", "200ms"]) == Some(3)));
    assert_eq!(code(&["--max-job-time", "1h"]), Some(0));
    let out = comfyctl()
        .args(["--url", &url, "health", "--max-failed", "1"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("✗ failed jobs ≤ 1 in 10m: 2 of the newest"),
        "{text}"
    );
    assert!(text.contains("jobs     running"), "{text}");
    // The same on a 0.3.64-like server, from /history.
    let old = MockServer::start(&["--no-jobs-api"]);
    post_job(&old, "failed", 0, 2);
    assert!(poll_until(WAIT, || {
        let (_, body) = http_get(old.port(), "/history");
        body.matches("execution_error").count() >= 2
    }));
    let out = comfyctl()
        .args(["--url", &old.url(), "health", "--json", "--max-failed", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        crate::util::json(&out.stdout)["jobs"]["recent"]["failed"],
        2
    );
    // Bad values name the flag.
    let out = comfyctl()
        .args(["--url", &url, "health", "--max-job-time", "soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--max-job-time"));
}

#[test]
fn an_idle_server_sees_no_job_requests_and_a_busy_one_at_most_one_per_interval() {
    let mock = MockServer::start(&[]);
    let interval = Duration::from_millis(250);
    let mut w = watch(&mock.url(), &["--interval", "250ms"]);
    wait_state(&mut w, "connected");
    wait_baseline(&mock, 1);
    let polls = count(&mock, "GET /system_stats");
    assert!(poll_until(WAIT, || count(&mock, "GET /system_stats") >= polls + 6));
    assert_eq!(
        job_requests(&mock),
        1,
        "idle: only the session-start request: {}",
        mock.stderr()
    );
    // Busy: a job finishing every 100 ms for about 1.5 s.
    let started = Instant::now();
    let before = job_requests(&mock);
    post_job(&mock, "completed", 100, 15);
    wait_jobs(&mut w, 15);
    let elapsed = started.elapsed();
    let made = job_requests(&mock) - before;
    let allowed = (elapsed.as_secs_f64() / interval.as_secs_f64()).ceil() as usize + 1;
    assert!(made >= 2, "jobs flowing: {made} requests");
    assert!(
        made <= allowed,
        "{made} job requests in {elapsed:?} at a 250ms interval"
    );
    let events = finish(&mut w);
    assert_eq!(events.last().unwrap()["jobs_completed"], 15);
}

/// More jobs finish between two reads than a page holds: every one is
/// reported, once, in the order the server lists them (oldest first).
#[test]
fn a_burst_bigger_than_a_page_is_reported_whole_and_in_order() {
    let mock = MockServer::start(&[]);
    // A long interval: the burst is over before the next read may go out.
    let mut w = watch(&mock.url(), &["--interval", "2s"]);
    wait_state(&mut w, "connected");
    wait_baseline(&mock, 1);
    post_job(&mock, "completed", 0, 12);
    let reported: Vec<String> = wait_jobs(&mut w, 12)
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_owned())
        .collect();
    let (code, body) = http_get(mock.port(), "/api/jobs?status=completed&limit=20");
    assert_eq!(code, 200, "{body}");
    let listed: Value = serde_json::from_str(&body).unwrap();
    let mut oldest_first: Vec<String> = listed["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["id"].as_str().unwrap().to_owned())
        .collect();
    oldest_first.reverse();
    assert_eq!(reported, oldest_first);
    let events = finish(&mut w);
    assert_eq!(events.last().unwrap()["jobs_completed"], 12);
}

#[test]
fn a_fleet_of_three_where_one_fails_every_job() {
    let mock = MockServer::start(&["--ports", "3"]);
    let ports = mock.ports();
    let url = |p: u16| format!("http://127.0.0.1:{p}");
    let bad = url(ports[1]);
    let post = |port: u16, outcome: &str| {
        let path = format!("/__mock/job?outcome={outcome}&count=2");
        assert_eq!(http_post(port, &path, ""), 200);
    };
    let fleet = |json: bool| {
        let mut cmd = comfyctl_std();
        cmd.args(["watch", "--interval", "200ms"]);
        if json {
            cmd.arg("--json");
        }
        for p in &ports {
            cmd.args(["--url", &url(*p)]);
        }
        Proc::spawn(cmd)
    };

    // NDJSON: every job event, failures only from the bad server.
    let before = job_requests(&mock);
    let mut w = fleet(true);
    for _ in 0..3 {
        wait_state(&mut w, "connected");
    }
    assert!(poll_until(WAIT, || job_requests(&mock) >= before + 3));
    post(ports[0], "completed");
    post(ports[1], "failed");
    post(ports[2], "completed");
    let jobs = wait_jobs(&mut w, 6);
    for job in &jobs {
        let from_bad = job["url"] == bad.as_str();
        assert_eq!(job["status"] == "failed", from_bad, "{job}");
    }
    let events = finish(&mut w);
    let summaries: Vec<&Value> = events.iter().filter(|e| e["event"] == "summary").collect();
    assert_eq!(summaries.len(), 3);
    for s in summaries {
        let want = if s["url"] == bad.as_str() {
            (0, 2)
        } else {
            (2, 0)
        };
        assert_eq!(
            (s["jobs_completed"].as_u64(), s["jobs_failed"].as_u64()),
            (Some(want.0), Some(want.1)),
            "{s}"
        );
    }

    // Plain lines: one per failed job, from the bad server only.
    let before = job_requests(&mock);
    let mut w = fleet(false);
    assert!(poll_until(WAIT, || job_requests(&mock) >= before + 3));
    post(ports[1], "failed");
    post(ports[0], "completed");
    for _ in 0..2 {
        let line = w
            .wait_line(|l| l.contains(" failed after "), WAIT)
            .unwrap_or_else(|| panic!("{}", w.lines_so_far().join("\n")));
        assert!(line.contains(&format!(" {bad} job ")), "{line}");
        assert!(line.contains("in node 2 (SaveImage): Exception: **** ERROR"));
    }
    w.signal(libc::SIGINT);
    w.wait_exit(WAIT).unwrap();
    w.wait_line(|l| l.contains("summary:") && l.contains(&bad), WAIT);
    let lines = w.lines_so_far();
    let job_lines: Vec<&String> = lines.iter().filter(|l| l.contains(" job ")).collect();
    assert_eq!(job_lines.len(), 2, "completed jobs only count: {lines:?}");
    assert!(job_lines.iter().all(|l| l.contains(&bad)));
}

#[test]
fn metrics_count_jobs_and_time_them() {
    let mock = MockServer::start(&[]);
    let mut w = Proc::spawn(watch_cmd(
        "200ms",
        &["--metrics", "127.0.0.1:0", "--url", &mock.url()],
    ));
    let port = crate::util::metrics_port(&w);
    wait_state(&mut w, "connected");
    wait_baseline(&mock, 1);
    post_job(&mock, "failed", 0, 1);
    post_job(&mock, "completed", 600, 1);
    post_job(&mock, "completed", 5000, 1);
    wait_jobs(&mut w, 2);
    let target = format!("target=\"{}\"", mock.url());
    let text = poll_scrape(port, |t| {
        t.lines().any(|l| {
            l.starts_with("comfyui_running_job_age_seconds{")
                && l.contains(&target)
                && !l.ends_with(" 0.0")
        })
    });
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix) && l.contains(&target))
            .unwrap_or_else(|| panic!("{prefix} missing:\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let counter = |status: &str| {
        text.lines()
            .find(|l| {
                l.starts_with("comfyui_jobs_total{")
                    && l.contains(&target)
                    && l.contains(&format!("status=\"{status}\""))
            })
            .unwrap_or_else(|| panic!("no {status} counter:\n{text}"))
            .to_string()
    };
    let failed = counter("failed");
    assert!(counter("completed").ends_with(" 1"), "{text}");
    assert!(failed.ends_with(" 1"), "{failed}");
    assert_eq!(value("comfyui_job_duration_seconds_count{"), 2.0);
    assert_eq!(value("comfyui_job_queue_wait_seconds_count{"), 2.0);
    assert!(text.contains("le=\"1800.0\""), "{text}");
    assert!(text.contains("le=\"0.5\""), "{text}");
    assert!(value("comfyui_last_job_failure_timestamp_seconds{") > 1e9);
    assert!(value("comfyui_running_job_age_seconds{") > 0.0);
    finish(&mut w);
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

/// The capture's key set for a job of `status` in a list.
fn captured_keys(status: &str) -> BTreeSet<String> {
    let lists = [
        fixture("api_jobs_after_ws_phase.json"),
        fixture("cancel_http_snapshots.json")[0]["body"].clone(),
        fixture("cancel_http_snapshots.json")[7]["body"].clone(),
    ];
    lists
        .iter()
        .flat_map(|l| l["jobs"].as_array().cloned().unwrap_or_default())
        .find(|j| j["status"] == status)
        .map(|j| keys(&j))
        .unwrap_or_else(|| panic!("no {status} job in the captures"))
}

#[test]
fn the_mock_jobs_api_has_exactly_the_captured_shapes() {
    let mock = MockServer::start(&[]);
    let port = mock.port();
    let (code, body) = http_get(
        port,
        "/api/jobs?status=pending,in_progress,completed,failed&limit=5",
    );
    assert_eq!(code, 200);
    let empty: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(empty, fixture("api_jobs_empty_at_start.json"));
    // Root path: the Jobs API lives only under /api.
    assert_eq!(http_get(port, "/jobs").0, 404);

    post_job(&mock, "completed", 0, 1);
    post_job(&mock, "failed", 0, 1);
    post_job(&mock, "cancelled", 0, 1);
    post_job(&mock, "completed", 20_000, 1);
    post_job(&mock, "completed", 0, 1);
    assert!(poll_until(WAIT, || {
        let (_, b) = http_get(port, "/api/jobs?status=completed,failed,cancelled");
        b.matches("\"id\"").count() == 3
    }));
    let (_, body) = http_get(port, "/api/jobs?limit=10");
    let list: Value = serde_json::from_str(&body).unwrap();
    let captured_list = fixture("api_jobs_after_ws_phase.json");
    assert_eq!(keys(&list), keys(&captured_list));
    assert_eq!(
        keys(&list["pagination"]),
        keys(&captured_list["pagination"])
    );
    assert_eq!(list["pagination"]["total"], 5);
    assert_eq!(list["pagination"]["has_more"], false);
    let jobs = list["jobs"].as_array().unwrap();
    let statuses: BTreeSet<&str> = jobs.iter().map(|j| j["status"].as_str().unwrap()).collect();
    assert_eq!(
        statuses,
        BTreeSet::from(["pending", "in_progress", "completed", "failed", "cancelled"])
    );
    for job in jobs {
        let status = job["status"].as_str().unwrap();
        assert_eq!(keys(job), captured_keys(status), "{status}: {job}");
        assert!(!job.as_object().unwrap().values().any(Value::is_null));
    }
    let failed = jobs.iter().find(|j| j["status"] == "failed").unwrap();
    assert_eq!(
        keys(&failed["execution_error"]),
        keys(&captured_list["jobs"][0]["execution_error"])
    );
    // Newest first by default; ascending on request.
    let created: Vec<u64> = jobs
        .iter()
        .map(|j| j["create_time"].as_u64().unwrap())
        .collect();
    assert!(created.windows(2).all(|w| w[0] >= w[1]), "{created:?}");
    let (_, asc) = http_get(port, "/api/jobs?sort_order=asc&limit=2&offset=1");
    let asc: Value = serde_json::from_str(&asc).unwrap();
    assert_eq!(asc["pagination"]["has_more"], true);
    assert_eq!(asc["jobs"].as_array().unwrap().len(), 2);

    // Details: the captured extra keys for finished jobs.
    for (status, capture) in [
        ("completed", fixture("api_job_A_completed_detail.json")),
        ("failed", fixture("api_job_C_failed_detail.json")),
    ] {
        let id = jobs.iter().find(|j| j["status"] == status).unwrap()["id"]
            .as_str()
            .unwrap();
        let (code, body) = http_get(port, &format!("/api/jobs/{id}"));
        assert_eq!(code, 200);
        let detail: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(keys(&detail), keys(&capture), "{status}");
        assert_eq!(keys(&detail["workflow"]), keys(&capture["workflow"]));
        assert_eq!(
            keys(&detail["execution_status"]),
            keys(&capture["execution_status"])
        );
    }
    let (code, body) = http_get(port, "/api/jobs/00000000-0000-4000-8000-000000000000");
    assert_eq!(code, 404);
    let not_found = fixture("api_job_unknown_id_404.json");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap(),
        not_found["body"]
    );
    // 400 bodies, exactly as captured.
    let bad = fixture("api_jobs_bad_arguments_400.json");
    for case in bad.as_object().unwrap().values() {
        let (code, body) = http_get(port, case["path"].as_str().unwrap());
        assert_eq!(code, 400, "{case}");
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), case["body"]);
    }
    // A 0.3.64-like mock: 404 on /api/jobs, history messages with timestamps.
    let old = MockServer::start(&["--no-jobs-api"]);
    assert_eq!(http_get(old.port(), "/api/jobs").0, 404);
    post_job(&old, "completed", 0, 1);
    assert!(poll_until(WAIT, || http_get(old.port(), "/history")
        .1
        .len()
        > 2));
    let (_, body) = http_get(old.port(), "/history?max_items=1");
    let history: Value = serde_json::from_str(&body).unwrap();
    let entry = history.as_object().unwrap().values().next().unwrap();
    let kinds: Vec<&str> = entry["status"]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert!(m[1]["timestamp"].is_u64(), "{m}");
            m[0].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        kinds,
        ["execution_start", "execution_cached", "execution_success"]
    );
    assert!(
        entry["prompt"][3].get("create_time").is_none(),
        "0.3.64 has none"
    );
}

#[test]
fn the_live_view_shows_the_running_age_the_tally_and_failed_jobs() {
    let mock = MockServer::start(&[]);
    let mut cmd = comfyctl_std();
    // Wide enough that no part of the status line is dropped to fit.
    cmd.env("COMFYCTL_FORCE_TTY", "1")
        .env("NO_COLOR", "1")
        .env("COLUMNS", "250")
        .args(["watch", "--interval", "200ms", "--url", &mock.url()]);
    let mut w = Proc::raw(cmd);
    assert!(w.wait_for(&["connected"], WAIT), "{}", w.text());
    wait_baseline(&mock, 1);
    post_job(&mock, "failed", 0, 1);
    post_job(&mock, "completed", 2500, 1);
    assert!(
        w.wait_for(
            &[
                "job ",
                " failed after ",
                "in node 2 (SaveImage): Exception: **** ERROR",
                "running 1s",
                "jobs 10m: 0 done · 1 failed",
            ],
            WAIT
        ),
        "{}",
        w.text()
    );
    assert!(
        w.wait_for(&["jobs 10m: 1 done · 1 failed · median 2s"], WAIT),
        "{}",
        w.text()
    );
    w.signal(libc::SIGTERM);
    assert_eq!(w.wait_code(WAIT), Some(0));
    assert!(
        w.wait_for(&["jobs 1 completed, 1 failed, 0 cancelled"], WAIT),
        "{}",
        w.text()
    );
}
