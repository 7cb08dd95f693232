//! Token-protected servers: a `?token=` in the URL and `--token` bearer
//! auth reach every request and the WebSocket upgrade of a mock started
//! with `--require-token`, never with an Origin, and never show up in any
//! output.

use std::time::Duration;

use serde_json::Value;

use crate::support::http::{OK_EMPTY, StubServer};
use crate::support::{MockServer, Proc, poll_until};
use crate::util::{
    all_output, comfyctl, comfyctl_std, finish, http_get, http_post, json, metrics_port, wait_state,
};

/// The secret every test hunts for in the output.
const SECRET: &str = "sekret123";

/// Generous: the suite must pass on a loaded 2-core machine.
const WAIT: Duration = Duration::from_secs(30);

fn protected() -> MockServer {
    MockServer::start(&["--require-token", SECRET])
}

fn with_query(mock: &MockServer) -> String {
    format!("{}/?token={SECRET}", mock.url())
}

fn assert_no_secret(what: &str, text: &str) {
    assert!(!text.contains(SECRET), "{what} leaks the token:\n{text}");
}

/// The mock's log lines for the probe routes and the upgrade, each with how
/// the token came and whether an Origin did.
fn logged(mock: &MockServer) -> Vec<String> {
    mock.stderr()
        .lines()
        .filter(|l| {
            ["/system_stats ", "/prompt ", "/queue ", "/ws "]
                .iter()
                .any(|r| l.contains(r))
        })
        .map(String::from)
        .collect()
}

#[test]
fn health_json_passes_with_the_token_in_the_query_the_flag_or_the_variable() {
    let mock = protected();
    let shown = format!("{}/?token=…", mock.url());
    let out = comfyctl()
        .args(["health", "--json", "--url", &with_query(&mock)])
        .output()
        .unwrap();
    assert_no_secret("health ?token=", &all_output(&out));
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(json(&out.stdout)["url"], shown.as_str());
    for (flag, env) in [(Some(SECRET), None), (None, Some(SECRET))] {
        let mut run = comfyctl();
        run.args(["health", "--json", "--url", &mock.url()]);
        if let Some(token) = flag {
            run.args(["--token", token]);
        }
        if let Some(token) = env {
            run.env("COMFYCTL_TOKEN", token);
        }
        let out = run.output().unwrap();
        assert_no_secret("health --token", &all_output(&out));
        assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
        assert_eq!(json(&out.stdout)["url"], mock.url().as_str());
    }
    // Without it the server answers 401, and the error says what to give.
    let out = comfyctl()
        .args(["health", "--json", "--url", &mock.url()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", all_output(&out));
    let status = json(&out.stdout);
    assert_eq!(status["error"]["status"], 401, "{status}");
    assert!(
        status["error"]["message"]
            .as_str()
            .unwrap()
            .contains("--token"),
        "{status}"
    );
}

#[test]
fn every_probe_and_the_upgrade_carry_the_token_and_no_origin() {
    for (how, token_flag) in [("query", false), ("bearer", true)] {
        let mock = protected();
        let url = if token_flag {
            mock.url()
        } else {
            with_query(&mock)
        };
        let mut run = comfyctl();
        run.args(["connect", "--json", "--url", &url]);
        if token_flag {
            run.args(["--token", SECRET]);
        }
        let out = run.output().unwrap();
        assert_no_secret("connect", &all_output(&out));
        assert_eq!(out.status.code(), Some(0), "{how}: {}", all_output(&out));
        let lines = logged(&mock);
        for route in [
            "GET /system_stats ",
            "GET /prompt ",
            "GET /queue ",
            "GET /ws -> 101",
        ] {
            assert!(
                lines.iter().any(|l| l.contains(route)),
                "{how}: no {route} in {lines:?}"
            );
        }
        for line in &lines {
            assert!(
                line.ends_with(&format!(" token={how} origin=no")),
                "{how}: {line}"
            );
        }
    }
}

#[test]
fn watch_keeps_the_token_out_of_ndjson_metrics_hooks_and_webhooks() {
    let mock = protected();
    let hook = StubServer::start("127.0.0.1", OK_EMPTY.into());
    let dir = crate::fleet::scratch_dir("token-hook");
    let log = dir.join("changes.log");
    let env_dump = dir.join("env");
    let script = crate::fleet::hook_script(&dir, &log, &format!("env >> '{}'", env_dump.display()));
    // Both ways at once: the query, and the bearer from the environment
    // (which the hook must not inherit).
    let mut cmd = comfyctl_std();
    cmd.args(["watch", "--json", "--url", &with_query(&mock)])
        .args(["--interval", "200ms", "--metrics", "127.0.0.1:0"])
        .arg("--on-change")
        .arg(&script)
        .args(["--webhook", &format!("{}/hook", hook.url())])
        .env("COMFYCTL_TOKEN", SECRET);
    let mut w = Proc::spawn(cmd);
    wait_state(&mut w, "connected");
    // A job submitted right away: its line needs /api/jobs?…&token= to work.
    assert_eq!(
        http_post(
            mock.port(),
            "/__mock/job?outcome=completed&ms=100&count=1",
            ""
        ),
        200
    );
    w.wait_line(|l| l.contains("\"event\":\"job\""), WAIT)
        .unwrap_or_else(|| panic!("no job line: {:?}\n{}", w.lines_so_far(), w.stderr()));
    let (code, metrics) = http_get(metrics_port(&w), "/metrics");
    assert_eq!(code, 200);
    assert!(metrics.contains("comfyui_up{"), "{metrics}");
    assert_no_secret("metrics", &metrics);
    let mut hook_log = String::new();
    assert!(poll_until(WAIT, || {
        hook_log = std::fs::read_to_string(&log).unwrap_or_default();
        hook_log.contains("connected|")
    }));
    assert!(poll_until(WAIT, || hook
        .json_bodies()
        .iter()
        .any(|b| b["state"] == "connected")));
    let events = finish(&mut w);
    let shown = format!("{}/?token=…", mock.url());
    assert!(
        events.iter().all(|e| e["url"] == shown.as_str()),
        "{events:?}"
    );
    assert_no_secret("NDJSON", &w.lines_so_far().join("\n"));
    assert_no_secret("watch stderr", &w.stderr());
    assert_no_secret("hook log", &hook_log);
    assert_no_secret("hook env", &std::fs::read_to_string(&env_dump).unwrap());
    let bodies: Vec<Value> = hook.json_bodies();
    assert_no_secret("webhook bodies", &serde_json::to_string(&bodies).unwrap());
    let lines = logged(&mock);
    assert!(
        lines.iter().any(|l| l.contains("GET /ws -> 101")),
        "{lines:?}"
    );
    for line in &lines {
        assert!(line.ends_with(" token=query+bearer origin=no"), "{line}");
    }
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn bad_urls_with_a_token_are_refused_without_it() {
    for url in [
        format!("ftp://127.0.0.1:1/?token={SECRET}"),
        format!("http://127.0.0.1:99999/?token={SECRET}"),
        format!("http://127.0.0.1:1/?token={SECRET}#x"),
        format!("::1:8188/?token={SECRET}"),
    ] {
        let out = comfyctl().args(["health", "--url", &url]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}: {}", all_output(&out));
        assert_no_secret(&url, &all_output(&out));
    }
    let out = comfyctl()
        .args([
            "health",
            "--url",
            "http://127.0.0.1:1",
            "--token",
            "bad token",
        ])
        .env("COMFYCTL_TOKEN", "ignored")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", all_output(&out));
    assert!(
        !all_output(&out).contains("bad token"),
        "{}",
        all_output(&out)
    );
    let out = comfyctl()
        .args(["health", "--help"])
        .env("COMFYCTL_TOKEN", SECRET)
        .output()
        .unwrap();
    let help = all_output(&out);
    assert!(help.contains("COMFYCTL_TOKEN"), "{help}");
    assert_no_secret("--help", &help);
}

#[test]
fn an_explicit_header_wins_over_the_token_which_wins_over_url_credentials() {
    let mock = protected();
    // -H Authorization wins: its wrong bearer is refused, with a note.
    let out = comfyctl()
        .args(["health", "--json", "--url", &mock.url(), "--token", SECRET])
        .args(["-H", "Authorization: Bearer wrong"])
        .output()
        .unwrap();
    assert_no_secret("-H and --token", &all_output(&out));
    assert_eq!(
        json(&out.stdout)["error"]["status"],
        403,
        "{}",
        all_output(&out)
    );
    let error = json(&out.stdout)["error"]["message"].to_string();
    assert!(error.contains("a wrong token or credentials?"), "{error}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("note: --token is not sent: -H Authorization wins"),
        "{stderr}"
    );
    // --token wins over user:password, with a note that names neither.
    let url = format!("http://alice:pw-SECRET@127.0.0.1:{}", mock.port());
    let out = comfyctl()
        .args(["health", "--json", "--url", &url, "--token", SECRET])
        .output()
        .unwrap();
    let text = all_output(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        text.contains("is not sent: --token wins over URL credentials"),
        "{text}"
    );
    for secret in [SECRET, "alice", "pw-SECRET"] {
        assert!(!text.contains(secret), "{text}");
    }
    // Two URLs that differ only in the query are one server, with a note.
    let out = comfyctl()
        .args(["health", "--json", "--url", &with_query(&mock)])
        .args(["--url", &format!("{}?token=other", mock.url())])
        .output()
        .unwrap();
    let text = all_output(&out);
    assert_no_secret("two queries", &text);
    assert!(!text.contains("other"), "{text}");
    assert!(
        text.contains("different query (token); only the first is used"),
        "{text}"
    );
    assert_eq!(
        json(&out.stdout).as_array().map(Vec::len),
        Some(1),
        "{text}"
    );
}
