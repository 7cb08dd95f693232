//! Waiting for a refused port to open, at the cost of a refused connect.
//!
//! While a server refuses connections, a bare TCP connect every few ms
//! costs it nothing (the kernel answers with a reset; no process wakes up)
//! and costs us microseconds. Polling the port that way between full
//! attempts lets a gate open, and a session come back, within a few ms of
//! the port opening, without polling anything that answers any faster.

use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use super::Target;

/// How often a refused port is tried between full attempts.
pub const REFUSED_POLL: Duration = Duration::from_millis(20);

/// Sleeps up to `max`, returning early once a TCP connect to `target` is
/// no longer refused (the port opened, or something else happened that a
/// full attempt should classify). The probing connection is closed at
/// once, before any byte is sent.
pub async fn wait_until_not_refused(target: &Target, max: Duration) {
    let until = Instant::now() + max;
    // Resolve once per wait: a host name must not mean a DNS query per poll.
    let Ok(mut addrs) = tokio::net::lookup_host(target.authority()).await else {
        tokio::time::sleep_until(until).await;
        return;
    };
    let Some(addr) = addrs.next() else {
        tokio::time::sleep_until(until).await;
        return;
    };
    loop {
        let next = Instant::now() + REFUSED_POLL;
        if next >= until {
            tokio::time::sleep_until(until).await;
            return;
        }
        tokio::time::sleep_until(next).await;
        let left = until.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, TcpStream::connect(addr)).await {
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
            // Open, or a different failure, or out of time: let the caller's
            // full attempt find out which.
            _ => return,
        }
    }
}

/// True when a TCP connect to `target` is refused right now (nothing
/// listens): the server is gone, not dropping sessions. The probing
/// connection, if it opens, is closed before any byte is sent.
pub async fn refuses(target: &Target, timeout: Duration) -> bool {
    let connect = TcpStream::connect(target.authority());
    matches!(
        tokio::time::timeout(timeout, connect).await,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refused port keeps the wait going to its end; a port that opens
    /// ends it early. (Counts of how often, not how fast.)
    #[tokio::test]
    async fn returns_once_the_port_opens_and_not_before() {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let target = Target::parse(&format!("127.0.0.1:{port}")).unwrap();
        let started = Instant::now();
        wait_until_not_refused(&target, Duration::from_millis(100)).await;
        assert!(started.elapsed() >= Duration::from_millis(100));
        assert!(refuses(&target, Duration::from_secs(5)).await);

        let Ok(listener) = tokio::net::TcpListener::bind(("127.0.0.1", port)).await else {
            return; // the port was taken meanwhile; nothing to learn
        };
        let started = Instant::now();
        let accept = tokio::spawn(async move { listener.accept().await.is_ok() });
        wait_until_not_refused(&target, Duration::from_secs(30)).await;
        assert!(started.elapsed() < Duration::from_secs(30));
        assert!(accept.await.unwrap(), "the wait connected once");

        let open = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open_port = open.local_addr().unwrap().port();
        let target = Target::parse(&format!("127.0.0.1:{open_port}")).unwrap();
        assert!(!refuses(&target, Duration::from_secs(5)).await);
    }
}
