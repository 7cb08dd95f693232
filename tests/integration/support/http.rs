//! The tests' one plain HTTP client (std only, for checking what a server
//! serves without going through comfyctl) and one stub HTTP server (for
//! what the mock cannot play: fixed raw answers, webhook receivers).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use super::{POLL_STEP, poll_until};

/// How long one client request may take.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(10);

/// One HTTP/1.1 request to 127.0.0.1:`port` (`Connection: close`, a JSON
/// body if any): (status, body, de-chunked). `None` when nothing answers.
fn request(port: u16, method: &str, path: &str, body: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(CLIENT_TIMEOUT)).ok()?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n");
    if let Some(body) = body {
        head.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    write!(s, "{head}Connection: close\r\n\r\n{}", body.unwrap_or("")).ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Some((
        status,
        if chunked {
            dechunk(body)
        } else {
            body.to_string()
        },
    ))
}

/// `GET path` → (status, body), or `None` when nothing answers (for
/// polling a server that is starting).
pub fn try_get(port: u16, path: &str) -> Option<(u16, String)> {
    request(port, "GET", path, None)
}

/// `GET path` → (status, body); panics when nothing answers.
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    try_get(port, path).unwrap_or_else(|| panic!("GET {path} on port {port}: no answer"))
}

/// `POST path` with a JSON body → the status; panics when nothing answers.
pub fn http_post(port: u16, path: &str, body: &str) -> u16 {
    request(port, "POST", path, Some(body))
        .unwrap_or_else(|| panic!("POST {path} on port {port}: no answer"))
        .0
}

/// `POST path` with a JSON body → (status, body); panics when nothing answers.
pub fn http_post_reply(port: u16, path: &str, body: &str) -> (u16, String) {
    request(port, "POST", path, Some(body))
        .unwrap_or_else(|| panic!("POST {path} on port {port}: no answer"))
}

fn dechunk(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some((size, tail)) = rest.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || tail.len() < n {
            break;
        }
        out.push_str(&tail[..n]);
        rest = tail[n..].trim_start_matches("\r\n");
    }
    out
}

/// A one-thread HTTP server on a loopback address: it records every
/// request (head and body) and answers each with the same raw response,
/// then closes (or, with `start_holding`, keeps the connection open until
/// the peer goes). Stopped and joined on drop.
pub struct StubServer {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<Request>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// A recorded request: head (up to the blank line) and body.
type Request = (String, Vec<u8>);

/// Most connections one StubServer accepts before it stops.
const STUB_MAX_CONNECTIONS: usize = 1000;
/// Longest a StubServer runs, however long the test takes.
const STUB_LIFETIME: Duration = Duration::from_secs(120);
/// Largest request body a StubServer keeps.
const STUB_MAX_BODY: usize = 1 << 20;

/// A `200 OK` with an empty body.
pub const OK_EMPTY: &str = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

impl StubServer {
    /// Starts on `ip`:0 answering `response`; panics if it cannot bind.
    pub fn start(ip: &str, response: String) -> StubServer {
        Self::try_start(ip, response, false).expect("bind a loopback port")
    }

    /// Like `start`, keeping every connection open after the answer.
    pub fn start_holding(ip: &str, response: String) -> StubServer {
        Self::try_start(ip, response, true).expect("bind a loopback port")
    }

    /// Starts on `ip`:0; `Err` when `ip` cannot be bound.
    pub fn try_start(ip: &str, response: String, hold: bool) -> std::io::Result<StubServer> {
        let listener = TcpListener::bind((ip, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (sink, stopped) = (requests.clone(), stop.clone());
        let thread = thread::spawn(move || {
            let until = Instant::now() + STUB_LIFETIME;
            let mut held = Vec::new();
            let mut served = 0;
            while !stopped.load(Ordering::SeqCst)
                && served < STUB_MAX_CONNECTIONS
                && Instant::now() < until
            {
                let Ok((mut conn, _)) = listener.accept() else {
                    thread::sleep(POLL_STEP);
                    continue;
                };
                served += 1;
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
                let request = read_request(&mut conn);
                sink.lock().unwrap_or_else(|e| e.into_inner()).push(request);
                let _ = conn.write_all(response.as_bytes());
                if hold {
                    held.push(conn);
                }
            }
        });
        Ok(StubServer {
            addr,
            requests,
            stop,
            thread: Some(thread),
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://IP:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request head received so far.
    pub fn heads(&self) -> Vec<String> {
        self.lock().iter().map(|(h, _)| h.clone()).collect()
    }

    /// Every request body received so far that parses as JSON.
    pub fn json_bodies(&self) -> Vec<serde_json::Value> {
        self.lock()
            .iter()
            .filter_map(|(_, b)| serde_json::from_slice(b).ok())
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Request>> {
        self.requests.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends a request of our own and waits until it was recorded. The
    /// server handles connections in the order the kernel queued them, so
    /// afterwards every earlier connection has been recorded too.
    pub fn flush(&self, within: Duration) {
        let mut s = TcpStream::connect(self.addr).expect("connect to StubServer");
        write!(s, "GET /__sentinel HTTP/1.1\r\nHost: x\r\n\r\n").expect("write");
        assert!(
            poll_until(within, || self
                .heads()
                .iter()
                .any(|h| h.starts_with("GET /__sentinel"))),
            "sentinel request not recorded"
        );
    }
}

impl Drop for StubServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads a request head (up to the blank line; at most 64 KiB) and the
/// body its Content-Length announces (at most [`STUB_MAX_BODY`]).
fn read_request(conn: &mut TcpStream) -> Request {
    let mut raw = Vec::new();
    let mut buf = [0u8; 1024];
    let end = loop {
        if let Some(at) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if raw.len() >= 64 * 1024 {
            break raw.len();
        }
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break raw.len(),
            Ok(n) => raw.extend_from_slice(&buf[..n]),
        }
    };
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0)
        .min(STUB_MAX_BODY);
    let mut body = raw[end..].to_vec();
    while body.len() < length {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&buf[..n]),
        }
    }
    body.truncate(length);
    (head, body)
}
