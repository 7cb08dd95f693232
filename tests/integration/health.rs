//! `comfyctl health` against real mock processes.

use predicates::prelude::*;

use crate::support::{MockServer, RefusedPort};
use crate::util::{all_output, comfyctl, http_get, json};

#[test]
fn health_up_reports_what_the_server_served() {
    let mock = MockServer::start(&["--version", "9.8.7", "--queue", "3"]);
    let out = comfyctl()
        .args(["health", "--json", "--url", &mock.url()])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let status = json(&out.stdout);
    let (code, body) = http_get(mock.port(), "/system_stats");
    assert_eq!(code, 200);
    let served: serde_json::Value = serde_json::from_str(&body).unwrap();

    assert_eq!(status["available"], true);
    assert_eq!(status["url"], mock.url());
    assert_eq!(status["version"], "9.8.7");
    assert_eq!(status["version"], served["system"]["comfyui_version"]);
    assert_eq!(status["queue_remaining"], 3);
    assert_eq!(status["queue_running"], 1);
    assert_eq!(status["queue_pending"], 2);
    assert_eq!(status["ram_total"], served["system"]["ram_total"]);
    assert_eq!(status["python_version"], served["system"]["python_version"]);
    assert_eq!(
        status["pytorch_version"],
        served["system"]["pytorch_version"]
    );
    let device = &status["devices"][0];
    assert_eq!(device["name"], served["devices"][0]["name"]);
    assert_eq!(device["type"], served["devices"][0]["type"]);
    assert_eq!(device["vram_total"], served["devices"][0]["vram_total"]);
    assert!(status["latency_ms"].as_f64().unwrap() > 0.0);
    assert!(status["error"].is_null());
    assert!(status["fallback"].is_null());
    for readiness in [
        "cors_enabled",
        "models_ready",
        "workflows_ready",
        "fully_ready",
    ] {
        assert!(status[readiness].is_null(), "{readiness} must be null");
    }
    let last_check = status["last_check"].as_str().unwrap();
    assert!(humantime::parse_rfc3339(last_check).is_ok(), "{last_check}");
}

#[test]
fn health_human_block_shows_state_version_queue_devices_latency() {
    let mock = MockServer::start(&["--queue", "2"]);
    comfyctl()
        .args(["health", "--url", &mock.url()])
        .assert()
        .code(0)
        .stdout(
            predicate::str::contains("available")
                .and(predicate::str::contains("ComfyUI 0.3.64"))
                .and(predicate::str::contains(
                    "2 remaining · 1 running · 1 pending",
                ))
                .and(predicate::str::contains("VRAM"))
                .and(predicate::str::contains(" ms"))
                .and(predicate::str::contains("\x1b[").not()),
        );
}

#[test]
fn health_down_exits_1_with_refused_and_fallback_warning() {
    let refused = RefusedPort::new();
    let port = refused.port();
    let out = comfyctl()
        .args(["health", "--json", "--fallback", "skip", "--url"])
        .arg(format!("127.0.0.1:{port}"))
        .assert()
        .code(1)
        .stderr(predicate::str::contains("fallback=skip: skip generation"))
        .get_output()
        .clone();
    let status = json(&out.stdout);
    assert_eq!(status["available"], false);
    assert_eq!(status["error"]["kind"], "connection_refused");
    assert_eq!(status["fallback"], "skip");
}

#[test]
fn health_against_an_html_proxy_page_is_not_comfyui() {
    let mock = MockServer::start(&["--html"]);
    let out = comfyctl()
        .args(["health", "--json", "--url", &mock.url()])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let status = json(&out.stdout);
    assert_eq!(status["error"]["kind"], "not_comfyui");
    assert!(
        status["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not ComfyUI"),
        "{status}"
    );
    assert_eq!(status["error"]["status"], 502);
    comfyctl()
        .args(["health", "--url", &mock.url()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("not ComfyUI"));
}

#[test]
fn health_against_garbage_json_is_not_comfyui() {
    let mock = MockServer::start(&["--garbage-json"]);
    comfyctl()
        .args(["health", "--url", &mock.url()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("not ComfyUI"));
}

#[test]
fn health_quiet_prints_nothing() {
    let mock = MockServer::start(&[]);
    let refused = RefusedPort::new();
    comfyctl()
        .args(["health", "-q", "--url", &mock.url()])
        .assert()
        .code(0)
        .stdout("")
        .stderr("");
    comfyctl()
        .args(["health", "-q", "--url"])
        .arg(refused.addr())
        .assert()
        .code(1)
        .stdout("")
        .stderr("");
}

#[test]
fn url_from_env_and_path_prefix_under_api() {
    let mock = MockServer::start(&[]);
    comfyctl()
        .args(["health", "-q"])
        .env("COMFYUI_URL", format!("{}/api", mock.url()))
        .assert()
        .code(0);
}

#[test]
fn credentials_never_appear_in_output() {
    let mock = MockServer::start(&[]);
    let url = format!("http://alice:hunter2@127.0.0.1:{}", mock.port());
    for extra in [&["--json"][..], &[][..]] {
        let out = comfyctl()
            .args([
                "health",
                "--url",
                &url,
                "-H",
                "Authorization: Bearer tok-SECRET",
            ])
            .args(extra)
            .assert()
            .code(0)
            .get_output()
            .clone();
        let text = all_output(&out);
        assert!(
            !text.contains("hunter2") && !text.contains("alice"),
            "{text}"
        );
        assert!(!text.contains("tok-SECRET"), "{text}");
        assert!(text.contains("***@127.0.0.1"), "{text}");
    }
    // And when the server is down, the error path redacts too.
    let refused = RefusedPort::new();
    let down = format!("http://alice:hunter2@127.0.0.1:{}", refused.port());
    let out = comfyctl()
        .args([
            "connect",
            "--retries",
            "0",
            "--url",
            &down,
            "-H",
            "X-Key: tok-SECRET",
        ])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let text = all_output(&out);
    assert!(
        !text.contains("hunter2") && !text.contains("tok-SECRET"),
        "{text}"
    );
}

#[test]
fn discovery_picks_the_candidate_that_answers_like_comfyui() {
    let mock = MockServer::start(&[]);
    let refused = RefusedPort::new();
    let dead = comfyctl::manager::Target::parse(&refused.addr()).unwrap();
    let live = comfyctl::manager::Target::parse(&mock.url()).unwrap();
    let http = comfyctl::manager::HttpClient::new(&comfyctl::manager::ClientSettings::default());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let found = rt.block_on(comfyctl::manager::discover(
        &http,
        &[dead.clone(), live.clone()],
    ));
    assert_eq!(found, Some(live));
    let none = rt.block_on(comfyctl::manager::discover(&http, &[dead]));
    assert_eq!(none, None);
}

#[test]
fn a_body_that_never_finishes_runs_into_the_timeout_and_says_it_stalled() {
    let mock = MockServer::start(&["--slow-body"]);
    let out = comfyctl()
        .args(["health", "--json", "--timeout", "1s", "--url", &mock.url()])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let status = json(&out.stdout);
    assert_eq!(status["error"]["kind"], "timeout", "{status}");
    let message = status["error"]["message"].as_str().unwrap();
    assert!(message.contains("body stalled"), "{message}");
}

#[test]
fn a_huge_body_is_cut_off_at_the_cap() {
    let mock = MockServer::start(&["--huge-body", "64"]);
    let out = comfyctl()
        .args(["health", "--json", "--url", &mock.url()])
        .assert()
        .code(1)
        .get_output()
        .clone();
    let status = json(&out.stdout);
    assert_eq!(status["error"]["kind"], "not_comfyui", "{status}");
    assert!(
        status["error"]["message"]
            .as_str()
            .unwrap()
            .contains("larger than")
    );
}

#[test]
fn ctrl_c_exits_130() {
    // A server that accepts and never answers: once it has our connection,
    // comfyctl is running and its signal handlers are installed.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let mut cmd = crate::util::comfyctl_std();
    cmd.args(["health", "--timeout", "60s", "--url"])
        .arg(format!("127.0.0.1:{port}"));
    let mut proc = crate::support::Proc::spawn(cmd);
    let mut held = Vec::new();
    assert!(crate::support::poll_until(
        std::time::Duration::from_secs(30),
        || match listener.accept() {
            Ok((s, _)) => {
                held.push(s);
                true
            }
            Err(_) => false,
        }
    ));
    proc.signal(libc::SIGINT);
    let status = proc
        .wait_exit(std::time::Duration::from_secs(30))
        .expect("exits");
    assert_eq!(status.code(), Some(130));
    assert!(proc.stderr().contains("interrupted"));
}
