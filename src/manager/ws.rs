//! The WebSocket side: the handshake at `/ws?clientId=…`, the first `status`
//! message, and classification of everything that can go wrong on the way.

use std::time::Duration;

use futures_util::StreamExt;
use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue, USER_AGENT};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::Setting;
use super::http::{COMFYCTL_USER_AGENT, basic_auth, classify_chain, timeout_error};
use super::parse::{self, WsMessage};
use super::status::{ErrorKind, ProbeError};
use super::target::Target;

/// An open WebSocket to the server.
pub type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Largest WebSocket message accepted. Preview images arrive as binary frames
/// of a few MiB; text messages are far smaller.
pub const WS_MESSAGE_CAP: usize = 16 << 20;

/// A fresh random clientId, in the UUID form ComfyUI's own frontend uses.
pub fn new_client_id() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .to_string()
}

/// Opens `/ws?clientId=…` and waits for the first `status` message, all
/// within `timeout`, over `connector`'s TLS (`None`: the system's roots).
/// Returns the stream and that message's `queue_remaining`.
pub async fn open(
    target: &Target,
    headers: &[(HeaderName, HeaderValue)],
    client_id: &str,
    timeout: Duration,
    connector: Option<tokio_tungstenite::Connector>,
) -> Result<(WsStream, u64), ProbeError> {
    let deadline = Instant::now() + timeout;
    let request = upgrade_request(target, headers, client_id)?;
    let handshake = tokio_tungstenite::connect_async_tls_with_config(
        request,
        Some(socket_config()),
        true,
        connector,
    );
    let (mut stream, _) = match tokio::time::timeout_at(deadline, handshake).await {
        Err(_) => return Err(timeout_error(target, "WebSocket handshake", shown(timeout))),
        Ok(Err(e)) => return Err(classify(e, target)),
        Ok(Ok(pair)) => pair,
    };
    let queue_remaining = first_status(&mut stream, target, deadline, timeout).await?;
    Ok((stream, queue_remaining))
}

/// The upgrade request for `/ws?…&clientId=…` (the URL's query first): the
/// user's headers (`--token`'s bearer among them), the URL's credentials
/// as basic auth unless an Authorization header was given, never an
/// `Origin` (a stock server answers a foreign one with 403), and the
/// HTTP requests' `User-Agent` unless `-H User-Agent:` was, so that a
/// proxy's log shows one client.
fn upgrade_request(
    target: &Target,
    headers: &[(HeaderName, HeaderValue)],
    client_id: &str,
) -> Result<tungstenite::handshake::client::Request, ProbeError> {
    let url = target.ws_url(client_id);
    let mut request = url
        .as_str()
        .into_client_request()
        .map_err(|e| ProbeError::new(ErrorKind::Network, format!("bad WebSocket URL: {e}")))?;
    for (name, value) in headers {
        request.headers_mut().append(name.clone(), value.clone());
    }
    if let Some(auth) = basic_auth(target)
        && !request.headers().contains_key(AUTHORIZATION)
    {
        request.headers_mut().insert(AUTHORIZATION, auth);
    }
    if !request.headers().contains_key(USER_AGENT) {
        request
            .headers_mut()
            .insert(USER_AGENT, HeaderValue::from_static(COMFYCTL_USER_AGENT));
    }
    Ok(request)
}

/// Buffer sizes and message caps for one watcher's socket.
fn socket_config() -> WebSocketConfig {
    // A watcher receives little (status messages of ~100 bytes), and a fleet
    // holds a socket per server: the default 128 KiB eager read buffer and
    // write batching would cost ~256 KiB per server for nothing.
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .write_buffer_size(0)
        .max_write_buffer_size(WS_MESSAGE_CAP)
        .max_message_size(Some(WS_MESSAGE_CAP))
        .max_frame_size(Some(WS_MESSAGE_CAP))
}

/// Reads until the server's first `status` message (ComfyUI sends one on
/// connect) and returns its `queue_remaining`; a socket that closes, breaks
/// or stays silent until `deadline` is an error. `timeout` is only shown.
async fn first_status(
    stream: &mut WsStream,
    target: &Target,
    deadline: Instant,
    timeout: Duration,
) -> Result<u64, ProbeError> {
    loop {
        let Ok(next) = tokio::time::timeout_at(deadline, stream.next()).await else {
            return Err(ProbeError::new(
                ErrorKind::WsClosed,
                format!(
                    "the WebSocket opened but sent no status message within {}",
                    humantime::format_duration(shown(timeout))
                ),
            ));
        };
        match next {
            None => {
                return Err(closed(
                    "the server closed the WebSocket before its first status message",
                ));
            }
            Some(Err(e)) => return Err(classify(e, target)),
            Some(Ok(Message::Text(text))) => {
                if let Ok(WsMessage::Status {
                    queue_remaining, ..
                }) = parse::ws_message(&text)
                {
                    return Ok(queue_remaining);
                }
            }
            Some(Ok(Message::Close(frame))) => {
                let why = frame
                    .map(|f| format!(" (code {}, '{}')", u16::from(f.code), f.reason))
                    .unwrap_or_default();
                return Err(closed(format!(
                    "the server closed the WebSocket before its first status message{why}"
                )));
            }
            // Pings are answered by tungstenite; binary frames are previews.
            Some(Ok(_)) => {}
        }
    }
}

/// `timeout` as shown in messages, in whole tenths of a second: callers pass
/// what is left of `--timeout` after the HTTP probe, and "1s" reads better
/// than "995ms 978us 918ns".
fn shown(timeout: Duration) -> Duration {
    let tenths = timeout.as_millis().div_ceil(100).max(1);
    Duration::from_millis(u64::try_from(tenths * 100).unwrap_or(u64::MAX))
}

fn closed(message: impl Into<String>) -> ProbeError {
    ProbeError::new(ErrorKind::WsClosed, message)
}

/// Classifies a tungstenite error.
pub fn classify(e: tungstenite::Error, target: &Target) -> ProbeError {
    use tungstenite::Error as E;
    match e {
        E::Http(response) => {
            let code = response.status().as_u16();
            let reason = response.status().canonical_reason().unwrap_or("");
            let auth;
            let hint = match code {
                403 => {
                    "; a wrong token or credentials? a proxy refused it, or ComfyUI did: it refuses a foreign Origin header and Sec-Fetch-Site: cross-site, so check what a proxy adds"
                }
                401 => {
                    auth = format!(
                        "; check {}, {} or the URL's credentials or ?token=",
                        Setting::Token,
                        Setting::Header
                    );
                    &auth
                }
                404 => "; is the URL's path prefix right?",
                _ => "",
            };
            ProbeError::new(
                ErrorKind::WsRefused,
                format!("WebSocket upgrade refused with HTTP {code} {reason} (HTTP works{hint})"),
            )
            .with_status(code)
        }
        E::Capacity(c) => closed(format!(
            "the WebSocket sent a message over the size cap: {c}"
        )),
        E::Protocol(tungstenite::error::ProtocolError::ResetWithoutClosingHandshake) => closed(
            "the WebSocket connection was reset without a close frame (server killed or crashed?)",
        ),
        E::Protocol(p) => closed(format!("the WebSocket broke the protocol: {p}")),
        E::ConnectionClosed | E::AlreadyClosed => closed("the WebSocket closed"),
        E::Utf8(_) => closed("the WebSocket sent a text frame that is not UTF-8"),
        // On an open session a reset is news of its own (a firewall that
        // rejects, a host that lost the connection), not "no answer".
        E::Io(io) if io.kind() == std::io::ErrorKind::ConnectionReset => ProbeError::new(
            ErrorKind::Network,
            format!(
                "{} reset the connection (TCP reset: a firewall rejects it, or the host forgot the connection)",
                target.authority()
            ),
        ),
        other => classify_chain(&other, target).unwrap_or_else(|| {
            ProbeError::new(
                ErrorKind::Network,
                format!("WebSocket to {} failed: {other}", target.authority()),
            )
        }),
    }
}
