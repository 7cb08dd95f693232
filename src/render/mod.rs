//! Output: turns statuses and events into text. Renderers only consume; they
//! never make requests.

pub mod dashboard;
pub mod held;
pub mod human;
pub mod jobs;
pub mod json;
pub mod live;
pub mod ndjson;
pub mod ndjson_stream;
pub mod pace;
pub mod plain;
/// Terminal-safe text lives beside render, for the sinks too.
pub use crate::safe;
pub mod spinner;
pub mod status_line;
pub mod style;
pub mod table;
pub mod tty;
pub mod view;
pub mod width;

use std::io::Write;

use console::Style;

/// Consumes monitor events and shows them.
pub trait Renderer {
    /// Shows one event.
    fn event(&mut self, envelope: &crate::manager::Envelope) -> std::io::Result<()>;
    /// Called about once a second so time-based text stays current.
    fn tick(&mut self) {}
}

/// Prints nothing (`--quiet`).
pub struct Silent;

impl Renderer for Silent {
    fn event(&mut self, _: &crate::manager::Envelope) -> std::io::Result<()> {
        Ok(())
    }
}

/// The renderer for this output mode: NDJSON, the dashboard (`out.tui` and
/// real terminals on stdin and stdout), the live view (a status line, or a
/// table for a fleet), plain lines, or nothing. `throttle` (the poll
/// interval) paces repeated lines: reconnect attempts, queue and progress
/// updates, at most one of each per server.
pub fn for_stream(out: Output, throttle: std::time::Duration, targets: usize) -> Box<dyn Renderer> {
    if out.quiet {
        Box::new(Silent)
    } else if out.json {
        Box::new(ndjson::Ndjson::new(throttle))
    } else if let Some(dash) = out.tui.then(|| dashboard::Dashboard::start(out)).flatten() {
        Box::new(dash)
    } else if out.live {
        Box::new(live::Live::new(out, targets > 1))
    } else {
        Box::new(plain::Plain::new(out, throttle))
    }
}

/// Where live output draws: stdout (watch's views) or stderr (spinners).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// The indicatif target for `stream`; with [`Output::forced_tty`] it draws
/// even into a pipe, so tests can see the live view.
pub fn draw_target(out: &Output, stream: Stream) -> indicatif::ProgressDrawTarget {
    use indicatif::ProgressDrawTarget;
    match (out.forced_tty, stream) {
        (true, Stream::Stdout) => ProgressDrawTarget::term_like(Box::new(Forced {
            term: console::Term::stdout(),
            stream,
            out: *out,
        })),
        (true, Stream::Stderr) => ProgressDrawTarget::term_like(Box::new(Forced {
            term: console::Term::stderr(),
            stream,
            out: *out,
        })),
        (false, Stream::Stdout) => ProgressDrawTarget::stdout(),
        (false, Stream::Stderr) => ProgressDrawTarget::stderr(),
    }
}

/// A forced live view: draws like a terminal into whatever stdout/stderr
/// is, as wide as [`width::budget`] says (so `COLUMNS` counts in a pipe).
#[derive(Debug)]
struct Forced {
    term: console::Term,
    stream: Stream,
    out: Output,
}

impl indicatif::TermLike for Forced {
    fn width(&self) -> u16 {
        u16::try_from(width::budget(&self.out, self.stream) + 1).unwrap_or(u16::MAX)
    }
    fn move_cursor_up(&self, n: usize) -> std::io::Result<()> {
        self.term.move_cursor_up(n)
    }
    fn move_cursor_down(&self, n: usize) -> std::io::Result<()> {
        self.term.move_cursor_down(n)
    }
    fn move_cursor_right(&self, n: usize) -> std::io::Result<()> {
        self.term.move_cursor_right(n)
    }
    fn move_cursor_left(&self, n: usize) -> std::io::Result<()> {
        self.term.move_cursor_left(n)
    }
    fn write_line(&self, s: &str) -> std::io::Result<()> {
        self.term.write_line(s)
    }
    fn write_str(&self, s: &str) -> std::io::Result<()> {
        self.term.write_str(s)
    }
    fn clear_line(&self) -> std::io::Result<()> {
        self.term.clear_line()
    }
    fn flush(&self) -> std::io::Result<()> {
        self.term.flush()
    }
}

/// Writes a server's warning as one terminal-safe `warning:` line on stderr
/// (as in every mode), with the live region `bar` taken off the screen
/// meanwhile so the two never mix.
pub fn warn_over_live(bar: &indicatif::ProgressBar, out: Output, message: &str) {
    bar.suspend(|| out.warn(&safe::term_safe(message)));
}

/// Takes a live region (spinner, status line, table) off the screen for good.
///
/// indicatif leaves the cursor at the right edge of its last line, so the
/// `^C` a terminal echoes on Ctrl-C wraps onto a new line and a plain clear
/// would then miss the top row. One space first puts the cursor on the line
/// below the region whether or not `^C` was echoed; that line is wiped and
/// the cursor returned to the region's last line before it is cleared.
pub fn clear_live(bar: &indicatif::ProgressBar, stream: Stream, drawn: bool) {
    if bar.is_finished() {
        return;
    }
    bar.disable_steady_tick();
    if drawn && !bar.is_hidden() {
        let term = match stream {
            Stream::Stdout => console::Term::stdout(),
            Stream::Stderr => console::Term::stderr(),
        };
        let _ = term.write_str(" \r\x1b[2K\x1b[1A");
        let _ = term.flush();
    }
    bar.finish_and_clear();
}

/// How output looks, decided once at start-up (see `config::output`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Output {
    /// JSON on stdout instead of text.
    pub json: bool,
    /// ANSI colour on.
    pub color: bool,
    /// A terminal is watching: spinners and live lines allowed.
    pub live: bool,
    /// Print nothing at all.
    pub quiet: bool,
    /// `watch` may open the full-screen dashboard (a terminal, and neither
    /// `--json` nor `--plain`); it still needs real terminals on stdin and
    /// stdout, so a forced live view in a pipe never gets it.
    pub tui: bool,
    /// Live views draw even into a pipe (`COMFYCTL_FORCE_TTY`, for tests).
    pub forced_tty: bool,
    /// How wide the reader is when stdout is not a terminal (`COLUMNS`,
    /// read once at start); `None`: 80.
    pub columns: Option<usize>,
    /// Test-only (`COMFYCTL_TEST_DASHBOARD_PANIC`): the dashboard panics
    /// after its first frame, to prove the panic hook restores the terminal.
    pub panic_test: bool,
}

/// Sinks say what went wrong through the renderer's output.
impl crate::sinks::Notes for Output {
    fn note(&self, text: &str) {
        Output::note(self, text);
    }

    fn screen_held(&self) -> bool {
        held::holding()
    }
}

impl Output {
    /// Plain text, no colour, nothing live: what a pipe gets.
    pub const PLAIN: Output = Output {
        json: false,
        color: false,
        live: false,
        quiet: false,
        tui: false,
        forced_tty: false,
        columns: None,
        panic_test: false,
    };

    /// A style that honours the colour decision.
    pub fn style(&self) -> Style {
        Style::new().force_styling(self.color)
    }

    /// Writes a line to stdout, unless quiet. A closed pipe is not an error
    /// worth a panic.
    pub fn println(&self, line: &str) -> std::io::Result<()> {
        if self.quiet {
            return Ok(());
        }
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()
    }

    /// Writes a line to stderr, unless quiet. While the dashboard owns the
    /// terminal the line is held for it instead ([`held`]).
    pub fn eprintln(&self, line: &str) {
        self.stderr_line(line, line);
    }

    /// `styled` on stderr, or `plain` (and `styled`) held while the
    /// dashboard is open.
    fn stderr_line(&self, plain: &str, styled: &str) {
        if !self.quiet && !held::offer(plain, styled) {
            let _ = writeln!(std::io::stderr().lock(), "{styled}");
        }
    }

    /// The fallback warning, in its own style, on stderr.
    pub fn warn(&self, message: &str) {
        let prefix = style::warning(self).apply_to("warning:");
        let plain = format!("warning: {message}");
        self.stderr_line(&plain, &format!("{prefix} {message}"));
    }

    /// A note about what comfyctl chose (e.g. the auto-detected server).
    pub fn note(&self, message: &str) {
        let plain = format!("comfyctl: {message}");
        let note = style::dim(self).apply_to(&plain);
        self.stderr_line(&plain, &note.to_string());
    }
}
