//! Every JSON document, built from fixed manager values through the same
//! calls the commands and sinks make: byte for byte as `golden.ndjson`
//! (the output before the wire module existed), and valid against its
//! schema in `schema/`.

mod fixtures;

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use fixtures::documents;

use crate::manager::{Envelope, Event, State};
use crate::render::ndjson::line;

/// The schema `schema/NAME.json`.
fn schema(name: &str) -> serde_json::Value {
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
        id: Default::default(),
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
