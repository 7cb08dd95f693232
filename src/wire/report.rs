//! The one-shot reports: `health --json` and `connect --json` (a
//! [`Report`]: the status fields, then `fallback`, `attempts`, `checks`,
//! `jobs`), and `reconnect --json` (a [`ReconnectReport`]). Schema:
//! `schema/report.json` and `schema/reconnect.json`.

use serde::Serialize;
use serde_json::Value;

use super::enums::{ErrorKind, FallbackMode};
use crate::manager::jobs::{self as mjobs, JobsReport};
use crate::manager::readiness::CheckResult;
use crate::manager::workflow::Problem;
use crate::manager::{self, Status};

/// What `health --json` and `connect --json` print for one server.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// The server answered like ComfyUI.
    pub available: bool,
    /// The server URL, credentials redacted.
    pub url: &'a str,
    /// `system.comfyui_version`.
    pub version: Option<&'a str>,
    /// `exec_info.queue_remaining`.
    pub queue_remaining: Option<u64>,
    /// Entries in `queue_running`.
    pub queue_running: Option<u64>,
    /// Entries in `queue_pending`.
    pub queue_pending: Option<u64>,
    /// Wall time of the HTTP probe, ms.
    pub latency_ms: Option<f64>,
    /// `devices` from `GET /system_stats`.
    pub devices: Vec<Device<'a>>,
    /// `system.ram_total`, bytes.
    pub ram_total: Option<u64>,
    /// `system.ram_free`, bytes.
    pub ram_free: Option<u64>,
    /// `system.python_version`.
    pub python_version: Option<&'a str>,
    /// `system.pytorch_version`.
    pub pytorch_version: Option<&'a str>,
    /// Why the server is not available (or not ready).
    pub error: Option<ErrorObject<'a>>,
    /// When the check finished, RFC 3339 (UTC, ms).
    pub last_check: &'a str,
    /// `--require-cors`'s answer; null when not checked.
    pub cors_enabled: Option<bool>,
    /// `--require-model` / `--workflow` models; null when not checked.
    pub models_ready: Option<bool>,
    /// `--workflow`; null when not checked.
    pub workflows_ready: Option<bool>,
    /// Every requested check passed; null when none was requested.
    pub fully_ready: Option<bool>,
    /// The fallback the pipeline should use; null while available.
    pub fallback: Option<FallbackMode>,
    /// Attempts made (`connect` only; absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// Each readiness check's result (absent when none was asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<Vec<CheckObject<'a>>>,
    /// `health` only (absent otherwise): the jobs report, null when the
    /// server is down or the job list could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jobs: Option<Option<Jobs<'a>>>,
}

impl<'a> Report<'a> {
    /// A report for `status`; `fallback` is shown only while unavailable.
    pub fn new(status: &'a Status, fallback: manager::FallbackMode, attempts: Option<u32>) -> Self {
        Report {
            available: status.available,
            url: &status.url,
            version: status.version.as_deref(),
            queue_remaining: status.queue_remaining,
            queue_running: status.queue_running,
            queue_pending: status.queue_pending,
            latency_ms: status.latency_ms,
            devices: status.devices.iter().map(Device::from).collect(),
            ram_total: status.ram_total,
            ram_free: status.ram_free,
            python_version: status.python_version.as_deref(),
            pytorch_version: status.pytorch_version.as_deref(),
            error: status.error.as_ref().map(ErrorObject::from),
            last_check: &status.last_check,
            cors_enabled: status.cors_enabled,
            models_ready: status.models_ready,
            workflows_ready: status.workflows_ready,
            fully_ready: status.fully_ready,
            fallback: (!status.available).then_some(fallback.into()),
            attempts,
            checks: None,
            jobs: None,
        }
    }

    /// Adds the readiness check results.
    pub fn with_checks(mut self, checks: Option<&'a [CheckResult]>) -> Self {
        self.checks = checks.map(|c| c.iter().map(CheckObject::from).collect());
        self
    }

    /// Adds the jobs report (`health`).
    pub fn with_jobs(mut self, jobs: Option<&'a JobsReport>) -> Self {
        self.jobs = Some(jobs.map(Jobs::from));
        self
    }

    /// Drops `fallback` (`health --expect down`: going away was asked for).
    pub fn without_fallback(mut self) -> Self {
        self.fallback = None;
        self
    }

    /// One line of JSON.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a report always serialises")
    }
}

/// One entry of `devices`.
#[derive(Debug, Serialize)]
pub struct Device<'a> {
    /// e.g. `cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync`, or `cpu`.
    pub name: &'a str,
    /// `cuda`, `cpu`, `mps`, …
    #[serde(rename = "type")]
    pub kind: &'a str,
    /// Bytes.
    pub vram_total: Option<u64>,
    /// Bytes.
    pub vram_free: Option<u64>,
    /// Bytes PyTorch reserved but holds unused.
    pub torch_vram_free: Option<u64>,
}

impl<'a> From<&'a manager::Device> for Device<'a> {
    fn from(d: &'a manager::Device) -> Self {
        Device {
            name: &d.name,
            kind: &d.kind,
            vram_total: d.vram_total,
            vram_free: d.vram_free,
            torch_vram_free: d.torch_vram_free,
        }
    }
}

/// `error` everywhere: `{kind, message, status}`, `status` only for HTTP
/// statuses.
#[derive(Debug, Serialize)]
pub struct ErrorObject<'a> {
    /// The class of failure.
    pub kind: ErrorKind,
    /// One line.
    pub message: &'a str,
    /// The HTTP status code, where there was one (absent otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

impl<'a> From<&'a manager::ProbeError> for ErrorObject<'a> {
    fn from(e: &'a manager::ProbeError) -> Self {
        ErrorObject {
            kind: e.kind.into(),
            message: &e.message,
            status: e.status,
        }
    }
}

/// One entry of `checks`.
#[derive(Debug, Serialize)]
pub struct CheckObject<'a> {
    /// What was checked, named as text output names it (`node KSampler`).
    pub check: String,
    /// Whether it passed.
    pub ok: bool,
    /// Why not, or what was found.
    pub detail: &'a str,
    /// Per-node problems (workflows); `[]` when there are none.
    pub problems: Vec<ProblemObject<'a>>,
}

impl<'a> From<&'a CheckResult> for CheckObject<'a> {
    fn from(r: &'a CheckResult) -> Self {
        CheckObject {
            check: r.check.to_string(),
            ok: r.ok,
            detail: &r.detail,
            problems: r.problems.iter().map(ProblemObject::from).collect(),
        }
    }
}

/// One workflow problem in `checks[].problems`.
#[derive(Debug, Serialize)]
pub struct ProblemObject<'a> {
    /// The node's id; empty for the workflow as a whole.
    pub node_id: &'a str,
    /// The node's `class_type`; empty when it has none.
    pub class_type: &'a str,
    /// The input concerned.
    pub input: Option<&'a str>,
    /// The value the workflow gives that input, as the workflow has it.
    pub value: Option<&'a Value>,
    /// What is wrong, one line.
    pub message: &'a str,
    /// Close matches the server offers, best first.
    pub did_you_mean: &'a [String],
    /// The value names a model file the server lacks.
    pub is_model: bool,
}

impl<'a> From<&'a Problem> for ProblemObject<'a> {
    fn from(p: &'a Problem) -> Self {
        ProblemObject {
            node_id: &p.node_id,
            class_type: &p.class_type,
            input: p.input.as_deref(),
            value: p.value.as_ref(),
            message: &p.message,
            did_you_mean: &p.did_you_mean,
            is_model: p.is_model,
        }
    }
}

/// `jobs` in `health --json`.
#[derive(Debug, Serialize)]
pub struct Jobs<'a> {
    /// The running job, if any.
    pub running: Option<RunningJob<'a>>,
    /// Finished jobs in the page, by status.
    pub recent: RecentCounts,
    /// The newest failure in the page.
    pub last_failure: Option<Failure<'a>>,
}

impl<'a> From<&'a JobsReport> for Jobs<'a> {
    fn from(r: &'a JobsReport) -> Self {
        Jobs {
            running: r.running.as_ref().map(|j| RunningJob {
                id: &j.id,
                age_ms: j.age_ms,
            }),
            recent: RecentCounts {
                completed: r.recent.completed,
                failed: r.recent.failed,
                cancelled: r.recent.cancelled,
            },
            last_failure: r.last_failure.as_ref().map(|f| Failure {
                id: &f.id,
                start_ms: f.start_ms,
                end_ms: f.end_ms,
                reason: f.reason,
                error: f.error.as_ref().map(JobError::from),
            }),
        }
    }
}

/// `jobs.running`.
#[derive(Debug, Serialize)]
pub struct RunningJob<'a> {
    /// The prompt id.
    pub id: &'a str,
    /// How long it has run, ms; null when unknown.
    pub age_ms: Option<u64>,
}

/// `jobs.recent`.
#[derive(Debug, Serialize)]
pub struct RecentCounts {
    /// `completed`.
    pub completed: u32,
    /// `failed`.
    pub failed: u32,
    /// `cancelled`.
    pub cancelled: u32,
}

/// `jobs.last_failure`.
#[derive(Debug, Serialize)]
pub struct Failure<'a> {
    /// The prompt id.
    pub id: &'a str,
    /// When it started (server epoch ms).
    pub start_ms: Option<u64>,
    /// When it failed (server epoch ms).
    pub end_ms: Option<u64>,
    /// `oom`, `missing_file` or `exception`.
    pub reason: &'static str,
    /// Where and why.
    pub error: Option<JobError<'a>>,
}

/// A failed job's `error` (NDJSON `job` lines and `last_failure`).
#[derive(Debug, Serialize)]
pub struct JobError<'a> {
    /// `node_id`.
    pub node_id: Option<&'a str>,
    /// `node_type`.
    pub node_type: Option<&'a str>,
    /// `exception_type`.
    pub exception_type: Option<&'a str>,
    /// The first line of `exception_message`, bounded.
    pub message: &'a str,
}

impl<'a> From<&'a mjobs::JobError> for JobError<'a> {
    fn from(e: &'a mjobs::JobError) -> Self {
        JobError {
            node_id: e.node_id.as_deref(),
            node_type: e.node_type.as_deref(),
            exception_type: e.exception_type.as_deref(),
            message: &e.message,
        }
    }
}

/// One server's result in `reconnect --json`.
#[derive(Debug, Serialize)]
pub struct ReconnectReport<'a> {
    /// The server, credentials redacted.
    pub url: &'a str,
    /// The full session came back.
    pub reconnected: bool,
    /// Attempts made, the successful one included.
    pub attempts: u32,
    /// Time until it came back, or until reconnect stopped trying.
    pub elapsed_ms: u64,
    /// The last attempt's kind and status, the whole story as the message.
    pub error: Option<ErrorObject<'a>>,
    /// The fallback the pipeline should use; null once reconnected.
    pub fallback: Option<FallbackMode>,
}
