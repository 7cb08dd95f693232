//! The wire: every JSON document comfyctl writes, as `Serialize` structs
//! built field by field from the manager's types, so renaming a manager
//! field cannot change what scripts receive. `render/` (stdout) and
//! `sinks/` (webhooks) both consume this module; neither defines a JSON
//! shape of its own.
//!
//! The shapes are committed as JSON Schemas (draft 2020-12) in `schema/`:
//! `report.json` (`health`/`connect --json`), `reconnect.json`
//! (`reconnect --json`), `event.json` (each `watch --json` line) and
//! `webhook.json` (the `--webhook` body). Tests validate real output
//! against them. Stability rule: keys are added, never renamed, removed or
//! retyped; a new key is a change here, in the schema and in the README.

pub mod enums;
pub mod event;
pub mod report;
pub mod webhook;

#[cfg(test)]
mod tests;

use std::time::SystemTime;

/// A line's `ts`: RFC 3339, UTC, milliseconds.
pub fn ts(at: SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}
