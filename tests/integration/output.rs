//! Honest watch lines (issue 17 item 7, issue 22 item 15): one queue
//! snapshot per line, steps only for nodes that have some, nothing before
//! anything is known, no old version while down. And no floods (issue 22
//! item 10): repeated lines are paced and say what they held back, in plain
//! output and NDJSON alike.

use std::time::Instant;

use crate::support::{MockServer, Proc, RefusedPort, poll_until};
use crate::util::{WATCH_WAIT, comfyctl_std, http_post, parse_line};

/// `comfyctl watch --url URL EXTRA…` with plain lines (a pipe).
fn plain_watch(url: &str, extra: &[&str]) -> Proc {
    let mut cmd = comfyctl_std();
    cmd.args(["watch", "--url", url]).args(extra);
    Proc::spawn(cmd)
}

/// `comfyctl watch --json --url URL EXTRA…`.
fn json_watch(url: &str, extra: &[&str]) -> Proc {
    plain_watch(url, &[&["--json"], extra].concat())
}

/// Waits for a line containing `needle`; panics with the output if none.
fn wait_text(w: &mut Proc, needle: &str) -> String {
    w.wait_line(|l| l.contains(needle), WATCH_WAIT)
        .unwrap_or_else(|| {
            panic!(
                "no {needle:?} line; got:\n{}\nstderr: {}",
                w.lines_so_far().join("\n"),
                w.stderr()
            )
        })
}

/// Stops the watch with SIGINT and returns every stdout line.
fn stop(w: &mut Proc) -> Vec<String> {
    w.signal(libc::SIGINT);
    assert_eq!(w.wait_exit(WATCH_WAIT).and_then(|s| s.code()), Some(0));
    w.wait_line(|l| l.contains("summary"), WATCH_WAIT);
    w.lines_so_far()
}

/// The queue counts of a plain line: `queue R remaining` and, from a poll,
/// `· N running · M pending`.
fn queue_counts(line: &str) -> Option<(String, Option<String>, Option<String>)> {
    let rest = &line[line.find(" queue ")? + 7..];
    let mut fields = rest.split(" · ");
    let count = |field: Option<&str>, word: &str| {
        field
            .and_then(|f| f.strip_suffix(word))
            .map(|n| n.trim().to_string())
    };
    let remaining = count(fields.next(), " remaining")?;
    let running = count(fields.next(), " running");
    let pending = running.as_ref().and(count(fields.next(), " pending"));
    Some((remaining, running, pending))
}

/// The node and its step text in a plain line (`node 2 45%`).
fn node_part(line: &str) -> Option<&str> {
    let at = line.find(" node ")?;
    Some(line[at + 1..].split(" (").next().unwrap_or_default())
}

#[test]
fn plain_queue_lines_are_one_snapshot_and_steps_show_only_where_there_are_some() {
    let mock = MockServer::start(&["--step-ms", "100"]);
    let mut w = plain_watch(&mock.url(), &["--interval", "500ms"]);
    wait_text(&mut w, " connected");
    // At once, as a user would: jobs of 100 ms, and one with 20 steps.
    assert_eq!(
        http_post(mock.port(), "/__mock/job?count=3&ms=100", ""),
        200
    );
    let stepped = r#"{"prompt": {"1": {"class_type": "EmptyImage", "inputs": {"width": 8, "height": 8, "batch_size": 20, "color": 0}}, "2": {"class_type": "SaveImageWebsocket", "inputs": {"images": ["1", 0]}}}}"#;
    assert_eq!(http_post(mock.port(), "/prompt", stepped), 200);
    let submitted = Instant::now();
    wait_text(&mut w, "%");
    wait_text(&mut w, "queue 0 remaining · 0 running · 0 pending");
    let elapsed = submitted.elapsed();
    let lines = stop(&mut w);
    let text = lines.join("\n");
    let queue: Vec<&String> = lines.iter().filter(|l| l.contains(" queue ")).collect();
    for line in &queue {
        let (remaining, running, pending) = queue_counts(line).expect("counts");
        assert!(!remaining.contains('?'), "nothing unknown: {line}");
        // The mock's remaining is running + pending: one poll's snapshot
        // adds up; a WebSocket count stands alone.
        if let (Some(running), Some(pending)) = (running, pending) {
            let sum = running.parse::<u64>().unwrap() + pending.parse::<u64>().unwrap();
            assert_eq!(
                remaining,
                sum.to_string(),
                "mixed snapshots: {line}\n{text}"
            );
        }
        if let Some(node) = node_part(line) {
            // Node 1 (EmptyImage) has max 1: no percentage; node 2 steps.
            assert!(
                node.starts_with("node 2") || !node.contains('%'),
                "{line}\n{text}"
            );
        }
    }
    assert!(
        queue
            .iter()
            .any(|l| l.contains("node 2 ") && l.contains('%')),
        "{text}"
    );
    // 20 steps and 4 jobs' queue changes, yet at most one line per
    // interval (plus the idle line before and the held one after).
    let at_most = 3 + (elapsed.as_secs_f64() / 0.5).ceil() as usize;
    assert!(
        queue.len() <= at_most,
        "{} queue lines in {elapsed:?} at --interval 500ms:\n{text}",
        queue.len()
    );
}

#[test]
fn nothing_is_shown_before_it_is_known_nor_an_old_version_while_down() {
    let refused = RefusedPort::new();
    let mut w = plain_watch(&refused.url(), &["--interval", "200ms"]);
    wait_text(&mut w, "reconnect attempt");
    wait_text(&mut w, "reconnect attempt");
    let mut mock = MockServer::start_on(refused.port(), &["--version", "0.3.64"]);
    wait_text(&mut w, "ComfyUI 0.3.64 · queue 0 remaining");
    wait_text(&mut w, " connected");
    mock.kill();
    wait_text(&mut w, "disconnected (was connected)");
    // Down for a few intervals: each brings a failed poll.
    for _ in 0..3 {
        wait_text(&mut w, "reconnect attempt");
    }
    let lines = stop(&mut w);
    let text = lines.join("\n");
    for line in lines.iter().filter(|l| l.contains(" queue ")) {
        assert!(
            !line.contains('?'),
            "nothing unknown is shown: {line}\n{text}"
        );
    }
    let down = lines
        .iter()
        .position(|l| l.contains("disconnected (was connected)"))
        .unwrap();
    for line in &lines[down..] {
        assert!(!line.contains(" queue "), "{line}\n{text}");
        assert!(!line.contains("0.3.64"), "{line}\n{text}");
    }
}

/// `(attempt, skipped)` of a reconnect line, plain or NDJSON.
fn attempt_of(line: &str, json: bool) -> Option<(u64, u64)> {
    if json {
        let v = parse_line(line);
        return (v["event"] == "reconnect").then(|| {
            (
                v["attempt"].as_u64().unwrap(),
                v["skipped"].as_u64().unwrap(),
            )
        });
    }
    let rest = &line[line.find("reconnect attempt ")? + 18..];
    let attempt = rest.split(' ').next()?.parse().ok()?;
    let skipped = rest
        .rsplit_once(" (")
        .and_then(|(_, s)| s.split(' ').next()?.parse().ok())
        .unwrap_or(0);
    Some((attempt, skipped))
}

#[test]
fn reconnect_lines_are_paced_and_count_the_attempts_they_held_back() {
    for json in [true, false] {
        let refused = RefusedPort::new();
        let args = ["--interval", "1s"];
        let started = Instant::now();
        let mut w = if json {
            json_watch(&refused.url(), &args)
        } else {
            plain_watch(&refused.url(), &args)
        };
        // Three lines: at least two intervals of fast retries (~4 a second).
        for _ in 0..3 {
            w.wait_line(|l| attempt_of(l, json).is_some(), WATCH_WAIT)
                .expect("reconnect lines");
        }
        let _mock = MockServer::start_on(refused.port(), &[]);
        let connected = if json {
            "\"state\":\"connected\""
        } else {
            " connected"
        };
        wait_text(&mut w, connected);
        let elapsed = started.elapsed();
        let lines = stop(&mut w);
        let text = lines.join("\n");
        let attempts: Vec<(u64, u64)> = lines.iter().filter_map(|l| attempt_of(l, json)).collect();
        let at_most = 2 + elapsed.as_secs() as usize;
        assert!(
            attempts.len() <= at_most,
            "json={json}: {} reconnect lines in {elapsed:?}:\n{text}",
            attempts.len()
        );
        // Each line counts what it held back: together, every attempt.
        let mut previous = 0;
        for (attempt, skipped) in &attempts {
            assert_eq!(attempt - previous - 1, *skipped, "json={json}:\n{text}");
            previous = *attempt;
        }
        assert!(
            attempts.iter().any(|(_, skipped)| *skipped > 0),
            "json={json}: fast retries were held back:\n{text}"
        );
        // The newest held attempt is written before the state change: the
        // lines account for every attempt that failed.
        let back = lines.iter().find(|l| l.contains(connected)).unwrap();
        let made: u64 = back
            .split("after ")
            .nth(1)
            .and_then(|r| r.split(' ').next()?.parse().ok())
            .unwrap_or_else(|| panic!("{back}"));
        assert_eq!(
            attempts.last().map(|a| a.0),
            Some(made - 1),
            "json={json}:\n{text}"
        );
    }
}

#[test]
fn a_status_flood_is_paced_in_plain_lines_and_ndjson() {
    for json in [false, true] {
        let mock = MockServer::start(&["--step-ms", "1", "--status-interval", "5ms"]);
        let args = ["--interval", "1s"];
        // The whole run is timed, from the start to the summary: lines held
        // back are flushed before a job line or the summary, so each
        // interval of the run may print one.
        let started = Instant::now();
        let mut w = if json {
            json_watch(&mock.url(), &args)
        } else {
            plain_watch(&mock.url(), &args)
        };
        wait_text(
            &mut w,
            if json {
                "\"state\":\"connected\""
            } else {
                " connected"
            },
        );
        assert_eq!(
            http_post(mock.port(), "/__mock/job?count=200&ms=0", ""),
            200
        );
        // The queue drains and is idle again, as the mock says.
        assert!(poll_until(WATCH_WAIT, || {
            let body = crate::util::http_get(mock.port(), "/prompt").1;
            serde_json::from_str::<serde_json::Value>(&body)
                .is_ok_and(|v| v["exec_info"]["queue_remaining"] == 0)
        }));
        let idle = if json {
            "\"queue_remaining\":0,\"queue_running\":0"
        } else {
            "queue 0 remaining · 0 running · 0 pending"
        };
        // After the burst, the idle snapshot is shown again.
        if !json {
            wait_text(&mut w, "not shown");
        }
        wait_text(&mut w, idle);
        let lines = stop(&mut w);
        let elapsed = started.elapsed();
        let text = lines.join("\n");
        // One paced line per interval, plus one flushed before each job read
        // (at most one per interval too) and one before the summary; the
        // unpaced flood was hundreds of lines a second.
        let intervals = 2 * (2 + elapsed.as_secs() as usize) + 1;
        if json {
            let events: Vec<serde_json::Value> = lines.iter().map(|l| parse_line(l)).collect();
            let websocket = events
                .iter()
                .filter(|e| e["event"] == "status" && e["source"] == "websocket")
                .count();
            let steps = events
                .iter()
                .filter(|e| e["event"] == "progress" && e["type"] == "progress_state")
                .count();
            assert!(
                websocket <= intervals,
                "{websocket} websocket status lines in {elapsed:?}"
            );
            assert!(
                steps <= intervals,
                "{steps} progress_state lines in {elapsed:?}"
            );
            let held: u64 = events.iter().filter_map(|e| e["skipped"].as_u64()).sum();
            assert!(
                held > 200,
                "the held-back count says what was dropped: {held}"
            );
        } else {
            let queue = lines.iter().filter(|l| l.contains(" queue ")).count();
            assert!(
                queue <= intervals,
                "{queue} queue lines in {elapsed:?}:\n{text}"
            );
            assert!(text.contains("updates not shown"), "{text}");
        }
    }
}

#[test]
fn a_countdown_under_10s_shows_tenths_rounded_up() {
    // A peer that answers but is not ComfyUI: waits of a quarter, a half
    // and then a whole interval (less jitter), 1.6–2 s here, which a
    // floored countdown showed as "1s".
    let proxy = MockServer::start(&["--html"]);
    let mut w = plain_watch(&proxy.url(), &["--interval", "2s", "--timeout", "1s"]);
    let next = |l: &str| {
        let after = l.split("next in ").nth(1)?;
        Some(after.split(' ').next()?.to_string())
    };
    let line = w
        .wait_line(|l| next(l).is_some_and(|d| !d.ends_with("ms")), WATCH_WAIT)
        .unwrap_or_else(|| panic!("no wait of 1 s or more: {:?}", w.lines_so_far()));
    stop(&mut w);
    let delay = next(&line).unwrap();
    let secs: f64 = delay.trim_end_matches('s').parse().unwrap_or(0.0);
    assert!(delay.contains('.'), "tenths: {line}");
    assert!((1.0..=2.0).contains(&secs), "{line}");
}

#[test]
fn the_80_column_fleet_table_never_cuts_a_port() {
    let a = MockServer::start(&[]);
    let b = MockServer::start(&[]);
    // Credentials make the URL longer than the 80-column server cell.
    let with_user = |m: &MockServer| format!("http://user:secret@127.0.0.1:{}", m.port());
    let mut cmd = comfyctl_std();
    cmd.env("COMFYCTL_FORCE_TTY", "1")
        .env("COLUMNS", "80")
        .args(["watch", "--count", "3", "--interval", "200ms"])
        .args(["--url", &with_user(&a), "--url", &with_user(&b)]);
    let mut w = Proc::raw(cmd);
    assert_eq!(w.wait_code(WATCH_WAIT), Some(0), "{}", w.text());
    assert!(w.wait_for(&["summary: uptime"], WATCH_WAIT), "{}", w.text());
    let text = w.text();
    assert!(!text.contains("secret"), "{text}");
    for port in [a.port().to_string(), b.port().to_string()] {
        // A table row shows the server without its scheme, port whole.
        assert!(text.contains(&format!("***@127.0.0.1:{port} ")), "{text}");
        for cut in 1..port.len() {
            let partial = format!("127.0.0.1:{}…", &port[..cut]);
            assert!(!text.contains(&partial), "{partial} in {text}");
        }
    }
}
