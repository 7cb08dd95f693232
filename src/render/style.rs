//! The one style table: which colour means what, wherever it is shown.
//! Every style honours the colour decision in [`Output`].

use console::Style;

use super::Output;
use crate::manager::State;

/// Good news: `available`, `connected:`, `reconnected:`, `●`, `✓`.
pub fn good(out: &Output) -> Style {
    out.style().green()
}

/// Bad news: `unavailable`, `error:`, `connect failed:`, `✗`, failed jobs.
pub fn bad(out: &Output) -> Style {
    out.style().red()
}

/// The `warning:` prefix.
pub fn warning(out: &Output) -> Style {
    out.style().yellow().bold()
}

/// A warning badge inside a live line (`⚠ fallback=skip`).
pub fn badge(out: &Output) -> Style {
    out.style().black().on_yellow()
}

/// Quiet text: notes about what comfyctl chose, labels.
pub fn dim(out: &Output) -> Style {
    out.style().dim()
}

/// A table's header row.
pub fn heading(out: &Output) -> Style {
    out.style().bold()
}

/// A server with no state yet (`starting`): the colour of `connecting`.
pub fn starting(out: &Output) -> Style {
    out.style().cyan()
}

/// The colour of a state's name, wherever states are shown.
pub fn state(out: &Output, state: State) -> Style {
    match state {
        State::Connected => good(out).bold(),
        State::Degraded | State::Stalled => out.style().yellow().bold(),
        State::Disconnected | State::Failed => bad(out).bold(),
        State::Reconnecting => out.style().magenta().bold(),
        State::Connecting => starting(out),
    }
}
