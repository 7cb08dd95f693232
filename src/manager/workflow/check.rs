//! The per-node rules of [`super::validate`]: inputs, links, values and
//! combo options.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::suggest::{node_candidates, suggest, suggest_options};
use super::values::{compare, json_num, py_eq, show, show_str, to_float, to_int, truthy};
use super::{MODEL_EXTENSIONS, MODEL_INPUTS, Problem, Workflow};

pub(super) struct Checker<'a> {
    pub(super) workflow: &'a Workflow,
    pub(super) object_info: &'a Value,
    pub(super) problems: Vec<Problem>,
    pub(super) models_checked: usize,
}

/// One input's type spec from `/object_info`: `[type]` or `[type, {extra}]`.
pub(super) struct Spec<'a> {
    kind: &'a Value,
    extra: Option<&'a Map<String, Value>>,
}

impl<'a> Spec<'a> {
    fn of(spec: &'a Value) -> Option<Self> {
        let parts = spec.as_array()?;
        Some(Spec {
            kind: parts.first()?,
            extra: parts.get(1).and_then(Value::as_object),
        })
    }

    fn opt(&self, key: &str) -> Option<&'a Value> {
        self.extra?.get(key)
    }
}

impl Checker<'_> {
    pub(super) fn unknown_class(&mut self, id: &str, class: &str) {
        let candidates = node_candidates(self.object_info);
        let msg = format!(
            "the server has no node type {} (a custom node that is not installed, or a typo)",
            show_str(class)
        );
        let mut p = Problem::new(id, class, None, msg);
        p.did_you_mean = suggest(class, candidates);
        self.problems.push(p);
    }

    pub(super) fn inputs(
        &mut self,
        id: &str,
        class: &str,
        info: &Value,
        inputs: &Map<String, Value>,
    ) {
        for (category, required) in [("required", true), ("optional", false)] {
            let specs = info
                .get("input")
                .and_then(|i| i.get(category))
                .and_then(Value::as_object);
            for (name, spec) in specs.into_iter().flatten() {
                match inputs.get(name) {
                    None if required => {
                        let msg = format!("required input {name} is missing");
                        self.problems.push(Problem::new(id, class, Some(name), msg));
                    }
                    None => {}
                    // ComfyUI treats every list value as a link.
                    Some(value @ Value::Array(_)) => self.link(id, class, name, spec, value),
                    Some(value) => self.value(id, class, name, spec, value),
                }
            }
        }
    }

    fn link(&mut self, id: &str, class: &str, name: &str, spec: &Value, value: &Value) {
        let Value::Array(parts) = value else { return };
        let problem = match link_ends(name, parts, value) {
            Err(msg) => Some(msg),
            Ok((src_id, slot)) => self.link_problem(name, spec, src_id, slot),
        };
        if let Some(msg) = problem {
            let p = Problem::new(id, class, Some(name), msg).with_value(value);
            self.problems.push(p);
        }
    }

    /// What is wrong with input `name` (typed by `spec`) linking to output
    /// `slot` of node `src_id`: a node not in the workflow, an output it
    /// does not have, or one of another type. `None` when it fits, or when
    /// the other end's class is unknown (reported on that node).
    fn link_problem(&self, name: &str, spec: &Value, src_id: &str, slot: &Value) -> Option<String> {
        let Some(src_node) = self.workflow.nodes.get(src_id) else {
            return Some(format!(
                "{name} links to node {src_id}, which is not in the workflow"
            ));
        };
        let Some(slot) = slot.as_u64() else {
            return Some(format!(
                "{name} links to output {} of node {src_id}, which is not an output index",
                show(slot)
            ));
        };
        let src_class = src_node.get("class_type").and_then(Value::as_str)?;
        let outputs = self
            .object_info
            .get(src_class)
            .and_then(|i| i.get("output"))
            .and_then(Value::as_array)?;
        let Some(received) = usize::try_from(slot).ok().and_then(|s| outputs.get(s)) else {
            return Some(format!(
                "{name} links to output {slot} of node {src_id} ({src_class}), which has {} output(s)",
                outputs.len()
            ));
        };
        let expected = Spec::of(spec).and_then(|s| s.kind.as_str());
        // Combo inputs and list-typed outputs have no type name to compare.
        let (Some(received), Some(expected)) = (received.as_str(), expected) else {
            return None;
        };
        (expected != "COMBO" && !types_match(received, expected)).then(|| {
            format!(
                "{name} takes {expected} but is linked to output {slot} of node {src_id} ({src_class}), which gives {received}"
            )
        })
    }

    fn value(&mut self, id: &str, class: &str, name: &str, spec: &Value, raw: &Value) {
        let Some(spec) = Spec::of(spec) else { return };
        // Lists are links, so the UI wraps list values as {"__value__": [...]};
        // ComfyUI unwraps them before checking.
        let value = match raw {
            Value::Object(m) => m.get("__value__").unwrap_or(raw),
            _ => raw,
        };
        if let Some(msg) = number_problem(name, &spec, value) {
            let p = Problem::new(id, class, Some(name), msg).with_value(raw);
            return self.problems.push(p);
        }
        self.combo(id, class, name, &spec, value, raw);
    }

    /// A combo value must be among the options the server offers.
    fn combo(
        &mut self,
        id: &str,
        class: &str,
        name: &str,
        spec: &Spec,
        value: &Value,
        raw: &Value,
    ) {
        let kind = spec.kind.as_str();
        let options: &[Value] = if let Some(list) = spec.kind.as_array() {
            list
        } else if kind == Some("COMBO") {
            // Remote combos get their options client-side; the server's list
            // is not the truth, and ComfyUI skips them too.
            if spec.opt("remote_combo").is_some_and(truthy) || spec.opt("remote").is_some() {
                return;
            }
            spec.opt("options")
                .and_then(Value::as_array)
                .map_or(&[], Vec::as_slice)
        } else {
            return;
        };
        let is_model = is_model_input(name, options, value);
        if is_model {
            self.models_checked += 1;
        }
        let multiselect = spec.opt("multiselect").is_some_and(truthy);
        let bad: Vec<&Value> = match value {
            Value::Array(values) if multiselect => values
                .iter()
                .filter(|v| !options.iter().any(|o| py_eq(o, v)))
                .collect(),
            _ if options.iter().any(|o| py_eq(o, value)) => Vec::new(),
            _ => vec![value],
        };
        if bad.is_empty() {
            return;
        }
        let shown: Vec<String> = bad.iter().map(|v| show(v)).collect();
        let what = match shown.as_slice() {
            [one] => format!("{one} is"),
            many => format!("values {} are", many.join(", ")),
        };
        let msg = format!(
            "{name} {what} not among the {} option(s) the server offers",
            options.len()
        );
        let mut p = Problem::new(id, class, Some(name), msg).with_value(raw);
        p.is_model = is_model;
        p.did_you_mean = suggest_options(&bad, options);
        self.problems.push(p);
    }
}

/// ComfyUI runs int()/float() on INT/FLOAT values first, then checks min
/// and max on the result: the message for a value that fails, if any.
fn number_problem(name: &str, spec: &Spec, value: &Value) -> Option<String> {
    let n = match spec.kind.as_str() {
        Some("INT") => match to_int(value) {
            Some(n) => n,
            None => {
                return Some(format!(
                    "{name} {} is not an INT (a whole number)",
                    show(value)
                ));
            }
        },
        Some("FLOAT") => match to_float(value) {
            Some(n) => n,
            None => return Some(format!("{name} {} is not a FLOAT (a number)", show(value))),
        },
        _ => return None,
    };
    let bound = |key| spec.opt(key).and_then(|b| json_num(b).map(|m| (b, m)));
    if let Some((shown, min)) = bound("min")
        && compare(n, min) == Some(Ordering::Less)
    {
        return Some(format!(
            "{name} {} is below the minimum of {shown}",
            show(value)
        ));
    }
    if let Some((shown, max)) = bound("max")
        && compare(n, max) == Some(Ordering::Greater)
    {
        return Some(format!(
            "{name} {} is above the maximum of {shown}",
            show(value)
        ));
    }
    None
}

/// A link's two ends as written, `[node id, output index]`, or why it is
/// not one. Only the id's type is checked here: whether the slot is an
/// index is asked after whether the node exists (see `link_problem`).
fn link_ends<'v>(
    name: &str,
    parts: &'v [Value],
    value: &Value,
) -> Result<(&'v str, &'v Value), String> {
    let [src, slot] = parts else {
        return Err(format!(
            "{name} is {}, which is not a link; a link is [node id, output index]",
            show(value)
        ));
    };
    match src {
        Value::String(s) => Ok((s.as_str(), slot)),
        // ComfyUI looks the id up as a string key, so 4 does not find "4".
        Value::Number(n) => Err(format!(
            "{name} links to node {n} written as a number; node ids are strings, as in [\"{n}\", {slot}]"
        )),
        other => Err(format!(
            "{name} links to {}, which is not a node id",
            show(other)
        )),
    }
}

/// ComfyUI's `validate_node_input`: equal, `*` on either side, or an
/// overlap between comma-separated unions such as "INT,FLOAT".
pub(super) fn types_match(received: &str, expected: &str) -> bool {
    if received == expected || received == "*" || expected == "*" {
        return true;
    }
    let expected: BTreeSet<&str> = expected.split(',').map(str::trim).collect();
    received.split(',').any(|t| expected.contains(t.trim()))
}

/// A model input: a known loader input name (`clip_name1` counts as
/// `clip_name`), options that look like model files, or a value that does.
pub(super) fn is_model_input(name: &str, options: &[Value], value: &Value) -> bool {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
    MODEL_INPUTS.contains(&base)
        || options.iter().filter_map(Value::as_str).any(has_model_ext)
        || value.as_str().is_some_and(has_model_ext)
}

pub(super) fn has_model_ext(file: &str) -> bool {
    let file = file.to_ascii_lowercase();
    MODEL_EXTENSIONS.iter().any(|ext| file.ends_with(ext))
}
