//! `Status`: what one check found out about a server, with field names
//! taken from what a real server sends, so scripts can read both the same way.

use std::fmt;

/// What one check found out about a server (`wire::report` turns it into
/// the `--json` output).
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    /// The server answered like ComfyUI.
    pub available: bool,
    /// The server URL, credentials redacted.
    pub url: String,
    /// `system.comfyui_version` from `GET /system_stats`.
    pub version: Option<String>,
    /// `exec_info.queue_remaining` from `GET /prompt` (or a WebSocket `status`).
    pub queue_remaining: Option<u64>,
    /// Number of entries in `queue_running` from `GET /queue`.
    pub queue_running: Option<u64>,
    /// Number of entries in `queue_pending` from `GET /queue`.
    pub queue_pending: Option<u64>,
    /// Wall time of the HTTP probe (three concurrent requests), in ms.
    pub latency_ms: Option<f64>,
    /// `devices` from `GET /system_stats`.
    pub devices: Vec<Device>,
    /// `system.ram_total`, bytes.
    pub ram_total: Option<u64>,
    /// `system.ram_free`, bytes.
    pub ram_free: Option<u64>,
    /// `system.python_version`.
    pub python_version: Option<String>,
    /// `system.pytorch_version`.
    pub pytorch_version: Option<String>,
    /// Why the server is not available (or not ready), if it is not.
    pub error: Option<ProbeError>,
    /// When this check finished, RFC 3339 (UTC).
    pub last_check: String,
    /// Filled by `--require-cors`; null when not checked.
    pub cors_enabled: Option<bool>,
    /// Filled by `--require-model` and `--workflow`; null when not checked.
    pub models_ready: Option<bool>,
    /// Filled by `--workflow`; null when not checked.
    pub workflows_ready: Option<bool>,
    /// True only when every requested readiness check passed; null when none
    /// was requested.
    pub fully_ready: Option<bool>,
}

impl Status {
    /// A status with nothing known yet but the URL.
    pub fn unknown(url: String) -> Status {
        Status {
            available: false,
            url,
            version: None,
            queue_remaining: None,
            queue_running: None,
            queue_pending: None,
            latency_ms: None,
            devices: Vec::new(),
            ram_total: None,
            ram_free: None,
            python_version: None,
            pytorch_version: None,
            error: None,
            last_check: now_rfc3339(),
            cors_enabled: None,
            models_ready: None,
            workflows_ready: None,
            fully_ready: None,
        }
    }

    /// A status for a failed check.
    pub fn failed(url: String, error: ProbeError) -> Status {
        Status {
            error: Some(error),
            ..Status::unknown(url)
        }
    }
}

/// One entry of `devices` in `GET /system_stats`.
#[derive(Debug, Clone, PartialEq)]
pub struct Device {
    /// e.g. `cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync`, or `cpu`.
    pub name: String,
    /// `cuda`, `cpu`, `mps`, …
    pub kind: String,
    /// Bytes.
    pub vram_total: Option<u64>,
    /// Bytes.
    pub vram_free: Option<u64>,
    /// `torch_vram_free`: bytes PyTorch reserved but holds unused, so
    /// it can hand them out without asking the driver.
    pub torch_vram_free: Option<u64>,
}

/// The classes of failure a check can run into; each has its own wording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Nothing listens on the port.
    ConnectionRefused,
    /// The host name did not resolve.
    Dns,
    /// No answer within `--timeout`.
    Timeout,
    /// The TLS handshake failed.
    Tls,
    /// The server answered with a non-success HTTP status.
    HttpStatus,
    /// The server answered, but not like ComfyUI.
    NotComfyui,
    /// HTTP works, but the WebSocket upgrade was refused.
    WsRefused,
    /// The WebSocket closed, broke, or stopped answering.
    WsClosed,
    /// Any other network failure (reset, unreachable, …).
    Network,
    /// The ComfyUI process `health --wait --pid` watches has exited.
    ProcessExited,
}

impl ErrorKind {
    /// The snake_case name used in JSON and plain output.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::ConnectionRefused => "connection_refused",
            ErrorKind::Dns => "dns",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Tls => "tls",
            ErrorKind::HttpStatus => "http_status",
            ErrorKind::NotComfyui => "not_comfyui",
            ErrorKind::WsRefused => "ws_refused",
            ErrorKind::WsClosed => "ws_closed",
            ErrorKind::Network => "network",
            ErrorKind::ProcessExited => "process_exited",
        }
    }
}

/// A classified failure: a kind, a one-line message, and the HTTP status
/// where there was one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// One line that says what happened and, where it can, what to do.
    pub message: String,
    /// The HTTP status code, for `http_status` and `ws_refused`.
    pub status: Option<u16>,
}

impl ProbeError {
    /// A failure of the given kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> ProbeError {
        ProbeError {
            kind,
            message: message.into(),
            status: None,
        }
    }

    /// Attaches an HTTP status code.
    pub fn with_status(mut self, status: u16) -> ProbeError {
        self.status = Some(status);
        self
    }

    /// Reachable-but-not-ready failures (exit 3) as opposed to unavailable
    /// ones (exit 1).
    pub fn is_reachable(&self) -> bool {
        matches!(self.kind, ErrorKind::WsRefused | ErrorKind::WsClosed)
    }
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Now, as RFC 3339 with milliseconds, UTC.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

/// Now, in ms since the Unix epoch.
pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// One reading of the server's clock: its `Date` header, and when (on our
/// Unix clock, ms) the request went out and the answer came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockSample {
    /// The `Date` header, ms since the epoch (whole seconds).
    pub date_ms: u64,
    /// Our clock when the request was sent.
    pub sent_ms: u64,
    /// Our clock when the answer arrived.
    pub received_ms: u64,
}

/// Parses an HTTP `Date` (IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`)
/// into ms since the epoch; `None` for anything else.
pub fn http_date_ms(value: &str) -> Option<u64> {
    let mut parts = value.split_whitespace();
    let _weekday = parts.next()?;
    let day: u64 = parts.next()?.parse().ok()?;
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let name = parts.next()?;
    let month = MONTHS.iter().position(|m| *m == name)? as u64 + 1;
    let year: u64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|x| x.parse::<u64>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    if parts.next() != Some("GMT")
        || !(1..=31).contains(&day)
        || year < 1970
        || h > 23
        || m > 59
        || sec > 60
    {
        return None;
    }
    // Days from the civil date (H. Hinnant's algorithm), March-based year.
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 24 + h) * 60 + m) * 60_000 + sec * 1000)
}

#[cfg(test)]
mod date_tests {
    #[test]
    fn http_dates_parse() {
        assert_eq!(
            super::http_date_ms("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777_000)
        );
        assert_eq!(
            super::http_date_ms("Fri, 27 Nov 2026 09:56:11 GMT"),
            Some(1_795_773_371_000)
        );
        for bad in [
            "",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "x y z",
        ] {
            assert_eq!(super::http_date_ms(bad), None, "{bad}");
        }
    }
}
