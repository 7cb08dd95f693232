//! A port where nothing listens, for the test's whole life.
//!
//! Binding port 0, reading the number and closing the socket leaves a
//! window in which another program (a parallel test) may take the port, and
//! "connection refused" then becomes "connected". A [`RefusedPort`] keeps a
//! TCP socket bound to 127.0.0.1 without ever listening on it: connects to
//! it are refused, and the kernel gives the port to nobody else. The socket
//! has SO_REUSEADDR, as do the listeners of the mock (tokio) and of std, so
//! a test can still start a server on that very port while it is held.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

/// A TCP port on 127.0.0.1 that refuses connections until a server is
/// started on it; released on drop.
pub struct RefusedPort {
    _socket: OwnedFd,
    port: u16,
}

impl RefusedPort {
    /// Binds a fresh socket to 127.0.0.1:0 (not listening) and keeps it.
    pub fn new() -> RefusedPort {
        // SAFETY: plain socket calls on a descriptor we own; the address
        // structs are fully initialised and their sizes passed correctly.
        unsafe {
            let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
            let socket = OwnedFd::from_raw_fd(fd);
            let on: libc::c_int = 1;
            let rc = libc::setsockopt(
                socket.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_REUSEADDR,
                (&on as *const libc::c_int).cast(),
                size_of::<libc::c_int>() as libc::socklen_t,
            );
            assert_eq!(rc, 0, "SO_REUSEADDR: {}", std::io::Error::last_os_error());
            let mut addr: libc::sockaddr_in = std::mem::zeroed();
            addr.sin_family = libc::AF_INET as libc::sa_family_t;
            addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
            let mut len = size_of::<libc::sockaddr_in>() as libc::socklen_t;
            let rc = libc::bind(
                socket.as_raw_fd(),
                (&addr as *const libc::sockaddr_in).cast(),
                len,
            );
            assert_eq!(
                rc,
                0,
                "bind 127.0.0.1:0: {}",
                std::io::Error::last_os_error()
            );
            let rc = libc::getsockname(
                socket.as_raw_fd(),
                (&mut addr as *mut libc::sockaddr_in).cast(),
                &mut len,
            );
            assert_eq!(rc, 0, "getsockname: {}", std::io::Error::last_os_error());
            RefusedPort {
                _socket: socket,
                port: u16::from_be(addr.sin_port),
            }
        }
    }

    /// The port number.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1:PORT`, as a `--url` value.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}
