//! A counting TCP relay: what a monitor costs the server it watches.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// A TCP relay on loopback that counts bytes each way, HTTP requests,
/// requests for /object_info, and job-list requests (`/api/jobs?`,
/// `/history?`).
pub struct Relay {
    /// Where clients connect.
    pub port: u16,
    /// Bytes client → server.
    pub up: Arc<AtomicU64>,
    /// Bytes server → client.
    pub down: Arc<AtomicU64>,
    /// `GET /` request lines.
    pub requests: Arc<AtomicU64>,
    /// Requests for `/object_info`.
    pub object_info: Arc<AtomicU64>,
    /// Job-list requests.
    pub jobs: Arc<AtomicU64>,
}

impl Relay {
    /// Relays 127.0.0.1:(new port) to 127.0.0.1:`target`.
    pub fn start(target: u16) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let r = Relay {
            port,
            up: Arc::default(),
            down: Arc::default(),
            requests: Arc::default(),
            object_info: Arc::default(),
            jobs: Arc::default(),
        };
        let (up, down, requests, object_info, jobs) = (
            r.up.clone(),
            r.down.clone(),
            r.requests.clone(),
            r.object_info.clone(),
            r.jobs.clone(),
        );
        std::thread::spawn(move || {
            for client in listener.incoming().take(10_000).flatten() {
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                let (c2, s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let (up, requests, object_info, jobs) = (
                    up.clone(),
                    requests.clone(),
                    object_info.clone(),
                    jobs.clone(),
                );
                std::thread::spawn(move || {
                    pump(client, server, &up, Some((&requests, &object_info, &jobs)))
                });
                let down = down.clone();
                std::thread::spawn(move || pump(s2, c2, &down, None));
            }
        });
        r
    }
}

fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    bytes: &AtomicU64,
    count: Option<(&AtomicU64, &AtomicU64, &AtomicU64)>,
) {
    let mut buf = [0u8; 16384];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        bytes.fetch_add(n as u64, Ordering::Relaxed);
        if let Some((requests, object_info, jobs)) = count {
            let text = String::from_utf8_lossy(&buf[..n]);
            jobs.fetch_add(
                (text.matches("/api/jobs?").count() + text.matches("/history?").count()) as u64,
                Ordering::Relaxed,
            );
            requests.fetch_add(text.matches("GET /").count() as u64, Ordering::Relaxed);
            object_info.fetch_add(
                text.matches("/object_info").count() as u64,
                Ordering::Relaxed,
            );
        }
        if to.write_all(&buf[..n]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Both);
}
