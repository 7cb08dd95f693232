//! Issue 9, what a new user's trial found in watch output, the renderers and
//! `/metrics`: fleet lines that mixed servers, `--count 1` reporting a
//! healthy server down, terminal injection, `--color always` off a terminal,
//! the fallback warning, uptime, metrics of a dead server, summary order.

use std::io::Write;
use std::net::SocketAddr;

use crate::support::{MockServer, Proc, RefusedPort, poll_until};
use crate::util::{
    WATCH_WAIT, all_output, comfyctl, comfyctl_std, http_get, json, metrics_addr, parse_line,
    wait_state, watch, watch_cmd,
};

/// What a hostile server reports as `system.comfyui_version`: clear the
/// screen, set the window title, colour, and forge a line.
const HOSTILE: &str = "0.3\x1b[2J\x1b]0;pwned\x07\x1b[31mEVIL\r\nFAKE LINE";

/// Lines of plain `watch` output that are about `url` and its queue.
fn queue_lines<'a>(lines: &'a [String], url: &str) -> Vec<&'a String> {
    lines
        .iter()
        .filter(|l| l.split_whitespace().nth(1) == Some(url) && l.contains(" queue "))
        .collect()
}

#[test]
fn plain_watch_over_a_fleet_keeps_each_servers_lines_apart() {
    let busy = MockServer::start(&["--queue", "5"]);
    let idle = MockServer::start(&[]);
    let (a, b) = (busy.url(), idle.url());
    let mut cmd = comfyctl_std();
    cmd.args([
        "watch",
        "--interval",
        "200ms",
        "--count",
        "4",
        "--url",
        &a,
        "--url",
        &b,
    ]);
    let mut w = Proc::spawn(cmd);
    let status = w.wait_exit(WATCH_WAIT).expect("watch --count ends");
    assert_eq!(status.code(), Some(0), "stderr: {}", w.stderr());
    let lines = w.lines_so_far();
    let text = lines.join("\n");
    let (a_lines, b_lines) = (queue_lines(&lines, &a), queue_lines(&lines, &b));
    // Both servers' status lines appear, each with its own numbers.
    assert!(!a_lines.is_empty() && !b_lines.is_empty(), "{text}");
    for l in &a_lines {
        assert!(
            l.contains("queue 5 remaining · 1 running · 4 pending · prompt "),
            "{text}"
        );
    }
    for l in &b_lines {
        assert!(
            l.contains("queue 0 remaining · 0 running · 0 pending") && !l.contains("prompt"),
            "{text}"
        );
    }
    // Nothing changed on either server in 4 polls: one line each, although
    // the other server's lines came between.
    assert_eq!(a_lines.len(), 1, "{text}");
    assert_eq!(b_lines.len(), 1, "{text}");
}

#[test]
fn count_1_on_a_healthy_server_exits_0_alone_and_in_a_fleet() {
    let a = MockServer::start(&[]);
    let b = MockServer::start(&[]);
    for urls in [vec![a.url()], vec![a.url(), b.url()]] {
        let mut cmd = comfyctl();
        cmd.args(["watch", "--count", "1", "--interval", "200ms"]);
        for u in &urls {
            cmd.args(["--url", u]);
        }
        let out = cmd.output().expect("run watch");
        assert_eq!(out.status.code(), Some(0), "{urls:?}: {}", all_output(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        for u in &urls {
            assert!(text.contains(&format!("{u} connected")), "{text}");
        }
    }
}

/// No byte that a terminal would act on: ESC, CR, BEL (other C0 controls
/// than the newline too).
fn assert_inert(what: &str, bytes: &[u8]) {
    let bad: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| (*b < 0x20 && *b != b'\n') || *b == 0x7f)
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: control bytes {bad:?} in {:?}",
        String::from_utf8_lossy(bytes)
    );
}

#[test]
fn a_hostile_version_never_reaches_the_terminal_raw_but_json_keeps_it() {
    let mock = MockServer::start(&["--version", HOSTILE]);
    let url = mock.url();
    let escaped = "0.3\\u{1b}[2J\\u{1b}]0;pwned\\u{7}\\u{1b}[31mEVIL\\r\\nFAKE LINE";
    let runs: [&[&str]; 3] = [
        &["health"],
        &["connect"],
        &["watch", "--count", "1", "--interval", "200ms"],
    ];
    for args in runs {
        let out = comfyctl()
            .args(args)
            .args(["--url", &url])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", all_output(&out));
        assert_inert(&format!("{args:?} stdout"), &out.stdout);
        assert_inert(&format!("{args:?} stderr"), &out.stderr);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(escaped), "{args:?}: {text}");
        assert!(!text.lines().any(|l| l.starts_with("FAKE LINE")), "{text}");
    }
    // JSON carries the exact string.
    for args in [&["health", "--json"][..], &["connect", "--json"][..]] {
        let out = comfyctl()
            .args(args)
            .args(["--url", &url])
            .output()
            .expect("run");
        assert_eq!(json(&out.stdout)["version"], HOSTILE, "{args:?}");
    }
    let out = comfyctl()
        .args(["watch", "--json", "--count", "1", "--interval", "200ms"])
        .args(["--url", &url])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    let status = text
        .lines()
        .map(parse_line)
        .find(|v| v["event"] == "status" && v["source"] == "http")
        .expect("a status event");
    assert_eq!(status["version"], HOSTILE);
}

#[test]
fn a_hostile_version_in_the_live_views_is_drawn_escaped() {
    let mock = MockServer::start(&["--version", HOSTILE]);
    let other = MockServer::start(&[]);
    let fleets = [vec![mock.url()], vec![mock.url(), other.url()]];
    for urls in fleets {
        let mut cmd = comfyctl_std();
        cmd.env("COMFYCTL_FORCE_TTY", "1")
            .args(["watch", "--count", "2", "--interval", "200ms"]);
        for u in &urls {
            cmd.args(["--url", u]);
        }
        let mut w = Proc::raw(cmd);
        assert_eq!(w.wait_code(WATCH_WAIT), Some(0), "{}", w.text());
        assert!(w.wait_for(&["summary: uptime"], WATCH_WAIT), "{}", w.text());
        let text = w.text();
        // The live view draws with its own escapes (cursor moves, clears);
        // none of the server's may pass, and NO_COLOR means no colour.
        for needle in ["\x1b[2J", "\x1b]0;", "\x07", "\x1b[31m", "\r\nFAKE"] {
            assert!(!text.contains(needle), "{urls:?}: {needle:?} in {text:?}");
        }
        // Every escape left is one of the view's own: cursor up/down, erase
        // line, show/hide cursor.
        for (at, _) in text.match_indices('\x1b') {
            let rest = &text[at + 1..];
            let params: String = rest
                .chars()
                .skip(1)
                .take_while(|c| c.is_ascii_digit() || *c == '?')
                .collect();
            let fin = rest.chars().nth(1 + params.len());
            assert!(
                rest.starts_with('[') && matches!(fin, Some('A' | 'B' | 'K' | 'h' | 'l')),
                "{urls:?}: foreign escape at {at}: {:?}",
                text[at..].chars().take(12).collect::<String>()
            );
        }
    }
}

#[test]
fn color_always_colours_plain_watch_lines_in_a_pipe() {
    let mock = MockServer::start(&[]);
    let run = |extra: &[&str]| {
        let out = comfyctl()
            .args(["watch", "--count", "1", "--interval", "200ms"])
            .args(extra)
            .args(["--url", &mock.url()])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = run(&["--color", "always"]);
    assert!(
        coloured.contains("\x1b[32m\x1b[1mconnected"),
        "{coloured:?}"
    );
    let plain = run(&[]);
    assert!(!plain.contains('\x1b'), "{plain:?}");
}

/// The fallback warning for `url`, as every mode prints it.
fn fallback_line(url: &str) -> String {
    format!(
        "warning: ComfyUI backend at {url} is unavailable; fallback=placeholder: generate placeholder images instead"
    )
}

#[test]
fn the_fallback_warning_goes_to_stderr_once_prefixed_in_every_mode() {
    let refused = RefusedPort::new();
    let dead = refused.url();
    let mock = MockServer::start(&[]);
    let modes: [(&[&str], bool, Vec<String>); 4] = [
        (&[], false, vec![dead.clone()]),
        (&["--json"], false, vec![dead.clone()]),
        (&[], true, vec![dead.clone()]),
        (&[], true, vec![dead.clone(), mock.url()]),
    ];
    for (extra, tty, urls) in modes {
        let mut cmd = comfyctl();
        cmd.args(["watch", "--count", "1", "--interval", "200ms"])
            .args(extra);
        if tty {
            cmd.env("COMFYCTL_FORCE_TTY", "1");
        }
        for u in &urls {
            cmd.args(["--url", u]);
        }
        let out = cmd.output().expect("run");
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        let what = format!("{extra:?} tty={tty} {urls:?}");
        assert_eq!(out.status.code(), Some(1), "{what}: {stdout}{stderr}");
        assert!(
            stderr.lines().any(|l| l == fallback_line(&dead)),
            "{what}: stderr {stderr:?}"
        );
        assert!(!stderr.contains("warning: fallback"), "{what}: {stderr:?}");
        assert!(!stderr.contains("warning: warning"), "{what}: {stderr:?}");
        if extra.is_empty() && !tty {
            assert!(
                !stdout.contains("is unavailable; fallback"),
                "{what}: {stdout:?}"
            );
        } else if !extra.is_empty() {
            // NDJSON keeps its warning event on stdout as well.
            assert!(stdout.contains("\"event\":\"warning\""), "{what}: {stdout}");
        }
    }
}

#[test]
fn uptime_is_measured_from_the_first_judgement() {
    let mock = MockServer::start(&[]);
    let out = comfyctl()
        .args([
            "watch",
            "--json",
            "--until",
            "connected",
            "--url",
            &mock.url(),
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    let summary = text
        .lines()
        .map(parse_line)
        .find(|v| v["event"] == "summary")
        .expect("a summary");
    assert_eq!(summary["uptime_pct"], 100.0, "{text}");

    // Connected, stopped by a signal: still all uptime.
    let mut w = watch(&mock.url(), &["--interval", "200ms"]);
    wait_state(&mut w, "connected");
    let events = crate::util::finish(&mut w);
    let summary = events.last().expect("summary");
    assert_eq!(summary["uptime_pct"], 100.0, "{summary}");
    assert_eq!(summary["outages"], 0);
}

/// `GET /metrics` from `addr` (on 127.0.0.1), body only.
fn scrape(addr: SocketAddr) -> String {
    http_get(addr.port(), "/metrics").1
}

#[test]
fn metrics_drop_readings_of_a_dead_server_and_list_series_in_a_stable_order() {
    let mut a = MockServer::start(&["--queue", "3"]);
    let b = MockServer::start(&[]);
    let mut w = Proc::spawn(watch_cmd(
        "200ms",
        &[
            "--metrics",
            "localhost:0",
            "--url",
            &a.url(),
            "--url",
            &b.url(),
        ],
    ));
    let addr = metrics_addr(&w);
    assert!(addr.ip().is_loopback(), "{addr}");
    // The counters exist at 0 from the first scrape.
    let first = scrape(addr);
    for url in [a.url(), b.url()] {
        let zero = format!("comfyui_reconnects_total{{target=\"{url}\"}} 0");
        assert!(first.contains(&zero), "{first}");
    }
    let a_pending = format!("comfyui_queue_pending{{target=\"{}\"}} 2", a.url());
    assert!(
        poll_until(WATCH_WAIT, || {
            let text = scrape(addr);
            text.contains(&a_pending) && text.matches("comfyui_vram_free_bytes{").count() == 2
        }),
        "{}",
        scrape(addr)
    );
    // Stable order: each family's series sorted by label set, every scrape.
    let sample_names = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' ').map(|(h, _)| h.to_string()))
            .filter(|h| !h.contains("_seconds"))
            .collect()
    };
    let up = scrape(addr);
    let names = sample_names(&up);
    for family in ["comfyui_up{", "comfyui_queue_remaining{", "comfyui_state{"] {
        let series: Vec<&String> = names.iter().filter(|n| n.starts_with(family)).collect();
        let mut sorted = series.clone();
        sorted.sort();
        assert_eq!(series, sorted, "{family}: {up}");
    }

    a.kill();
    let a_down = format!("comfyui_up{{target=\"{}\"}} 0", a.url());
    assert!(
        poll_until(WATCH_WAIT, || scrape(addr).contains(&a_down)),
        "{}",
        scrape(addr)
    );
    let down = scrape(addr);
    let a_label = format!("target=\"{}\"", a.url());
    for line in down.lines().filter(|l| l.contains(&a_label)) {
        for gone in ["comfyui_queue_", "comfyui_vram_"] {
            assert!(!line.starts_with(gone), "{line} while down:\n{down}");
        }
    }
    // The live server keeps its readings.
    let b_label = format!("target=\"{}\"", b.url());
    assert!(
        down.lines()
            .any(|l| l.starts_with("comfyui_queue_pending{") && l.contains(&b_label)),
        "{down}"
    );
    wait_state(&mut w, "reconnecting");
    w.signal(libc::SIGINT);
    assert_eq!(w.wait_exit(WATCH_WAIT).and_then(|s| s.code()), Some(0));
}

#[test]
fn fleet_summaries_come_in_the_tables_order() {
    // The table shows troubled servers first, then by URL: the dead one
    // first, whatever order the monitors end in.
    let refused = RefusedPort::new();
    let dead = refused.url();
    let a = MockServer::start(&[]);
    let b = MockServer::start(&[]);
    let mut healthy = [a.url(), b.url()];
    healthy.sort();
    let mut cmd = comfyctl_std();
    cmd.env("COMFYCTL_FORCE_TTY", "1")
        .args(["watch", "--interval", "200ms"])
        .args(["--url", &healthy[1], "--url", &dead, "--url", &healthy[0]]);
    let mut w = Proc::raw(cmd);
    // The state lines above the table: `connected` padded to 12 columns.
    let up = |u: &str| format!("connected    {u} ");
    assert!(
        w.wait_for(
            &["reconnecting", &up(&healthy[0]), &up(&healthy[1])],
            WATCH_WAIT
        ),
        "{}",
        w.text()
    );
    w.signal(libc::SIGINT);
    assert_eq!(w.wait_code(WATCH_WAIT), Some(0));
    assert!(w.wait_for(&["summary: uptime"], WATCH_WAIT), "{}", w.text());
    let text = w.text();
    let tail = &text[text
        .find(&format!("{dead} summary:"))
        .expect("dead summary")..];
    let at = |u: &str| tail.find(&format!("{u} summary:")).expect("summary");
    assert!(at(&healthy[0]) < at(&healthy[1]), "{tail}");
    // The summaries come after the table was cleared: no table row after them.
    assert!(!tail.contains("STATE "), "{tail:?}");
}

#[test]
fn a_metrics_address_without_a_port_is_exit_2_naming_the_flag() {
    for bad in ["localhost", "http://localhost:9464"] {
        let out = comfyctl()
            .args(["watch", "--url", "127.0.0.1:1", "--metrics", bad])
            .output()
            .expect("run");
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", all_output(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--metrics:"), "{stderr}");
        assert_eq!(
            stderr.lines().filter(|l| l.contains("--metrics")).count(),
            1
        );
    }
}

/// A child on a real pseudo-terminal (80×24), so the line discipline echoes
/// `^C` and sends SIGINT as a terminal would: a [`Proc`] capturing the pty
/// master's bytes, plus the master for typing. Killed and reaped on drop.
struct PtyChild {
    proc: Proc,
    master: std::fs::File,
}

impl PtyChild {
    fn spawn(mut cmd: std::process::Command) -> PtyChild {
        cmd.env("TERM", "xterm");
        let (proc, master) = crate::util::spawn_on_pty(cmd, 80, 24);
        PtyChild { proc, master }
    }

    fn text(&self) -> String {
        self.proc.text()
    }

    /// Whether the terminal echoes control characters as `^X` (ECHOCTL).
    fn echoctl(&self) -> bool {
        use std::os::fd::AsRawFd;
        // SAFETY: tcgetattr fills the zeroed termios we pass.
        unsafe {
            let mut t: libc::termios = std::mem::zeroed();
            assert_eq!(libc::tcgetattr(self.master.as_raw_fd(), &mut t), 0);
            t.c_lflag & libc::ECHOCTL != 0
        }
    }

    fn wait_for(&self, needle: &str) -> bool {
        self.proc.wait_for(&[needle], WATCH_WAIT)
    }

    /// Presses Ctrl-C and returns the exit code (once the last bytes were
    /// read).
    fn ctrl_c(&mut self) -> Option<i32> {
        self.master.write_all(b"\x03").unwrap();
        self.proc.wait_code(WATCH_WAIT)
    }
}

/// The screen an 80-column terminal shows after `bytes`: printable text,
/// CR, LF, cursor up/down, erase line/below, with the terminal's deferred
/// wrap at the right edge; other sequences are ignored.
fn screen(bytes: &str) -> Vec<String> {
    const WIDTH: usize = 80;
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col, mut wrap) = (0usize, 0usize, false);
    let mut chars = bytes.chars().peekable();
    let ensure = |rows: &mut Vec<Vec<char>>, row: usize| {
        while rows.len() <= row {
            rows.push(Vec::new());
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '\r' => (col, wrap) = (0, false),
            '\n' => (row, wrap) = (row + 1, false),
            '\x1b' => match chars.next() {
                Some('[') => {
                    let mut params = String::new();
                    let mut fin = ' ';
                    for c in chars.by_ref() {
                        if c.is_ascii_alphabetic() || c == '~' {
                            fin = c;
                            break;
                        }
                        params.push(c);
                    }
                    let n: usize = params.trim_start_matches('?').parse().unwrap_or(0);
                    wrap = false;
                    ensure(&mut rows, row);
                    match fin {
                        'A' => row = row.saturating_sub(n.max(1)),
                        'B' => row += n.max(1),
                        'K' if n == 2 => rows[row].clear(),
                        'K' => rows[row].truncate(col),
                        'J' => {
                            rows[row].truncate(col);
                            rows.truncate(row + 1);
                        }
                        _ => {}
                    }
                }
                Some(']') => {
                    for c in chars.by_ref() {
                        if c == '\x07' {
                            break;
                        }
                    }
                }
                _ => {}
            },
            c if c.is_control() => {}
            c => {
                if wrap {
                    (row, col, wrap) = (row + 1, 0, false);
                }
                ensure(&mut rows, row);
                let line = &mut rows[row];
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
                if col == WIDTH {
                    (col, wrap) = (WIDTH - 1, true);
                }
            }
        }
    }
    rows.iter()
        .map(|r| r.iter().collect::<String>().trim_end().to_string())
        .filter(|r| !r.is_empty())
        .collect()
}

#[test]
fn ctrl_c_on_a_terminal_clears_the_live_region_before_the_summary() {
    let refused = RefusedPort::new();
    let dead = refused.url();
    let mock = MockServer::start(&[]);
    // Each run waits until the live region has been redrawn a few times, so
    // the program's Ctrl-C handler is surely in place.
    let runs: [(&[&str], &str, Option<i32>); 4] = [
        // `--plain`: today's live view, not the dashboard.
        (
            &["watch", "--plain", "--url", &dead],
            "reconnect attempt 3,",
            Some(0),
        ),
        (
            &["watch", "--plain", "--url", &dead, "--url", &mock.url()],
            "reconnecting  http",
            Some(0),
        ),
        (
            &["health", "--wait", "60s", "--url", &dead],
            "waited 1s",
            Some(130),
        ),
        (
            &["connect", "--retries", "1000", "--url", &dead],
            "attempt 3 of",
            Some(130),
        ),
    ];
    for (args, live, code) in runs {
        let mut cmd = comfyctl_std();
        cmd.args(args);
        let mut p = PtyChild::spawn(cmd);
        assert!(p.wait_for(live), "{args:?}: {:?}", p.text());
        assert!(!p.echoctl(), "{args:?}: no ^C echo into the live region");
        assert_eq!(p.ctrl_c(), code, "{args:?}: {:?}", p.text());
        assert!(p.echoctl(), "{args:?}: the terminal setting is restored");
        let raw = p.text();
        let shown = screen(&raw);
        let text = shown.join("\n");
        for gone in ["^C", "reconnect attempt", "STATE", "waited", "attempt 1"] {
            assert!(
                !text.contains(gone),
                "{args:?}: {gone:?} left on screen:\n{text}"
            );
        }
        if args[0] == "watch" {
            // The summary (which may wrap at 80 columns) ends the screen;
            // its last part is the job counts.
            assert!(text.contains("summary: uptime"), "{text}");
            assert!(
                shown.last().is_some_and(|l| l.contains(" cancelled")),
                "{args:?}: the summary ends the screen:\n{text}"
            );
        } else {
            assert_eq!(
                shown.last().map(String::as_str),
                Some("comfyctl: interrupted"),
                "{text}"
            );
        }
    }
}
