//! Real neighbours: a real Prometheus scrapes `watch --metrics` and
//! evaluates the shipped rules, promtool checks the rules and a scrape, a
//! real nginx with TLS, basic auth and a path prefix fronts the mock, and
//! the deploy files are checked. Without prometheus/nginx the tests skip
//! (with `CI` set they fail); `.ci/run` installs them.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::external::{
    Certs, Nginx, Prometheus, TempDir, htpasswd_line, make_certs, require, run_ok,
};
use crate::support::http::try_get as get;
use crate::support::{MockServer, Proc, poll_until, proc};
use crate::util::{WATCH_WAIT, comfyctl, comfyctl_std, json, parse_line, wait_state};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Long enough for a loaded 2-core machine; every wait polls.
const PROM_WAIT: Duration = Duration::from_secs(30);

/// `watch --json --metrics 127.0.0.1:0` on `url`; returns it with the
/// metrics address it printed on stderr.
fn watch_with_metrics(url: &str, extra: &[&str]) -> (Proc, String) {
    let mut cmd = comfyctl_std();
    cmd.args(["watch", "--json", "--interval", "250ms", "--url", url])
        .args(["--metrics", "127.0.0.1:0"])
        .args(extra);
    let proc = Proc::spawn(cmd);
    let addr = crate::util::metrics_addr(&proc).to_string();
    (proc, addr)
}

fn scrape(addr: &str) -> String {
    let port = addr.rsplit(':').next().unwrap().parse().unwrap();
    let (status, body) = get(port, "/metrics").expect("scrape /metrics");
    assert_eq!(status, 200, "{body}");
    body
}

/// Metric names that have samples in a classic-format scrape.
fn sample_names(scrape: &str) -> BTreeSet<String> {
    scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(String::from)
        .collect()
}

/// The shipped rules with every `for:` shortened, so a test sees alerts
/// fire within seconds.
fn rules_test_copy(dir: &TempDir) -> PathBuf {
    let rules = std::fs::read_to_string(repo("deploy/prometheus/comfyctl.rules.yml")).unwrap();
    let short: String = rules
        .lines()
        .map(|l| match l.split_once("for: ") {
            Some((indent, _)) if indent.trim().is_empty() => format!("{indent}for: 1s"),
            _ => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(short, rules, "the rules have `for:` clauses to shorten");
    dir.write("rules.yml", &short)
}

fn value_of(result: &[Value]) -> Option<f64> {
    result.first()?["value"][1].as_str()?.parse().ok()
}

/// The state Prometheus last scraped as 1, if exactly one is.
fn scraped_state(prom: &Prometheus) -> Option<String> {
    let result = prom.query("comfyui_state == 1");
    if result.len() != 1 {
        return None;
    }
    result[0]["metric"]["state"].as_str().map(String::from)
}

fn ndjson_states(p: &mut Proc) -> BTreeSet<String> {
    p.lines_so_far()
        .iter()
        .map(|l| parse_line(l))
        .filter(|v| v["event"] == "state")
        .filter_map(|v| v["state"].as_str().map(String::from))
        .collect()
}

#[test]
fn prometheus_scrapes_watch_and_fires_the_down_alert() {
    let Some(prometheus) = require("prometheus") else {
        return;
    };
    let Some(promtool) = require("promtool") else {
        return;
    };
    let dir = TempDir::new("prom");
    let mut mock = MockServer::start(&[]);
    let (mut watch, addr) = watch_with_metrics(&mock.url(), &[]);
    wait_state(&mut watch, "connected");
    let rules = rules_test_copy(&dir);
    let config = Prometheus::scrape_config(&rules, &addr);
    let prom = Prometheus::start(&prometheus, &dir, &config);

    let up = |want: f64| {
        poll_until(PROM_WAIT, || {
            value_of(&prom.query("comfyui_up")) == Some(want)
        })
    };
    assert!(
        up(1.0),
        "comfyui_up never 1: {:?}",
        prom.query("comfyui_up")
    );
    assert!(
        poll_until(PROM_WAIT, || scraped_state(&prom).as_deref()
            == Some("connected")),
        "state: {:?}",
        prom.query("comfyui_state")
    );
    let target = prom.query("comfyui_up")[0]["metric"]["target"].clone();
    assert_eq!(target, Value::from(mock.url()), "labelled by target");

    mock.kill_with(libc::SIGKILL);
    wait_state(&mut watch, "disconnected");
    assert!(
        up(0.0),
        "comfyui_up never 0: {:?}",
        prom.query("comfyui_up")
    );
    let down_state = scraped_state(&prom).expect("one state is 1 while down");
    assert!(
        ndjson_states(&mut watch).contains(&down_state),
        "Prometheus saw '{down_state}', which the NDJSON never reported"
    );
    // The shipped ComfyUIDown rule (with `for:` shortened) fires.
    let mut alerts = Vec::new();
    let firing = poll_until(PROM_WAIT, || {
        alerts = prom.alerts();
        alerts
            .iter()
            .any(|a| a["labels"]["alertname"] == "ComfyUIDown" && a["state"] == "firing")
    });
    assert!(firing, "ComfyUIDown never fired: {alerts:?}");
    let alert = alerts
        .iter()
        .find(|a| a["labels"]["alertname"] == "ComfyUIDown")
        .unwrap();
    assert_eq!(alert["labels"]["target"], target);
    assert_eq!(alert["labels"]["severity"], "page");

    mock.restart();
    wait_state(&mut watch, "connected");
    assert!(up(1.0), "comfyui_up not back to 1");
    assert!(poll_until(PROM_WAIT, || scraped_state(&prom).as_deref()
        == Some("connected")));
    // Every state Prometheus ever scraped as current was reported in the
    // NDJSON too (and the outage was seen by both).
    let seen: BTreeSet<String> = prom
        .query("max_over_time(comfyui_state[10m]) == 1")
        .iter()
        .filter_map(|r| r["metric"]["state"].as_str().map(String::from))
        .collect();
    let reported = ndjson_states(&mut watch);
    assert!(seen.is_subset(&reported), "{seen:?} vs NDJSON {reported:?}");
    assert!(seen.contains("connected") && seen.len() >= 2, "{seen:?}");
    assert!(poll_until(PROM_WAIT, || {
        prom.alerts()
            .iter()
            .all(|a| a["labels"]["alertname"] != "ComfyUIDown")
    }));

    // A real scrape, now with a reconnect counted, passes promtool's lint.
    let body = scrape(&addr);
    assert!(body.contains("comfyui_reconnects_total"), "{body}");
    check_metrics(&promtool, &body);
}

fn check_metrics(promtool: &Path, body: &str) {
    let out = proc::output(
        Command::new(promtool).args(["check", "metrics"]),
        Some(body.as_bytes()),
        proc::TOOL_LIMIT,
    )
    .expect("run promtool");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "promtool check metrics: {said}\n{body}"
    );
}

#[test]
fn shipped_rules_pass_promtool_check_and_unit_tests() {
    let Some(promtool) = require("promtool") else {
        return;
    };
    let out = run_ok(
        Command::new(&promtool)
            .args(["check", "rules"])
            .arg(repo("deploy/prometheus/comfyctl.rules.yml")),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("SUCCESS"));
    let out = run_ok(
        Command::new(&promtool)
            .args(["test", "rules", "comfyctl.rules.test.yml"])
            .current_dir(repo("deploy/prometheus")),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("SUCCESS"));
    // Every alert in the rules has a unit test that expects it to fire.
    let rules = std::fs::read_to_string(repo("deploy/prometheus/comfyctl.rules.yml")).unwrap();
    let tests = std::fs::read_to_string(repo("deploy/prometheus/comfyctl.rules.test.yml")).unwrap();
    for alert in rules
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- alert: "))
    {
        assert!(
            tests.contains(&format!(
                "alertname: {alert}\n        exp_alerts:\n          -"
            )),
            "no firing test for {alert}"
        );
    }
}

/// The README's fenced YAML block that starts with `# NAME`.
fn readme_yaml(name: &str) -> String {
    let readme = std::fs::read_to_string(repo("README.md")).unwrap();
    let start = readme
        .find(&format!("```yaml\n# {name}\n"))
        .unwrap_or_else(|| panic!("no ```yaml block for {name} in the README"));
    let body = &readme[start + "```yaml\n".len()..];
    body[..body.find("```").unwrap()].to_string()
}

/// `alert name → summary` of a rules file, read line by line.
fn summaries(rules: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut alert = None;
    for line in rules.lines().map(str::trim) {
        if let Some(name) = line.strip_prefix("- alert: ") {
            alert = Some(name.to_string());
        } else if let (Some(summary), Some(name)) = (line.strip_prefix("summary: "), &alert) {
            found.push((name.clone(), summary.to_string()));
        }
    }
    found
}

#[test]
fn readme_prometheus_example_is_a_config_and_a_rules_file_that_promtool_accepts() {
    let Some(promtool) = require("promtool") else {
        return;
    };
    let dir = TempDir::new("readme-prom");
    let rules = readme_yaml("comfyctl.rules.yml");
    let config = readme_yaml("prometheus.yml");
    assert!(!config.contains("groups:") && rules.contains("groups:"));
    dir.write("comfyctl.rules.yml", &rules);
    let config = dir.write("prometheus.yml", &config);
    // check config also checks the rule files it names.
    let out = run_ok(
        Command::new(&promtool)
            .args(["check", "config"])
            .arg(&config),
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("SUCCESS"));
    // The README shows the shipped rules, summaries and all.
    let shipped =
        summaries(&std::fs::read_to_string(repo("deploy/prometheus/comfyctl.rules.yml")).unwrap());
    let shown = summaries(&rules);
    assert!(shown.len() >= 3, "{shown:?}");
    for pair in &shown {
        assert!(
            shipped.contains(pair),
            "README {pair:?} is not shipped: {shipped:?}"
        );
    }
}

#[test]
fn watch_help_says_which_format_metrics_are_served_in() {
    let out = comfyctl().args(["watch", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let metrics = help
        .split("--metrics <ADDR>")
        .nth(1)
        .and_then(|rest| rest.split("\n      --").next())
        .unwrap_or_else(|| panic!("no --metrics in: {help}"));
    assert!(
        metrics.contains("OpenMetrics") && metrics.contains("classic"),
        "{metrics}"
    );
}

#[test]
fn a_plain_scrape_passes_promtool_check_metrics() {
    let Some(promtool) = require("promtool") else {
        return;
    };
    let mock = MockServer::start(&[]);
    let (mut watch, addr) = watch_with_metrics(&mock.url(), &[]);
    wait_state(&mut watch, "connected");
    let mut body = String::new();
    poll_until(WATCH_WAIT, || {
        body = scrape(&addr);
        body.contains("comfyui_probe_latency_seconds_bucket")
    });
    assert!(!body.contains("# EOF"), "curl gets the classic format");
    check_metrics(&promtool, &body);
}

/// Every `comfyui_*` name the dashboard queries.
fn dashboard_metric_names() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo("deploy/grafana/comfyctl.json")).unwrap();
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is valid JSON");
    let mut exprs = Vec::new();
    fn walk(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "expr" {
                        out.extend(v.as_str().map(String::from));
                    } else {
                        walk(v, out);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, out)),
            _ => {}
        }
    }
    walk(&dashboard, &mut exprs);
    assert!(exprs.len() >= 6, "too few queries: {exprs:?}");
    let mut names = BTreeSet::new();
    for expr in &exprs {
        let bytes = expr.as_bytes();
        let mut i = 0;
        while let Some(at) = expr[i..].find("comfyui_") {
            let start = i + at;
            let mut end = start;
            while end < bytes.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
                end += 1;
            }
            names.insert(expr[start..end].to_string());
            i = end;
        }
    }
    names
}

#[test]
fn grafana_dashboard_queries_only_metrics_a_real_scrape_has() {
    let names = dashboard_metric_names();
    for want in [
        "comfyui_up",
        "comfyui_queue_remaining",
        "comfyui_reconnects_total",
    ] {
        assert!(names.contains(want), "dashboard lacks {want}: {names:?}");
    }
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("comfyui_probe_latency_seconds"))
    );
    for job in [
        "comfyui_jobs_total",
        "comfyui_job_duration_seconds_bucket",
        "comfyui_running_job_age_seconds",
        "comfyui_last_job_failure_timestamp_seconds",
    ] {
        assert!(names.contains(job), "dashboard lacks {job}: {names:?}");
    }
    // A fresh scrape: right after `connected`, no outage, no job yet.
    let mock = MockServer::start(&[]);
    let (mut watch, addr) = watch_with_metrics(&mock.url(), &[]);
    wait_state(&mut watch, "connected");
    let have = sample_names(&scrape(&addr));
    let missing: Vec<&String> = names.iter().filter(|n| !have.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "dashboard queries metrics a fresh scrape lacks: {missing:?}; scrape has {have:?}"
    );
}

/// The value of the first `name` series whose labels include all of
/// `labels` (in any order) in a classic-format scrape.
fn sample(scrape: &str, name: &str, labels: &[&str]) -> Option<f64> {
    scrape.lines().find_map(|l| {
        let (series, value) = l.rsplit_once(' ')?;
        let rest = series.strip_prefix(name)?;
        let ours = rest.is_empty() || rest.starts_with('{');
        (ours && labels.iter().all(|want| rest.contains(want))).then(|| value.parse().ok())?
    })
}

#[test]
fn a_fresh_scrape_has_every_job_series_at_zero() {
    let mock = MockServer::start(&[]);
    let (mut watch, addr) = watch_with_metrics(&mock.url(), &[]);
    wait_state(&mut watch, "connected");
    let body = scrape(&addr);
    for status in ["completed", "failed", "cancelled"] {
        let label = format!("status=\"{status}\"");
        assert_eq!(
            sample(&body, "comfyui_jobs_total", &[&label]),
            Some(0.0),
            "{status}: {body}"
        );
    }
    for name in [
        "comfyui_job_duration_seconds_count",
        "comfyui_job_queue_wait_seconds_count",
        "comfyui_running_job_age_seconds",
        // Never failed: 0, documented.
        "comfyui_last_job_failure_timestamp_seconds",
    ] {
        assert_eq!(sample(&body, name, &[]), Some(0.0), "{name}: {body}");
    }
}

#[test]
fn prometheus_fires_the_failure_burst_on_the_first_failures_after_a_start() {
    let Some(prometheus) = require("prometheus") else {
        return;
    };
    let dir = TempDir::new("prom-burst");
    let mock = MockServer::start(&[]);
    let (mut watch, addr) = watch_with_metrics(&mock.url(), &[]);
    wait_state(&mut watch, "connected");
    let rules = rules_test_copy(&dir);
    let config = Prometheus::scrape_config(&rules, &addr);
    let prom = Prometheus::start(&prometheus, &dir, &config);
    // Prometheus has scraped the monitor once (it cannot know of failures
    // before that); the failed series is there, at 0.
    let failed = r#"comfyui_jobs_total{status="failed"}"#;
    assert!(
        poll_until(PROM_WAIT, || value_of(&prom.query(failed)) == Some(0.0)),
        "no failed series at 0: {:?}",
        prom.query("comfyui_jobs_total")
    );
    // Three failures at once, within one scrape interval.
    crate::util::http_post(mock.port(), "/__mock/job?outcome=failed&count=3", "");
    let mut alerts = Vec::new();
    let firing = poll_until(PROM_WAIT, || {
        alerts = prom.alerts();
        alerts
            .iter()
            .any(|a| a["labels"]["alertname"] == "ComfyUIJobFailureBurst" && a["state"] == "firing")
    });
    assert!(
        firing,
        "ComfyUIJobFailureBurst never fired: {alerts:?}; {:?}",
        prom.query("comfyui_jobs_total")
    );
}

// --- nginx with TLS, basic auth and a path prefix -------------------------

/// The mock behind a real nginx: `/comfy/` plain, `/origin/` injecting a
/// foreign Origin, `/xsite/` injecting `Sec-Fetch-Site: cross-site`.
struct Proxied {
    mock: MockServer,
    nginx: Nginx,
    certs: Certs,
    _dir: TempDir,
}

const USER: &str = "alice";
const PASSWORD: &str = "s3cret-pw";

fn proxied() -> Option<Proxied> {
    let nginx_bin = require("nginx")?;
    let openssl = require("openssl")?;
    let dir = TempDir::new("nginx");
    let certs = make_certs(&openssl, &dir);
    let htpasswd = dir.write(
        "htpasswd",
        &format!("{}\n", htpasswd_line(&openssl, USER, PASSWORD)),
    );
    let mock = MockServer::start(&["--sec-fetch-site-check"]);
    let upstream = format!("127.0.0.1:{}", mock.port());
    let location = |prefix: &str, extra: &str| {
        format!(
            "    location /{prefix}/ {{\n\
             \x20     auth_basic \"ComfyUI\";\n\
             \x20     auth_basic_user_file {};\n\
             \x20     proxy_pass http://{upstream}/;\n\
             \x20     proxy_http_version 1.1;\n\
             \x20     proxy_set_header Upgrade $http_upgrade;\n\
             \x20     proxy_set_header Connection $connection_upgrade;\n\
             \x20     proxy_read_timeout 1h;\n\
             \x20     proxy_connect_timeout 2s;\n\
             {extra}    }}\n",
            htpasswd.display()
        )
    };
    let block = format!(
        "  map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}\n\
         \x20 server {{\n    listen LISTEN ssl;\n    server_name 127.0.0.1;\n\
         \x20   ssl_certificate {};\n    ssl_certificate_key {};\n{}{}{}  }}",
        certs.cert.display(),
        certs.key.display(),
        location("comfy", ""),
        location(
            "origin",
            "      proxy_set_header Origin http://evil.example;\n"
        ),
        location(
            "xsite",
            "      proxy_set_header Sec-Fetch-Site cross-site;\n"
        ),
    );
    let nginx = Nginx::start(&nginx_bin, &dir, &block);
    Some(Proxied {
        mock,
        nginx,
        certs,
        _dir: dir,
    })
}

impl Proxied {
    fn url(&self, prefix: &str, password: &str) -> String {
        format!(
            "https://{USER}:{password}@127.0.0.1:{}/{prefix}",
            self.nginx.port
        )
    }

    fn cacert(&self) -> String {
        self.certs.ca.display().to_string()
    }
}

fn assert_no_secret(out: &std::process::Output) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!text.contains(PASSWORD), "password leaked: {text}");
}

#[test]
fn nginx_tls_auth_prefix_health_connect_and_trust_flags() {
    let Some(p) = proxied() else {
        return;
    };
    let url = p.url("comfy", PASSWORD);
    let ca = p.cacert();

    let out = comfyctl()
        .args(["health", "--json", "--url", &url, "--cacert", &ca])
        .output()
        .unwrap();
    let status = json(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{status}\n{}",
        p.nginx.error_log()
    );
    assert_eq!(status["version"], "0.3.64");
    assert_no_secret(&out);

    // The WebSocket goes through nginx's upgrade with the same trust.
    let out = comfyctl()
        .args(["connect", "--json", "--retries", "0", "--url", &url])
        .env("COMFYCTL_CACERT", &ca)
        .output()
        .unwrap();
    let status = json(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{status}");
    assert_eq!(status["available"], true);
    assert_no_secret(&out);
    assert!(
        p.nginx
            .access_log()
            .iter()
            .any(|l| l.contains("GET /comfy/ws?clientId=") && l.contains("\" 101 ")),
        "no upgraded WebSocket in the access log: {:?}",
        p.nginx.access_log()
    );

    // Without --cacert the private CA is not trusted: kind tls, and the
    // hint names both ways out.
    let out = comfyctl()
        .args(["health", "--json", "--url", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let status = json(&out.stdout);
    assert_eq!(status["error"]["kind"], "tls", "{status}");
    let message = status["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("--cacert") && message.contains("--insecure"),
        "{message}"
    );
    let out = comfyctl()
        .args(["connect", "--json", "--retries", "0", "--url", &url])
        .output()
        .unwrap();
    assert_eq!(json(&out.stdout)["error"]["kind"], "tls");

    // --insecure works for HTTP and the WebSocket, with a loud warning.
    let out = comfyctl()
        .args(["connect", "--retries", "0", "--url", &url, "--insecure"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        stderr
            .lines()
            .filter(|l| l.contains("--insecure") && l.contains("NOT verified"))
            .count(),
        1,
        "{stderr}"
    );

    // A CA that did not sign the server is refused like no CA.
    let other = TempDir::new("other-ca");
    let other_certs = make_certs(&require("openssl").unwrap(), &other);
    let out = comfyctl()
        .args(["health", "--json", "--url", &url, "--cacert"])
        .arg(&other_certs.ca)
        .output()
        .unwrap();
    assert_eq!(json(&out.stdout)["error"]["kind"], "tls");

    // Wrong password: nginx answers 401, exit 1 with the hint.
    let out = comfyctl()
        .args(["health", "--json", "--cacert", &ca, "--url"])
        .arg(p.url("comfy", "wrong-pw"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let status = json(&out.stdout);
    assert_eq!(status["error"]["status"], 401, "{status}");
    assert_eq!(status["error"]["kind"], "http_status", "{status}");
    assert!(
        status["error"]["message"]
            .as_str()
            .unwrap()
            .contains("credentials"),
        "{status}"
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("wrong-pw"), "{text}");

    // A bad --cacert is a usage error naming the flag.
    let out = comfyctl()
        .args(["health", "--url", &url, "--cacert", "/nonexistent/ca.pem"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cacert"));
}

#[test]
fn nginx_502_is_reported_as_proxy_up_comfyui_down_then_recovers() {
    let Some(mut p) = proxied() else {
        return;
    };
    let url = p.url("comfy", PASSWORD);
    let mut watch = Proc::spawn({
        let mut cmd = comfyctl_std();
        cmd.args(["watch", "--json", "--interval", "500ms", "--url", &url])
            .args(["--cacert", &p.cacert()]);
        cmd
    });
    wait_state(&mut watch, "connected");

    p.mock.kill_with(libc::SIGKILL);
    let killed = Instant::now();
    let down = wait_state(&mut watch, "disconnected");
    eprintln!(
        "disconnected seen {:?} after the kill of the upstream returned",
        killed.elapsed()
    );
    let reason = down["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("proxy is up") && reason.contains("ComfyUI behind it is not"),
        "{down}"
    );
    // While nginx answers 502, attempts stay sequential and paced by the
    // reconnect backoff (each at least 100 ms after the last, 3 probe GETs
    // each), not a tight loop: count what reached nginx over two seconds.
    let before = p.nginx.access_log().len();
    let window = Duration::from_secs(2);
    let started = Instant::now();
    poll_until(window + Duration::from_secs(1), || {
        started.elapsed() >= window
    });
    let requests = p.nginx.access_log().len() - before;
    eprintln!("{requests} requests reached nginx in {window:?} while it answered 502");
    assert!(
        requests <= 3 * (20 + 1),
        "{requests} requests hit the proxy in {window:?}: {:?}",
        p.nginx.access_log()
    );
    let reconnect = watch
        .lines_so_far()
        .iter()
        .map(|l| parse_line(l))
        .find(|e| e["event"] == "reconnect" && !e["error"].is_null())
        .expect("a reconnect event with its error");
    assert_eq!(reconnect["error"]["status"], 502, "{reconnect}");

    p.mock.restart();
    wait_state(&mut watch, "connected");

    // nginx itself gone: connections are refused, as without a proxy.
    p.nginx.kill();
    wait_state(&mut watch, "disconnected");
    let refused = watch.wait_line(
        |l| l.contains("\"event\":\"reconnect\"") && l.contains("connection_refused"),
        WATCH_WAIT,
    );
    assert!(
        refused.is_some(),
        "no refused reconnect: {:?}",
        watch.lines_so_far()
    );
}

#[test]
fn nginx_injected_origin_or_sec_fetch_site_is_named() {
    let Some(p) = proxied() else {
        return;
    };
    let ca = p.cacert();
    for (prefix, header) in [
        ("origin", "Origin"),
        ("xsite", "Sec-Fetch-Site: cross-site"),
    ] {
        let out = comfyctl()
            .args(["health", "--json", "--cacert", &ca, "--url"])
            .arg(p.url(prefix, PASSWORD))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{prefix}");
        let status = json(&out.stdout);
        assert_eq!(status["error"]["status"], 403, "{status}");
        let message = status["error"]["message"].as_str().unwrap();
        assert!(message.contains(header), "{prefix}: {message}");
        assert!(message.contains("proxy"), "{prefix}: {message}");
    }
    // The same server through the clean location is fine: the 403 came
    // from what the proxy injected.
    comfyctl()
        .args(["health", "-q", "--cacert", &ca, "--url"])
        .arg(p.url("comfy", PASSWORD))
        .assert()
        .code(0);
}

// --- deploy files: systemd and Kubernetes ----------------------------------

/// Rewrites a deploy file's comfyctl command line to run here: the mock's
/// address for 127.0.0.1:8188, a local targets file, and metrics on a free
/// loopback port.
fn localise(args: &[String], mock: &MockServer, targets: &Path) -> Vec<String> {
    args.iter()
        .map(|a| match a.as_str() {
            "127.0.0.1:8188" => format!("127.0.0.1:{}", mock.port()),
            "/etc/comfyctl/targets" | "${CREDENTIALS_DIRECTORY}/targets" => {
                targets.display().to_string()
            }
            "0.0.0.0:9464" => "127.0.0.1:0".to_string(),
            other => other.to_string(),
        })
        .collect()
}

fn run_deploy_command(args: &[String]) -> Option<i32> {
    let mut cmd = comfyctl();
    cmd.args(args);
    if args.first().is_some_and(|a| a == "watch") {
        cmd.args(["--until", "connected"]);
    }
    cmd.output().unwrap().status.code()
}

#[test]
fn systemd_unit_verifies_and_its_command_runs() {
    let unit = std::fs::read_to_string(repo("deploy/systemd/comfyctl-watch.service")).unwrap();
    let exec: Vec<String> = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart")
        .split_whitespace()
        .map(String::from)
        .collect();
    assert_eq!(exec[0], "/usr/local/bin/comfyctl");
    let mock = MockServer::start(&[]);
    let dir = TempDir::new("systemd");
    let targets = dir.write("targets", &format!("# fleet\n{}\n", mock.url()));
    let args = localise(&exec[1..], &mock, &targets);
    assert_eq!(run_deploy_command(&args), Some(0), "{args:?}");

    let Some(analyze) = crate::support::external::find_tool("systemd-analyze") else {
        eprintln!("skipped: systemd-analyze is not installed; the unit was not verified");
        return;
    };
    // verify checks that ExecStart exists: point it at the built binary.
    let copy = dir.write(
        "comfyctl-watch.service",
        &unit.replace("/usr/local/bin/comfyctl", env!("CARGO_BIN_EXE_comfyctl")),
    );
    let out = proc::run(Command::new(analyze).arg("verify").arg(&copy)).unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // Unknown keys and bad values are only warnings: any output fails.
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify: {said}"
    );
}

/// Every comfyctl `command:` line of the Kubernetes examples.
fn kubernetes_commands() -> Vec<(String, Vec<String>)> {
    let mut found = Vec::new();
    for file in ["comfyui.yaml", "comfyctl-monitor.yaml"] {
        let text = std::fs::read_to_string(repo(&format!("deploy/kubernetes/{file}"))).unwrap();
        for line in text.lines() {
            let Some(array) = line.trim().strip_prefix("command: ") else {
                continue;
            };
            let args: Vec<String> = serde_json::from_str(array)
                .unwrap_or_else(|e| panic!("{file}: not a one-line array ({e}): {line}"));
            if args[0].ends_with("/comfyctl") {
                found.push((file.to_string(), args));
            }
        }
    }
    found
}

#[test]
fn kubernetes_probes_and_monitor_commands_work() {
    let commands = kubernetes_commands();
    assert_eq!(
        commands.len(),
        4,
        "three probes and the monitor: {commands:?}"
    );
    let dir = TempDir::new("k8s");
    let idle = MockServer::start(&[]);
    let targets = dir.write("targets", &format!("{}\n", idle.url()));
    for (file, args) in &commands {
        let args = localise(&args[1..], &idle, &targets);
        assert_eq!(run_deploy_command(&args), Some(0), "{file}: {args:?}");
    }
    // With a long queue only the readiness probe fails (3, not ready); the
    // liveness probe still passes, so Kubernetes does not restart a busy
    // server.
    let busy = MockServer::start(&["--queue", "12"]);
    let codes: Vec<Option<i32>> = commands
        .iter()
        .filter(|(file, _)| file == "comfyui.yaml")
        .map(|(_, args)| run_deploy_command(&localise(&args[1..], &busy, &targets)))
        .collect();
    assert_eq!(
        codes,
        [Some(0), Some(3), Some(0)],
        "startup, readiness, liveness"
    );
    let monitor = std::fs::read_to_string(repo("deploy/kubernetes/comfyctl-monitor.yaml")).unwrap();
    assert!(monitor.contains("prometheus.io/scrape: \"true\""));
    assert!(monitor.contains("prometheus.io/port: \"9464\"") && monitor.contains("0.0.0.0:9464"));
}
