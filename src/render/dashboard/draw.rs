//! One frame of the dashboard: header, the server table, the failures (or
//! details) panel, the footer, and the help overlay on top.

use super::canvas::{Canvas, Color, Rect, Style};
use super::columns::{Col, columns_for, sparkline};
use super::model::{Model, Server};
use crate::manager::State;
use crate::render::Output;
use crate::render::view::short_duration;

/// Draws the whole screen for `model`.
pub fn frame(c: &mut Canvas, model: &Model, out: Output) {
    let paint = Paint(out.color);
    let area = c.area();
    // Header and footer first; the table keeps at least 3 rows before the
    // panel gets any.
    let want = if model.details { 12 } else { 8 };
    let foot = footer_lines(model, paint);
    let middle = area.h.saturating_sub(1 + foot.len() as u16);
    let lower = want.min(middle.saturating_sub(3));
    let row = |y: u16, h: u16| Rect {
        x: 0,
        y,
        w: area.w,
        h,
    };
    let table = row(1, middle - lower);
    let panel = row(1 + table.h, lower);
    header(c, row(0, 1), model, paint);
    servers(c, table, model, paint);
    if model.details {
        details(c, panel, model);
    } else {
        failures(c, panel, model, paint);
    }
    footer(c, row(1 + middle, area.h.saturating_sub(1 + middle)), &foot);
    if model.help {
        help(c);
    }
}

/// Styles only when colour is on (`NO_COLOR`, `--color never`).
#[derive(Clone, Copy)]
struct Paint(bool);

impl Paint {
    fn s(self, style: Style) -> Style {
        if self.0 { style } else { Style::new() }
    }

    fn state(self, state: Option<State>) -> Style {
        let bold = Style::new().bold();
        self.s(match state {
            Some(State::Connected) => bold.fg(Color::Green),
            Some(State::Degraded | State::Stalled) => bold.fg(Color::Yellow),
            Some(State::Disconnected | State::Failed) => bold.fg(Color::Red),
            Some(State::Reconnecting) => bold.fg(Color::Magenta),
            Some(State::Connecting) | None => Style::new().fg(Color::Cyan),
        })
    }
}

fn header(c: &mut Canvas, area: Rect, model: &Model, paint: Paint) {
    let all = model.servers.len();
    let up = model
        .servers
        .values()
        .filter(|s| s.view.state.is_some_and(State::is_up))
        .count();
    let down = model
        .servers
        .values()
        .filter(|s| s.view.state.is_some_and(State::is_down))
        .count();
    let mut text = format!(
        "comfyctl watch · {all} servers · {up} up · {down} down · sort: {}",
        model.sort.name()
    );
    if !model.filter.is_empty() || model.editing {
        text.push_str(&format!(" · filter: {}", model.filter));
    }
    let mut spans = vec![(text.as_str(), paint.s(Style::new().bold()))];
    if model.paused {
        let badge = paint.s(Style::new().fg(Color::Black).bg(Color::Yellow));
        spans.push(("  PAUSED", badge));
    }
    if area.h > 0 {
        c.spans(area.x, area.y, area.w, &spans);
    }
}

/// Each column's left edge and width: fixed columns as declared, the URL
/// as wide as the longest one, cut only when nothing else is left to drop.
fn layout(cols: &[Col], width: u16, url: u16) -> Vec<(Col, u16, u16)> {
    let fixed: u16 = cols.iter().filter_map(|c| c.width()).sum();
    let gaps = cols.len().saturating_sub(1) as u16;
    let url = url.min(width.saturating_sub(fixed + gaps));
    let mut x = 0u16;
    cols.iter()
        .map(|c| {
            let w = c.width().unwrap_or(url);
            let at = x;
            x = x.saturating_add(w + 1);
            (*c, at, w)
        })
        .collect()
}

fn servers(c: &mut Canvas, area: Rect, model: &Model, paint: Paint) {
    if area.h == 0 {
        return;
    }
    let rows = model.rows();
    let url = rows
        .iter()
        .map(|s| s.url.chars().count())
        .max()
        .unwrap_or(0);
    let url = u16::try_from(url.max(3)).unwrap_or(u16::MAX);
    let cols = layout(&columns_for(area.w, url), area.w, url);
    let bold = paint.s(Style::new().bold());
    let fit = |at: u16, w: u16| w.min(area.w.saturating_sub(at));
    for &(col, at, w) in &cols {
        c.text(area.x + at, area.y, fit(at, w), col.title(), bold);
    }
    // Rows past the bottom scroll so that the selection stays in view.
    let room = usize::from(area.h - 1);
    let selected = model.selected.min(rows.len().saturating_sub(1));
    let first = (selected + 1).saturating_sub(room);
    for (i, s) in rows.iter().enumerate().skip(first).take(room) {
        let y = area.y + 1 + (i - first) as u16;
        for &(col, at, w) in &cols {
            cell(c, (area.x + at, y, fit(at, w)), col, s, paint);
        }
        if i == selected {
            c.reverse_row(area, y);
        }
    }
}

fn cell(c: &mut Canvas, (x, y, w): (u16, u16, u16), col: Col, s: &Server, paint: Paint) {
    let v = &s.view;
    let dash = || "-".to_string();
    let text = match col {
        Col::State => {
            c.text(x, y, w, v.state_name(), paint.state(v.state));
            return;
        }
        Col::For => short_duration(v.since.elapsed()),
        Col::Url => s.url.to_string(),
        Col::Queue => v.queue_cell(),
        Col::Running => v.running_cell(),
        Col::Jobs => {
            let (done, failed, ..) = v.recent.tally();
            format!("{done}/{failed}")
        }
        Col::Median => v.recent.tally().3.map_or_else(dash, short_duration),
        Col::Latency => v.latency_cell(),
        Col::Vram => v.vram_cell(),
        Col::QueueHistory => {
            let line = sparkline(&s.history, usize::from(w), |(q, _)| Some(*q as f64));
            return line.draw(c, (x, y, w), paint);
        }
        Col::LatencyHistory => {
            let line = sparkline(&s.history, usize::from(w), |(_, l)| *l);
            return line.draw(c, (x, y, w), paint);
        }
    };
    c.text(x, y, w, &text, Style::new());
}

fn failures(c: &mut Canvas, area: Rect, model: &Model, paint: Paint) {
    let title = format!(" failed and cancelled jobs ({}) ", model.failures.len());
    let inner = c.boxed(area, &title);
    if inner.h == 0 {
        return;
    }
    if model.failures.is_empty() {
        let none = "none since the start or the last reset (r)";
        c.text(inner.x, inner.y, inner.w, none, Style::new());
        return;
    }
    let red = paint.s(Style::new().fg(Color::Red));
    let rows = model.failures.iter().rev().take(usize::from(inner.h));
    for (y, j) in (inner.y..).zip(rows) {
        let lead = format!("{} {} {} ", j.time, j.url, j.node);
        let rest = format!(": {}", j.message);
        let spans = [
            (lead.as_str(), Style::new()),
            (j.what.as_str(), red),
            (rest.as_str(), Style::new()),
        ];
        c.spans(inner.x, y, inner.w, &spans);
    }
}

fn details(c: &mut Canvas, area: Rect, model: &Model) {
    let Some(s) = model.selection() else {
        let inner = c.boxed(area, "");
        if inner.h > 0 {
            c.text(
                inner.x,
                inner.y,
                inner.w,
                "no server selected",
                Style::new(),
            );
        }
        return;
    };
    let v = &s.view;
    let mut lines = vec![format!(
        "version {} · queue {} · {}",
        v.version.as_deref().unwrap_or("-"),
        v.queue_text().unwrap_or_else(|| "-".into()),
        match v.recent.text() {
            t if t.is_empty() => "no jobs in the window".into(),
            t => t,
        }
    )];
    let inner = c.boxed(area, &format!(" {} (Enter closes) ", s.url));
    let room = usize::from(inner.h.saturating_sub(1));
    let skip = s.changes.len().saturating_sub(room);
    lines.extend(s.changes.iter().skip(skip).cloned());
    for (y, line) in (inner.y..inner.y + inner.h).zip(&lines) {
        c.text(inner.x, y, inner.w, line, Style::new());
    }
}

/// The footer, bottom up: the key hints (or the filter being typed);
/// above them the newest message held from stderr, and above that the
/// fallback warning of a server that is down; always at least two rows,
/// so the table does not jump as a warning comes and goes.
fn footer_lines(model: &Model, paint: Paint) -> Vec<(String, Style)> {
    let mut lines = Vec::new();
    let mut warnings: Vec<_> = model.warnings.iter().collect();
    warnings.sort_by(|a, b| a.0.cmp(b.0));
    if let Some((_, (_, text))) = warnings.first() {
        let more = match warnings.len() {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        let badge = paint.s(Style::new().fg(Color::Black).bg(Color::Yellow));
        lines.push((format!("⚠ {text}{more}"), badge));
    }
    if let Some((text, total)) = &model.message {
        let again = match total {
            1 => "printed again at exit".to_string(),
            n => format!("{n} messages, printed again at exit"),
        };
        let style = paint.s(Style::new().fg(Color::Cyan));
        lines.push((format!("{text}  ({again})"), style));
    }
    if lines.is_empty() {
        lines.push((String::new(), Style::new()));
    }
    let hints = if model.editing {
        format!("filter: {}▏  Enter keep · Esc drop", model.filter)
    } else {
        "q quit · ? help · p pause · / filter · s sort · j/k select · Enter details · r reset"
            .into()
    };
    lines.push((hints, paint.s(Style::new().dim())));
    lines
}

/// The footer's last `area.h` lines, the key hints at the bottom.
fn footer(c: &mut Canvas, area: Rect, lines: &[(String, Style)]) {
    let skip = lines.len().saturating_sub(usize::from(area.h));
    for (y, (text, style)) in (area.y..).zip(&lines[skip..]) {
        c.text(area.x, y, area.w, text, *style);
    }
}

/// The key list, over the middle of the screen.
const HELP: &[&str] = &[
    "q, Ctrl-C   quit (the summary is printed after the screen is restored)",
    "?           this help (Esc or ? closes it)",
    "p           pause the screen; monitoring goes on",
    "/           filter by URL or state (Enter keeps, Esc drops)",
    "s           sort: state, queue, failures, url",
    "j k ↑ ↓     select a server (PgUp PgDn g G jump)",
    "Enter       details of the selected server",
    "r           reset the window counters and failures",
    "",
    "Narrow terminals drop columns in this order: LAT HIST, Q HIST, VRAM,",
    "MEDIAN, LATENCY, JOBS, RUNNING, FOR; a URL is never cut before that.",
    "Plain lines instead: --plain (or --no-tui), or pipe the output.",
];

fn help(c: &mut Canvas) {
    let area = c.area();
    let width = 76.min(area.w);
    let height = (HELP.len() as u16 + 2).min(area.h);
    let rect = Rect {
        x: (area.w - width) / 2,
        y: (area.h - height) / 2,
        w: width,
        h: height,
    };
    let inner = c.boxed(rect, " keys ");
    for (y, line) in (inner.y..inner.y + inner.h).zip(HELP) {
        c.text(inner.x, y, inner.w, line, Style::new());
    }
}

/// A sparkline as cells: values scaled to the tallest shown, gaps where
/// the server was down.
pub struct Spark(pub Vec<Option<Option<u8>>>);

impl Spark {
    fn draw(self, c: &mut Canvas, (x, y, w): (u16, u16, u16), paint: Paint) {
        const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
        let red = paint.s(Style::new().fg(Color::Red));
        for (i, cell) in (0..w).zip(self.0) {
            let (ch, style) = match cell {
                None => continue,
                Some(None) => ('×', red),
                Some(Some(level)) => (BARS[usize::from(level.min(7))], Style::new()),
            };
            c.text(x + i, y, 1, ch.encode_utf8(&mut [0; 4]), style);
        }
    }
}
