//! Busy is not dead: a server whose event loop is blocked by a custom node
//! while it computes (TCP accepted, nothing answers) is told apart from one
//! that hung while idle, and `--busy-grace` keeps it up until it answers.

use serde_json::Value;

use crate::support::MockServer;
use crate::support::http::http_post_reply;
use crate::util::{WATCH_WAIT, finish, http_get, metrics_port, parse_line, wait_state, watch};

/// EmptyImage → PreviewImage; the mock blocks its loop once it starts.
const TRIVIAL: &str = r#"{"1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}}, "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}}"#;

/// Fast probes, so a 3 s block is several failed rounds.
const FAST: [&str; 4] = ["--interval", "300ms", "--timeout", "500ms"];

/// A mock that blocks its event loop for 3 s once each job starts.
fn blocking_mock() -> MockServer {
    MockServer::start(&["--block-loop-ms", "3000"])
}

/// POSTs the trivial prompt, as a user's script does; returns its id.
fn submit(port: u16) -> String {
    let body = format!(r#"{{"prompt": {TRIVIAL}}}"#);
    let (code, reply) = http_post_reply(port, "/prompt", &body);
    assert_eq!(code, 200, "{reply}");
    parse_line(&reply)["prompt_id"].as_str().unwrap().to_owned()
}

fn summary(events: &[Value]) -> &Value {
    events.last().expect("a summary")
}

#[test]
fn a_server_blocked_while_running_a_job_is_reported_as_unresponsive_while_running() {
    let mock = blocking_mock();
    let mut w = watch(&mock.url(), &FAST);
    wait_state(&mut w, "connected");
    let id = submit(mock.port());
    let down = wait_state(&mut w, "disconnected");
    let reason = down["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("unresponsive while running {}", &id[..8])),
        "{reason}"
    );
    assert!(!reason.contains(&id), "the id is shortened: {reason}");
    // It answers again once the job is done: the session comes back.
    wait_state(&mut w, "connected");
    finish(&mut w);
}

#[test]
fn within_busy_grace_a_blocked_server_stays_up_and_its_job_is_reported() {
    let mock = blocking_mock();
    let mut extra = FAST.to_vec();
    extra.extend(["--busy-grace", "10s", "--metrics", "127.0.0.1:0"]);
    let mut w = watch(&mock.url(), &extra);
    wait_state(&mut w, "connected");
    let metrics = metrics_port(&w);
    let id = submit(mock.port());
    let warning = w
        .wait_line(
            |l| l.contains("\"event\":\"warning\"") && l.contains("unresponsive while running"),
            WATCH_WAIT,
        )
        .unwrap_or_else(|| panic!("no busy warning: {:?}", w.lines_so_far()));
    assert!(warning.contains("--busy-grace 10s"), "{warning}");
    // Scraped during the block: still up.
    let (code, text) = http_get(metrics, "/metrics");
    assert!(
        mock.stderr().contains("blocking the event loop")
            && !mock.stderr().contains("event loop unblocked"),
        "the scrape must fall within the block: {}",
        mock.stderr()
    );
    assert_eq!(code, 200);
    assert!(text.contains("comfyui_up{target="), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("comfyui_up{") && l.ends_with(" 1")),
        "{text}"
    );
    let job = w
        .wait_line(
            |l| l.contains("\"event\":\"job\"") && l.contains(&id),
            WATCH_WAIT,
        )
        .unwrap_or_else(|| panic!("job not reported: {:?}", w.lines_so_far()));
    assert!(job.contains("\"completed\""), "{job}");
    let events = finish(&mut w);
    let states: Vec<&Value> = events.iter().filter(|e| e["event"] == "state").collect();
    assert!(
        states.iter().all(|s| s["state"] != "disconnected"),
        "{states:?}"
    );
    assert!(
        events.iter().any(|e| e["event"] == "warning"
            && e["message"]
                .as_str()
                .unwrap_or("")
                .starts_with("answers again")),
        "{events:?}"
    );
    assert_eq!(summary(&events)["outages"], 0, "{events:?}");
}

#[test]
fn a_server_silent_while_idle_is_still_disconnected_with_busy_grace() {
    let mock = MockServer::start(&[]);
    let mut extra = FAST.to_vec();
    extra.extend(["--busy-grace", "10s"]);
    let mut w = watch(&mock.url(), &extra);
    wait_state(&mut w, "connected");
    mock.stop();
    let down = wait_state(&mut w, "disconnected");
    let reason = down["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("no pong within 500ms and HTTP failed"),
        "{reason}"
    );
    mock.cont();
    wait_state(&mut w, "connected");
    finish(&mut w);
}

#[test]
fn busy_grace_is_bounded() {
    let out = crate::util::comfyctl()
        .args(["watch", "--url", "127.0.0.1:1", "--busy-grace", "2h"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--busy-grace: must be between"), "{err}");
}

#[test]
fn past_busy_grace_a_blocked_server_is_disconnected_and_says_so() {
    let mock = blocking_mock();
    let mut extra = FAST.to_vec();
    extra.extend(["--busy-grace", "1s"]);
    let mut w = watch(&mock.url(), &extra);
    wait_state(&mut w, "connected");
    let id = submit(mock.port());
    let down = wait_state(&mut w, "disconnected");
    let reason = down["reason"].as_str().unwrap();
    assert!(
        reason.starts_with(&format!("unresponsive while running {}", &id[..8]))
            && reason.contains("past --busy-grace 1s"),
        "{reason}"
    );
    wait_state(&mut w, "connected");
    let events = finish(&mut w);
    assert_eq!(summary(&events)["outages"], 1, "{:?}", summary(&events));
}
