//! The HTTP probe: `/system_stats`, `/prompt` and `/queue`, concurrently,
//! each bounded in time and size, with every failure classified.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, USER_AGENT};

mod classify;

use classify::{body_stalled, classify_reqwest, not_comfyui, refusal, too_large};
pub use classify::{classify_chain, timeout_error};

use super::parse;
use super::settings::ClientSettings;
use super::status::{ClockSample, ErrorKind, ProbeError, Status, http_date_ms, now_rfc3339};
use super::target::Target;

/// The `User-Agent` of every request and WebSocket upgrade.
pub const COMFYCTL_USER_AGENT: &str = concat!("comfyctl/", env!("CARGO_PKG_VERSION"));

/// Largest body accepted from `/system_stats` and `/prompt`.
pub const HEALTH_BODY_CAP: usize = 1 << 20;
/// Largest body accepted from `/queue`: pending entries carry whole workflows.
pub const QUEUE_BODY_CAP: usize = 16 << 20;
/// Largest body accepted from `/object_info`, which is several MiB on servers
/// with many custom nodes.
pub const OBJECT_INFO_BODY_CAP: usize = 64 << 20;

/// One HTTP client for every target: headers, timeout, no proxy, and a
/// redirect policy that never carries credentials to another origin.
#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    timeout: Duration,
    /// The user gave `-H Authorization:`; it then wins over the URL's
    /// credentials, as it does on the WebSocket upgrade.
    own_authorization: bool,
    /// The WebSocket's TLS, from the same settings as `client`'s.
    ws_tls: Option<Arc<rustls::ClientConfig>>,
}

impl HttpClient {
    /// Builds the client from `settings`: its headers are sent with every
    /// request; no `Origin` is ever sent, because a stock server answers
    /// 403 to a foreign one. Certificate trust (`tls`) applies to HTTP and
    /// to the WebSocket alike.
    pub fn new(settings: &ClientSettings) -> HttpClient {
        let ClientSettings {
            timeout,
            headers,
            tls,
        } = settings;
        let timeout = *timeout;
        let mut map = HeaderMap::new();
        map.insert(USER_AGENT, HeaderValue::from_static(COMFYCTL_USER_AGENT));
        for (name, value) in headers {
            let mut value = value.clone();
            value.set_sensitive(true);
            map.append(name.clone(), value);
        }
        let redirects = reqwest::redirect::Policy::custom(|attempt| {
            let first = &attempt.previous()[0];
            if attempt.previous().len() > 5 || attempt.url().origin() != first.origin() {
                attempt.stop()
            } else {
                attempt.follow()
            }
        });
        let ws_tls = tls.client_config();
        let mut builder = reqwest::Client::builder();
        if let Some(config) = &ws_tls {
            builder = builder.tls_backend_preconfigured(rustls::ClientConfig::clone(config));
        }
        let client = builder
            .default_headers(map)
            .no_proxy()
            .redirect(redirects)
            .connect_timeout(timeout)
            .tcp_nodelay(true)
            .pool_idle_timeout(Duration::from_secs(30))
            // Keep one connection per server between polls, not one per
            // concurrent probe request: a fleet of 1000 would otherwise hold
            // 3000 idle connections (and their buffers).
            .pool_max_idle_per_host(1)
            .build()
            .expect("reqwest client with static settings always builds");
        let own_authorization = headers.iter().any(|(name, _)| name == AUTHORIZATION);
        HttpClient {
            client,
            timeout,
            own_authorization,
            ws_tls,
        }
    }

    /// The connector for WebSocket handshakes; `None` keeps
    /// tokio-tungstenite's default (the system's roots).
    pub fn ws_connector(&self) -> Option<tokio_tungstenite::Connector> {
        self.ws_tls
            .clone()
            .map(tokio_tungstenite::Connector::Rustls)
    }

    /// A GET of `route` under the target's prefix, with the URL's
    /// credentials as basic auth unless `-H Authorization:` was given (a
    /// request header would replace the user's default one).
    fn get_request(&self, target: &Target, route: &str) -> reqwest::RequestBuilder {
        self.get_request_url(target, target.endpoint(route))
    }

    fn get_request_url(&self, target: &Target, url: url::Url) -> reqwest::RequestBuilder {
        let request = self.client.get(url);
        match basic_auth(target).filter(|_| !self.own_authorization) {
            Some(auth) => request.header(AUTHORIZATION, auth),
            None => request,
        }
    }

    /// GETs `route` and returns the body, bounded by the timeout (headers and
    /// body together, so a body that never finishes times out) and by `cap`.
    pub async fn get(
        &self,
        target: &Target,
        route: &str,
        cap: usize,
    ) -> Result<Vec<u8>, ProbeError> {
        self.get_query(target, route, &[], cap).await
    }

    /// [`HttpClient::get`] with query parameters (encoded, never part of
    /// error messages).
    pub async fn get_query(
        &self,
        target: &Target,
        route: &str,
        query: &[(&str, &str)],
        cap: usize,
    ) -> Result<Vec<u8>, ProbeError> {
        self.get_dated(target, route, query, cap)
            .await
            .map(|(body, _)| body)
    }

    /// [`HttpClient::get_query`], with the server's clock as the answer's
    /// `Date` header showed it (ages are judged on the server's clock).
    pub async fn get_dated(
        &self,
        target: &Target,
        route: &str,
        query: &[(&str, &str)],
        cap: usize,
    ) -> Result<(Vec<u8>, Option<ClockSample>), ProbeError> {
        let mut url = target.endpoint(route);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        let request = self.get_request_url(target, url);
        // Set once the response head is in: a timeout after that is a body
        // that stalled, not a server that never answered.
        let head_arrived = AtomicBool::new(false);
        let fetch = async {
            let sent_ms = super::unix_ms();
            let response = request
                .send()
                .await
                .map_err(|e| classify_reqwest(&e, target, route, self.timeout))?;
            head_arrived.store(true, Ordering::Relaxed);
            if let Some(error) = refusal(&response, route) {
                return Err(error);
            }
            let clock = response
                .headers()
                .get(reqwest::header::DATE)
                .and_then(|v| v.to_str().ok())
                .and_then(http_date_ms)
                .map(|date_ms| ClockSample {
                    date_ms,
                    sent_ms,
                    received_ms: super::unix_ms(),
                });
            let body = self.read_capped(response, target, route, cap).await?;
            Ok((body, clock))
        };
        match tokio::time::timeout(self.timeout, fetch).await {
            Ok(result) => result,
            Err(_) if head_arrived.load(Ordering::Relaxed) => {
                Err(body_stalled(target, route, self.timeout))
            }
            Err(_) => Err(timeout_error(target, &format!("GET {route}"), self.timeout)),
        }
    }

    /// Reads a 2xx response's body, refusing it as soon as it is known to
    /// exceed `cap` (from `Content-Length`, or while it streams in).
    async fn read_capped(
        &self,
        mut response: reqwest::Response,
        target: &Target,
        route: &str,
        cap: usize,
    ) -> Result<Vec<u8>, ProbeError> {
        if response.content_length().is_some_and(|n| n > cap as u64) {
            return Err(too_large(route, cap));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| classify_reqwest(&e, target, route, self.timeout))?
        {
            if body.len() + chunk.len() > cap {
                return Err(too_large(route, cap));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// Asks `/system_stats` with `Origin: origin` and returns the
    /// `Access-Control-Allow-Origin` the server granted it, if any. A stock
    /// server answers a foreign Origin with 403 and no CORS headers; one
    /// started with `--enable-cors-header` answers with them.
    pub async fn cors_allows(
        &self,
        target: &Target,
        origin: &str,
    ) -> Result<Option<String>, ProbeError> {
        let route = "/system_stats";
        let origin_value = HeaderValue::from_str(origin).map_err(|_| {
            ProbeError::new(
                ErrorKind::Network,
                format!("'{origin}' cannot be sent as an Origin header"),
            )
        })?;
        let request = self
            .get_request(target, route)
            .header(reqwest::header::ORIGIN, origin_value);
        let response = tokio::time::timeout(self.timeout, request.send())
            .await
            .map_err(|_| timeout_error(target, &format!("GET {route}"), self.timeout))?
            .map_err(|e| classify_reqwest(&e, target, route, self.timeout))?;
        let allowed = response
            .headers()
            .get(reqwest::header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .and_then(|v| v.to_str().ok())
            .filter(|v| *v == "*" || *v == origin)
            .map(String::from);
        Ok(allowed)
    }

    /// One health probe: the three routes at once. `latency_ms` is the wall
    /// time of all three.
    pub async fn probe(&self, target: &Target) -> (Status, Option<parse::Queue>) {
        let started = Instant::now();
        let (stats, prompt, queue) = tokio::join!(
            self.get(target, "/system_stats", HEALTH_BODY_CAP),
            self.get(target, "/prompt", HEALTH_BODY_CAP),
            self.get_dated(target, "/queue", &[], QUEUE_BODY_CAP),
        );
        let latency = started.elapsed();
        let parsed = (|| {
            let stats =
                parse::system_stats(&stats?).map_err(|e| not_comfyui("/system_stats", &e))?;
            let remaining = parse::prompt_info(&prompt?).map_err(|e| not_comfyui("/prompt", &e))?;
            let (queue, clock) = queue?;
            let mut queue = parse::queue(&queue).map_err(|e| not_comfyui("/queue", &e))?;
            queue.clock = clock;
            Ok::<_, ProbeError>((stats, remaining, queue))
        })();
        let url = target.to_string();
        match parsed {
            Err(error) => (Status::failed(url, error), None),
            Ok((stats, remaining, queue)) => {
                let status = Status {
                    available: true,
                    version: stats.version,
                    queue_remaining: Some(remaining),
                    queue_running: Some(queue.running),
                    queue_pending: Some(queue.pending),
                    latency_ms: Some((latency.as_secs_f64() * 1000.0 * 10.0).round() / 10.0),
                    devices: stats.devices,
                    ram_total: stats.ram_total,
                    ram_free: stats.ram_free,
                    python_version: stats.python_version,
                    pytorch_version: stats.pytorch_version,
                    last_check: now_rfc3339(),
                    ..Status::unknown(url)
                };
                (status, Some(queue))
            }
        }
    }
}

/// `Authorization: Basic …` from the URL's user:password, unless the user set
/// their own Authorization header.
pub fn basic_auth(target: &Target) -> Option<HeaderValue> {
    let (user, pass) = target.credentials()?;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
    let mut value = HeaderValue::from_str(&format!("Basic {token}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}
