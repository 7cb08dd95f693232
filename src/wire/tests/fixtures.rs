//! Fixed manager values, and every JSON document built from them through
//! the calls the commands and sinks make, in `golden.ndjson`'s order.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use crate::manager::jobs::{Cause, Job, JobError, JobStatus, JobsReport};
use crate::manager::readiness::{Check, CheckResult};
use crate::manager::workflow::Problem;
use crate::manager::{
    Device, Envelope, ErrorKind, Event, FallbackMode, ProbeError, ProgressKind, State, Status,
    Summary,
};
use crate::render::json::{ReconnectReport, Report, one_or_array};
use crate::render::ndjson::{line, line_skipped};

pub(super) fn full_status() -> Status {
    Status {
        available: true,
        url: "http://h:1".into(),
        version: Some("0.3.64".into()),
        queue_remaining: Some(2),
        queue_running: Some(1),
        queue_pending: Some(1),
        latency_ms: Some(2.5),
        devices: vec![
            Device {
                name: "cuda:0 \u{1b}[2J GPU".into(),
                kind: "cuda".into(),
                vram_total: Some(100),
                vram_free: Some(50),
                torch_vram_free: Some(1),
            },
            Device {
                name: "cpu".into(),
                kind: "cpu".into(),
                vram_total: None,
                vram_free: None,
                torch_vram_free: None,
            },
        ],
        ram_total: Some(1000),
        ram_free: Some(500),
        python_version: Some("3.11.7".into()),
        pytorch_version: Some("2.15.0".into()),
        error: Some(ProbeError::new(ErrorKind::WsRefused, "ws refused").with_status(403)),
        last_check: "2026-11-21T16:27:39.776Z".into(),
        cors_enabled: Some(true),
        models_ready: Some(false),
        workflows_ready: Some(false),
        fully_ready: Some(false),
    }
}

pub(super) fn down_status() -> Status {
    let mut s = Status::failed(
        "http://h:2".into(),
        ProbeError::new(ErrorKind::ConnectionRefused, "refused"),
    );
    s.last_check = "2026-11-21T16:27:39.000Z".into();
    s
}

pub(super) fn job_error() -> JobError {
    JobError {
        node_id: Some("9".into()),
        node_type: Some("SaveImage".into()),
        exception_type: None,
        message: "boom".into(),
        cause: Cause::MissingFile,
    }
}

pub(super) fn results() -> Vec<CheckResult> {
    let mut wf = CheckResult::new(Check::Workflow("flow.json".into()), false, "node 4: bad");
    wf.problems = vec![
        Problem {
            node_id: "4".into(),
            class_type: "CheckpointLoaderSimple".into(),
            input: Some("ckpt_name".into()),
            value: Some(serde_json::json!(["1", 0])),
            message: "ckpt_name bad".into(),
            did_you_mean: vec!["a.safetensors".into()],
            is_model: true,
        },
        Problem {
            node_id: String::new(),
            class_type: String::new(),
            input: None,
            value: None,
            message: "no output node".into(),
            did_you_mean: vec![],
            is_model: false,
        },
    ];
    vec![
        CheckResult::new(Check::MaxQueue(5), true, "2 remaining"),
        CheckResult::new(
            Check::Model {
                folder: "checkpoints".into(),
                file: "x".into(),
            },
            false,
            "missing",
        ),
        CheckResult::new(Check::MaxJobTime(Duration::from_secs(90)), true, "ok"),
        wf,
    ]
}

pub(super) fn jobs_report() -> JobsReport {
    use crate::manager::jobs::{Failure, RecentCounts, RunningJob};
    JobsReport {
        running: Some(RunningJob {
            id: "r1".into(),
            age_ms: None,
        }),
        recent: RecentCounts {
            completed: 3,
            failed: 1,
            cancelled: 0,
        },
        last_failure: Some(Failure {
            id: "f1".into(),
            start_ms: Some(10),
            end_ms: None,
            reason: "missing_file",
            error: Some(job_error()),
        }),
    }
}

/// Every document, with the schema it follows, in `golden.ndjson`'s order.
pub(super) fn documents() -> Vec<(&'static str, String)> {
    let (full, down) = (full_status(), down_status());
    let results = results();
    let jobs = jobs_report();
    let reconnect = ReconnectReport {
        url: "http://h:2",
        reconnected: false,
        attempts: 14,
        elapsed_ms: 3012,
        error: Some(ProbeError::new(ErrorKind::Timeout, "gave up")),
        fallback: Some(FallbackMode::Placeholder),
    };
    let mut docs: Vec<(&str, String)> = vec![
        (
            "report",
            Report::new(&full, FallbackMode::Skip, None)
                .with_checks(Some(&results))
                .with_jobs(Some(&jobs))
                .to_line(),
        ),
        (
            "report",
            Report::new(&down, FallbackMode::Placeholder, None)
                .with_jobs(None)
                .to_line(),
        ),
        (
            "report",
            Report::new(&down, FallbackMode::Abort, Some(4)).to_line(),
        ),
        (
            "report",
            one_or_array(&[Report::new(&full, FallbackMode::Skip, Some(1))], true),
        ),
        ("reconnect", one_or_array(&[reconnect], false)),
    ];
    for (event, skipped) in events() {
        let envelope = Envelope {
            id: Default::default(),
            url: Arc::from("http://h:1"),
            at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            event,
        };
        let text = if skipped == 0 {
            serde_json::to_string(&line(&envelope))
        } else {
            serde_json::to_string(&line_skipped(&envelope, skipped))
        };
        docs.push(("event", text.unwrap()));
    }
    let alert = crate::sinks::alert::Alert {
        url: "http://h:1".into(),
        state: State::Disconnected,
        previous: Some(State::Connected),
        reason: "socket closed".into(),
        ts: "2026-11-21T16:27:39.776Z".into(),
    };
    docs.push(("webhook", serde_json::to_string(&alert.line()).unwrap()));
    docs
}

pub(super) fn events() -> Vec<(Event, u32)> {
    let failed = Job {
        id: "j1".into(),
        status: JobStatus::Failed,
        create_ms: Some(1),
        start_ms: Some(5),
        end_ms: Some(9),
        error: Some(job_error()),
    };
    let done = Job {
        id: "j2".into(),
        status: JobStatus::Completed,
        create_ms: None,
        start_ms: Some(5),
        end_ms: Some(9),
        error: None,
    };
    let cancelled = Job {
        status: JobStatus::Cancelled,
        ..done.clone()
    };
    vec![
        (
            Event::State {
                state: State::Stalled,
                previous: Some(State::Connected),
                reason: "over".into(),
            },
            0,
        ),
        (
            Event::State {
                state: State::Connecting,
                previous: None,
                reason: "start".into(),
            },
            0,
        ),
        (
            Event::Status {
                status: Box::new(full_status()),
                running_prompt: Some("p1".into()),
                running_age_ms: Some(5),
            },
            0,
        ),
        (
            Event::Status {
                status: Box::new(down_status()),
                running_prompt: None,
                running_age_ms: None,
            },
            0,
        ),
        (Event::Queue { queue_remaining: 3 }, 7),
        (
            Event::Progress {
                kind: ProgressKind::Progress,
                prompt_id: Some("p1".into()),
                node: Some("3".into()),
                value: Some(4.0),
                max: Some(20.0),
            },
            2,
        ),
        (
            Event::Progress {
                kind: ProgressKind::ExecutionInterrupted,
                prompt_id: None,
                node: None,
                value: None,
                max: None,
            },
            0,
        ),
        (
            Event::Warning {
                fallback: Some(FallbackMode::Skip),
                message: "down".into(),
            },
            0,
        ),
        (
            Event::Warning {
                fallback: None,
                message: "note".into(),
            },
            0,
        ),
        (
            Event::Reconnecting {
                attempt: 3,
                error: Some(ProbeError::new(ErrorKind::HttpStatus, "502").with_status(502)),
                next_delay: Duration::from_millis(1500),
            },
            4,
        ),
        (
            Event::Reconnecting {
                attempt: 1,
                error: None,
                next_delay: Duration::ZERO,
            },
            0,
        ),
        (Event::Job(failed), 0),
        (Event::Job(done), 0),
        (Event::Job(cancelled), 0),
        (
            Event::Moved {
                from: Arc::from("http://h:0"),
            },
            0,
        ),
        (
            Event::Summary(Summary {
                duration_ms: 5000,
                uptime_pct: 99.5,
                outages: 1,
                longest_outage_ms: 20,
                reconnects: 1,
                jobs_completed: 1,
                jobs_failed: 1,
                jobs_cancelled: 1,
            }),
            0,
        ),
    ]
}
