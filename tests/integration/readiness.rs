//! `health --wait` and the readiness checks, against real mock processes.

use predicates::prelude::*;

use std::time::Duration;

use crate::support::{MockServer, RefusedPort};
use crate::util::{comfyctl, http_get, json};

fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn wait_succeeds_when_the_server_starts_late() {
    let late = MockServer::start_late(Duration::from_millis(1500));
    let port = late.port();
    comfyctl()
        .args(["health", "--wait", "60s", "--interval", "200ms", "--url"])
        .arg(format!("127.0.0.1:{port}"))
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ready after"))
        // Off a terminal: one line each time the failing check changes.
        .stderr(predicate::str::contains("comfyctl: not yet: connection refused").count(1));
}

#[test]
fn deadline_exit_1_when_never_reachable() {
    let refused = RefusedPort::new();
    comfyctl()
        .args(["health", "--wait", "1s", "--interval", "200ms", "--url"])
        .arg(refused.addr())
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "still missing: connection refused",
        ));
}

#[test]
fn deadline_exit_3_when_a_node_or_model_is_missing() {
    let mock = MockServer::start(&[]);
    comfyctl()
        .args([
            "health",
            "--wait",
            "1s",
            "--interval",
            "200ms",
            "--url",
            &mock.url(),
        ])
        .args(["--require-node", "KSampler", "--require-node", "NoSuchNode"])
        .assert()
        .code(3)
        .stdout(
            predicate::str::contains("node NoSuchNode")
                .and(predicate::str::contains("still missing")),
        );
    comfyctl()
        .args([
            "health",
            "--wait",
            "1s",
            "--interval",
            "200ms",
            "--url",
            &mock.url(),
        ])
        .args(["--require-model", "checkpoints/nope.safetensors"])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "model checkpoints/nope.safetensors",
        ));
}

#[test]
fn all_checks_pass_and_fill_the_status() {
    let mock = MockServer::start(&["--cors"]);
    let out = comfyctl()
        .args(["health", "--json", "--url", &mock.url()])
        .args(["--workflow", &data("workflow_api.json")])
        .args(["--workflow", &data("workflow_prompt_body.json")])
        .args(["--require-node", "KSampler"])
        .args([
            "--require-model",
            "checkpoints/v1-5-pruned-emaonly.safetensors",
        ])
        .args([
            "--require-cors",
            "http://localhost:5173",
            "--max-queue",
            "0",
        ])
        .assert()
        .code(0)
        .get_output()
        .clone();
    let status = json(&out.stdout);
    assert_eq!(status["fully_ready"], true, "{status}");
    assert_eq!(status["workflows_ready"], true);
    assert_eq!(status["models_ready"], true);
    assert_eq!(status["cors_enabled"], true);
    let checks = status["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 6, "{status}");
    assert!(checks.iter().all(|c| c["ok"] == true));
    // Nothing was queued to find this out.
    let (_, queue) = http_get(mock.port(), "/queue");
    let queue: serde_json::Value = serde_json::from_str(&queue).unwrap();
    assert_eq!(queue["queue_running"].as_array().unwrap().len(), 0);
    assert_eq!(queue["queue_pending"].as_array().unwrap().len(), 0);
    let (_, history) = http_get(mock.port(), "/history");
    assert_eq!(history.trim(), "{}");
}

#[test]
fn a_wrong_ckpt_name_is_reported_with_node_id_and_options() {
    let mock = MockServer::start(&[]);
    let out = comfyctl()
        .args(["health", "--json", "--url", &mock.url()])
        .args(["--workflow", &data("workflow_bad_ckpt.json")])
        .assert()
        .code(3)
        .get_output()
        .clone();
    let status = json(&out.stdout);
    assert_eq!(status["workflows_ready"], false);
    assert_eq!(status["models_ready"], false);
    assert_eq!(status["fully_ready"], false);
    let problem = &status["checks"][0]["problems"][0];
    assert_eq!(problem["class_type"], "CheckpointLoaderSimple", "{status}");
    assert_eq!(problem["input"], "ckpt_name");
    assert_eq!(problem["value"], "sd_xl_base_1.0.safetensors");
    assert!(!problem["node_id"].as_str().unwrap().is_empty());
    assert!(
        problem["did_you_mean"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o == "v1-5-pruned-emaonly.safetensors"),
        "{problem}"
    );
    comfyctl()
        .args(["health", "--url", &mock.url()])
        .args(["--workflow", &data("workflow_bad_ckpt.json")])
        .assert()
        .code(3)
        .stdout(
            predicate::str::contains("CheckpointLoaderSimple")
                .and(predicate::str::contains("sd_xl_base_1.0.safetensors"))
                .and(predicate::str::contains("v1-5-pruned-emaonly.safetensors")),
        );
}

#[test]
fn a_ui_format_workflow_is_rejected_with_guidance() {
    comfyctl()
        .args([
            "health",
            "--url",
            "127.0.0.1:1",
            "--workflow",
            &data("workflow_ui.json"),
        ])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--workflow").and(predicate::str::contains("Export (API)")),
        );
    comfyctl()
        .args([
            "health",
            "--url",
            "127.0.0.1:1",
            "--workflow",
            "/no/such/file.json",
        ])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("--workflow")
                .and(predicate::str::contains("/no/such/file.json")),
        );
}

#[test]
fn cors_present_and_absent() {
    let with = MockServer::start(&["--cors"]);
    let without = MockServer::start(&[]);
    let check = |url: &str, code: i32| {
        let out = comfyctl()
            .args([
                "health",
                "--json",
                "--require-cors",
                "http://localhost:5173",
                "--url",
                url,
            ])
            .assert()
            .code(code)
            .get_output()
            .clone();
        json(&out.stdout)
    };
    assert_eq!(check(&with.url(), 0)["cors_enabled"], true);
    let absent = check(&without.url(), 3);
    assert_eq!(absent["cors_enabled"], false);
    assert!(
        absent["checks"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("--enable-cors-header")
    );
}

#[test]
fn expect_down_after_a_kill() {
    let mut mock = MockServer::start(&[]);
    let url = mock.url();
    comfyctl()
        .args([
            "health",
            "--expect",
            "down",
            "--wait",
            "1s",
            "--interval",
            "200ms",
            "--url",
            &url,
        ])
        .assert()
        .code(3);
    mock.kill();
    comfyctl()
        .args(["health", "--expect", "down", "--wait", "30s", "--url", &url])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("gone after"));
}

#[test]
fn max_queue_gates_on_queue_remaining() {
    let mock = MockServer::start(&["--queue", "5"]);
    comfyctl()
        .args(["health", "--max-queue", "2", "--url", &mock.url()])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("5 remaining, more than 2"));
    comfyctl()
        .args(["health", "-q", "--max-queue", "5", "--url", &mock.url()])
        .assert()
        .code(0);
}

/// A mock with one CUDA device that has 4 GB (3.73 GiB) of VRAM free.
fn gpu_mock() -> MockServer {
    MockServer::start(&["--vram-free", "4000000000"])
}

#[test]
fn min_vram_free_is_judged_on_the_primary_device_from_the_probe() {
    let mock = gpu_mock();
    let served = || {
        let (_, body) = http_get(mock.port(), "/__mock/requests");
        serde_json::from_str::<serde_json::Value>(&body).expect("json")["requests"]
            .as_u64()
            .expect("count")
    };
    let before = served();
    comfyctl()
        .args(["health", "--url", &mock.url()])
        .assert()
        .code(0);
    let plain = served() - before;
    comfyctl()
        .args(["health", "--min-vram-free", "8GiB", "--url", &mock.url()])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "✗ vram free ≥ 8GiB: 3.73 GiB free of 23.99 GiB on cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync, less than 8GiB",
        ));
    // The check reads the /system_stats the probe made: no request of its own.
    assert_eq!(served() - before, 2 * plain);
    // 4 GB is 4 × 1000³ bytes: enough for 4GB, not for 4G (GiB).
    let out = comfyctl()
        .args([
            "health",
            "--json",
            "--min-vram-free",
            "4GB",
            "--url",
            &mock.url(),
        ])
        .output()
        .expect("comfyctl ran");
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out.stdout);
    assert_eq!(v["checks"][0]["check"], "vram free ≥ 4GB");
    assert_eq!(v["checks"][0]["ok"], true);
    assert_eq!(v["fully_ready"], true);
    comfyctl()
        .args(["health", "--min-vram-free", "4G", "--url", &mock.url()])
        .assert()
        .code(3)
        .stdout(predicate::str::contains("less than 4GiB"));
}

#[test]
fn min_vram_free_on_a_cpu_only_server_says_there_is_no_gpu() {
    let mock = MockServer::start(&[]);
    comfyctl()
        .args(["health", "--min-vram-free", "1", "--url", &mock.url()])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "✗ vram free ≥ 1B: no GPU: ComfyUI runs on the CPU",
        ));
    // While waiting, it is one more reason to wait for.
    comfyctl()
        .args(["health", "--wait", "1s", "--interval", "200ms"])
        .args(["--min-vram-free", "1", "--url", &mock.url()])
        .assert()
        .code(3)
        .stdout(predicate::str::contains(
            "still missing: vram free ≥ 1B: no GPU",
        ));
}

#[test]
fn a_size_that_does_not_parse_is_a_usage_error() {
    for bad in ["8 gigs", "-1G", "1.5", "GiB"] {
        comfyctl()
            .args(["health", "--min-vram-free", bad, "--url", "127.0.0.1:1"])
            .assert()
            .code(2)
            .stderr(
                predicate::str::contains("--min-vram-free: ")
                    .and(predicate::str::contains("is not a size")),
            );
    }
}
