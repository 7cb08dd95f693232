//! The `--webhook` body: exactly the NDJSON `state` line that `watch
//! --json` prints for the same change. Schema: `schema/webhook.json`.

use super::event::{Body, Line, StateLine};
use crate::manager;

/// The `state` line for a change to `state` from `previous` on `url`, seen
/// at `ts`: the NDJSON line and the webhook body alike.
pub fn state_line<'a>(
    url: &'a str,
    ts: String,
    state: manager::State,
    previous: Option<manager::State>,
    reason: &'a str,
) -> Line<'a> {
    let body = Body::State(StateLine {
        state: state.into(),
        previous: previous.map(Into::into),
        reason,
    });
    Line::new(url, ts, body)
}
