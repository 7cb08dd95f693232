//! Request guard: `--html` 502s, the default server's origin check, the
//! `--enable-cors-header` behaviour (`--cors`), and a request log on stderr.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use url::Url;

use crate::faults;
use crate::state::Mock;

/// Headers the real server adds with `--enable-cors-header` (no value).
const CORS_HEADERS: [(&str, &str); 4] = [
    ("access-control-allow-origin", "*"),
    (
        "access-control-allow-methods",
        "POST, GET, DELETE, PUT, OPTIONS",
    ),
    (
        "access-control-allow-headers",
        "Content-Type, Authorization",
    ),
    ("access-control-allow-credentials", "true"),
];

/// Runs before every route, the WebSocket upgrade included.
pub async fn guard(State(mock): State<Arc<Mock>>, req: Request, next: Next) -> Response {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    if !path.starts_with("/__mock/") {
        mock.requests.fetch_add(1, Ordering::Relaxed);
        if path.ends_with("/system_stats") {
            mock.system_stats_requests.fetch_add(1, Ordering::Relaxed);
        }
    }
    let seen = mock
        .args
        .require_token
        .as_ref()
        .map(|_| crate::token::seen(&req));
    let mut response = route(&mock, req, next).await;
    if mock.args.clock_behind.is_some()
        && let Ok(date) = HeaderValue::from_str(&crate::store::http_date())
    {
        response.headers_mut().insert(header::DATE, date);
    }
    if mock.args.http_close && response.status() != StatusCode::SWITCHING_PROTOCOLS {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    eprintln!(
        "comfyui-mock: {method} {path} -> {}{}",
        response.status().as_u16(),
        seen.map(|s| s.to_string()).unwrap_or_default()
    );
    response
}

async fn route(mock: &Mock, req: Request, next: Next) -> Response {
    // Control endpoints stay usable in every fault mode.
    if req.uri().path().starts_with("/__mock/") {
        return next.run(req).await;
    }
    if let Some(refused) = crate::token::refusal(mock, &req) {
        return refused.into_response();
    }
    if mock.args.html {
        return faults::bad_gateway();
    }
    if mock.args.cors {
        let mut response = if req.method() == Method::OPTIONS {
            StatusCode::OK.into_response()
        } else {
            next.run(req).await
        };
        for (name, value) in CORS_HEADERS {
            response
                .headers_mut()
                .insert(name, HeaderValue::from_static(value));
        }
        return response;
    }
    if !origin_allowed(req.headers())
        || (mock.args.sec_fetch_site_check && cross_site(req.headers()))
    {
        return StatusCode::FORBIDDEN.into_response();
    }
    if req.method() == Method::OPTIONS {
        return StatusCode::OK.into_response();
    }
    next.run(req).await
}

/// ComfyUI's `origin_only_middleware`: when the Host is a loopback address
/// and an Origin is sent, their `host[:port]` must match. A side without a
/// port is compared by hostname only.
pub fn origin_allowed(headers: &HeaderMap) -> bool {
    let (Some(host), Some(origin)) = (
        headers.get(header::HOST).and_then(|h| h.to_str().ok()),
        headers.get(header::ORIGIN).and_then(|h| h.to_str().ok()),
    ) else {
        return true;
    };
    let host = host.to_ascii_lowercase();
    let Ok(host_url) = Url::parse(&format!("http://{host}")) else {
        return true;
    };
    let Some(host_name) = host_url.host_str().map(str::to_owned) else {
        return true;
    };
    if !is_loopback(&host_name) {
        return true;
    }
    let Ok(origin_url) = Url::parse(&origin.to_ascii_lowercase()) else {
        // urlparse of junk yields an empty netloc, which skips the check.
        return true;
    };
    let Some(origin_name) = origin_url.host_str().map(str::to_owned) else {
        return true;
    };
    // `Url` drops default ports; the real check compares the raw netloc, so
    // rebuild "host:port" from what was sent.
    let host_port = explicit_port(&host);
    let origin_port = origin_url.port();
    let host_side = match origin_port {
        None => host_name.clone(),
        Some(_) => host.clone(),
    };
    let origin_side = match host_port {
        None => origin_name,
        Some(_) => match origin_port {
            Some(p) => format!("{origin_name}:{p}"),
            None => origin_name,
        },
    };
    host_side.is_empty() || origin_side.is_empty() || host_side == origin_side
}

/// ComfyUI 0.33 refuses `Sec-Fetch-Site: cross-site` and lets every other
/// value (`same-site`, `same-origin`, `none`) through.
pub fn cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("cross-site"))
}

/// The port written in a Host header, if any (`[::1]:8188`, `a:1`).
fn explicit_port(host: &str) -> Option<&str> {
    let after_bracket = host.rsplit_once(']').map_or(host, |(_, rest)| rest);
    after_bracket
        .rsplit_once(':')
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty())
}

/// Loopback IPs and `localhost` (the real server resolves names; the mock
/// only knows this one).
fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    match bare.parse::<IpAddr>() {
        Ok(ip) => ip.is_loopback(),
        Err(_) => bare == "localhost",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(host: &str, origin: Option<&str>) -> bool {
        let mut h = HeaderMap::new();
        h.insert(header::HOST, host.parse().unwrap());
        if let Some(o) = origin {
            h.insert(header::ORIGIN, o.parse().unwrap());
        }
        origin_allowed(&h)
    }

    #[test]
    fn matches_captured_cases() {
        // cors_default_server.json
        assert!(allowed("127.0.0.1:8188", None));
        assert!(!allowed("127.0.0.1:8188", Some("http://example.com")));
        assert!(allowed("127.0.0.1:8188", Some("http://127.0.0.1:8188")));
        assert!(!allowed("127.0.0.1:8188", Some("http://localhost:8188")));
    }

    #[test]
    fn sec_fetch_site_like_0_33() {
        // origin_and_sec_fetch_site_checks.txt: only cross-site is refused.
        for (value, refused) in [
            ("cross-site", true),
            ("same-site", false),
            ("same-origin", false),
            ("none", false),
        ] {
            let mut h = HeaderMap::new();
            h.insert("sec-fetch-site", value.parse().unwrap());
            assert_eq!(cross_site(&h), refused, "{value}");
        }
        assert!(!cross_site(&HeaderMap::new()));
    }

    #[test]
    fn port_less_sides_compare_hostnames() {
        assert!(allowed("127.0.0.1", Some("http://127.0.0.1:8188")));
        assert!(allowed("127.0.0.1:8188", Some("http://127.0.0.1")));
        assert!(!allowed("127.0.0.1:8188", Some("http://127.0.0.1:9999")));
        // Non-loopback hosts are not checked at all.
        assert!(allowed("comfy.example:8188", Some("http://evil.example")));
    }
}
