//! One frame of the dashboard: header, the server table, the failures (or
//! details) panel, the footer, and the help overlay on top.

use std::time::Duration;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Clear, Paragraph, Row, Table, TableState};

use super::columns::{Col, columns_for, sparkline};
use super::model::{Model, Server};
use crate::manager::State;
use crate::render::Output;
use crate::render::view::short_duration;

/// Draws the whole screen for `model`.
pub fn frame(f: &mut Frame, model: &Model, out: Output) {
    let paint = Paint(out.color);
    let lower = if model.details { 12 } else { 8 };
    let [head, table, panel, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(3),
        Constraint::Length(lower),
        Constraint::Length(2),
    ])
    .areas(f.area());
    header(f, head, model, paint);
    servers(f, table, model, paint);
    if model.details {
        details(f, panel, model);
    } else {
        failures(f, panel, model, paint);
    }
    footer(f, foot, model, paint);
    if model.help {
        help(f);
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
        let bold = Style::new().add_modifier(Modifier::BOLD);
        self.s(match state {
            Some(State::Connected) => bold.fg(Color::Green),
            Some(State::Degraded | State::Stalled) => bold.fg(Color::Yellow),
            Some(State::Disconnected | State::Failed) => bold.fg(Color::Red),
            Some(State::Reconnecting) => bold.fg(Color::Magenta),
            Some(State::Connecting) | None => Style::new().fg(Color::Cyan),
        })
    }
}

fn header(f: &mut Frame, area: Rect, model: &Model, paint: Paint) {
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
    let mut spans = vec![Span::styled(
        text,
        paint.s(Style::new().add_modifier(Modifier::BOLD)),
    )];
    if model.paused {
        spans.push(Span::styled(
            "  PAUSED",
            paint.s(Style::new().fg(Color::Black).bg(Color::Yellow)),
        ));
    }
    f.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn servers(f: &mut Frame, area: Rect, model: &Model, paint: Paint) {
    let rows = model.rows();
    let url = rows
        .iter()
        .map(|s| s.url.chars().count())
        .max()
        .unwrap_or(0);
    let url = u16::try_from(url.max(3)).unwrap_or(u16::MAX);
    let cols = columns_for(area.width, url);
    let head = Row::new(cols.iter().map(|c| Cell::from(c.title())))
        .style(paint.s(Style::new().add_modifier(Modifier::BOLD)));
    let body = rows.iter().map(|s| {
        Row::new(
            cols.iter()
                .map(|c| cell(*c, s, paint, c.width().unwrap_or(0))),
        )
    });
    let widths = cols.iter().map(|c| match c.width() {
        Some(w) => Constraint::Length(w),
        None => Constraint::Min(url),
    });
    let table = Table::new(body, widths)
        .header(head)
        .column_spacing(1)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED));
    let mut state = TableState::default();
    if !rows.is_empty() {
        state.select(Some(model.selected.min(rows.len() - 1)));
    }
    f.render_stateful_widget(table, area, &mut state);
}

fn cell(col: Col, s: &Server, paint: Paint, width: u16) -> Cell<'static> {
    let v = &s.view;
    let dash = || "-".to_string();
    let text = match col {
        Col::State => {
            let name = v.state.map_or("starting", State::as_str);
            return Cell::from(Span::styled(name.to_string(), paint.state(v.state)));
        }
        Col::For => short_duration(v.since.elapsed()),
        Col::Url => s.url.to_string(),
        Col::Queue => v.queue_cell(),
        Col::Running => running(s),
        Col::Jobs => {
            let (done, failed, ..) = v.recent.tally();
            format!("{done}/{failed}")
        }
        Col::Median => v.recent.tally().3.map_or_else(dash, short_duration),
        Col::Latency => v.latency_ms.map_or_else(dash, |ms| format!("{ms:.1}ms")),
        Col::Vram => s.vram_free.map_or_else(dash, gib),
        Col::QueueHistory => {
            let line = sparkline(&s.history, usize::from(width), |(q, _)| Some(*q as f64));
            return Cell::from(line.styled(paint));
        }
        Col::LatencyHistory => {
            let line = sparkline(&s.history, usize::from(width), |(_, l)| *l);
            return Cell::from(line.styled(paint));
        }
    };
    Cell::from(text)
}

/// `0e163167 12s n3 50%`: the running prompt's short id, its age, and the
/// node (with progress) when the server said.
fn running(s: &Server) -> String {
    let v = &s.view;
    let Some(prompt) = &v.running_prompt else {
        return "-".into();
    };
    let chars: Vec<char> = prompt.chars().collect();
    let end = crate::render::safe::escape_end(&chars, 8);
    let mut text: String = chars[..end].iter().collect();
    if let Some(age) = v.running.age() {
        text.push_str(&format!(
            " {}",
            short_duration(Duration::from_secs(age.as_secs()))
        ));
    }
    if let Some(node) = &v.node {
        text.push_str(&format!(" n{}", node.id));
        if let Some((done, all)) = node.steps.filter(|(_, all)| *all > 1.0) {
            text.push_str(&format!(" {:.0}%", done / all * 100.0));
        }
    }
    text
}

fn gib(bytes: u64) -> String {
    format!("{:.1}G", bytes as f64 / (1u64 << 30) as f64)
}

fn failures(f: &mut Frame, area: Rect, model: &Model, paint: Paint) {
    let shown = usize::from(area.height.saturating_sub(2));
    let lines: Vec<Line> = model
        .failures
        .iter()
        .rev()
        .take(shown)
        .map(|j| {
            Line::from(vec![
                Span::raw(format!("{} {} {} ", j.time, j.url, j.node)),
                Span::styled(j.what.clone(), paint.s(Style::new().fg(Color::Red))),
                Span::raw(format!(": {}", j.message)),
            ])
        })
        .collect();
    let title = format!(" failed and cancelled jobs ({}) ", model.failures.len());
    let body = if lines.is_empty() {
        Paragraph::new("none since the start or the last reset (r)")
    } else {
        Paragraph::new(lines)
    };
    f.render_widget(body.block(Block::bordered().title(title)), area);
}

fn details(f: &mut Frame, area: Rect, model: &Model) {
    let Some(s) = model.selection() else {
        let empty = Paragraph::new("no server selected").block(Block::bordered());
        f.render_widget(empty, area);
        return;
    };
    let v = &s.view;
    let mut lines = vec![Line::from(format!(
        "version {} · queue {} · {}",
        v.version.as_deref().unwrap_or("-"),
        v.queue_text().unwrap_or_else(|| "-".into()),
        match v.recent.text() {
            t if t.is_empty() => "no jobs in the window".into(),
            t => t,
        }
    ))];
    let room = usize::from(area.height.saturating_sub(3));
    let skip = s.changes.len().saturating_sub(room);
    lines.extend(s.changes.iter().skip(skip).map(|l| Line::from(l.clone())));
    let title = format!(" {} (Enter closes) ", s.url);
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(title)),
        area,
    );
}

fn footer(f: &mut Frame, area: Rect, model: &Model, paint: Paint) {
    let mut lines = Vec::new();
    let mut warnings: Vec<_> = model.warnings.iter().collect();
    warnings.sort_by(|a, b| a.0.cmp(b.0));
    if let Some((_, (_, text))) = warnings.first() {
        let more = match warnings.len() {
            1 => String::new(),
            n => format!(" (+{} more)", n - 1),
        };
        lines.push(Line::from(Span::styled(
            format!("⚠ {text}{more}"),
            paint.s(Style::new().fg(Color::Black).bg(Color::Yellow)),
        )));
    } else {
        lines.push(Line::from(""));
    }
    let hints = if model.editing {
        format!("filter: {}▏  Enter keep · Esc drop", model.filter)
    } else {
        "q quit · ? help · p pause · / filter · s sort · j/k select · Enter details · r reset"
            .into()
    };
    lines.push(Line::from(Span::styled(
        hints,
        paint.s(Style::new().add_modifier(Modifier::DIM)),
    )));
    f.render_widget(Paragraph::new(lines), area);
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

fn help(f: &mut Frame) {
    let area = f.area();
    let width = 76.min(area.width);
    let height = (HELP.len() as u16 + 2).min(area.height);
    let rect = Rect {
        x: area.x + (area.width - width) / 2,
        y: area.y + (area.height - height) / 2,
        width,
        height,
    };
    let lines: Vec<Line> = HELP.iter().map(|l| Line::from(*l)).collect();
    f.render_widget(Clear, rect);
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" keys ")),
        rect,
    );
}

/// A sparkline as cells: values scaled to the tallest shown, gaps where
/// the server was down.
pub struct Spark(pub Vec<Option<Option<u8>>>);

impl Spark {
    fn styled(self, paint: Paint) -> Line<'static> {
        const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
        let spans: Vec<Span> = self
            .0
            .into_iter()
            .map(|c| match c {
                None => Span::raw(" "),
                Some(None) => Span::styled("×", paint.s(Style::new().fg(Color::Red))),
                Some(Some(level)) => Span::raw(BARS[usize::from(level.min(7))].to_string()),
            })
            .collect();
        Line::from(spans)
    }
}
