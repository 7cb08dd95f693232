//! Issue 20, the full-screen dashboard of `watch` on a terminal: driven
//! through a real pseudo-terminal, the bytes parsed by a terminal emulator
//! (vt100) and the cells asserted on.

use std::cell::RefCell;
use std::io::Write;
use std::num::NonZeroU16;
use std::os::fd::AsRawFd;
use std::process::Command;

use crate::support::{MockServer, Proc, RefusedPort, poll_until};
use crate::util::{WATCH_WAIT, comfyctl_std, http_post};

/// What a hostile server reports as its version: clear the screen, set the
/// window title, colour, ring the bell and forge a line.
const HOSTILE: &str = "0.3\x1b[2J\x1b]0;pwned\x07\x1b[31mEVIL\r\nFAKE LINE";

/// Remembers any window title a program sets (none may be).
#[derive(Default)]
struct Titles(Vec<Vec<u8>>);

impl vt100::Callbacks for Titles {
    fn set_window_title(&mut self, _: &mut vt100::Screen, title: &[u8]) {
        self.0.push(title.to_vec());
    }
    fn set_window_icon_name(&mut self, _: &mut vt100::Screen, name: &[u8]) {
        self.0.push(name.to_vec());
    }
}

/// `comfyctl` on a pty of `cols`×`rows`, its output fed to an emulator of
/// the same size. Killed and reaped on drop (the [`Proc`] guard).
struct Tui {
    proc: Proc,
    master: std::fs::File,
    term: RefCell<(vt100::Parser<Titles>, usize)>,
}

fn nz(n: u16) -> NonZeroU16 {
    NonZeroU16::new(n).expect("non-zero size")
}

fn winsize(cols: u16, rows: u16) -> libc::winsize {
    libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    }
}

impl Tui {
    fn spawn(args: &[&str], cols: u16, rows: u16) -> Tui {
        let mut cmd = comfyctl_std();
        cmd.args(args);
        Tui::spawn_cmd(cmd, cols, rows)
    }

    fn spawn_cmd(mut cmd: Command, cols: u16, rows: u16) -> Tui {
        if !cmd.get_envs().any(|(k, _)| k == "TERM") {
            cmd.env("TERM", "xterm-256color");
        }
        let (proc, master) = crate::util::spawn_on_pty(cmd, cols, rows);
        let parser = vt100::Parser::new_with_callbacks(nz(rows), nz(cols), 0, Titles::default());
        Tui {
            proc,
            master,
            term: RefCell::new((parser, 0)),
        }
    }

    /// Feeds the bytes read since the last call to the emulator.
    fn feed(&self) {
        let text = self.proc.text();
        // A character still arriving shows as U+FFFD at the end: not yet.
        let text = text.trim_end_matches('\u{fffd}');
        let mut term = self.term.borrow_mut();
        let (parser, fed) = &mut *term;
        if text.len() > *fed {
            parser.process(&text.as_bytes()[*fed..]);
            *fed = text.len();
        }
    }

    /// The screen's rows as text, right-trimmed.
    fn rows(&self) -> Vec<String> {
        self.feed();
        let term = self.term.borrow();
        let screen = term.0.screen();
        let cols = screen.size().1.get();
        screen
            .rows(0, cols)
            .map(|r| r.trim_end().to_string())
            .collect()
    }

    fn screen(&self) -> String {
        self.rows().join("\n")
    }

    fn alternate(&self) -> bool {
        self.feed();
        self.term.borrow().0.screen().alternate_screen()
    }

    /// Polls until `pred` holds for the screen's rows.
    fn wait(&self, pred: impl Fn(&[String]) -> bool) -> bool {
        poll_until(WATCH_WAIT, || pred(&self.rows()))
    }

    fn wait_text(&self, needle: &str) -> bool {
        self.wait(|rows| rows.iter().any(|r| r.contains(needle)))
    }

    fn keys(&mut self, bytes: &[u8]) {
        self.master.write_all(bytes).unwrap();
    }

    /// Resizes the pty (the kernel sends SIGWINCH) and the emulator.
    fn resize(&mut self, cols: u16, rows: u16) {
        self.feed();
        let size = winsize(cols, rows);
        // SAFETY: TIOCSWINSZ reads the winsize we pass.
        let rc = unsafe { libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &size) };
        assert_eq!(rc, 0, "TIOCSWINSZ");
        self.term.borrow_mut().0.set_size(nz(rows), nz(cols));
    }

    fn exit_code(&mut self) -> Option<i32> {
        let code = self.proc.wait_code(WATCH_WAIT);
        // The reader sees EIO once the child is gone: all bytes are in.
        poll_until(WATCH_WAIT, || {
            let before = self.proc.text().len();
            std::thread::sleep(std::time::Duration::from_millis(20));
            self.proc.text().len() == before
        });
        code
    }
}

/// The row that shows `url` (the URL is unique per row).
fn row_of<'a>(rows: &'a [String], url: &str) -> Option<&'a String> {
    const STATES: [&str; 8] = [
        "starting",
        "connecting",
        "connected",
        "degraded",
        "stalled",
        "disconnected",
        "reconnecting",
        "failed",
    ];
    rows.iter().find(|r| {
        let table_row = STATES.iter().any(|s| r.trim_start().starts_with(s));
        table_row && (r.contains(&format!(" {url} ")) || r.ends_with(url))
    })
}

fn row_state(rows: &[String], url: &str, state: &str) -> bool {
    row_of(rows, url).is_some_and(|r| r.trim_start().starts_with(state))
}

fn watch_args(urls: &[String]) -> Vec<&str> {
    let mut args = vec!["watch", "--interval", "200ms"];
    for u in urls {
        args.extend(["--url", u.as_str()]);
    }
    args
}

#[test]
fn three_servers_get_a_row_each_through_a_kill_and_restart_and_q_restores_the_screen() {
    let a = MockServer::start(&[]);
    let mut b = MockServer::start(&[]);
    let c = MockServer::start(&[]);
    let urls = [a.url(), b.url(), c.url()];
    let mut t = Tui::spawn(&watch_args(&urls), 200, 40);
    let all_up = |rows: &[String]| urls.iter().all(|u| row_state(rows, u, "connected"));
    assert!(t.wait(all_up), "{}", t.screen());
    assert!(t.alternate(), "the dashboard draws on the alternate screen");
    let header = t.rows().into_iter().find(|r| r.contains("STATE")).unwrap();
    for col in [
        "FOR", "URL", "QUEUE", "RUNNING", "JOBS", "LATENCY", "Q HIST",
    ] {
        assert!(header.contains(col), "{header}");
    }

    b.kill();
    let down = |rows: &[String]| {
        row_of(rows, &urls[1]).is_some_and(|r| {
            let r = r.trim_start();
            r.starts_with("reconnecting") || r.starts_with("disconnected")
        })
    };
    assert!(t.wait(down), "{}", t.screen());
    // The footer carries the fallback warning while it is down.
    let warning = format!("ComfyUI backend at {} is unavailable", urls[1]);
    assert!(t.wait_text(&warning), "{}", t.screen());
    assert!(t.wait(|r| r[0].contains("1 down")), "{}", t.screen());

    b.restart();
    assert!(t.wait(all_up), "{}", t.screen());
    assert!(
        t.wait(|rows| !rows.iter().any(|r| r.contains(&warning))),
        "the warning goes once the server is back: {}",
        t.screen()
    );

    t.keys(b"q");
    assert_eq!(t.exit_code(), Some(0), "{}", t.screen());
    assert!(!t.alternate(), "the main screen is back");
    let rows = t.rows();
    let shown: Vec<&String> = rows.iter().filter(|r| !r.is_empty()).collect();
    // The main screen holds the summaries and nothing of the dashboard.
    assert_eq!(shown.len(), 3, "{shown:?}");
    for (row, url) in shown.iter().zip(sorted(&urls)) {
        assert!(
            row.starts_with(&format!("{url} summary: uptime")),
            "{shown:?}"
        );
    }
    let raw = t.proc.text();
    assert!(raw.ends_with("cancelled\r\n"), "{:?}", tail(&raw));
    assert!(raw.contains("\x1b[?25h"), "the cursor is shown again");
}

fn sorted(urls: &[String]) -> Vec<String> {
    let mut v = urls.to_vec();
    v.sort();
    v
}

fn tail(s: &str) -> String {
    s.chars()
        .rev()
        .take(200)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

#[test]
fn a_failed_job_shows_in_the_failures_panel_and_the_details() {
    let mock = MockServer::start(&[]);
    let other = MockServer::start(&[]);
    let urls = [mock.url(), other.url()];
    let mut t = Tui::spawn(&watch_args(&urls), 160, 40);
    assert!(
        t.wait_text("failed and cancelled jobs (0)"),
        "{}",
        t.screen()
    );
    // As a user does: submit work right after `connected`.
    assert!(
        t.wait(|r| row_state(r, &urls[0], "connected")),
        "{}",
        t.screen()
    );
    assert_eq!(
        http_post(mock.port(), "/__mock/job?outcome=failed&ms=50&count=1", ""),
        200
    );
    let panel_line = |rows: &[String]| {
        rows.iter()
            .any(|r| r.contains(&urls[0]) && r.contains(" failed") && r.starts_with("│"))
    };
    assert!(t.wait(panel_line), "{}", t.screen());
    assert!(
        t.wait_text("failed and cancelled jobs (1)"),
        "{}",
        t.screen()
    );
    let row = row_of(&t.rows(), &urls[0]).cloned().unwrap();
    assert!(row.contains(" 0/1 "), "the window counts it: {row}");

    // Details of the selected (troubled-first: the one with the failure is
    // not troubled, so select by filter) server show the job line.
    t.keys(format!("/{}\r", mock.port()).as_bytes());
    assert!(
        t.wait(|r| row_of(r, &urls[1]).is_none() && row_of(r, &urls[0]).is_some()),
        "{}",
        t.screen()
    );
    t.keys(b"\r");
    assert!(t.wait_text("(Enter closes)"), "{}", t.screen());
    assert!(t.wait_text(" failed after "), "{}", t.screen());
    assert!(t.wait_text("connected"), "{}", t.screen());
    // `r` starts the window afresh.
    t.keys(b"\rr");
    assert!(
        t.wait_text("failed and cancelled jobs (0)"),
        "{}",
        t.screen()
    );
    t.keys(b"q");
    assert_eq!(t.exit_code(), Some(0));
}

#[test]
fn help_filter_sort_and_pause_keys() {
    let a = MockServer::start(&[]);
    let b = MockServer::start(&[]);
    let refused = RefusedPort::new();
    let urls = [a.url(), b.url(), refused.url()];
    let mut t = Tui::spawn(&watch_args(&urls), 160, 40);
    assert!(
        t.wait(|r| row_state(r, &urls[0], "connected") && row_state(r, &urls[1], "connected")),
        "{}",
        t.screen()
    );
    t.keys(b"?");
    assert!(t.wait_text("q, Ctrl-C   quit"), "{}", t.screen());
    assert!(
        t.wait_text("Narrow terminals drop columns"),
        "{}",
        t.screen()
    );
    t.keys(b"?");
    assert!(
        t.wait(|r| !r.iter().any(|l| l.contains("q, Ctrl-C   quit"))),
        "{}",
        t.screen()
    );

    // `/` filters by URL...
    t.keys(format!("/{}\r", b.port()).as_bytes());
    let only = |rows: &[String], keep: &str| {
        urls.iter()
            .all(|u| row_of(rows, u).is_some() == (u.as_str() == keep))
    };
    assert!(t.wait(|r| only(r, &urls[1])), "{}", t.screen());
    assert!(
        t.wait_text(&format!("filter: {}", b.port())),
        "{}",
        t.screen()
    );
    // ... or by state; Esc drops the filter.
    t.keys(b"\x1b");
    assert!(
        t.wait(|r| urls.iter().all(|u| row_of(r, u).is_some())),
        "{}",
        t.screen()
    );
    t.keys(b"/reconn\r");
    assert!(t.wait(|r| only(r, &urls[2])), "{}", t.screen());
    // A lone Esc: the next key waits until it was read on its own.
    t.keys(b"\x1b");
    assert!(
        t.wait(|r| urls.iter().all(|u| row_of(r, u).is_some())),
        "{}",
        t.screen()
    );

    // `s` cycles the sort; the state sort puts the dead server first.
    let table = |r: &[String]| -> Vec<usize> {
        urls.iter()
            .map(|u| {
                r.iter()
                    .position(|l| row_of(std::slice::from_ref(l), u).is_some())
                    .unwrap_or(99)
            })
            .collect()
    };
    assert!(
        t.wait(|r| {
            let p = table(r);
            p[2] < p[0] && p[2] < p[1]
        }),
        "{}",
        t.screen()
    );
    t.keys(b"sss");
    assert!(t.wait_text("sort: url"), "{}", t.screen());
    let mut by_url = urls.to_vec();
    by_url.sort();
    assert!(
        t.wait(|r| {
            let p = table(r);
            let at = |u: &String| p[urls.iter().position(|x| x == u).unwrap()];
            at(&by_url[0]) < at(&by_url[1]) && at(&by_url[1]) < at(&by_url[2])
        }),
        "{}",
        t.screen()
    );
    t.keys(b"p");
    assert!(t.wait_text("PAUSED"), "{}", t.screen());
    t.keys(b"p\x03");
    assert_eq!(
        t.exit_code(),
        Some(0),
        "Ctrl-C quits like q: {}",
        t.screen()
    );
    assert!(!t.alternate());
}

#[test]
fn resizing_from_200_to_80_columns_drops_columns_and_never_wraps_a_row() {
    let a = MockServer::start(&[]);
    let b = MockServer::start(&[]);
    let urls = [a.url(), b.url()];
    let mut t = Tui::spawn(&watch_args(&urls), 200, 30);
    assert!(t.wait_text("LAT HIST"), "{}", t.screen());
    assert!(
        t.wait(|r| urls.iter().all(|u| row_state(r, u, "connected"))),
        "{}",
        t.screen()
    );
    t.resize(80, 24);
    // The whole frame at 80 columns: history columns gone, STATE, URL and
    // QUEUE kept, each server on one row (nothing wrapped), key hints last.
    let narrow = |rows: &[String]| {
        let Some(header) = rows.iter().find(|r| r.starts_with("STATE")) else {
            return false;
        };
        rows.len() == 24
            && header.contains("URL")
            && header.contains("QUEUE")
            && !header.contains("HIST")
            && urls.iter().all(|u| {
                row_of(rows, u).is_some_and(|r| r.starts_with("connected") && r.contains("0/0/0"))
            })
            && rows[23].starts_with("q quit")
            && rows.iter().all(|r| r.chars().count() <= 80)
    };
    assert!(t.wait(narrow), "{:#?}", t.rows());
    t.resize(200, 30);
    assert!(t.wait_text("LAT HIST"), "{}", t.screen());
    t.keys(b"q");
    assert_eq!(t.exit_code(), Some(0));
}

#[test]
fn a_hostile_server_string_stays_inert_on_the_dashboard() {
    let mock = MockServer::start(&["--version", HOSTILE]);
    let url = mock.url();
    let mut cmd = comfyctl_std();
    cmd.env_remove("NO_COLOR")
        .args(["watch", "--interval", "200ms", "--url", &url]);
    let mut t = Tui::spawn_cmd(cmd, 160, 30);
    assert!(
        t.wait(|r| row_state(r, &url, "connected")),
        "{}",
        t.screen()
    );
    t.keys(b"\r");
    // Shown escaped, as text.
    assert!(
        t.wait_text("version 0.3\\u{1b}[2J\\u{1b}]0;pwned\\u{7}"),
        "{}",
        t.screen()
    );
    let rows = t.rows();
    assert!(!rows.iter().any(|r| r.starts_with("FAKE")), "{rows:#?}");
    assert!(t.alternate(), "still on the dashboard's screen");
    t.keys(b"q");
    assert_eq!(t.exit_code(), Some(0));
    let raw = t.proc.text();
    for needle in ["\x1b]0;", "\x07", "\x1b[31mEVIL", "\r\nFAKE"] {
        assert!(!raw.contains(needle), "{needle:?} reached the terminal");
    }
    assert!(
        t.term.borrow().0.callbacks().0.is_empty(),
        "no title was set"
    );
}

#[test]
fn plain_dumb_json_and_the_exit_rules_keep_or_restore_the_main_screen() {
    let mock = MockServer::start(&[]);
    let url = mock.url();
    // --plain, --no-tui, --json and TERM=dumb never open the dashboard.
    let runs: [(&[&str], Option<&str>); 4] = [
        (&["--plain"], None),
        (&["--no-tui"], None),
        (&["--json"], None),
        (&[], Some("dumb")),
    ];
    for (extra, term) in runs {
        let mut cmd = comfyctl_std();
        cmd.args([
            "watch",
            "--count",
            "2",
            "--interval",
            "200ms",
            "--url",
            &url,
        ])
        .args(extra);
        if let Some(term) = term {
            cmd.env("TERM", term);
        }
        let mut t = Tui::spawn_cmd(cmd, 100, 24);
        assert_eq!(t.exit_code(), Some(0), "{extra:?}: {}", t.screen());
        let raw = t.proc.text();
        assert!(!raw.contains("\x1b[?1049h"), "{extra:?} {term:?}: {raw:?}");
        assert!(
            raw.contains("summary") || raw.contains("\"summary\""),
            "{raw:?}"
        );
    }
    // `--count` ends the dashboard by itself; SIGTERM too: both restore.
    for sigterm in [false, true] {
        let count: &[&str] = if sigterm { &[] } else { &["--count", "3"] };
        let mut cmd = comfyctl_std();
        cmd.args(["watch", "--interval", "200ms", "--url", &url])
            .args(count);
        let mut t = Tui::spawn_cmd(cmd, 100, 24);
        // `--count 3` may end before a poll of the screen sees it.
        assert!(
            sigterm || t.proc.wait_for(&["\x1b[?1049h"], WATCH_WAIT),
            "{}",
            t.screen()
        );
        assert!(
            !sigterm || t.wait(|r| row_state(r, &url, "connected")),
            "{}",
            t.screen()
        );
        if sigterm {
            t.proc.signal(libc::SIGTERM);
        }
        assert_eq!(t.exit_code(), Some(0), "{}", t.screen());
        assert!(!t.alternate(), "sigterm={sigterm}: main screen back");
        let rows = t.rows();
        assert!(rows[0].starts_with("summary: uptime"), "{rows:#?}");
        assert!(t.proc.text().contains("\x1b[?1049l"), "sigterm={sigterm}");
    }
}

#[test]
fn a_hooks_own_output_and_notes_stay_in_the_footer_and_come_back_after_exit() {
    let mock = MockServer::start(&[]);
    let url = mock.url();
    let dir = crate::fleet::scratch_dir("dash-hook");
    let log = dir.join("states.log");
    // Text on both of its streams: stdout goes nowhere, stderr is relayed.
    let noisy = "echo \"HOOK-OUT-$COMFYCTL_STATE\"\necho \"HOOK-ERR-$COMFYCTL_STATE\" >&2";
    let script = crate::fleet::hook_script(&dir, &log, noisy);
    let mut cmd = comfyctl_std();
    cmd.args(["watch", "--interval", "200ms", "--url", &url])
        .arg("--on-change")
        .arg(&script);
    let mut t = Tui::spawn_cmd(cmd, 160, 30);
    assert!(
        t.wait(|r| row_state(r, &url, "connected")),
        "{}",
        t.screen()
    );
    let in_footer = |rows: &[String]| {
        rows[28].contains("HOOK-ERR-connected") && rows[28].contains("printed again at exit")
    };
    assert!(t.wait(in_footer), "{}", t.screen());
    // Nothing the hook wrote is anywhere else on the screen, and the frame
    // around it is whole: header on top, key hints at the bottom.
    let rows = t.rows();
    let stray: Vec<(usize, &String)> = rows
        .iter()
        .enumerate()
        .filter(|(i, r)| *i != 28 && r.contains("HOOK-"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}\n{}", t.screen());
    assert!(
        rows[0].starts_with("comfyctl watch · 1 servers"),
        "{rows:#?}"
    );
    assert!(rows[29].starts_with("q quit"), "{rows:#?}");
    assert!(row_of(&rows, &url).is_some(), "{rows:#?}");
    assert!(t.alternate());

    t.keys(b"q");
    assert_eq!(t.exit_code(), Some(0), "{}", t.screen());
    assert!(!t.alternate());
    let rows = t.rows();
    let shown: Vec<&String> = rows.iter().filter(|r| !r.is_empty()).collect();
    // Printed again on the main screen, before the summary.
    let said = format!(
        "comfyctl: --on-change {}: HOOK-ERR-connected",
        script.display()
    );
    assert!(shown.iter().any(|r| r.starts_with(&said)), "{shown:#?}");
    assert!(
        shown.last().unwrap().starts_with("summary: uptime"),
        "{shown:#?}"
    );
    assert!(!t.proc.text().contains("HOOK-OUT"), "stdout is not shown");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_panic_leaves_the_alternate_screen_shows_the_cursor_and_ends_raw_mode() {
    let mock = MockServer::start(&[]);
    let url = mock.url();
    let mut cmd = comfyctl_std();
    cmd.env("COMFYCTL_TEST_DASHBOARD_PANIC", "1").args([
        "watch",
        "--interval",
        "200ms",
        "--url",
        &url,
    ]);
    let mut t = Tui::spawn_cmd(cmd, 120, 30);
    assert!(
        t.proc
            .wait_for(&["COMFYCTL_TEST_DASHBOARD_PANIC is set"], WATCH_WAIT),
        "{:?}",
        t.proc.text()
    );
    let raw = t.proc.text();
    let opened = raw.find("\x1b[?1049h").expect("the dashboard opened");
    let message = raw.find("panicked").expect("the panic message");
    // Restored before the message is printed, so the message is readable.
    let left = raw[opened..].find("\x1b[?1049l").map(|i| i + opened);
    assert!(left.is_some_and(|i| i < message), "{raw:?}");
    let shown = raw[opened..].find("\x1b[?25h").map(|i| i + opened);
    assert!(shown.is_some_and(|i| i < message), "{raw:?}");
    assert!(!t.alternate(), "the main screen is back");
    assert!(
        t.wait_text("COMFYCTL_TEST_DASHBOARD_PANIC is set"),
        "{}",
        t.screen()
    );
    // The pty's line discipline (shared by both ends) is cooked again.
    // SAFETY: tcgetattr fills the zeroed termios we pass.
    let lflag = unsafe {
        let mut tio: libc::termios = std::mem::zeroed();
        assert_eq!(libc::tcgetattr(t.master.as_raw_fd(), &mut tio), 0);
        tio.c_lflag
    };
    assert!(lflag & libc::ICANON != 0, "canonical mode is back");
    assert!(lflag & libc::ECHO != 0, "echo is back");
    // Monitoring goes on without the screen; SIGTERM still ends it cleanly.
    t.proc.signal(libc::SIGTERM);
    assert_eq!(t.exit_code(), Some(0), "{}", t.screen());
    assert!(t.wait_text("summary: uptime"), "{}", t.screen());
}
