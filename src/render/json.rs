//! JSON output: the [`Status`] object, with the fallback mode when the
//! backend is unavailable.

use serde::Serialize;

use crate::manager::jobs::JobsReport;
use crate::manager::readiness::CheckResult;
use crate::manager::{FallbackMode, ProbeError, Status};

/// What `health --json` and `connect --json` print: the Status, plus
/// `fallback` (null while available) and, for `connect`, `attempts`.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// The status fields, at the top level.
    #[serde(flatten)]
    pub status: &'a Status,
    /// The fallback the pipeline should use; null while available.
    pub fallback: Option<FallbackMode>,
    /// Attempts made (`connect` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// Each readiness check's result, when checks were asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<&'a [CheckResult]>,
    /// `health` only: the running job and the newest page of jobs (null
    /// when the server is down or the job list could not be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jobs: Option<Option<&'a JobsReport>>,
}

impl<'a> Report<'a> {
    /// A report for `status`; `fallback` is shown only while unavailable.
    pub fn new(status: &'a Status, fallback: FallbackMode, attempts: Option<u32>) -> Self {
        Report {
            status,
            fallback: (!status.available).then_some(fallback),
            attempts,
            checks: None,
            jobs: None,
        }
    }

    /// Adds the readiness check results.
    pub fn with_checks(mut self, checks: Option<&'a [CheckResult]>) -> Self {
        self.checks = checks;
        self
    }

    /// Adds the jobs report (`health`).
    pub fn with_jobs(mut self, jobs: Option<&'a JobsReport>) -> Self {
        self.jobs = Some(jobs);
        self
    }

    /// One line of JSON.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a Status always serialises")
    }
}

/// One server's result in `reconnect --json`.
#[derive(Debug, Serialize)]
pub struct ReconnectReport<'a> {
    /// The server, credentials redacted.
    pub url: &'a str,
    /// The full session (HTTP, WebSocket, first `status`) came back.
    pub reconnected: bool,
    /// Attempts made, the successful one included.
    pub attempts: u32,
    /// Time until it came back, or until reconnect stopped trying.
    pub elapsed_ms: u64,
    /// The same `{kind, message, status}` object as Status: the kind and
    /// status of the last attempt, the whole story as the message.
    pub error: Option<ProbeError>,
    /// The fallback the pipeline should use; null once reconnected.
    pub fallback: Option<FallbackMode>,
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
