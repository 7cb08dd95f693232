//! JSON output of the one-shot commands. The shapes are in
//! [`crate::wire::report`] (schema: `schema/report.json`,
//! `schema/reconnect.json`); this file builds them and prints them as one
//! object or an array.

use serde::Serialize;

use crate::manager::{FallbackMode, ProbeError};
pub use crate::wire::report::Report;
use crate::wire::report::{self as wire, ErrorObject};

/// One server's result in `reconnect --json`, as the command tallies it;
/// printed as a [`wire::ReconnectReport`].
#[derive(Debug)]
pub struct ReconnectReport<'a> {
    /// The server, credentials redacted.
    pub url: &'a str,
    /// The full session (HTTP, WebSocket, first `status`) came back.
    pub reconnected: bool,
    /// Attempts made, the successful one included.
    pub attempts: u32,
    /// Time until it came back, or until reconnect stopped trying.
    pub elapsed_ms: u64,
    /// The kind and status of the last attempt, the whole story as the
    /// message.
    pub error: Option<ProbeError>,
    /// The fallback the pipeline should use; null once reconnected.
    pub fallback: Option<FallbackMode>,
}

impl ReconnectReport<'_> {
    /// The wire object.
    pub fn wire(&self) -> wire::ReconnectReport<'_> {
        wire::ReconnectReport {
            url: self.url,
            reconnected: self.reconnected,
            attempts: self.attempts,
            elapsed_ms: self.elapsed_ms,
            error: self.error.as_ref().map(ErrorObject::from),
            fallback: self.fallback.map(Into::into),
        }
    }
}

/// Serialised as its [`wire::ReconnectReport`], which owns the shape.
impl Serialize for ReconnectReport<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.wire().serialize(serializer)
    }
}

/// `items` as one line of JSON: an array when the command line named a
/// list (`as_array`) or there is more than one, else the only object.
pub fn one_or_array<T: Serialize>(items: &[T], as_array: bool) -> String {
    let json = match items {
        [one] if !as_array => serde_json::to_string(one),
        _ => serde_json::to_string(items),
    };
    json.expect("report structs always serialise")
}
