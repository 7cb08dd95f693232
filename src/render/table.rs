//! The live fleet table (`--no-tui` on a terminal): one row per server,
//! troubled servers first, healthy ones summarised when the terminal is
//! too short for them all. The cells are the row model's ([`View`]).

use std::collections::BTreeMap;

use super::Output;
use super::view::cells::HEALTHY;
use super::view::{View, short_duration};
use super::width::fit;

/// The columns after STATE, in display order: (header, width, right-aligned).
/// SERVER's width is decided by [`Layout::new`].
const COLUMNS: [(&str, usize, bool); 8] = [
    ("SERVER", SERVER_MIN, false),
    ("VERSION", 9, false),
    ("QUEUE rem/run/pen", 17, true),
    ("PROGRESS", 22, false),
    ("LATENCY", 9, true),
    ("FOR", 8, true),
    ("JOB AGE", 8, true),
    ("10m ok/fail med", 15, true),
];
/// The optional columns (indices into [`COLUMNS`]) in the order they are
/// dropped when the terminal is too narrow: latency, version, the recent
/// tally, time in state, job age, progress, queue.
const DROP_ORDER: [usize; 7] = [4, 1, 7, 5, 6, 3, 2];
/// The state column, always shown.
const STATE_WIDTH: usize = 13;
/// The server column shrinks to this before a column is dropped…
const SERVER_MIN: usize = 16;
/// …and never grows past this.
const SERVER_MAX: usize = 34;

/// The columns chosen for one terminal width, so that the header and every
/// row are cut the same way.
struct Layout {
    /// Per entry of [`COLUMNS`]: shown or dropped.
    shown: [bool; 8],
    /// The server column's width.
    server: usize,
    /// The terminal's width.
    width: usize,
}

impl Layout {
    /// Drops optional columns in [`DROP_ORDER`] until the server column
    /// gets at least [`SERVER_MIN`] of `width`, or nothing is left to drop.
    fn new(width: usize) -> Layout {
        // STATE, then each shown column after SERVER with its leading space.
        let fixed = |shown: &[bool; 8]| {
            STATE_WIDTH
                + 1
                + COLUMNS[1..]
                    .iter()
                    .zip(&shown[1..])
                    .filter(|(_, on)| **on)
                    .map(|((_, w, _), _)| w + 1)
                    .sum::<usize>()
        };
        let mut shown = [true; 8];
        for column in DROP_ORDER {
            if width >= fixed(&shown) + SERVER_MIN {
                break;
            }
            shown[column] = false;
        }
        Layout {
            shown,
            server: width.saturating_sub(fixed(&shown)).clamp(1, SERVER_MAX),
            width,
        }
    }

    /// One line: `state` (already padded) and the shown `cells`, each cut
    /// and aligned to its column, the whole cut to the terminal.
    fn line(&self, state: String, cells: [String; 8]) -> String {
        let mut line = state;
        for (i, (text, (_, w, right))) in cells.iter().zip(COLUMNS).enumerate() {
            if !self.shown[i] {
                continue;
            }
            let w = if i == 0 { self.server } else { w };
            let text = if i == 0 {
                server_cell(text, w)
            } else {
                truncate(text, w)
            };
            line.push(' ');
            line.push_str(&if right {
                format!("{text:>w$}")
            } else {
                format!("{text:<w$}")
            });
        }
        fit(line.trim_end(), self.width)
    }
}

/// How many of `rows` (sorted, troubled first) the table shows on a terminal
/// `height` rows tall: all of them if they fit, else every troubled one and
/// healthy ones (at least one) while a row is left for "… and N more".
fn rows_shown(rows: &[(&String, &View)], height: usize) -> usize {
    let room = height.saturating_sub(3);
    if rows.len() <= room {
        return rows.len();
    }
    let troubled = rows.iter().filter(|(_, v)| v.trouble() < HEALTHY).count();
    rows.len().min(room.saturating_sub(1).max(troubled + 1))
}

/// `url`'s row after the state, in [`COLUMNS`] order.
fn row_cells(url: &str, v: &View) -> [String; 8] {
    [
        url.to_string(),
        v.version.clone().unwrap_or_else(|| "-".into()),
        v.queue_cell(),
        v.progress_text(),
        v.latency_cell(),
        short_duration(v.since.elapsed()),
        v.job_age_cell(),
        v.recent.short(),
    ]
}

/// The table for `views` on a terminal `height` rows tall and `width`
/// columns wide: troubled servers first, always all of them; healthy ones
/// summarised if they do not fit; columns dropped (latency, version, time in
/// state, progress, queue) and the server cut with `…` if it is too narrow.
pub fn table_text(
    views: &BTreeMap<String, View>,
    out: Output,
    height: usize,
    width: usize,
) -> String {
    let mut rows: Vec<(&String, &View)> = views.iter().collect();
    rows.sort_by_key(|(url, v)| (v.trouble(), (*url).clone()));
    let layout = Layout::new(width);
    let header = layout.line(
        format!("{:<STATE_WIDTH$}", "STATE"),
        COLUMNS.map(|(header, ..)| header.to_string()),
    );
    let mut lines = vec![super::style::heading(&out).apply_to(header).to_string()];
    let shown = rows_shown(&rows, height);
    for (url, v) in &rows[..shown] {
        let state = v.state_name();
        let styled = v
            .state
            .map_or_else(
                || super::style::starting(&out),
                |st| super::style::state(&out, st),
            )
            .apply_to(format!("{state:<STATE_WIDTH$}"));
        lines.push(layout.line(styled.to_string(), row_cells(url, v)));
    }
    let hidden_ok = rows.len() - shown;
    if hidden_ok > 0 {
        lines.push(
            super::style::dim(&out)
                .apply_to(fit(&format!("… and {hidden_ok} more connected"), width))
                .to_string(),
        );
    }
    lines.join("\n")
}

/// `text` in at most `width` columns, cut between whole fields (never
/// inside a number or a word, nor inside an escape), ending in `…`.
fn truncate(text: &str, width: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= width {
        return text.to_string();
    }
    let mut end = width.saturating_sub(1);
    while end > 0 && chars[end - 1].is_alphanumeric() && chars[end].is_alphanumeric() {
        end -= 1;
    }
    let end = super::safe::escape_end(&chars, end);
    let kept: String = chars[..end].iter().collect();
    format!("{}…", kept.trim_end_matches([' ', '·', '/', ':', '.']))
}

/// A server URL in at most `width` columns, shortened by whole fields:
/// first the scheme goes, then the path, then the redacted credentials,
/// then the host is cut with `…` (not inside a number). The port is kept whole (a cut port names
/// another server), or the cell is just `…`.
fn server_cell(url: &str, width: usize) -> String {
    let n = |s: &str| s.chars().count();
    if n(url) <= width {
        return url.to_string();
    }
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    for shorter in [rest, authority, host_port] {
        if n(shorter) <= width {
            return shorter.to_string();
        }
    }
    // `:port` unless the last colon is inside a bracketed IPv6 address.
    let (host, port) = match host_port.rfind(':') {
        Some(i) if !host_port[i..].contains(']') => host_port.split_at(i),
        _ => (host_port, ""),
    };
    match width.checked_sub(n(port) + 1) {
        Some(room) => {
            let chars: Vec<char> = host.chars().collect();
            let mut end = room.min(chars.len());
            while end > 0
                && end < chars.len()
                && chars[end - 1].is_ascii_digit()
                && chars[end].is_ascii_digit()
            {
                end -= 1;
            }
            let host: String = chars[..end].iter().collect();
            format!("{host}…{port}")
        }
        None => "…".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::SystemTime;

    use super::*;
    use crate::manager::{Envelope, Event, State};

    fn view(state: State) -> View {
        let mut v = View::default();
        v.apply(&Envelope {
            id: Default::default(),
            url: Arc::from("x"),
            at: SystemTime::now(),
            event: Event::State {
                state,
                previous: None,
                reason: String::new(),
            },
        });
        v
    }

    #[test]
    fn a_row_shows_the_running_job_age_and_the_recent_tally() {
        use crate::manager::jobs::{Job, JobStatus};
        let mut v = view(State::Connected);
        let job = |status, end_ms| Job {
            id: "x".into(),
            status,
            create_ms: None,
            start_ms: Some(0),
            end_ms: Some(end_ms),
            error: None,
        };
        for (status, ms) in [(JobStatus::Completed, 3000), (JobStatus::Failed, 10)] {
            v.apply(&Envelope {
                id: Default::default(),
                url: Arc::from("x"),
                at: SystemTime::now(),
                event: Event::Job(job(status, ms)),
            });
        }
        let mut views = BTreeMap::new();
        views.insert("http://gpu-01:8188".to_string(), v);
        let text = table_text(&views, Output::PLAIN, 20, 200);
        assert!(text.lines().next().unwrap().contains("JOB AGE"), "{text}");
        let row = text.lines().nth(1).unwrap();
        assert!(row.ends_with("      1/1 3s"), "{row}");
        assert!(row.contains("        -"), "no running job: {row}");
    }

    #[test]
    fn fifty_rows_on_a_short_terminal_show_every_troubled_server_first() {
        let mut views = BTreeMap::new();
        for i in 0..50 {
            let state = match i % 10 {
                0 => State::Disconnected,
                1 => State::Degraded,
                _ => State::Connected,
            };
            views.insert(format!("http://gpu-{i:02}:8188"), view(state));
        }
        let text = table_text(&views, Output::PLAIN, 20, 200);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() <= 20, "{} lines:\n{text}", lines.len());
        assert!(lines[0].starts_with("STATE"));
        // 5 disconnected, then 5 degraded, then connected ones.
        assert!(
            lines[1..6].iter().all(|l| l.starts_with("disconnected")),
            "{text}"
        );
        assert!(
            lines[6..11].iter().all(|l| l.starts_with("degraded")),
            "{text}"
        );
        let shown_ok = lines.iter().filter(|l| l.starts_with("connected")).count();
        let last = lines.last().unwrap();
        assert_eq!(*last, format!("… and {} more connected", 40 - shown_ok));
        // Tall enough: every row, no summary.
        let all = table_text(&views, Output::PLAIN, 60, 200);
        assert_eq!(all.lines().count(), 51);
        assert!(!all.contains("more connected"));
    }

    #[test]
    fn the_table_fits_80_and_40_columns_dropping_the_least_useful_first() {
        let mut views = BTreeMap::new();
        let mut up = view(State::Connected);
        up.version = Some("0.3.64".into());
        up.queue = super::super::view::Queue {
            remaining: Some(3),
            running: Some(1),
            pending: Some(2),
        };
        up.latency_ms = Some(17.2);
        views.insert(
            "http://gpu-box-with-a-rather-long-hostname.example:8188".to_string(),
            up,
        );
        views.insert("http://127.0.0.1:1".to_string(), view(State::Reconnecting));
        let wide = table_text(&views, Output::PLAIN, 40, 200);
        assert!(wide.lines().next().unwrap().contains("LATENCY"), "{wide}");
        // Cut by whole fields: the scheme first, then the host, never
        // the port.
        assert!(
            wide.contains(" gpu-box-with-a-rather-long-h…:8188 "),
            "{wide}"
        );

        let at80 = table_text(&views, Output::PLAIN, 40, 79);
        for line in at80.lines() {
            assert!(super::super::width::columns(line) <= 79, "{line:?}");
        }
        let header = at80.lines().next().unwrap();
        assert!(
            header.contains("QUEUE") && header.contains("PROGRESS"),
            "{at80}"
        );
        assert!(
            !header.contains("LATENCY") && !header.contains("VERSION"),
            "{at80}"
        );
        assert!(at80.contains("3/1/2"), "{at80}");
        assert!(at80.contains("gpu-box-with-a-rat…:8188 "), "{at80}");

        let at40 = table_text(&views, Output::PLAIN, 40, 39);
        for line in at40.lines() {
            assert!(super::super::width::columns(line) <= 39, "{line:?}");
        }
        assert!(at40.starts_with("STATE         SERVER"), "{at40}");
        assert!(!at40.contains("QUEUE"), "{at40}");
        let rows: Vec<&str> = at40.lines().collect();
        assert!(
            rows[1].starts_with("reconnecting  http://127.0.0.1:1"),
            "{at40}"
        );
        assert!(rows[2].starts_with("connected     gpu-box"), "{at40}");
        assert!(rows[2].ends_with("…:8188"), "{at40}");
        // Absurdly narrow: still one short line per row, no panic.
        for width in [0, 1, 5, 14] {
            let tiny = table_text(&views, Output::PLAIN, 40, width);
            assert_eq!(tiny.lines().count(), 3, "{tiny}");
            for line in tiny.lines() {
                assert!(
                    super::super::width::columns(line) <= width.max(1),
                    "{line:?}"
                );
            }
        }
    }

    #[test]
    fn a_server_is_cut_by_whole_fields_and_never_inside_its_port() {
        let url = "https://***@gpu-box-17.example:39781/comfy";
        let expect = [
            (42, url),
            (41, "***@gpu-box-17.example:39781/comfy"),
            (33, "***@gpu-box-17.example:39781"),
            (27, "gpu-box-17.example:39781"),
            (20, "gpu-box-17.ex…:39781"),
            // Never inside the number in the host either.
            (16, "gpu-box-…:39781"),
            (7, "…:39781"),
            (6, "…"),
        ];
        for (width, want) in expect {
            let cell = server_cell(url, width);
            assert_eq!(cell, want, "width {width}");
        }
        for width in 0..60 {
            let cell = server_cell(url, width);
            assert!(cell.chars().count() <= width.max(1), "{width}: {cell}");
            let port: String = cell
                .rsplit(':')
                .next()
                .unwrap_or("")
                .chars()
                .take(5)
                .collect();
            assert!(
                !cell.contains(':') || port == "39781" || cell.contains("39781/"),
                "{width}: {cell}"
            );
        }
        assert_eq!(server_cell("http://[::1]:8188", 9), "[::…:8188");
    }

    #[test]
    fn other_cells_are_cut_between_fields_never_inside_a_number() {
        assert_eq!(truncate("10h 2m 3s", 8), "10h 2m…");
        assert_eq!(truncate("12345/1/12344", 9), "12345/1…");
        assert_eq!(truncate("0.3\\u{1b}[2J", 8), "0.3…");
        assert_eq!(truncate("short", 8), "short");
    }
}
