//! Fault modes that need more than a flag check in a handler: spoiled
//! bodies, a listener that never speaks HTTP, and a WebSocket endpoint that
//! writes invalid frames.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::{StreamExt as _, stream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;

/// nginx's page when its upstream is down.
const BAD_GATEWAY_HTML: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// Chunk size of streamed bodies.
const CHUNK: usize = 64 * 1024;

/// `--html`: 502 with an HTML page.
pub fn bad_gateway() -> Response {
    (
        StatusCode::BAD_GATEWAY,
        [(header::CONTENT_TYPE, HeaderValue::from_static("text/html"))],
        BAD_GATEWAY_HTML,
    )
        .into_response()
}

fn json_headers(body: Body) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        )],
        body,
    )
        .into_response()
}

/// `--huge-body MIB`: a `/system_stats`-like JSON document of `mib` MiB,
/// generated chunk by chunk so it is never held in memory whole.
pub fn huge_body(mib: u64, version: &str) -> Response {
    let head = format!(
        r#"{{"system": {{"os": "posix", "comfyui_version": {}, "padding": ""#,
        serde_json::to_string(version).unwrap_or_else(|_| "\"\"".into())
    );
    let tail = r#""}, "devices": []}"#;
    let total = mib.saturating_mul(1 << 20);
    let fill = total.saturating_sub((head.len() + tail.len()) as u64);
    let filler = Bytes::from(vec![b'x'; CHUNK]);
    let body = stream::iter([Bytes::from(head)])
        .chain(stream::unfold(fill, move |left| {
            let filler = filler.clone();
            async move {
                (left > 0).then(|| {
                    let n = usize::try_from(left).map_or(CHUNK, |l| l.min(CHUNK));
                    (filler.slice(..n), left - n as u64)
                })
            }
        }))
        .chain(stream::iter([Bytes::from_static(tail.as_bytes())]))
        .map(Ok::<_, Infallible>);
    json_headers(Body::from_stream(body))
}

/// `--slow-body`: headers and the first bytes of the document, then nothing
/// ever again (the connection stays open).
pub fn slow_body() -> Response {
    let body = stream::iter([Bytes::from_static(br#"{"system": {"os": "posix", "#)])
        .chain(stream::pending::<Bytes>())
        .map(Ok::<_, Infallible>);
    json_headers(Body::from_stream(body))
}

/// `--hang-headers`: accept connections and hold them without writing a
/// byte; reads are drained so the peer's writes never block.
pub async fn hang_forever(listener: TcpListener) {
    loop {
        let Ok((mut socket, peer)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        };
        eprintln!("comfyui-mock: --hang-headers holding connection from {peer}");
        tokio::spawn(async move {
            let mut sink = [0u8; 4096];
            while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
        });
    }
}

/// Complete but invalid WebSocket frame headers: FIN plus all three
/// reserved bits (no extension was negotiated), the reserved opcode 0xF, and
/// an empty unmasked payload, so a client can reject them without waiting
/// for more bytes.
const INVALID_FRAME: &[u8] = &[0xff, 0x00, 0xff, 0x00, 0xff, 0x00, 0xff, 0x00];

/// Longest request head inspected when looking for a WebSocket upgrade.
const MAX_HEAD: usize = 16 * 1024;

/// A listener for `axum::serve` fed by [`intercept_ws`], which answers
/// WebSocket upgrades itself (`--ws-invalid`) and passes everything else on.
pub struct PassThrough {
    rx: mpsc::Receiver<(TcpStream, SocketAddr)>,
    addr: SocketAddr,
}

impl axum::serve::Listener for PassThrough {
    type Io = TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(conn) => conn,
            // The accept loop only ends with the process.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.addr)
    }
}

/// Splits a listener: WebSocket upgrades get a 101 followed by garbage, other
/// connections go to the returned [`PassThrough`] for axum. The task owns the
/// listening socket.
pub fn intercept_ws(listener: TcpListener) -> std::io::Result<(PassThrough, JoinHandle<()>)> {
    let addr = listener.local_addr()?;
    let (tx, rx) = mpsc::channel(64);
    let acceptor = tokio::spawn(async move {
        loop {
            let Ok((socket, peer)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let _ = socket.set_nodelay(true);
            let tx = tx.clone();
            tokio::spawn(async move {
                match upgrade_key(&socket).await {
                    Some(key) => garbage_after_upgrade(socket, &key).await,
                    None => {
                        let _ = tx.send((socket, peer)).await;
                    }
                }
            });
        }
    });
    Ok((PassThrough { rx, addr }, acceptor))
}

/// Peeks at the request head; returns the Sec-WebSocket-Key of a `/ws`
/// upgrade request, `None` for anything else. Bounded in size and time.
async fn upgrade_key(socket: &TcpStream) -> Option<String> {
    let mut buf = vec![0u8; MAX_HEAD];
    let head = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let n = socket.peek(&mut buf).await.ok()?;
            if n == 0 {
                return None;
            }
            if let Some(end) = find(&buf[..n], b"\r\n\r\n") {
                return Some(String::from_utf8_lossy(&buf[..end]).into_owned());
            }
            if n == buf.len() {
                return None;
            }
            // Only part of the head has arrived; wait for more.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .ok()??;
    let mut lines = head.split("\r\n");
    let target = lines.next()?.split(' ').nth(1)?;
    let path = target.split('?').next()?;
    if path != "/ws" && path != "/api/ws" {
        return None;
    }
    let mut key = None;
    let mut upgrade = false;
    for line in lines.filter(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "upgrade" => upgrade = value.eq_ignore_ascii_case("websocket"),
            "sec-websocket-key" => key = Some(value.to_owned()),
            _ => {}
        }
    }
    key.filter(|_| upgrade)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + needle.len())
}

/// Completes the handshake correctly, then writes an invalid frame and
/// holds the connection until the peer goes away.
async fn garbage_after_upgrade(mut socket: TcpStream, key: &str) {
    // Consume the head that was only peeked at.
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < MAX_HEAD {
        match socket.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return,
        }
    }
    let accept = derive_accept_key(key.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    );
    eprintln!("comfyui-mock: --ws-invalid answering an upgrade with garbage");
    if socket.write_all(response.as_bytes()).await.is_err()
        || socket.write_all(INVALID_FRAME).await.is_err()
    {
        return;
    }
    let mut sink = [0u8; 4096];
    while matches!(socket.read(&mut sink).await, Ok(n) if n > 0) {}
}
