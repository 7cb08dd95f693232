//! Lines for stderr held back while the dashboard owns the terminal.
//!
//! Under the alternate screen in raw mode, a `warning:` or `comfyctl:` line
//! written to stderr (a hook's error, a webhook giving up, what a hook
//! itself prints) would land in the middle of the dashboard's cells. While
//! [`hold`] is on, [`super::Output`] hands such lines here instead: the
//! dashboard shows the newest in its footer, and [`release`] gives them
//! all back once the screen is restored, to be printed on the main screen.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard};

use super::safe::term_safe;

/// Lines kept for printing after the screen is restored; older ones are
/// counted and dropped.
const KEPT: usize = 100;

/// The held lines while the dashboard is open; `None` when it is not.
static HELD: Mutex<Option<Held>> = Mutex::new(None);

#[derive(Debug, Default)]
struct Held {
    /// (terminal-safe text for the footer, the line as it would have been
    /// printed), oldest first.
    lines: VecDeque<(String, String)>,
    /// Lines held since [`hold`], dropped ones included.
    total: usize,
}

/// What [`release`] gives back.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Released {
    /// The kept lines, oldest first, as they would have been printed.
    pub lines: Vec<String>,
    /// How many older lines were dropped to keep [`KEPT`].
    pub dropped: usize,
}

fn lock() -> MutexGuard<'static, Option<Held>> {
    HELD.lock().unwrap_or_else(|p| p.into_inner())
}

/// Starts holding stderr lines (the dashboard has opened).
pub fn hold() {
    *lock() = Some(Held::default());
}

/// True while lines are held: the terminal is the dashboard's.
pub fn holding() -> bool {
    lock().is_some()
}

/// Holds `line` (printed as `styled` later) if holding; false when the
/// caller should write it itself.
pub fn offer(line: &str, styled: &str) -> bool {
    let mut held = lock();
    let Some(h) = held.as_mut() else {
        return false;
    };
    h.lines
        .push_back((term_safe(line).into_owned(), styled.to_owned()));
    h.total += 1;
    while h.lines.len() > KEPT {
        h.lines.pop_front();
    }
    true
}

/// The newest held line (terminal-safe) and how many were held in all,
/// for the footer.
pub fn latest() -> Option<(String, usize)> {
    let held = lock();
    let h = held.as_ref()?;
    h.lines.back().map(|(safe, _)| (safe.clone(), h.total))
}

/// Stops holding (the screen is restored) and gives back what was held.
pub fn release() -> Released {
    let Some(h) = lock().take() else {
        return Released::default();
    };
    Released {
        dropped: h.total - h.lines.len(),
        lines: h.lines.into_iter().map(|(_, styled)| styled).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_held_only_while_holding_and_given_back_once() {
        // One test owns the global store, so no other test races it.
        assert!(!offer("before", "before"));
        hold();
        assert!(holding());
        assert!(offer("a\x1b[2J", "\x1b[2ma\x1b[0m"));
        assert_eq!(latest(), Some(("a\\u{1b}[2J".to_string(), 1)));
        for i in 0..KEPT + 5 {
            offer(&format!("line {i}"), &format!("line {i}"));
        }
        let (last, total) = latest().unwrap();
        assert_eq!((last.as_str(), total), ("line 104", KEPT + 6));
        let back = release();
        assert_eq!(back.dropped, 6);
        assert_eq!(back.lines.len(), KEPT);
        assert_eq!(back.lines[0], "line 5");
        assert!(!holding() && !offer("after", "after"));
        assert_eq!(release(), Released::default());
    }
}
