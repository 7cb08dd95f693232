//! The `/metrics` endpoint: a small HTTP/1.1 server that answers one
//! request per connection and cannot be starved. The deploy files bind
//! `0.0.0.0:9464`, so anyone who can reach the port can open connections:
//! each must send its request head within [`HEAD_TIMEOUT`], the whole
//! exchange ends within [`CONNECTION_TIMEOUT`], and at most
//! [`connection_cap`] are open at once (the oldest is closed to make room),
//! so the descriptors the monitor needs for its own sockets stay free.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use super::Metrics;
use super::text::classic_text;

/// A scraper sends its request at once; an idle or half-sent one is closed
/// after this.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// The whole exchange, writing the answer to a slow reader included.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request head read; a scrape's is a few hundred bytes.
const MAX_HEAD: usize = 16 * 1024;

/// Most metrics connections open at once, whatever the descriptor limit.
const MAX_CONNECTIONS: usize = 64;

/// How long to pause accepting when accept fails (out of descriptors), so
/// the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Serves `/metrics` on `addr` until the process ends. Returns the bound
/// address (port 0 picks one) or a one-line error naming the flag.
pub async fn serve(addr: &str, metrics: Arc<Mutex<Metrics>>) -> Result<SocketAddr, String> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("--metrics: cannot listen on {addr}: {e}"))?;
    let bound = listener
        .local_addr()
        .map_err(|e| format!("--metrics: {e}"))?;
    tokio::spawn(accept_loop(listener, metrics, connection_cap()));
    Ok(bound)
}

/// The metrics connections allowed at once: [`MAX_CONNECTIONS`], or an
/// eighth of the descriptor limit where that is lower, so a flood of
/// scrapers never takes the descriptors the monitors need.
fn connection_cap() -> usize {
    let soft = crate::platform::processes::fd_soft_limit().unwrap_or(1024);
    (soft / 8).clamp(1, MAX_CONNECTIONS)
}

async fn accept_loop(listener: TcpListener, metrics: Arc<Mutex<Metrics>>, cap: usize) {
    let mut open: VecDeque<AbortHandle> = VecDeque::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        open.retain(|task| !task.is_finished());
        if open.len() >= cap {
            // The oldest has had the most time to send its request: a
            // scraper's newest connection is the one worth answering.
            if let Some(oldest) = open.pop_front() {
                oldest.abort();
            }
        }
        let metrics = metrics.clone();
        let task = tokio::spawn(async move {
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, answer(stream, &metrics)).await;
        });
        open.push_back(task.abort_handle());
    }
}

/// Reads one request head and answers it; the connection then closes.
async fn answer(mut stream: TcpStream, metrics: &Mutex<Metrics>) -> std::io::Result<()> {
    let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(Some(head))) => head,
        _ => return Ok(()),
    };
    let request = String::from_utf8_lossy(&head);
    let mut lines = request.lines();
    let mut first = lines.next().unwrap_or_default().split(' ');
    let (method, target) = (first.next().unwrap_or(""), first.next().unwrap_or(""));
    let path = target.split('?').next().unwrap_or("");
    let response = if !matches!(method, "GET" | "HEAD") {
        reply("405 Method Not Allowed", "text/plain", "GET /metrics\n")
    } else if path != "/metrics" {
        reply("404 Not Found", "text/plain", "GET /metrics\n")
    } else {
        let openmetrics = lines.any(|l| {
            l.split_once(':').is_some_and(|(name, value)| {
                name.trim().eq_ignore_ascii_case("accept")
                    && value.contains("application/openmetrics-text")
            })
        });
        let body = metrics.lock().map(|m| m.render()).unwrap_or_default();
        if openmetrics {
            let kind = "application/openmetrics-text; version=1.0.0; charset=utf-8";
            reply("200 OK", kind, &body)
        } else {
            let kind = "text/plain; version=0.0.4; charset=utf-8";
            reply("200 OK", kind, &classic_text(&body))
        }
    };
    let (head_part, body_part) = response;
    stream.write_all(head_part.as_bytes()).await?;
    if method != "HEAD" {
        stream.write_all(body_part.as_bytes()).await?;
    }
    stream.shutdown().await
}

/// A response head and its body.
fn reply(status: &str, content_type: &str, body: &str) -> (String, String) {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    (head, body.to_string())
}

/// The request head up to its blank line; `None` if the peer closed first
/// or it grew past [`MAX_HEAD`].
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::with_capacity(1024);
    let mut buf = [0u8; 2048];
    while head.len() < MAX_HEAD {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        head.extend_from_slice(&buf[..n]);
        // A blank line ends the head (bare `\n` from hand-typed requests too).
        if head.windows(4).any(|w| w == b"\r\n\r\n") || head.windows(2).any(|w| w == b"\n\n") {
            return Ok(Some(head));
        }
    }
    Ok(None)
}
