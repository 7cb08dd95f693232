//! Command-line flags of the mock.

use std::time::Duration;

use clap::Parser;

/// A mock ComfyUI server for tests and debugging.
///
/// After binding it prints one JSON line on stdout
/// (`{"event":"listening","addr":"HOST:PORT","port":PORT,"pid":PID}`) and then
/// stays quiet on stdout; every log line goes to stderr. SIGTERM and SIGINT
/// close every WebSocket with code 1001 and exit 0.
///
/// Test-only control endpoints (not part of ComfyUI, not under /api):
/// `POST /__mock/queue?remaining=N`, `POST /__mock/drop-ws`,
/// `POST /__mock/refuse-ws?on=1|0`, `GET /__mock/clients`,
/// `POST /__mock/job?outcome=completed|failed|cancelled&ms=N&count=K`
/// (`failed` with `&error=oom|missing_file` for those failures),
/// `GET /__mock/requests`.
#[derive(Debug, Clone, Parser)]
#[command(name = "comfyui-mock", disable_version_flag = true)]
pub struct Args {
    /// Address to bind.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,

    /// Port to bind; 0 picks a free port.
    #[arg(long, default_value_t = 8188)]
    pub port: u16,

    /// Serve N independent mocks (each with its own state) in one process;
    /// the first binds --port, the others free ports. The readiness line
    /// then also carries "ports":[...].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=2000))]
    pub ports: Option<u16>,

    /// Sleep this long before binding, like a server importing custom nodes
    /// (e.g. "2s", "500ms").
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub delay_ready: Option<Duration>,

    /// Value of system.comfyui_version in /system_stats.
    #[arg(long, value_name = "V", default_value = "0.3.64")]
    pub version: String,

    /// Start with a fake queue: 1 running and N-1 pending placeholder items.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub queue: usize,

    /// Add a model file, as FOLDER/NAME (e.g. checkpoints/sd.safetensors).
    /// Repeatable. Added to the defaults unless --no-default-models.
    #[arg(long = "model", value_name = "FOLDER/NAME")]
    pub models: Vec<String>,

    /// Drop the default model files (checkpoints/v1-5-pruned-emaonly.safetensors,
    /// loras/example_lora.safetensors).
    #[arg(long)]
    pub no_default_models: bool,

    /// Simulated time per step of a stepping node (a KSampler step, an
    /// image sent by SaveImageWebsocket), in ms.
    #[arg(long, value_name = "N", default_value_t = 50)]
    pub step_ms: u64,

    /// Simulated run time of a node without steps (EmptyImage, PreviewImage,
    /// SaveImage), in ms: real ComfyUI finishes EmptyImage → PreviewImage in
    /// about 7 ms, so clients must cope with jobs that end that fast.
    #[arg(long, value_name = "N", default_value_t = 2)]
    pub node_ms: u64,

    /// Also broadcast `status` periodically (a real server sends nothing on
    /// an idle socket, so this is off by default).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub status_interval: Option<Duration>,

    /// Behave like a server started with --enable-cors-header: no origin
    /// check, Access-Control-* headers on every response, OPTIONS answered 200.
    #[arg(long)]
    pub cors: bool,

    /// Report one CUDA device (an RTX 4090: 24 GB) with this vram_free in
    /// /system_stats, instead of the CPU device of the captures.
    #[arg(long, value_name = "BYTES")]
    pub vram_free: Option<u64>,

    /// Answer 404 on /api/jobs like ComfyUI 0.3.64 (before the Jobs API).
    #[arg(long)]
    pub no_jobs_api: bool,

    /// Also refuse `Sec-Fetch-Site: cross-site` with 403 (WebSocket
    /// included), as ComfyUI 0.33 does.
    #[arg(long)]
    pub sec_fetch_site_check: bool,

    /// Run the server's clock this far behind (e.g. "10m"): every timestamp
    /// it sends and its `Date` header, as on a host whose clock is off.
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration, help_heading = "Faults")]
    pub clock_behind: Option<Duration>,

    /// `GET /api/jobs` ignores `limit` (and `/history` ignores `max_items`):
    /// every matching entry in one page, as some proxies and forks do.
    #[arg(long, help_heading = "Faults")]
    pub ignore_limit: bool,

    /// Require this token, as login custom nodes and token proxies do: as
    /// `?token=T` or `Authorization: Bearer T`, on every route and the
    /// WebSocket upgrade (/__mock/ excepted). Missing: 401; wrong: 403.
    /// Each request's log line then tells how the token came and whether an
    /// Origin header did (`token=query|bearer|none origin=yes|no`).
    #[arg(long, value_name = "T")]
    pub require_token: Option<String>,

    /// Answer WebSocket upgrades with 403 (HTTP stays fine), as seen while
    /// containers boot. Can be toggled at runtime with /__mock/refuse-ws.
    #[arg(long, help_heading = "Faults")]
    pub refuse_ws: bool,

    /// Answer every route (WebSocket included; /__mock/ excepted) with 502
    /// and an nginx-like HTML page.
    #[arg(long, help_heading = "Faults")]
    pub html: bool,

    /// Close every HTTP connection after its response (`Connection: close`,
    /// as some proxies do), so each request needs a new TCP connection.
    #[arg(long, help_heading = "Faults")]
    pub http_close: bool,

    /// JSON routes answer 200 application/json with a body that is not JSON.
    #[arg(long, help_heading = "Faults", group = "body_fault")]
    pub garbage_json: bool,

    /// JSON routes answer 200 with valid JSON of the wrong shape.
    #[arg(long, help_heading = "Faults", group = "body_fault")]
    pub wrong_shape: bool,

    /// JSON routes answer 200 with an empty body.
    #[arg(long, help_heading = "Faults", group = "body_fault")]
    pub empty_body: bool,

    /// /system_stats streams this many MiB of JSON-ish bytes (chunked).
    #[arg(long, value_name = "MIB", help_heading = "Faults")]
    pub huge_body: Option<u64>,

    /// /system_stats sends status, headers and a few bytes, then never
    /// finishes the body.
    #[arg(long, help_heading = "Faults")]
    pub slow_body: bool,

    /// Accept TCP connections and never write anything (no HTTP at all).
    #[arg(long, help_heading = "Faults")]
    pub hang_headers: bool,

    /// Upgrade WebSockets, then send nothing and never read (no pongs).
    #[arg(long, help_heading = "Faults", conflicts_with_all = ["ws_no_pong", "ws_invalid"])]
    pub ws_silent: bool,

    /// Send the initial status, then stop reading the socket (no pongs).
    #[arg(long, help_heading = "Faults")]
    pub ws_no_pong: bool,

    /// After the initial status, send a few binary preview-image frames.
    #[arg(long, help_heading = "Faults")]
    pub ws_binary: bool,

    /// After the initial status, send messages of an unknown type.
    #[arg(long, help_heading = "Faults")]
    pub ws_unknown_type: bool,

    /// After the initial status, send one text frame of this many MiB.
    #[arg(long, value_name = "MIB", help_heading = "Faults")]
    pub ws_huge: Option<u64>,

    /// Answer the WebSocket upgrade with 101, then write bytes that are not
    /// a valid WebSocket frame.
    #[arg(long, help_heading = "Faults")]
    pub ws_invalid: bool,

    /// Block the server's event loop (the whole runtime: it then runs on one
    /// thread) for N ms once each job's first node starts, as custom nodes
    /// that compute on ComfyUI's loop do: TCP is accepted, nothing answers.
    #[arg(long, value_name = "N", help_heading = "Faults")]
    pub block_loop_ms: Option<u64>,

    /// After the initial status, close the WebSocket with this close code.
    #[arg(long, value_name = "CODE", help_heading = "Faults")]
    pub ws_close_code: Option<u16>,
}

impl Args {
    /// The fault applied to every JSON body, if any.
    pub fn body_fault(&self) -> Option<BodyFault> {
        if self.garbage_json {
            Some(BodyFault::Garbage)
        } else if self.wrong_shape {
            Some(BodyFault::WrongShape)
        } else if self.empty_body {
            Some(BodyFault::Empty)
        } else {
            None
        }
    }

    /// Simulated duration of one execution step.
    pub fn step(&self) -> Duration {
        Duration::from_millis(self.step_ms)
    }

    /// ComfyUI 0.33 or later (by --version) stamps `extra_data.create_time`
    /// on every prompt (seen in `/queue` and `/history`); 0.3.64 does not.
    pub fn stamps_create_time(&self) -> bool {
        let mut parts = self
            .version
            .split('.')
            .map(|p| p.parse::<u64>().unwrap_or(0));
        let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        (major, minor) >= (0, 33)
    }

    /// Simulated run time of a node without steps.
    pub fn node(&self) -> Duration {
        Duration::from_millis(self.node_ms)
    }
}

/// How JSON bodies are spoiled, for clients' error handling tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyFault {
    /// 200, application/json, not JSON.
    Garbage,
    /// 200, valid JSON of the wrong shape.
    WrongShape,
    /// 200, empty body.
    Empty,
}
