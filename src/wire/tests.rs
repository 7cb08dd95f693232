//! Every JSON document, built from fixed manager values through the same
//! calls the commands and sinks make: byte for byte as `golden.ndjson`
//! (the output before the wire module existed), and valid against its
//! schema in `schema/`.

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

pub(crate) fn full_status() -> Status {
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

pub(crate) fn down_status() -> Status {
    let mut s = Status::failed(
        "http://h:2".into(),
        ProbeError::new(ErrorKind::ConnectionRefused, "refused"),
    );
    s.last_check = "2026-11-21T16:27:39.000Z".into();
    s
}

pub(crate) fn job_error() -> JobError {
    JobError {
        node_id: Some("9".into()),
        node_type: Some("SaveImage".into()),
        exception_type: None,
        message: "boom".into(),
        cause: Cause::MissingFile,
    }
}

pub(crate) fn results() -> Vec<CheckResult> {
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

pub(crate) fn jobs_report() -> JobsReport {
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
pub(crate) fn documents() -> Vec<(&'static str, String)> {
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

pub(crate) fn events() -> Vec<(Event, u32)> {
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

/// The schema `schema/NAME.json`.
pub(crate) fn schema(name: &str) -> serde_json::Value {
    let path = format!("{}/schema/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every error of `doc` against `schema`, each with its path in the
/// document and in the schema.
fn errors(schema: &serde_json::Value, doc: &serde_json::Value) -> Vec<String> {
    let validator = jsonschema::draft202012::new(schema).expect("a valid schema");
    validator
        .iter_errors(doc)
        .map(|e| {
            format!(
                "at {:?} (schema {:?}): {e}",
                e.instance_path().as_str(),
                e.schema_path().as_str()
            )
        })
        .collect()
}

#[test]
fn every_document_is_byte_for_byte_as_before() {
    let golden: Vec<&str> = include_str!("golden.ndjson").lines().collect();
    let docs = documents();
    assert_eq!(docs.len(), golden.len());
    for ((_, doc), want) in docs.iter().zip(golden) {
        assert_eq!(doc, want);
    }
}

#[test]
fn every_document_matches_its_schema() {
    for (name, doc) in documents() {
        let value: serde_json::Value = serde_json::from_str(&doc).unwrap();
        let found = errors(&schema(name), &value);
        assert!(found.is_empty(), "{name}: {found:?}\n{doc}");
    }
}

#[test]
fn the_schemas_reject_a_missing_an_unknown_or_a_mistyped_key() {
    let report = schema("report");
    let (_, doc) = &documents()[0];
    let good: serde_json::Value = serde_json::from_str(doc).unwrap();
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("last_check");
    let mut unknown = good.clone();
    unknown["queue_size"] = 1.into();
    let mut mistyped = good.clone();
    mistyped["checks"][0]["ok"] = "yes".into();
    let mut up_with_fallback = good.clone();
    up_with_fallback["fallback"] = "skip".into();
    for bad in [missing, unknown, mistyped, up_with_fallback] {
        assert!(!errors(&report, &bad).is_empty(), "{bad}");
    }
    let event = schema("event");
    let state = serde_json::json!({"event": "state", "ts": "2026-11-21T16:27:39.776Z",
        "url": "http://h:1", "state": "asleep", "previous": null, "reason": "r"});
    assert!(!errors(&event, &state).is_empty());
    let unknown_event =
        serde_json::json!({"event": "hello", "ts": "2026-11-21T16:27:39.776Z", "url": "u"});
    assert!(!errors(&event, &unknown_event).is_empty());
}

/// The values of the `enum` at `pointer` in `schema`, nulls left out.
fn enum_at(schema: &serde_json::Value, pointer: &str) -> Vec<String> {
    let values = schema
        .pointer(pointer)
        .and_then(serde_json::Value::as_array)
        .unwrap_or_else(|| panic!("no enum at {pointer}"));
    values
        .iter()
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
}

fn texts<T: Copy>(all: &[T], text: fn(T) -> &'static str) -> Vec<String> {
    all.iter().map(|v| text(*v).to_string()).collect()
}

#[test]
fn the_schemas_list_exactly_the_wire_names() {
    use super::enums::{ErrorKind, FallbackMode, ProgressKind, State};
    let (event, report) = (schema("event"), schema("report"));
    let states = texts(State::ALL, State::text);
    assert_eq!(
        enum_at(&event, "/$defs/state_line/properties/state/enum"),
        states
    );
    assert_eq!(
        enum_at(&event, "/$defs/state_line/properties/previous/enum"),
        states
    );
    assert_eq!(
        enum_at(&event, "/$defs/progress_line/properties/type/enum"),
        texts(ProgressKind::ALL, ProgressKind::text)
    );
    let kinds = texts(ErrorKind::ALL, ErrorKind::text);
    let fallbacks = texts(FallbackMode::ALL, FallbackMode::text);
    for schema in [&event, &report, &schema("reconnect")] {
        assert_eq!(enum_at(schema, "/$defs/error/properties/kind/enum"), kinds);
    }
    assert_eq!(
        enum_at(&event, "/$defs/warning_line/properties/fallback/enum"),
        fallbacks
    );
    assert_eq!(
        enum_at(&report, "/$defs/report/properties/fallback/enum"),
        fallbacks
    );
    assert_eq!(
        enum_at(&event, "/properties/event/enum"),
        super::event::Body::NAMES
    );
    let finished: Vec<String> = super::enums::JobStatus::ALL
        .iter()
        .filter(|s| {
            matches!(
                s,
                super::enums::JobStatus::Completed
                    | super::enums::JobStatus::Failed
                    | super::enums::JobStatus::Cancelled
            )
        })
        .map(|s| s.text().to_string())
        .collect();
    assert_eq!(
        enum_at(&event, "/$defs/job_line/properties/status/enum"),
        finished
    );
}

#[test]
fn the_shared_definitions_are_the_same_in_every_schema() {
    let (event, report, reconnect, webhook) = (
        schema("event"),
        schema("report"),
        schema("reconnect"),
        schema("webhook"),
    );
    assert_eq!(event["$defs"]["error"], report["$defs"]["error"]);
    assert_eq!(event["$defs"]["error"], reconnect["$defs"]["error"]);
    assert_eq!(event["$defs"]["job_error"], report["$defs"]["job_error"]);
    assert_eq!(event["$defs"]["ts"], webhook["$defs"]["ts"]);
    assert_eq!(event["$defs"]["state_line"], webhook["$defs"]["state_line"]);
}

#[test]
fn every_event_kind_has_a_golden_line() {
    let seen: std::collections::BTreeSet<String> = documents()
        .iter()
        .filter(|(name, _)| *name == "event")
        .map(|(_, doc)| {
            serde_json::from_str::<serde_json::Value>(doc).unwrap()["event"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let all: std::collections::BTreeSet<String> = super::event::Body::NAMES
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(seen, all);
}

#[test]
fn the_webhook_posts_the_ndjson_state_line() {
    let mut gate = crate::sinks::alert::Gate::new(1, 1);
    let envelope = Envelope {
        url: Arc::from("http://h:1"),
        at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
        event: Event::State {
            state: State::Connected,
            previous: None,
            reason: "up".into(),
        },
    };
    let alert = gate.feed(&envelope).unwrap();
    let posted = serde_json::to_string(&alert.line()).unwrap();
    let printed = serde_json::to_string(&line(&envelope)).unwrap();
    assert_eq!(posted, printed);
    assert!(posted.starts_with(r#"{"event":"state","ts":""#), "{posted}");
}
