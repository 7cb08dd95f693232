//! The metrics port under a flood: idle and half-sent connections are
//! closed, and they never take the descriptors the monitor needs.

use std::io::Write;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::time::{Duration, Instant};

use crate::support::http::try_get;
use crate::support::{MockServer, Proc};
use crate::util::{WATCH_WAIT, fd_count, metrics_port, states, wait_state, watch_cmd};

/// The descriptor limit comfyctl runs under here, soft and hard: a
/// service manager's kind of limit, well under the flood below.
const CHILD_NOFILE: libc::rlim_t = 512;

/// Connections the test opens and holds.
const FLOOD: usize = 1000;

/// Lifts this test process's own soft descriptor limit so it can hold the
/// flood (children started later inherit it; the watch sets its own).
fn raise_own_limit(want: libc::rlim_t) {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut l) == 0 && l.rlim_cur < want {
            l.rlim_cur = want.min(l.rlim_max);
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
        }
    }
}

#[test]
fn a_thousand_idle_connections_neither_starve_the_metrics_port_nor_the_monitor() {
    raise_own_limit(FLOOD as libc::rlim_t + 512);
    let mock = MockServer::start(&[]);
    let mut cmd = watch_cmd("250ms", &["--url", &mock.url(), "--metrics", "127.0.0.1:0"]);
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
    unsafe {
        cmd.pre_exec(|| {
            let l = libc::rlimit {
                rlim_cur: CHILD_NOFILE,
                rlim_max: CHILD_NOFILE,
            };
            libc::setrlimit(libc::RLIMIT_NOFILE, &l);
            Ok(())
        });
    }
    let mut watch = Proc::spawn(cmd);
    let port = metrics_port(&watch);
    wait_state(&mut watch, "connected");

    // Right after `connected`: a thousand connections, every other one
    // with half a request head, none finished. Bounded in time too: a
    // server that stops accepting must not stall the test.
    let started = Instant::now();
    let mut held = Vec::new();
    while held.len() < FLOOD && started.elapsed() < Duration::from_secs(30) {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
            continue;
        };
        if held.len() % 2 == 1 {
            let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n");
        }
        held.push(s);
    }
    eprintln!(
        "{} idle connections open after {:?}",
        held.len(),
        started.elapsed()
    );

    // The newest connection, a scrape, is answered at once.
    let asked = Instant::now();
    let scrape = try_get(port, "/metrics");
    eprintln!(
        "scrape answered in {:?} with the flood held",
        asked.elapsed()
    );
    let (status, body) = scrape.expect("a scrape during the flood answers");
    assert_eq!(status, 200);
    assert!(body.contains("comfyui_up{"), "{body}");
    let fds = fd_count(watch.pid()).unwrap_or(0);
    eprintln!(
        "comfyctl holds {fds} descriptors with {} connections open to it",
        held.len()
    );
    assert!(fds < 200, "{fds} descriptors open");

    // The monitor kept polling its server and never saw it go down.
    let polls_before = polls(&mut watch);
    crate::support::poll_until(WATCH_WAIT, || polls(&mut watch) >= polls_before + 3);
    assert!(
        polls(&mut watch) >= polls_before + 3,
        "polls stopped: {}",
        watch.stderr()
    );
    assert_eq!(
        states(&mut watch),
        ["connecting", "connected"],
        "{}",
        watch.stderr()
    );
    assert!(
        !watch.stderr().contains("Too many open files"),
        "{}",
        watch.stderr()
    );

    // An idle connection that was never pushed out is closed by the
    // server once its 5 s for the request head are up.
    let mut newest = held.pop().expect("connections held");
    newest
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut buf = [0u8; 64];
    let closed = std::io::Read::read(&mut newest, &mut buf);
    let reset = |e: &std::io::Error| e.kind() == std::io::ErrorKind::ConnectionReset;
    assert!(
        matches!(closed, Ok(0)) || closed.as_ref().is_err_and(reset),
        "an idle connection was not closed by the server: {closed:?}"
    );
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "closed too early"
    );
    drop(held);
}

/// HTTP polls the watch has reported so far.
fn polls(watch: &mut Proc) -> usize {
    watch
        .lines_so_far()
        .iter()
        .filter(|l| l.contains("\"source\":\"http\""))
        .count()
}
