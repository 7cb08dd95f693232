//! Several servers from one process: health/connect `--any`, watch over a
//! fleet, Prometheus metrics, and alerts on state changes.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::support::http::{OK_EMPTY, StubServer};
use crate::support::{MockServer, Proc, poll_until};
use crate::util::{comfyctl, comfyctl_std, json};

const WAIT: Duration = Duration::from_secs(30);

fn urls(mocks: &[&MockServer]) -> Vec<String> {
    mocks
        .iter()
        .flat_map(|m| ["--url".to_string(), m.url()])
        .collect()
}

pub fn scratch_dir(name: &str) -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("comfyctl-{name}-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn state_lines(p: &mut Proc, url: &str) -> Vec<String> {
    p.lines_so_far()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["event"] == "state" && v["url"] == url)
        .map(|v| v["state"].as_str().unwrap().to_string())
        .collect()
}

/// Waits until `url` has entered `state` at least `n` times in all.
fn wait_state_n(p: &mut Proc, url: &str, state: &str, n: usize) {
    let ok = poll_until(WAIT, || {
        state_lines(p, url).iter().filter(|s| *s == state).count() >= n
    });
    assert!(
        ok,
        "{url} never {state} (#{n}); states: {:?}",
        state_lines(p, url)
    );
}

fn wait_state(p: &mut Proc, url: &str, state: &str) {
    wait_state_n(p, url, state, 1);
}

#[test]
fn health_over_three_servers_all_and_any() {
    let a = MockServer::start(&[]);
    let b = MockServer::start(&[]);
    let mut c = MockServer::start(&[]);
    let args = urls(&[&a, &b, &c]);
    let out = comfyctl()
        .arg("health")
        .arg("--json")
        .args(&args)
        .assert()
        .code(0)
        .get_output()
        .clone();
    let all = json(&out.stdout);
    assert_eq!(all.as_array().unwrap().len(), 3);
    c.kill();
    comfyctl()
        .args(["health", "-q"])
        .args(&args)
        .assert()
        .code(1);
    comfyctl()
        .args(["health", "-q", "--any"])
        .args(&args)
        .assert()
        .code(0);
    let out = comfyctl()
        .arg("health")
        .args(&args)
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 3, "one row per server: {text}");
    assert!(text.contains(&format!("✗ {}", c.url())), "{text}");
    // connect takes several servers too.
    comfyctl()
        .args(["connect", "-q", "--any", "--retries", "0"])
        .args(&args)
        .assert()
        .code(0);
}

#[test]
fn targets_file_with_comments() {
    let a = MockServer::start(&[]);
    let b = MockServer::start(&[]);
    let dir = scratch_dir("targets");
    let file = dir.join("targets.txt");
    std::fs::write(
        &file,
        format!("# the fleet\n{}\n\n{}  # second GPU\n", a.url(), b.url()),
    )
    .unwrap();
    let out = comfyctl()
        .args(["health", "--json", "--targets"])
        .arg(&file)
        .assert()
        .code(0)
        .get_output()
        .clone();
    assert_eq!(json(&out.stdout).as_array().unwrap().len(), 2);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn watch_over_three_servers_only_the_restarted_one_changes() {
    let a = MockServer::start(&[]);
    let mut b = MockServer::start(&[]);
    let c = MockServer::start(&[]);
    let mut cmd = comfyctl_std();
    cmd.args(["watch", "--json", "--interval", "500ms"])
        .args(urls(&[&a, &b, &c]));
    let mut w = Proc::spawn(cmd);
    for m in [&a, &b, &c] {
        wait_state(&mut w, &m.url(), "connected");
    }
    b.kill();
    wait_state(&mut w, &b.url(), "disconnected");
    b.restart();
    wait_state_n(&mut w, &b.url(), "connected", 2);
    // Polls of the others go on meanwhile.
    let polls_after = |w: &mut Proc, url: &str| {
        w.lines_so_far()
            .iter()
            .filter(|l| {
                l.contains("\"source\":\"http\"") && l.contains(&format!("\"url\":\"{url}\""))
            })
            .count()
    };
    let before = polls_after(&mut w, &a.url());
    assert!(poll_until(WAIT, || polls_after(&mut w, &a.url()) > before));
    w.signal(libc::SIGINT);
    assert_eq!(w.wait_exit(WAIT).and_then(|s| s.code()), Some(0));
    for m in [&a, &c] {
        assert_eq!(
            state_lines(&mut w, &m.url()),
            ["connecting", "connected"],
            "{}",
            m.url()
        );
    }
    assert_eq!(
        state_lines(&mut w, &b.url()),
        [
            "connecting",
            "connected",
            "disconnected",
            "reconnecting",
            "connected"
        ]
    );
    let summaries = w
        .lines_so_far()
        .iter()
        .filter(|l| l.contains("\"event\":\"summary\""))
        .count();
    assert_eq!(summaries, 3, "one summary per server");
}

fn scrape(port: u16) -> String {
    let (code, body) = crate::util::http_get(port, "/metrics");
    assert_eq!(code, 200);
    body
}

fn metric(text: &str, name: &str, url: &str) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(&format!("target=\"{url}\"")))
        .filter(|l| name.ends_with("_total") || !l.starts_with(&format!("{name}_")))
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[test]
fn metrics_flip_on_a_kill() {
    let mut mock = MockServer::start(&["--queue", "2"]);
    let mut cmd = comfyctl_std();
    cmd.args([
        "watch",
        "--json",
        "--interval",
        "300ms",
        "--metrics",
        "127.0.0.1:0",
        "--url",
        &mock.url(),
    ]);
    let mut w = Proc::spawn(cmd);
    let port = crate::util::metrics_port(&w);
    wait_state(&mut w, &mock.url(), "connected");
    w.wait_line(|l| l.contains("\"source\":\"http\""), WAIT)
        .unwrap();
    let before = scrape(port);
    assert!(before.contains("# TYPE comfyui_up gauge"), "{before}");
    assert_eq!(
        metric(&before, "comfyui_up", &mock.url()),
        Some(1.0),
        "{before}"
    );
    assert_eq!(
        metric(&before, "comfyui_queue_remaining", &mock.url()),
        Some(2.0),
        "{before}"
    );
    assert!(before.contains("comfyui_probe_latency_seconds_bucket"));
    assert!(before.contains("comfyui_vram_total_bytes{"));
    assert!(before.contains("comfyui_websocket_last_message_age_seconds{"));
    assert!(
        before.contains(&format!(
            "comfyui_state{{target=\"{}\",state=\"connected\"}} 1",
            mock.url()
        )),
        "{before}"
    );
    let transitions = metric(&before, "comfyui_state_transitions_total", &mock.url()).unwrap();

    mock.kill();
    wait_state(&mut w, &mock.url(), "disconnected");
    let after = scrape(port);
    assert_eq!(
        metric(&after, "comfyui_up", &mock.url()),
        Some(0.0),
        "{after}"
    );
    let later = metric(&after, "comfyui_state_transitions_total", &mock.url()).unwrap();
    assert!(later > transitions, "{transitions} → {later}");
}

/// Writes an executable script that appends its environment to `log`.
pub fn hook_script(dir: &std::path::Path, log: &std::path::Path, extra: &str) -> PathBuf {
    let script = dir.join("hook.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n{extra}\necho \"$COMFYCTL_STATE|$COMFYCTL_PREVIOUS|$COMFYCTL_URL|$COMFYCTL_REASON|$COMFYCTL_TS\" >> '{}'\n",
            log.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn on_change_runs_a_program_with_the_facts_in_order() {
    let mut mock = MockServer::start(&[]);
    let dir = scratch_dir("hook");
    let log = dir.join("changes.log");
    let script = hook_script(&dir, &log, "");
    let secret_url = format!("http://user:pw-SECRET@127.0.0.1:{}", mock.port());
    let mut cmd = comfyctl_std();
    cmd.args([
        "watch",
        "--json",
        "--interval",
        "500ms",
        "--url",
        &secret_url,
        "--on-change",
    ])
    .arg(&script);
    let mut w = Proc::spawn(cmd);
    let shown = format!("http://***@127.0.0.1:{}", mock.port());
    wait_state(&mut w, &shown, "connected");
    mock.kill();
    wait_state(&mut w, &shown, "disconnected");
    mock.restart();
    wait_state_n(&mut w, &shown, "connected", 2);
    let read = || std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        poll_until(WAIT, || read().lines().count() >= 5),
        "{}",
        read()
    );
    let lines: Vec<Vec<String>> = read()
        .lines()
        .map(|l| l.split('|').map(String::from).collect())
        .collect();
    let pairs: Vec<(String, String)> = lines.iter().map(|f| (f[0].clone(), f[1].clone())).collect();
    let expect = [
        ("connecting", ""),
        ("connected", "connecting"),
        ("disconnected", "connected"),
        ("reconnecting", "disconnected"),
        ("connected", "reconnecting"),
    ];
    let expect: Vec<(String, String)> = expect
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(pairs, expect);
    for f in &lines {
        assert_eq!(f[2], shown, "credentials redacted in COMFYCTL_URL");
        assert!(!f[3].is_empty(), "a reason");
        assert!(humantime::parse_rfc3339(&f[4]).is_ok(), "{}", f[4]);
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_hanging_hook_does_not_stall_the_monitor() {
    let mut mock = MockServer::start(&[]);
    let dir = scratch_dir("slowhook");
    let log = dir.join("changes.log");
    let script = hook_script(&dir, &log, "sleep 60");
    let mut cmd = comfyctl_std();
    cmd.args([
        "watch",
        "--json",
        "--interval",
        "500ms",
        "--hook-timeout",
        "1s",
        "--url",
        &mock.url(),
        "--on-change",
    ])
    .arg(&script);
    let mut w = Proc::spawn(cmd);
    wait_state(&mut w, &mock.url(), "connected");
    mock.kill();
    wait_state(&mut w, &mock.url(), "disconnected");
    mock.restart();
    wait_state_n(&mut w, &mock.url(), "connected", 2);
    assert!(
        poll_until(WAIT, || w
            .stderr()
            .contains("took longer than 1s; killed it")),
        "{}",
        w.stderr()
    );
    w.signal(libc::SIGINT);
    assert_eq!(w.wait_exit(WAIT).and_then(|s| s.code()), Some(0));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_webhook_receives_the_state_changes() {
    let mut mock = MockServer::start(&[]);
    let hook = StubServer::start("127.0.0.1", OK_EMPTY.into());
    let port = hook.port();
    let mut cmd = comfyctl_std();
    cmd.args([
        "watch",
        "--json",
        "--interval",
        "500ms",
        "--url",
        &mock.url(),
        "--webhook",
    ])
    .arg(format!("http://127.0.0.1:{port}/hook"));
    let mut w = Proc::spawn(cmd);
    wait_state(&mut w, &mock.url(), "connected");
    mock.kill();
    wait_state(&mut w, &mock.url(), "disconnected");
    let states = || -> Vec<String> {
        hook.json_bodies()
            .iter()
            .map(|v| v["state"].as_str().unwrap_or("").to_string())
            .collect()
    };
    assert!(
        poll_until(WAIT, || states().contains(&"disconnected".to_string())),
        "{:?}",
        states()
    );
    let received = hook.json_bodies();
    assert_eq!(received[0]["state"], "connecting");
    assert_eq!(received[1]["state"], "connected");
    let down = received
        .iter()
        .find(|v| v["state"] == "disconnected")
        .unwrap();
    assert_eq!(down["previous"], "connected");
    assert_eq!(down["url"], mock.url());
    assert!(down["reason"].as_str().unwrap().contains("WebSocket"));
}
