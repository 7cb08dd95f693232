//! Why jobs fail, and the memory of every device: the mock fails jobs with
//! an OOM, a missing checkpoint and a plain exception; `watch --json`,
//! `/metrics` and `health --json` name the cause; the memory gauges come
//! from the polls `watch` already makes.

use std::time::Duration;

use serde_json::Value;

use crate::support::external::{Prometheus, TempDir, require};
use crate::support::{MockServer, Proc, poll_until};
use crate::util::{
    comfyctl, finish, http_get, http_post, parse_line, poll_scrape, wait_state, watch_cmd,
};

const WAIT: Duration = Duration::from_secs(30);

fn fixture(name: &str) -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/");
    serde_json::from_str(&std::fs::read_to_string(format!("{path}{name}")).unwrap()).unwrap()
}

fn post(mock: &MockServer, query: &str) {
    let path = format!("/__mock/job?{query}");
    assert_eq!(http_post(mock.port(), &path, ""), 200, "{path}");
}

fn watch_metrics(url: &str) -> (Proc, u16) {
    let w = Proc::spawn(watch_cmd(
        "200ms",
        &["--metrics", "127.0.0.1:0", "--url", url],
    ));
    let port = crate::util::metrics_port(&w);
    (w, port)
}

/// The value of the first series of `name` whose line holds every label.
fn sample(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines().find_map(|l| {
        let (series, value) = l.rsplit_once(' ')?;
        let rest = series.strip_prefix(name)?;
        (rest.starts_with('{') && labels.iter().all(|want| rest.contains(want)))
            .then(|| value.parse().ok())?
    })
}

#[test]
fn failed_jobs_carry_their_cause_on_lines_metrics_and_health() {
    let mock = MockServer::start(&["--version", "0.33.0"]);
    let (mut w, port) = watch_metrics(&mock.url());
    let target = format!("target=\"{}\"", mock.url());
    // Every reason at 0 from the first scrape, before any job.
    let first = http_get(port, "/metrics").1;
    for reason in ["oom", "missing_file", "exception"] {
        let r = format!("reason=\"{reason}\"");
        assert_eq!(
            sample(&first, "comfyui_job_failures_total", &[&target, &r]),
            Some(0.0),
            "{reason}: {first}"
        );
    }
    wait_state(&mut w, "connected");
    // Right away, as a user would; the newest failure is the OOM.
    for query in [
        "outcome=failed&ms=300",
        "outcome=cancelled&ms=300",
        "outcome=failed&error=missing_file&ms=300",
        "outcome=failed&error=oom&ms=300",
    ] {
        post(&mock, query);
    }
    let mut jobs = Vec::new();
    for _ in 0..4 {
        let line = w
            .wait_line(|l| l.contains("\"event\":\"job\""), WAIT)
            .unwrap_or_else(|| panic!("{}\n{}", w.lines_so_far().join("\n"), w.stderr()));
        jobs.push(parse_line(&line));
    }
    let reason_of = |exception_type: &str| -> Value {
        jobs.iter()
            .find(|j| j["error"]["exception_type"] == exception_type)
            .map(|j| j["reason"].clone())
            .unwrap_or_else(|| panic!("no {exception_type} job: {jobs:?}"))
    };
    assert_eq!(reason_of("torch.OutOfMemoryError"), "oom");
    assert_eq!(reason_of("FileNotFoundError"), "missing_file");
    assert_eq!(reason_of("Exception"), "exception");
    let cancelled = jobs.iter().find(|j| j["status"] == "cancelled").unwrap();
    assert_eq!(cancelled["reason"], "cancelled");
    // The OOM line keeps only the first line of the message; the tip that
    // also tells it is an OOM stays out.
    let oom = jobs.iter().find(|j| j["reason"] == "oom").unwrap();
    assert_eq!(oom["error"]["message"], "Allocation on device");
    assert!(oom["error"].get("reason").is_none() && oom["error"].get("cause").is_none());
    // The mock's errors have the captured `execution_error`'s keys.
    let captured = fixture("comfyui-0.33/api_job_C_failed_detail.json");
    let keys = |v: &Value| -> Vec<String> {
        let mut k: Vec<String> = v["execution_error"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        k.sort();
        k
    };
    for job in jobs.iter().filter(|j| j["status"] == "failed") {
        let path = format!("/api/jobs/{}", job["id"].as_str().unwrap());
        let detail: Value = serde_json::from_str(&http_get(mock.port(), &path).1).unwrap();
        assert_eq!(keys(&detail), keys(&captured), "{detail}");
    }

    let text = poll_scrape(port, |t| {
        ["oom", "missing_file", "exception"].iter().all(|r| {
            let r = format!("reason=\"{r}\"");
            sample(t, "comfyui_job_failures_total", &[&target, &r]) == Some(1.0)
        })
    });
    let failed = sample(&text, "comfyui_jobs_total", &[&target, "status=\"failed\""]);
    assert_eq!(failed, Some(3.0), "{text}");

    let out = comfyctl()
        .args(["--url", &mock.url(), "health", "--json"])
        .output()
        .unwrap();
    let report = crate::util::json(&out.stdout);
    let last = &report["jobs"]["last_failure"];
    assert_eq!(last["reason"], "oom", "{report}");
    assert_eq!(last["error"]["exception_type"], "torch.OutOfMemoryError");
    // The human line names the cause too.
    let out = comfyctl()
        .args(["--url", &mock.url(), "health"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("failed (oom)"), "{said}");
    finish(&mut w);
}

#[test]
fn memory_gauges_per_device_come_from_the_polls_already_made() {
    let mock = MockServer::start(&["--version", "0.33.0"]);
    let served: Value = serde_json::from_str(&http_get(mock.port(), "/system_stats").1).unwrap();
    let (mut w, port) = watch_metrics(&mock.url());
    wait_state(&mut w, "connected");
    let target = format!("target=\"{}\"", mock.url());
    let text = poll_scrape(port, |t| t.contains("comfyui_device_vram_free_bytes{"));
    let device = &served["devices"][0];
    let labels = [
        target.as_str(),
        &format!("device=\"{}\"", device["name"].as_str().unwrap()),
        &format!("type=\"{}\"", device["type"].as_str().unwrap()),
    ];
    for (name, key) in [
        ("comfyui_device_vram_total_bytes", "vram_total"),
        ("comfyui_device_vram_free_bytes", "vram_free"),
        ("comfyui_device_torch_vram_free_bytes", "torch_vram_free"),
    ] {
        assert_eq!(
            sample(&text, name, &labels),
            device[key].as_f64(),
            "{name}: {text}"
        );
    }
    for (name, key) in [
        ("comfyui_ram_total_bytes", "ram_total"),
        ("comfyui_ram_free_bytes", "ram_free"),
    ] {
        assert_eq!(
            sample(&text, name, &[&target]),
            served["system"][key].as_f64(),
            "{name}: {text}"
        );
    }
    // No extra request: one /system_stats per poll, metrics or not. Two
    // scrapes later the mock has served no more of them than polls made.
    let stats = |m: &MockServer| -> u64 {
        let (_, body) = http_get(m.port(), "/__mock/requests");
        serde_json::from_str::<Value>(&body).unwrap()["system_stats"]
            .as_u64()
            .unwrap()
    };
    let before = stats(&mock);
    for _ in 0..5 {
        http_get(port, "/metrics");
    }
    assert!(stats(&mock) <= before + 2, "scrapes caused requests");
    finish(&mut w);
}

#[test]
fn the_dashboard_repeats_a_memory_panel_per_device_and_splits_failures() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/grafana/comfyctl.json");
    let dashboard: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    let exprs = |p: &Value| -> String {
        p["targets"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t["expr"].as_str())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let per_device = panels
        .iter()
        .find(|p| p["repeat"] == "device")
        .expect("a panel repeated by device");
    for name in [
        "comfyui_device_vram_free_bytes",
        "comfyui_device_torch_vram_free_bytes",
        "comfyui_device_vram_total_bytes",
    ] {
        assert!(exprs(per_device).contains(name), "{name}");
    }
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    assert!(variables.iter().any(|v| v["name"] == "device"));
    assert!(
        panels
            .iter()
            .any(|p| exprs(p).contains("comfyui_job_failures_total")),
        "no panel splits failures by reason"
    );
}

/// A real Prometheus scraping `watch --metrics` each second, with the
/// shipped rules: two OOMs right after a start fire `ComfyUIRepeatedOOM`
/// (the oom series was served at 0 before them).
#[test]
fn prometheus_fires_repeated_oom_on_the_first_ooms_after_a_start() {
    let Some(prometheus) = require("prometheus") else {
        return;
    };
    let dir = TempDir::new("prom-oom");
    let mock = MockServer::start(&["--version", "0.33.0"]);
    let (mut w, port) = watch_metrics(&mock.url());
    wait_state(&mut w, "connected");
    let rules = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/prometheus/comfyctl.rules.yml"
    );
    let config =
        Prometheus::scrape_config(std::path::Path::new(rules), &format!("127.0.0.1:{port}"));
    let prom = Prometheus::start(&prometheus, &dir, &config);
    let oom = r#"comfyui_job_failures_total{reason="oom"}"#;
    let value =
        |q: &str| -> Option<f64> { prom.query(q).first()?["value"][1].as_str()?.parse().ok() };
    assert!(
        poll_until(WAIT, || value(oom) == Some(0.0)),
        "no oom series at 0: {:?}",
        prom.query("comfyui_job_failures_total")
    );
    post(&mock, "outcome=failed&error=oom&count=2");
    let mut alerts = Vec::new();
    let firing = poll_until(WAIT, || {
        alerts = prom.alerts();
        alerts
            .iter()
            .any(|a| a["labels"]["alertname"] == "ComfyUIRepeatedOOM" && a["state"] == "firing")
    });
    assert!(
        firing,
        "ComfyUIRepeatedOOM never fired: {alerts:?}; {:?}",
        prom.query("comfyui_job_failures_total")
    );
    finish(&mut w);
}
