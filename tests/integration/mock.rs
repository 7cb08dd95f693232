//! Smoke and conformance tests of `comfyui-mock`: real processes, real
//! sockets on 127.0.0.1, bodies compared by shape (key sets, recursively)
//! with the real-server captures in `shared/fixtures/comfyui/`.

use std::net::TcpStream as StdTcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::support::{MockServer, Proc, READY_TIMEOUT, RefusedPort, ServerManager, mock_bin, proc};

/// Upper bound for anything that should happen "soon" on a loaded machine.
const SOON: Duration = Duration::from_secs(10);
/// Window in which something that must NOT happen is watched for.
const QUIET: Duration = Duration::from_millis(500);

// ---------------------------------------------------------------------------
// Fixtures and shape comparison

fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures/comfyui")
        .join(name)
}

fn fixture(name: &str) -> Value {
    let path = fixture_path(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read fixture {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// The `.jsonl` capture's frames as the main client saw them: text frames
/// as their JSON message, binary frames as the string `"<binary>"`.
fn captured_frames(name: &str) -> Vec<Value> {
    let text = std::fs::read_to_string(fixture_path(name)).expect("fixture");
    text.lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("jsonl line"))
        .filter_map(|rec| match rec["kind"].as_str() {
            Some("text") => Some(rec["msg"].clone()),
            Some("binary") => Some(json!("<binary>")),
            _ => None,
        })
        .collect()
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Differences in shape: object key sets (recursively), JSON kinds, and
/// array elements pairwise (tuples such as queue items are positional).
fn shape_diff(ours: &Value, theirs: &Value, path: &str, out: &mut Vec<String>) {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            for k in a.keys().filter(|k| !b.contains_key(*k)) {
                out.push(format!(
                    "{path}.{k}: extra key (the real server has no such key)"
                ));
            }
            for k in b.keys().filter(|k| !a.contains_key(*k)) {
                out.push(format!("{path}.{k}: missing key"));
            }
            for (k, v) in a.iter().filter(|(k, _)| b.contains_key(*k)) {
                shape_diff(v, &b[k], &format!("{path}.{k}"), out);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                shape_diff(x, y, &format!("{path}[{i}]"), out);
            }
        }
        _ if kind_of(ours) != kind_of(theirs) => {
            out.push(format!(
                "{path}: {} instead of {}",
                kind_of(ours),
                kind_of(theirs)
            ));
        }
        _ => {}
    }
}

#[track_caller]
fn assert_same_shape(what: &str, ours: &Value, theirs: &Value) {
    let mut diffs = Vec::new();
    shape_diff(ours, theirs, "$", &mut diffs);
    assert!(
        diffs.is_empty(),
        "{what}: shape differs from the capture:\n  {}\nours: {ours}",
        diffs.join("\n  ")
    );
}

fn types(frames: &[Value]) -> Vec<String> {
    frames
        .iter()
        .map(|f| match f {
            Value::String(s) => s.clone(),
            m => m["type"].as_str().unwrap_or("?").to_owned(),
        })
        .collect()
}

/// The workflow of the captured runs.
fn workflow() -> Value {
    json!({
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
        "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}
    })
}

/// The run3/run7 workflow: EmptyImage -> SaveImageWebsocket.
fn ws_image_workflow(batch: u64) -> Value {
    json!({
        "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": batch, "color": 0}},
        "2": {"class_type": "SaveImageWebsocket", "inputs": {"images": ["1", 0]}}
    })
}

// ---------------------------------------------------------------------------
// HTTP helpers

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(SOON)
        .build()
        .expect("reqwest client")
}

struct Reply {
    status: u16,
    content_type: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {:?}", self.body))
    }
}

async fn reply(resp: reqwest::Response) -> Reply {
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = resp.text().await.expect("body");
    Reply {
        status,
        content_type,
        headers,
        body,
    }
}

async fn get(url: &str) -> Reply {
    reply(http().get(url).send().await.expect("GET")).await
}

async fn get_json(url: &str) -> Value {
    let r = get(url).await;
    assert_eq!(r.status, 200, "GET {url}: {}", r.body);
    r.json()
}

async fn post_raw(url: &str, body: &str) -> Reply {
    let resp = http()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .expect("POST");
    reply(resp).await
}

async fn post(url: &str, body: &Value) -> Reply {
    post_raw(url, &body.to_string()).await
}

// ---------------------------------------------------------------------------
// WebSocket helpers

type Stream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What a client socket produced.
#[derive(Debug)]
enum Frame {
    Text(Value),
    Binary(Vec<u8>),
    Pong,
    Close(Option<(u16, String)>),
    /// The stream ended or failed without a close frame.
    Ended(String),
}

struct Ws(Stream);

impl Ws {
    async fn connect(url: &str) -> Ws {
        let (stream, _) = tokio::time::timeout(SOON, tokio_tungstenite::connect_async(url))
            .await
            .expect("ws connect timed out")
            .unwrap_or_else(|e| panic!("ws connect {url}: {e}"));
        Ws(stream)
    }

    async fn try_connect(url: &str, origin: Option<&str>) -> Result<Ws, tungstenite::Error> {
        let mut req = url.into_client_request()?;
        if let Some(origin) = origin {
            req.headers_mut()
                .insert("origin", origin.parse().expect("origin header"));
        }
        let (stream, _) = tokio::time::timeout(SOON, tokio_tungstenite::connect_async(req))
            .await
            .expect("ws connect timed out")?;
        Ok(Ws(stream))
    }

    /// The next frame, or `None` if nothing came within `timeout`.
    async fn next(&mut self, timeout: Duration) -> Option<Frame> {
        let msg = tokio::time::timeout(timeout, self.0.next()).await.ok()?;
        Some(match msg {
            Some(Ok(Message::Text(t))) => {
                Frame::Text(serde_json::from_str(&t).unwrap_or_else(|_| json!({"raw": t.as_str()})))
            }
            Some(Ok(Message::Binary(b))) => Frame::Binary(b.to_vec()),
            Some(Ok(Message::Pong(_))) => Frame::Pong,
            Some(Ok(Message::Close(c))) => {
                Frame::Close(c.map(|c| (u16::from(c.code), c.reason.to_string())))
            }
            Some(Ok(other)) => Frame::Ended(format!("unexpected {other:?}")),
            Some(Err(e)) => Frame::Ended(e.to_string()),
            None => Frame::Ended("stream ended".into()),
        })
    }

    /// The next text message; panics on anything else or a timeout.
    async fn text(&mut self) -> Value {
        match self.next(SOON).await {
            Some(Frame::Text(v)) => v,
            other => panic!("expected a text message, got {other:?}"),
        }
    }

    /// Frames (text as JSON, binary as `"<binary>"`) up to and including
    /// the first text message matching `last`.
    async fn until(&mut self, last: impl Fn(&Value) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + SOON;
        let mut frames = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.next(left).await {
                Some(Frame::Text(v)) => {
                    let done = last(&v);
                    frames.push(v);
                    if done {
                        return frames;
                    }
                }
                Some(Frame::Binary(_)) => frames.push(json!("<binary>")),
                other => panic!("while collecting, got {other:?}; so far {frames:?}"),
            }
        }
    }

    async fn send_text(&mut self, v: &Value) {
        self.0
            .send(Message::text(v.to_string()))
            .await
            .expect("ws send");
    }

    async fn ping(&mut self) {
        self.0
            .send(Message::Ping(b"hi".to_vec().into()))
            .await
            .expect("ws ping");
    }
}

fn is_final_executing(m: &Value) -> bool {
    m["type"] == "executing" && m["data"]["node"].is_null()
}

fn is_status(m: &Value, remaining: u64) -> bool {
    m["type"] == "status" && m["data"]["status"]["exec_info"]["queue_remaining"] == remaining
}

// ---------------------------------------------------------------------------
// Startup

#[test]
fn readiness_line_is_exact() {
    let server = MockServer::start(&[]);
    let ready = server.ready();
    let keys: Vec<&str> = ready
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    let mut sorted = keys.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["addr", "event", "pid", "port"]);
    assert!(
        server
            .ready_line()
            .starts_with(r#"{"event":"listening","addr":"127.0.0.1:"#),
        "{}",
        server.ready_line()
    );
    assert_eq!(ready["addr"], format!("127.0.0.1:{}", server.port()));
    assert_eq!(ready["pid"], server.pid());
    assert_ne!(server.port(), 0);
}

#[test]
fn help_documents_the_flags() {
    let out = proc::run(Command::new(mock_bin()).arg("--help")).expect("run --help");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--host",
        "--port",
        "--ports",
        "--delay-ready",
        "--version",
        "--queue",
        "--model",
        "--step-ms",
        "--node-ms",
        "--ignore-limit",
        "--clock-behind",
        "--status-interval",
        "--cors",
        "--refuse-ws",
        "--html",
        "--garbage-json",
        "--wrong-shape",
        "--empty-body",
        "--huge-body",
        "--slow-body",
        "--hang-headers",
        "--ws-silent",
        "--ws-no-pong",
        "--ws-binary",
        "--ws-unknown-type",
        "--ws-huge",
        "--ws-invalid",
        "--ws-close-code",
    ] {
        assert!(help.contains(flag), "--help lacks {flag}");
    }
}

#[test]
fn delay_ready_keeps_the_port_closed_until_the_line() {
    let hold = RefusedPort::new();
    let port = hold.port();
    let start = Instant::now();
    let mut cmd = Command::new(mock_bin());
    cmd.args(["--port", &port.to_string(), "--delay-ready", "2s"]);
    let mut proc = Proc::spawn(cmd);
    assert!(
        StdTcpStream::connect(("127.0.0.1", port)).is_err(),
        "port open before the delay passed"
    );
    let line = proc
        .wait_line(|l| l.contains(r#""event":"listening""#), READY_TIMEOUT)
        .unwrap_or_else(|| panic!("no readiness line; stderr:\n{}", proc.stderr()));
    assert!(
        start.elapsed() >= Duration::from_millis(1900),
        "ready too early"
    );
    assert!(line.contains(&format!(r#""port":{port}"#)));
    StdTcpStream::connect(("127.0.0.1", port)).expect("port open after readiness");
    assert_eq!(proc.lines_so_far().len(), 1, "stdout must stay quiet");
    proc.signal(libc::SIGTERM);
    let status = proc.wait_exit(SOON).expect("exit after SIGTERM");
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn several_ports_are_independent_mocks() {
    let server = MockServer::start(&["--ports", "3"]);
    let ports: Vec<u64> = server.ready()["ports"]
        .as_array()
        .expect("ports")
        .iter()
        .map(|p| p.as_u64().unwrap())
        .collect();
    assert_eq!(ports.len(), 3);
    assert_eq!(ports[0], u64::from(server.port()));
    let url = |p: u64, path: &str| format!("http://127.0.0.1:{p}{path}");
    let r = post_raw(&url(ports[1], "/__mock/queue?remaining=2"), "").await;
    assert_eq!(r.status, 200);
    let remaining = |v: Value| v["exec_info"]["queue_remaining"].as_u64().unwrap();
    assert_eq!(remaining(get_json(&url(ports[0], "/prompt")).await), 0);
    assert_eq!(remaining(get_json(&url(ports[1], "/prompt")).await), 2);
    assert_eq!(remaining(get_json(&url(ports[2], "/prompt")).await), 0);
}

// ---------------------------------------------------------------------------
// HTTP conformance

#[tokio::test]
async fn idle_routes_match_captures() {
    let server = MockServer::start(&["--version", "1.2.3"]);
    let stats = get(&server.base("/system_stats")).await;
    assert_eq!(
        stats.content_type.as_deref(),
        Some("application/json; charset=utf-8")
    );
    let stats = stats.json();
    assert_same_shape("/system_stats", &stats, &fixture("system_stats.json"));
    assert_eq!(stats["system"]["comfyui_version"], "1.2.3");
    assert!(
        stats["system"]["argv"][0]
            .as_str()
            .unwrap()
            .contains("comfyui-mock")
    );

    for (route, name) in [
        ("/queue", "queue_idle.json"),
        ("/prompt", "prompt_get_idle.json"),
        ("/history", "history_empty.json"),
        ("/history?max_items=1", "history_max_items_1_empty.json"),
    ] {
        let ours = get_json(&server.base(route)).await;
        assert_eq!(ours, fixture(name), "{route}");
        let api = get_json(&server.base(&format!("/api{route}"))).await;
        assert_eq!(api, ours, "/api{route}");
    }
    for (route, name) in [
        ("/features", "features.json"),
        ("/embeddings", "embeddings.json"),
        ("/extensions", "extensions.json"),
        ("/models", "models.json"),
    ] {
        assert_eq!(
            get_json(&server.base(route)).await,
            fixture(name),
            "{route}"
        );
    }
    let misc = fixture("misc_requests.json");
    let misc_body = |req: &str| {
        misc.as_array()
            .unwrap()
            .iter()
            .find(|c| c["request"] == req)
            .unwrap_or_else(|| panic!("{req} not in misc_requests.json"))["body"]
            .clone()
    };
    let unknown = "/history/00000000-0000-0000-0000-000000000000";
    assert_eq!(
        get_json(&server.base(unknown)).await,
        misc_body(&format!("GET {unknown}"))
    );
    assert_eq!(
        get_json(&server.base("/object_info/NoSuchNode")).await,
        misc_body("GET /object_info/NoSuchNode")
    );

    // 404s: unknown route and the trailing-slash variant, empty body.
    let captured = fixture("not_found.json");
    for route in ["/no/such/path", "/system_stats/"] {
        let r = get(&server.base(route)).await;
        assert_eq!(r.status, 404, "{route}");
        assert_eq!(r.body, "", "{route}");
        assert_eq!(
            r.content_type.as_deref(),
            captured["content_type"].as_str(),
            "{route}"
        );
    }

    // POST /interrupt and POST /queue: 200, empty body, no content type.
    for (route, body) in [("/interrupt", "{}"), ("/queue", r#"{"clear": false}"#)] {
        let r = post_raw(&server.base(route), body).await;
        assert_eq!((r.status, r.body.as_str()), (200, ""), "{route}");
        assert_eq!(r.content_type, None, "{route}");
    }
}

#[tokio::test]
async fn object_info_matches_capture_and_has_both_combo_shapes() {
    let server = MockServer::start(&["--model", "checkpoints/extra.safetensors"]);
    let info = get_json(&server.base("/object_info")).await;
    let captured = fixture("object_info_subset.json");
    let entries = captured["entries"].as_object().unwrap();
    for (name, entry) in entries {
        assert_same_shape(&format!("object_info.{name}"), &info[name], entry);
        let one = get_json(&server.base(&format!("/object_info/{name}"))).await;
        assert_eq!(one, json!({ name: info[name].clone() }));
    }
    // Every node has the captured top-level keys (plus output_tooltips
    // where ComfyUI defines them).
    let base: Vec<&String> = entries["EmptyImage"].as_object().unwrap().keys().collect();
    for (name, entry) in info.as_object().unwrap() {
        let keys: Vec<&String> = entry
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| *k != "output_tooltips")
            .collect();
        let mut want = base.clone();
        want.sort();
        assert_eq!(keys, want, "{name}");
    }
    for node in [
        "KSampler",
        "CLIPTextEncode",
        "EmptyLatentImage",
        "VAEDecode",
        "LoraLoader",
    ] {
        assert!(info.get(node).is_some(), "{node} missing");
    }
    let ckpt = &info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"];
    assert_eq!(
        ckpt[0],
        json!(["v1-5-pruned-emaonly.safetensors", "extra.safetensors"]),
        "old combo shape"
    );
    let lora = &info["LoraLoader"]["input"]["required"]["lora_name"];
    assert_eq!(lora[0], "COMBO", "new combo shape");
    assert_eq!(lora[1]["options"], json!(["example_lora.safetensors"]));
    assert!(info["KSampler"]["input"]["required"]["sampler_name"][0].is_array());
}

#[tokio::test]
async fn models_folders_and_files() {
    let server = MockServer::start(&[
        "--no-default-models",
        "--model",
        "checkpoints/a.safetensors",
        "--model",
        "custom_folder/b.bin",
    ]);
    assert_eq!(
        get_json(&server.base("/models/checkpoints")).await,
        json!(["a.safetensors"])
    );
    assert_eq!(get_json(&server.base("/api/models/loras")).await, json!([]));
    assert_eq!(
        get_json(&server.base("/models/custom_folder")).await,
        json!(["b.bin"])
    );
    let folders = get_json(&server.base("/models")).await;
    assert!(
        folders
            .as_array()
            .unwrap()
            .contains(&json!("custom_folder"))
    );
    let r = get(&server.base("/models/no_such_folder")).await;
    assert_eq!((r.status, r.body.as_str()), (404, ""));
}

#[tokio::test]
async fn post_prompt_errors_match_captures() {
    let server = MockServer::start(&[]);
    let url = server.base("/prompt");
    for name in [
        "prompt_post_no_prompt.json",
        "prompt_post_invalid_node.json",
        "prompt_post_no_outputs.json",
        "prompt_post_validation_failed.json",
    ] {
        let case = fixture(name);
        let r = post(&url, &case["request"]["body"]).await;
        assert_eq!(
            u64::from(r.status),
            case["status"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(r.json(), case["body"], "{name}");
    }
    let case = fixture("prompt_post_invalid_json.json");
    let r = post_raw(&url, case["request"]["raw_body"].as_str().unwrap()).await;
    assert_eq!(r.status, 500);
    assert_eq!(r.body, case["body"].as_str().unwrap());
    assert!(r.content_type.unwrap().starts_with("text/plain"));
    // Nothing was queued by the failures.
    assert_eq!(
        get_json(&server.base("/queue")).await,
        fixture("queue_idle.json")
    );
}

// ---------------------------------------------------------------------------
// Origin check and CORS

#[tokio::test]
async fn origin_check_like_the_default_server() {
    let server = MockServer::start(&[]);
    let host = format!("127.0.0.1:{}", server.port());
    let cases = fixture("cors_default_server.json");
    for case in cases["cases"].as_array().unwrap() {
        let req = &case["request"];
        let path = req["path"].as_str().unwrap();
        let origin = req["headers"]["Origin"]
            .as_str()
            .map(|o| o.replace(":8188", &format!(":{}", server.port())));
        let want = case["status"].as_u64().unwrap();
        if path.starts_with("/ws") {
            let url = format!("ws://{host}{path}");
            let got = match Ws::try_connect(&url, origin.as_deref()).await {
                Ok(_) => 101,
                Err(tungstenite::Error::Http(resp)) => u64::from(resp.status().as_u16()),
                Err(e) => panic!("{path}: {e}"),
            };
            assert_eq!(got, want, "WS {path} origin {origin:?}");
            continue;
        }
        let method =
            reqwest::Method::from_bytes(req["method"].as_str().unwrap().as_bytes()).unwrap();
        let mut builder = http().request(method.clone(), server.base(path));
        if let Some(origin) = &origin {
            builder = builder.header("origin", origin);
        }
        for h in [
            "Access-Control-Request-Method",
            "Access-Control-Request-Headers",
        ] {
            if let Some(v) = req["headers"][h].as_str() {
                builder = builder.header(h, v);
            }
        }
        let r = reply(builder.send().await.unwrap()).await;
        assert_eq!(
            u64::from(r.status),
            want,
            "{method} {path} origin {origin:?}"
        );
        if want == 403 {
            assert_eq!(r.body, "");
        }
        assert!(
            !r.headers
                .keys()
                .any(|k| k.as_str().starts_with("access-control-")),
            "default server sends no CORS headers"
        );
    }
}

#[tokio::test]
async fn cors_flag_like_enable_cors_header() {
    let server = MockServer::start(&["--cors"]);
    let cases = fixture("cors_enable_cors_header_server.json");
    for case in cases["cases"].as_array().unwrap() {
        let req = &case["request"];
        let path = req["path"].as_str().unwrap();
        let origin = req["headers"]["Origin"].as_str();
        if path.starts_with("/ws") {
            let url = server.base(path).replace("http://", "ws://");
            assert!(
                Ws::try_connect(&url, origin).await.is_ok(),
                "WS {path} {origin:?}"
            );
            continue;
        }
        let method =
            reqwest::Method::from_bytes(req["method"].as_str().unwrap().as_bytes()).unwrap();
        let mut builder = http().request(method.clone(), server.base(path));
        if let Some(origin) = origin {
            builder = builder.header("origin", origin);
        }
        let r = reply(builder.send().await.unwrap()).await;
        assert_eq!(
            u64::from(r.status),
            case["status"].as_u64().unwrap(),
            "{method} {path}"
        );
        for (name, value) in case["access_control_headers"].as_object().unwrap() {
            let got = r.headers.get(name.as_str()).and_then(|v| v.to_str().ok());
            assert_eq!(got, value.as_str(), "{method} {path}: {name}");
        }
    }
}

// ---------------------------------------------------------------------------
// WebSocket conformance

#[tokio::test]
async fn ws_initial_status_matches_capture() {
    let server = MockServer::start(&[]);
    let mut ws = Ws::connect(&server.ws_url("my-client")).await;
    let first = ws.text().await;
    let captured = &captured_frames("ws_idle_62s.jsonl")[0];
    assert_same_shape("initial status", &first, captured);
    assert_eq!(
        first,
        json!({"type": "status", "data": {"status": {"exec_info": {"queue_remaining": 0}}, "sid": "my-client"}})
    );
    // A real server is silent on an idle socket, and answers pings.
    assert!(
        ws.next(QUIET).await.is_none(),
        "idle socket must stay silent"
    );
    ws.ping().await;
    assert!(matches!(ws.next(SOON).await, Some(Frame::Pong)));

    // Without clientId the server picks one (uuid4().hex).
    let mut anon = Ws::connect(&format!("ws://127.0.0.1:{}/api/ws", server.port())).await;
    let sid = anon.text().await["data"]["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(sid.len(), 32);
    assert!(sid.chars().all(|c| c.is_ascii_hexdigit()));
}

#[tokio::test]
async fn run_with_client_id_follows_captured_order() {
    let server = MockServer::start(&["--step-ms", "20"]);
    let mut main = Ws::connect(&server.ws_url("main-client")).await;
    let mut observer = Ws::connect(&server.ws_url("observer")).await;
    main.text().await;
    observer.text().await;

    let r = post(
        &server.base("/prompt"),
        &json!({"prompt": workflow(), "client_id": "main-client"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let posted = r.json();
    let captured_http = fixture("run_run1_uncached_http.json");
    assert_same_shape(
        "POST /prompt",
        &posted,
        &captured_http["post_prompt"]["response"],
    );
    let prompt_id = posted["prompt_id"].as_str().unwrap().to_owned();

    let frames = main.until(is_final_executing).await;
    let captured = captured_frames("ws_run1_uncached.jsonl");
    assert_eq!(types(&frames), types(&captured), "message order");
    for (i, (ours, theirs)) in frames.iter().zip(&captured).enumerate() {
        assert_same_shape(&format!("message {i} ({})", theirs["type"]), ours, theirs);
        if let Some(pid) = ours["data"].get("prompt_id") {
            assert_eq!(pid, &json!(prompt_id));
        }
    }

    // The observer only sees status broadcasts: 1, 1, 0 (ws_observer_session).
    let seen = observer.until(|m| is_status(m, 0)).await;
    let captured = captured_frames("ws_observer_session.jsonl");
    assert_eq!(types(&seen), types(&captured[1..4]));
    assert!(
        observer.next(QUIET).await.is_none(),
        "observer got more than status"
    );

    let after = &captured_http["after"];
    assert_eq!(
        get_json(&server.base("/queue")).await,
        after["GET /queue"][1]
    );
    assert_eq!(
        get_json(&server.base("/prompt")).await,
        after["GET /prompt"][1]
    );
    let hist = get_json(&server.base(&format!("/history/{prompt_id}"))).await;
    let captured_hist = after["GET /history/0e163167-154d-4ff5-a14a-144fcbd614ef"][1]
        ["0e163167-154d-4ff5-a14a-144fcbd614ef"]
        .clone();
    assert_same_shape("history entry", &hist[&prompt_id], &captured_hist);
    assert_eq!(hist[&prompt_id]["status"]["status_str"], "success");

    // ?max_items keeps the newest entries.
    let r2 = post(
        &server.base("/prompt"),
        &json!({"prompt": workflow(), "client_id": "main-client"}),
    )
    .await;
    let second = r2.json()["prompt_id"].as_str().unwrap().to_owned();
    main.until(is_final_executing).await;
    let last = get_json(&server.base("/history?max_items=1")).await;
    assert_eq!(
        last.as_object().unwrap().keys().collect::<Vec<_>>(),
        [&second]
    );
    let both = get_json(&server.base("/history?max_items=2")).await;
    let captured = fixture("history_after_runs_max_items_2.json");
    assert_eq!(both.as_object().unwrap().len(), 2);
    assert_same_shape(
        "history?max_items=2 entry",
        &both[&prompt_id]["status"],
        &captured["body"]["d7269c5e-ef4c-4903-94ad-c9fba4e1444a"]["status"],
    );
}

#[tokio::test]
async fn websocket_image_run_sends_progress_and_binary_frames() {
    let server = MockServer::start(&["--step-ms", "20"]);
    let mut main = Ws::connect(&server.ws_url("main-client")).await;
    main.text().await;
    let body = json!({"prompt": ws_image_workflow(2), "client_id": "main-client"});
    assert_eq!(post(&server.base("/prompt"), &body).await.status, 200);
    let frames = main.until(is_final_executing).await;
    let captured = captured_frames("ws_run3_websocket_image.jsonl");
    assert_eq!(types(&frames), types(&captured), "message order");
    for (ours, theirs) in frames.iter().zip(&captured) {
        assert_same_shape(&format!("{}", theirs["type"]), ours, theirs);
    }
}

#[tokio::test]
async fn feature_flags_client_gets_reply_and_metadata_previews() {
    let server = MockServer::start(&["--step-ms", "20"]);
    let mut ws = Ws::connect(&server.ws_url("ff-client")).await;
    ws.send_text(&json!({"type": "feature_flags", "data": {"supports_preview_metadata": true}}))
        .await;
    let captured = captured_frames("ws_featureflags_session.jsonl");
    assert_eq!(types(&[ws.text().await]), ["status"]);
    let reply = ws.text().await;
    assert_eq!(reply, captured[1]);
    let body = json!({"prompt": ws_image_workflow(1), "client_id": "ff-client"});
    assert_eq!(post(&server.base("/prompt"), &body).await.status, 200);
    let frame = loop {
        match ws.next(SOON).await {
            Some(Frame::Binary(b)) => break b,
            Some(Frame::Text(_)) => {}
            other => panic!("no binary frame: {other:?}"),
        }
    };
    assert_eq!(&frame[..4], &[0, 0, 0, 4]);
    let len = u32::from_be_bytes(frame[4..8].try_into().unwrap()) as usize;
    let meta: Value = serde_json::from_slice(&frame[8..8 + len]).unwrap();
    assert_eq!(meta["image_type"], "image/png");
}

#[tokio::test]
async fn run_without_client_id_only_broadcasts_status_and_progress_state() {
    let server = MockServer::start(&["--step-ms", "20"]);
    let mut ws = Ws::connect(&server.ws_url("someone")).await;
    ws.text().await;
    let r = post(&server.base("/prompt"), &json!({"prompt": workflow()})).await;
    assert_eq!(r.status, 200);
    let prompt_id = r.json()["prompt_id"].as_str().unwrap().to_owned();
    let mut seen = Vec::new();
    // queue_remaining goes 1, 1, then 0 at the end.
    while seen.iter().filter(|m| is_status(m, 1)).count() < 2
        || !seen.iter().any(|m| is_status(m, 0))
    {
        seen.extend(ws.until(|m| m["type"] == "status").await);
    }
    let captured = captured_frames("ws_run5_no_client_id.jsonl");
    assert_eq!(types(&seen), types(&captured));
    for (ours, theirs) in seen.iter().zip(&captured) {
        assert_same_shape("no-client-id message", ours, theirs);
    }
    assert!(ws.next(QUIET).await.is_none());
    let hist = get_json(&server.base(&format!("/history/{prompt_id}"))).await;
    assert_eq!(
        hist[&prompt_id]["prompt"][3],
        json!({}),
        "extra_data without client_id"
    );
}

#[tokio::test]
async fn busy_queue_and_interrupt_match_captures() {
    // Slow steps: the first prompt must still run when the interrupt comes,
    // also on a loaded machine (the interrupt ends it early).
    let server = MockServer::start(&["--step-ms", "250"]);
    let mut main = Ws::connect(&server.ws_url("main-client")).await;
    main.text().await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let body = json!({"prompt": ws_image_workflow(24), "client_id": "main-client"});
        let r = post(&server.base("/prompt"), &body).await;
        ids.push(r.json()["prompt_id"].as_str().unwrap().to_owned());
    }
    // Wait until the first prompt runs, then look at the busy queue.
    let frames = main.until(|m| m["type"] == "progress").await;
    assert!(types(&frames).contains(&"execution_start".to_owned()));
    let captured = fixture("run7_busy_queue_interrupt_http.json");
    let queue = get_json(&server.base("/queue")).await;
    let want = &captured["GET /queue while busy"][1];
    assert_eq!(queue["queue_running"].as_array().unwrap().len(), 1);
    assert_eq!(queue["queue_pending"].as_array().unwrap().len(), 2);
    assert_same_shape("busy /queue", &queue, want);
    assert_eq!(queue["queue_running"][0][1], json!(ids[0]));
    assert_eq!(
        get_json(&server.base("/prompt")).await,
        captured["GET /prompt while busy"][1]
    );

    // Drop the pending ones, then interrupt the running one.
    let r = post(&server.base("/queue"), &json!({"delete": [ids[2]]})).await;
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    let r = post(&server.base("/queue"), &json!({"clear": true})).await;
    assert_eq!(r.status, 200);
    assert_eq!(
        get_json(&server.base("/queue")).await["queue_pending"],
        json!([])
    );
    let r = post_raw(&server.base("/interrupt"), "").await;
    assert_eq!((r.status, r.body.as_str()), (200, ""));

    let frames = main.until(is_final_executing).await;
    let texts: Vec<&Value> = frames.iter().filter(|f| f.is_object()).collect();
    let tail: Vec<String> = types(
        &texts[texts.len() - 3..]
            .iter()
            .map(|v| (*v).clone())
            .collect::<Vec<_>>(),
    );
    assert_eq!(tail, ["execution_interrupted", "status", "executing"]);
    let interrupted = texts[texts.len() - 3];
    let run7 = captured_frames("ws_run7_busy_queue_interrupt.jsonl");
    let captured_msg = run7
        .iter()
        .find(|m| m["type"] == "execution_interrupted")
        .unwrap();
    assert_same_shape("execution_interrupted", interrupted, captured_msg);
    assert_eq!(interrupted["data"]["executed"], json!(["1"]));
    assert!(is_status(texts[texts.len() - 2], 0));

    let hist = get_json(&server.base(&format!("/history/{}", ids[0]))).await;
    let want = &captured["GET /history/ce96c30c-b446-4e0f-8876-366a685b3bf2 (interrupted)"][1]["ce96c30c-b446-4e0f-8876-366a685b3bf2"];
    assert_same_shape("interrupted history", &hist[&ids[0]], want);
    assert_eq!(hist[&ids[0]]["status"]["status_str"], "error");
    assert_eq!(
        get_json(&server.base("/queue")).await,
        captured["GET /queue at end"][1]
    );
}

#[tokio::test]
async fn reconnect_with_same_client_id_replaces_the_socket() {
    let server = MockServer::start(&["--step-ms", "10"]);
    let mut old = Ws::connect(&server.ws_url("dup")).await;
    old.text().await;
    let mut new = Ws::connect(&server.ws_url("dup")).await;
    new.text().await;
    let body = json!({"prompt": workflow(), "client_id": "dup"});
    assert_eq!(post(&server.base("/prompt"), &body).await.status, 200);
    let frames = new.until(is_final_executing).await;
    assert!(types(&frames).contains(&"execution_success".to_owned()));
    assert!(
        old.next(QUIET).await.is_none(),
        "replaced socket still gets messages"
    );
}

// ---------------------------------------------------------------------------
// Control endpoints

#[tokio::test]
async fn fake_queue_flag_and_control_endpoint_agree() {
    let server = MockServer::start(&["--queue", "2"]);
    let mut ws = Ws::connect(&server.ws_url("watcher")).await;
    assert!(is_status(&ws.text().await, 2));
    let queue = get_json(&server.base("/queue")).await;
    assert_eq!(queue["queue_running"].as_array().unwrap().len(), 1);
    assert_eq!(queue["queue_pending"].as_array().unwrap().len(), 1);
    assert_same_shape(
        "fake queue item",
        &queue["queue_running"][0],
        &fixture("run7_busy_queue_interrupt_http.json")["GET /queue while busy"][1]["queue_running"]
            [0],
    );

    let r = post_raw(&server.base("/__mock/queue?remaining=5"), "").await;
    assert_eq!(r.status, 200);
    assert!(is_status(&ws.text().await, 5));
    assert!(is_status(&ws.text().await, 5));
    assert_eq!(
        get_json(&server.base("/prompt")).await["exec_info"]["queue_remaining"],
        5
    );
    let queue = get_json(&server.base("/queue")).await;
    assert_eq!(queue["queue_pending"].as_array().unwrap().len(), 4);

    let clients = get_json(&server.base("/__mock/clients")).await;
    assert_eq!(clients["clients"], json!(["watcher"]));
}

#[tokio::test]
async fn status_interval_broadcasts_periodically() {
    let server = MockServer::start(&["--status-interval", "100ms"]);
    let mut ws = Ws::connect(&server.ws_url("w")).await;
    ws.text().await;
    for _ in 0..2 {
        assert!(is_status(&ws.text().await, 0));
    }
}

#[tokio::test]
async fn drop_ws_ends_sockets_without_close_frame() {
    let server = MockServer::start(&[]);
    let mut ws = Ws::connect(&server.ws_url("victim")).await;
    ws.text().await;
    let r = post_raw(&server.base("/__mock/drop-ws"), "").await;
    assert_eq!(r.json()["dropped"], 1);
    match ws.next(SOON).await {
        Some(Frame::Ended(_)) => {}
        other => panic!("expected an abrupt end, got {other:?}"),
    }
    // The server itself is fine: new sockets work.
    Ws::connect(&server.ws_url("next")).await.text().await;
}

#[tokio::test]
async fn refuse_ws_flag_and_toggle() {
    let server = MockServer::start(&["--refuse-ws"]);
    assert_eq!(get(&server.base("/system_stats")).await.status, 200);
    match Ws::try_connect(&server.ws_url("x"), None).await {
        Err(tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 403);
            assert!(resp.body().as_ref().is_none_or(|b| b.is_empty()));
        }
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => panic!("upgrade was accepted"),
    }
    post_raw(&server.base("/__mock/refuse-ws?on=0"), "").await;
    Ws::connect(&server.ws_url("x")).await.text().await;
    post_raw(&server.base("/__mock/refuse-ws?on=1"), "").await;
    assert!(Ws::try_connect(&server.ws_url("y"), None).await.is_err());
}

// ---------------------------------------------------------------------------
// Signals and restarts

#[tokio::test]
async fn sigterm_sends_close_frame_and_exits_zero() {
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let mut server = MockServer::start(&[]);
        let port = server.port();
        let mut ws = Ws::connect(&server.ws_url("c")).await;
        ws.text().await;
        let start = Instant::now();
        // Signal from another thread so this one can read the close frame
        // while the mock is still shutting down.
        let killer = std::thread::spawn(move || (server.kill_with(sig), start.elapsed()));
        match ws.next(SOON).await {
            Some(Frame::Close(Some((1001, _)))) => {}
            other => panic!("signal {sig}: expected close 1001, got {other:?}"),
        }
        // The port is closed before the close frame goes out, so a client
        // reacting to it cannot reconnect to the dying process.
        assert!(
            StdTcpStream::connect(("127.0.0.1", port)).is_err(),
            "signal {sig}: still accepting after the close frame"
        );
        let (status, took) = killer.join().expect("killer thread");
        assert!(status.success(), "signal {sig}: {status:?}");
        assert!(
            took < Duration::from_secs(2),
            "signal {sig}: slow exit: {took:?}"
        );
    }
}

#[tokio::test]
async fn restart_on_the_same_port_keeps_arguments() {
    let mut server = MockServer::start(&["--version", "9.9.9"]);
    let (port, pid) = (server.port(), server.pid());
    // An open connection at kill time leaves TIME_WAIT state behind.
    let mut ws = Ws::connect(&server.ws_url("c")).await;
    ws.text().await;
    server.restart();
    assert_eq!(server.port(), port);
    assert_ne!(server.pid(), pid);
    let stats = get_json(&server.base("/system_stats")).await;
    assert_eq!(stats["system"]["comfyui_version"], "9.9.9");
}

#[tokio::test]
async fn server_manager_kills_and_restarts_by_port() {
    let mut manager = ServerManager::with_args(&["--step-ms", "10"]);
    let hold = RefusedPort::new();
    let a = manager.start(hold.port()).port();
    let b = manager.start(0).port();
    assert_ne!(a, b);
    assert!(manager.is_running(a) && manager.is_running(b));
    let status = manager.kill(a).expect("managed");
    assert!(status.success());
    assert!(!manager.is_running(a));
    assert!(manager.is_running(b));
    let url = manager.restart(a).base("/prompt");
    assert!(manager.is_running(a));
    assert_eq!(get(&url).await.status, 200);
    // stop/cont: a stopped server accepts TCP but does not answer.
    manager.get(b).unwrap().stop();
    let slow = http()
        .get(manager.get(b).unwrap().base("/prompt"))
        .timeout(QUIET)
        .send()
        .await;
    assert!(slow.is_err(), "stopped server answered");
    manager.get(b).unwrap().cont();
    assert_eq!(
        get(&manager.get(b).unwrap().base("/prompt")).await.status,
        200
    );
    manager.kill_all();
    assert!(!manager.is_running(a) && !manager.is_running(b));
}

// ---------------------------------------------------------------------------
// HTTP faults

#[tokio::test]
async fn html_mode_answers_502_everywhere() {
    let server = MockServer::start(&["--html"]);
    for route in ["/system_stats", "/api/prompt", "/queue", "/no/such"] {
        let r = get(&server.base(route)).await;
        assert_eq!(r.status, 502, "{route}");
        assert!(r.content_type.unwrap().starts_with("text/html"));
        assert!(r.body.contains("502 Bad Gateway"));
    }
    match Ws::try_connect(&server.ws_url("x"), None).await {
        Err(tungstenite::Error::Http(resp)) => assert_eq!(resp.status().as_u16(), 502),
        other => panic!("expected 502, got {:?}", other.err()),
    }
}

#[tokio::test]
async fn body_fault_modes() {
    let garbage = MockServer::start(&["--garbage-json"]);
    let r = get(&garbage.base("/system_stats")).await;
    assert_eq!(r.status, 200);
    assert!(r.content_type.unwrap().starts_with("application/json"));
    assert!(
        serde_json::from_str::<Value>(&r.body).is_err(),
        "{}",
        r.body
    );

    let wrong = MockServer::start(&["--wrong-shape"]);
    let v = get_json(&wrong.base("/queue")).await;
    assert!(v.get("queue_running").is_none(), "{v}");

    let empty = MockServer::start(&["--empty-body"]);
    let r = get(&empty.base("/prompt")).await;
    assert_eq!((r.status, r.body.as_str()), (200, ""));
    assert!(r.content_type.unwrap().starts_with("application/json"));
}

#[tokio::test]
async fn huge_body_streams_the_requested_size() {
    let server = MockServer::start(&["--huge-body", "3"]);
    let resp = http()
        .get(server.base("/system_stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers().get("content-length").is_none(),
        "must be chunked"
    );
    let body = resp.bytes().await.unwrap();
    assert_eq!(body.len(), 3 << 20);
    let v: Value = serde_json::from_slice(&body).expect("JSON-ish enough to parse");
    assert!(v["system"].is_object());
}

#[tokio::test]
async fn slow_body_never_finishes() {
    let server = MockServer::start(&["--slow-body"]);
    let mut resp = http()
        .get(server.base("/system_stats"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let first = tokio::time::timeout(SOON, resp.chunk())
        .await
        .expect("first bytes");
    assert!(!first.unwrap().unwrap().is_empty());
    assert!(
        tokio::time::timeout(QUIET, resp.chunk()).await.is_err(),
        "body finished"
    );
}

#[test]
fn hang_headers_accepts_but_never_answers() {
    use std::io::{Read, Write};
    let server = MockServer::start(&["--hang-headers"]);
    let mut tcp = StdTcpStream::connect(("127.0.0.1", server.port())).expect("TCP connect");
    tcp.write_all(b"GET /system_stats HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    tcp.set_read_timeout(Some(QUIET)).unwrap();
    let mut buf = [0u8; 64];
    let err = tcp.read(&mut buf).expect_err("got an answer");
    assert!(
        matches!(
            err.kind(),
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
        ),
        "{err}"
    );
}

// ---------------------------------------------------------------------------
// WebSocket faults

#[tokio::test]
async fn ws_silent_sends_nothing_and_never_pongs() {
    let server = MockServer::start(&["--ws-silent"]);
    let mut ws = Ws::connect(&server.ws_url("s")).await;
    assert!(ws.next(QUIET).await.is_none());
    ws.ping().await;
    assert!(ws.next(QUIET).await.is_none(), "silent socket answered");
}

#[tokio::test]
async fn ws_no_pong_sends_status_but_never_pongs() {
    let server = MockServer::start(&["--ws-no-pong"]);
    let mut ws = Ws::connect(&server.ws_url("s")).await;
    assert!(is_status(&ws.text().await, 0));
    ws.ping().await;
    assert!(ws.next(QUIET).await.is_none(), "got a pong");
}

#[tokio::test]
async fn ws_extra_frames_after_status() {
    let server = MockServer::start(&["--ws-binary", "--ws-unknown-type", "--ws-huge", "2"]);
    let mut ws = Ws::connect(&server.ws_url("s")).await;
    assert!(is_status(&ws.text().await, 0));
    let mut binary = 0;
    let mut unknown = 0;
    loop {
        match ws.next(SOON).await {
            Some(Frame::Binary(b)) => {
                assert_eq!(&b[..8], &[0, 0, 0, 1, 0, 0, 0, 2]);
                binary += 1;
            }
            Some(Frame::Text(v)) if v["type"] == "some_future_type" => {
                assert_eq!(v, json!({"type": "some_future_type", "data": {}}));
                unknown += 1;
            }
            Some(Frame::Text(v)) => {
                let blob = v["data"]["blob"].as_str().unwrap_or_default();
                assert!(blob.len() >= (2 << 20) - 100, "huge frame too small");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(binary > 0 && unknown > 0);
}

#[tokio::test]
async fn ws_invalid_breaks_the_protocol_after_upgrade() {
    let server = MockServer::start(&["--ws-invalid"]);
    // HTTP still works through the same port.
    assert_eq!(get(&server.base("/prompt")).await.status, 200);
    let mut ws = Ws::connect(&server.ws_url("s")).await;
    match ws.next(SOON).await {
        Some(Frame::Ended(err)) => assert!(!err.is_empty()),
        other => panic!("expected a protocol error, got {other:?}"),
    }
}

#[tokio::test]
async fn ws_close_code_closes_after_status() {
    let server = MockServer::start(&["--ws-close-code", "1011"]);
    let mut ws = Ws::connect(&server.ws_url("s")).await;
    assert!(is_status(&ws.text().await, 0));
    match ws.next(SOON).await {
        Some(Frame::Close(Some((1011, _)))) => {}
        other => panic!("expected close 1011, got {other:?}"),
    }
}
