//! The server table's columns, which of them fit a width, and the text
//! sparklines of the history columns.

use std::collections::VecDeque;

use super::draw::Spark;
use super::model::Sample;

/// One column of the server table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Col {
    /// State name, coloured.
    State,
    /// Time in that state.
    For,
    /// The server (takes what is left).
    Url,
    /// `remaining/running/pending`.
    Queue,
    /// The running job: short id, age, node and progress.
    Running,
    /// Done/failed jobs in the window.
    Jobs,
    /// Median duration of the window's completed jobs.
    Median,
    /// The last poll's latency.
    Latency,
    /// VRAM free on the first device.
    Vram,
    /// Sparkline of queue depth.
    QueueHistory,
    /// Sparkline of latency.
    LatencyHistory,
}

/// Left to right as drawn.
const ORDER: [Col; 11] = [
    Col::State,
    Col::For,
    Col::Url,
    Col::Queue,
    Col::Running,
    Col::Jobs,
    Col::Median,
    Col::Latency,
    Col::Vram,
    Col::QueueHistory,
    Col::LatencyHistory,
];

/// The order narrow terminals drop columns in (documented in the help
/// overlay and the README); STATE, URL and QUEUE always stay.
const DROP: [Col; 8] = [
    Col::LatencyHistory,
    Col::QueueHistory,
    Col::Vram,
    Col::Median,
    Col::Latency,
    Col::Jobs,
    Col::Running,
    Col::For,
];

impl Col {
    /// The header text.
    pub fn title(self) -> &'static str {
        match self {
            Col::State => "STATE",
            Col::For => "FOR",
            Col::Url => "URL",
            Col::Queue => "QUEUE",
            Col::Running => "RUNNING",
            Col::Jobs => "JOBS",
            Col::Median => "MEDIAN",
            Col::Latency => "LATENCY",
            Col::Vram => "VRAM",
            Col::QueueHistory => "Q HIST",
            Col::LatencyHistory => "LAT HIST",
        }
    }

    /// Fixed width, or `None` for the URL, which takes the rest.
    pub fn width(self) -> Option<u16> {
        Some(match self {
            Col::State => 12,
            Col::For => 8,
            Col::Url => return None,
            Col::Queue => 9,
            Col::Running => 22,
            Col::Jobs => 7,
            Col::Median => 7,
            Col::Latency => 8,
            Col::Vram => 6,
            Col::QueueHistory => 20,
            Col::LatencyHistory => 20,
        })
    }
}

/// The columns that fit `width` (one space between columns) beside URLs
/// of `url` columns, dropping in [`DROP`] order until they do: a URL is
/// cut (its port lost) only when even the last three columns do not fit.
pub fn columns_for(width: u16, url: u16) -> Vec<Col> {
    let mut cols = ORDER.to_vec();
    let need = |cols: &[Col]| -> u16 {
        let fixed: u16 = cols.iter().filter_map(|c| c.width()).sum();
        fixed + url + cols.len() as u16 - 1
    };
    for gone in DROP {
        if need(&cols) <= width {
            break;
        }
        cols.retain(|c| *c != gone);
    }
    cols
}

/// The last `width` samples of `history` as sparkline cells, each value
/// (`pick`) scaled to the tallest shown; an outage shows as a mark, a
/// sample with no value (or before the server was seen) as a blank.
pub fn sparkline(
    history: &VecDeque<Sample>,
    width: usize,
    pick: impl Fn(&(u64, Option<f64>)) -> Option<f64>,
) -> Spark {
    let skip = history.len().saturating_sub(width);
    let shown: Vec<Option<Option<f64>>> = history
        .iter()
        .skip(skip)
        .map(|s| s.as_ref().map(&pick))
        .collect();
    let top = shown
        .iter()
        .filter_map(|s| s.flatten())
        .fold(0.0_f64, f64::max);
    let mut cells: Vec<Option<Option<u8>>> = vec![None; width.saturating_sub(shown.len())];
    cells.extend(shown.into_iter().map(|s| match s {
        None => Some(None),
        Some(None) => None,
        Some(Some(v)) if top > 0.0 => Some(Some((v / top * 7.0).round() as u8)),
        Some(Some(_)) => Some(Some(0)),
    }));
    Spark(cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn narrow_terminals_drop_columns_in_the_documented_order() {
        let all = columns_for(200, 22);
        assert_eq!(all.len(), ORDER.len(), "{all:?}");
        let at80 = columns_for(80, 22);
        assert!(at80.contains(&Col::State) && at80.contains(&Col::Url));
        assert!(!at80.contains(&Col::LatencyHistory) && !at80.contains(&Col::QueueHistory));
        assert!(at80.contains(&Col::Running), "{at80:?}");
        let tiny = columns_for(10, 22);
        assert_eq!(tiny, vec![Col::State, Col::Url, Col::Queue]);
        for w in [50, 80, 120, 160] {
            let cols = columns_for(w, 22);
            let used: u16 =
                cols.iter().filter_map(|c| c.width()).sum::<u16>() + 22 + cols.len() as u16 - 1;
            assert!(used <= w, "{w}: {cols:?}");
        }
    }

    #[test]
    fn outages_show_as_marks_in_the_sparkline() {
        let h: VecDeque<Sample> = [Some((0, None)), None, Some((4, Some(2.0)))].into();
        let s = sparkline(&h, 5, |(q, _)| Some(*q as f64));
        assert_eq!(
            s.0,
            vec![None, None, Some(Some(0)), Some(None), Some(Some(7))]
        );
    }
}
