//! Checks a ComfyUI workflow in API format against a server's `/object_info`
//! the way ComfyUI's own `validate_prompt` and `validate_inputs`
//! (`execution.py`) check a prompt before queueing it, without queueing
//! anything. Everything here is pure except [`load`], which reads one file.
//!
//! Where ComfyUI stops at the first unknown node type, this reports every
//! problem it finds, so one run lists everything to fix.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::path::Path;

use serde_json::{Map, Value};

/// File name endings that mark a combo option as a model file.
const MODEL_EXTENSIONS: [&str; 7] = [
    ".safetensors",
    ".ckpt",
    ".pt",
    ".pth",
    ".bin",
    ".gguf",
    ".sft",
];

/// Input names of the stock model loaders. They make an input count as a
/// model even when the server lists no files for it (options `[]`), which
/// is what a server with an empty models folder sends.
const MODEL_INPUTS: [&str; 12] = [
    "ckpt_name",
    "lora_name",
    "vae_name",
    "unet_name",
    "clip_name",
    "control_net_name",
    "upscale_model_name",
    "style_model_name",
    "clip_vision_name",
    "gligen_name",
    "hypernetwork_name",
    "photomaker_model_name",
];

/// What to do with a UI-format workflow.
const UI_GUIDANCE: &str = "in ComfyUI use Workflow → Export (API) and pass that file";

/// How close an option must be (0 to 1) to be offered as "did you mean".
const SUGGEST_THRESHOLD: f64 = 0.6;
/// At most this many "did you mean" entries per problem.
const SUGGEST_MAX: usize = 3;

/// A workflow in ComfyUI's API format: node id → `{class_type, inputs}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Workflow {
    nodes: Map<String, Value>,
}

impl Workflow {
    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when there are no nodes (never for a workflow from [`parse`]).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Node ids, numerically where possible: "2" before "10", and subgraph
    /// ids such as "12:3" part by part.
    pub fn node_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.nodes.keys().map(String::as_str).collect();
        ids.sort_by(|a, b| node_key(a).cmp(&node_key(b)));
        ids
    }

    /// The `class_type` of node `id`, if the node exists and has one.
    pub fn class_type(&self, id: &str) -> Option<&str> {
        self.nodes.get(id)?.get("class_type")?.as_str()
    }

    /// The API-format object, as sent in the `prompt` field of `POST /prompt`.
    pub fn prompt(&self) -> &Map<String, Value> {
        &self.nodes
    }
}

/// Reads a workflow file: the API format as saved by "Export (API)", or the
/// `{"prompt": {...}, ...}` body of a `POST /prompt`. Errors are one line
/// and name `path`: unreadable, not JSON, a UI-format workflow, or not a
/// workflow.
pub fn load(path: &Path) -> Result<Workflow, String> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("cannot read {shown}: no such file"),
        _ => format!("cannot read {shown}: {e}"),
    })?;
    // ComfyUI embeds the workflow in the PNGs it saves, so people pass those.
    if bytes.starts_with(b"\x89PNG") {
        return Err(format!(
            "{shown} is a PNG image, not a JSON workflow; {UI_GUIDANCE}"
        ));
    }
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| format!("{shown} is not JSON: it is not UTF-8 text"))?;
    parse(text, &shown)
}

/// Parses a workflow from `text` (see [`load`] for the accepted shapes).
/// `shown_name` names the source in error messages.
pub fn parse(text: &str, shown_name: &str) -> Result<Workflow, String> {
    // Windows editors often save JSON with a byte-order mark, which
    // serde_json rejects.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value: Value =
        serde_json::from_str(text).map_err(|e| format!("{shown_name} is not JSON: {e}"))?;
    let Value::Object(mut top) = value else {
        return Err(format!(
            "{shown_name} is not a ComfyUI workflow: expected a JSON object of nodes, found {}",
            describe(&value)
        ));
    };
    if is_ui_format(&top) {
        return Err(ui_error(shown_name));
    }
    // A `POST /prompt` body wraps the nodes in "prompt"; a node whose id
    // happens to be "prompt" has a class_type of its own.
    let wrapped =
        matches!(top.get("prompt"), Some(Value::Object(p)) if !p.contains_key("class_type"));
    if wrapped && let Some(Value::Object(inner)) = top.remove("prompt") {
        top = inner;
        if is_ui_format(&top) {
            return Err(ui_error(shown_name));
        }
    }
    if top.is_empty() {
        return Err(format!("{shown_name} is a workflow with no nodes"));
    }
    if let Some((id, _)) = top.iter().find(|(_, node)| !looks_like_node(node)) {
        return Err(format!(
            "{shown_name} is not an API-format ComfyUI workflow: entry {} is not a node (no class_type or inputs)",
            show_str(id)
        ));
    }
    Ok(Workflow { nodes: top })
}

/// The UI format (plain "Save") has a `nodes` array and `links`; the API
/// format is an object keyed by node id.
fn is_ui_format(top: &Map<String, Value>) -> bool {
    top.get("nodes").is_some_and(Value::is_array)
}

fn ui_error(shown_name: &str) -> String {
    format!("{shown_name} is a UI workflow; {UI_GUIDANCE}")
}

/// Loose on purpose: a node without a class_type is still a node, and is
/// reported by [`validate`] the way ComfyUI reports it.
fn looks_like_node(node: &Value) -> bool {
    node.as_object()
        .is_some_and(|n| n.contains_key("class_type") || n.contains_key("inputs"))
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// One problem found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Problem {
    /// The node's id; empty for a problem with the workflow as a whole
    /// (it has no output node).
    pub node_id: String,
    /// The node's `class_type`; empty when the node has none.
    pub class_type: String,
    /// The input concerned, if the problem is about one input.
    pub input: Option<String>,
    /// The value the workflow gives that input (or the link), if any.
    pub value: Option<Value>,
    /// What is wrong, one line, starting with the input name when there is
    /// one, e.g. "ckpt_name 'sdxl.safetensors' is not among the 1 option(s)
    /// the server offers".
    pub message: String,
    /// Close matches among what the server offers, best first (at most 3).
    /// When the server offers 1 to 3 options and none is close, all of them.
    pub did_you_mean: Vec<String>,
    /// True when the value names a model file the server does not offer:
    /// the workflow is fine, the server lacks the file.
    pub is_model: bool,
}

impl Problem {
    fn new(node_id: &str, class_type: &str, input: Option<&str>, message: String) -> Self {
        Problem {
            node_id: node_id.to_owned(),
            class_type: class_type.to_owned(),
            input: input.map(str::to_owned),
            value: None,
            message,
            did_you_mean: Vec::new(),
            is_model: false,
        }
    }

    fn with_value(mut self, value: &Value) -> Self {
        self.value = Some(value.clone());
        self
    }
}

impl fmt::Display for Problem {
    /// `node 4 (CheckpointLoaderSimple): ckpt_name 'x.safetensors' is not
    /// among the 1 option(s) the server offers; did you mean
    /// 'v1-5-pruned-emaonly.safetensors'?`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.node_id.is_empty() {
            if self.class_type.is_empty() {
                write!(f, "node {}: ", self.node_id)?;
            } else {
                write!(f, "node {} ({}): ", self.node_id, self.class_type)?;
            }
        }
        f.write_str(&self.message)?;
        if !self.did_you_mean.is_empty() {
            write!(f, "; did you mean {}?", or_list(&self.did_you_mean))?;
        }
        Ok(())
    }
}

/// `'a'`, `'a' or 'b'`, `'a', 'b' or 'c'`.
fn or_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| show_str(s)).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// The outcome of validating one workflow.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Report {
    /// Every problem found, by node id (numerically where possible), then
    /// input name; problems with a whole node come before its inputs'.
    pub problems: Vec<Problem>,
    /// How many combo inputs naming a model file were checked against the
    /// server's options (links are not counted: they carry no file name).
    pub models_checked: usize,
}

impl Report {
    /// True when nothing is wrong.
    pub fn workflow_ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// True when every model file the workflow names is offered by the
    /// server (other problems may remain).
    pub fn models_ok(&self) -> bool {
        !self.problems.iter().any(|p| p.is_model)
    }
}

/// Validates `workflow` against the parsed `/object_info` JSON object
/// (class name → node info), with ComfyUI's rules:
///
/// - every node has a `class_type` the server knows, and an `inputs` object;
/// - every `input.required` input is present (hidden and optional are not
///   required); present optional inputs are checked like required ones;
/// - a link `["<node id>", <output index>]` points at a node in the
///   workflow, at an output that node has, of a type the input takes;
/// - INT and FLOAT values convert as Python's `int()`/`float()` would, and
///   are within `min`/`max`;
/// - COMBO values (`[[options…], {…}]` or `["COMBO", {"options": […]}]`)
///   are among the options;
/// - no dependency cycles, and at least one output node.
///
/// Unlike ComfyUI, nodes that feed no output are checked too.
pub fn validate(workflow: &Workflow, object_info: &Value) -> Report {
    let mut check = Checker {
        workflow,
        object_info,
        problems: Vec::new(),
        models_checked: 0,
    };
    let mut all_known = true;
    let mut has_output = false;
    for (id, node) in &workflow.nodes {
        let Some(class) = node.get("class_type").and_then(Value::as_str) else {
            all_known = false;
            let mut p = Problem::new(
                id,
                "",
                None,
                "has no class_type; the workflow may be corrupted".to_owned(),
            );
            p.value = node.get("class_type").cloned();
            check.problems.push(p);
            continue;
        };
        let Some(info) = object_info.get(class).filter(|i| i.is_object()) else {
            all_known = false;
            check.unknown_class(id, class);
            continue;
        };
        has_output |= info.get("output_node") == Some(&Value::Bool(true));
        let Some(inputs) = node.get("inputs").and_then(Value::as_object) else {
            let msg = "has no inputs object".to_owned();
            check.problems.push(Problem::new(id, class, None, msg));
            continue;
        };
        check.inputs(id, class, info, inputs);
    }
    check.cycles();
    // ComfyUI checks node types before outputs, and an unknown type may well
    // be the output node, so only judge outputs when every type is known.
    if all_known && !has_output {
        let msg = "the workflow has no output node (such as SaveImage or PreviewImage); \
                   the server would reject it with \"Prompt has no outputs\""
            .to_owned();
        check.problems.push(Problem::new("", "", None, msg));
    }
    let mut problems = check.problems;
    problems.sort_by(|a, b| {
        node_key(&a.node_id)
            .cmp(&node_key(&b.node_id))
            .then_with(|| a.input.cmp(&b.input))
    });
    Report {
        problems,
        models_checked: check.models_checked,
    }
}

struct Checker<'a> {
    workflow: &'a Workflow,
    object_info: &'a Value,
    problems: Vec<Problem>,
    models_checked: usize,
}

/// One input's type spec from `/object_info`: `[type]` or `[type, {extra}]`.
struct Spec<'a> {
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
    fn unknown_class(&mut self, id: &str, class: &str) {
        let names = self.object_info.as_object().into_iter().flatten();
        // Match display names too, so "Load Checkpoint" suggests
        // CheckpointLoaderSimple.
        let candidates = names.flat_map(|(name, info)| {
            let display = info.get("display_name").and_then(Value::as_str);
            std::iter::once((name.as_str(), name.as_str()))
                .chain(display.map(|d| (name.as_str(), d)))
        });
        let msg = format!(
            "the server has no node type {} (a custom node that is not installed, or a typo)",
            show_str(class)
        );
        let mut p = Problem::new(id, class, None, msg);
        p.did_you_mean = suggest(class, candidates);
        self.problems.push(p);
    }

    fn inputs(&mut self, id: &str, class: &str, info: &Value, inputs: &Map<String, Value>) {
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
        let mut report = |msg: String| {
            let p = Problem::new(id, class, Some(name), msg).with_value(value);
            self.problems.push(p);
        };
        let Value::Array(parts) = value else { return };
        let [src, slot] = parts.as_slice() else {
            return report(format!(
                "{name} is {}, which is not a link; a link is [node id, output index]",
                show(value)
            ));
        };
        let src_id = match src {
            Value::String(s) => s.as_str(),
            // ComfyUI looks the id up as a string key, so 4 does not find "4".
            Value::Number(n) => {
                return report(format!(
                    "{name} links to node {n} written as a number; node ids are strings, as in [\"{n}\", {slot}]"
                ));
            }
            other => {
                return report(format!(
                    "{name} links to {}, which is not a node id",
                    show(other)
                ));
            }
        };
        let Some(src_node) = self.workflow.nodes.get(src_id) else {
            return report(format!(
                "{name} links to node {src_id}, which is not in the workflow"
            ));
        };
        let Some(slot) = slot.as_u64() else {
            return report(format!(
                "{name} links to output {} of node {src_id}, which is not an output index",
                show(slot)
            ));
        };
        // An unknown or missing class on the other end is reported there.
        let Some(src_class) = src_node.get("class_type").and_then(Value::as_str) else {
            return;
        };
        let outputs = self
            .object_info
            .get(src_class)
            .and_then(|i| i.get("output"))
            .and_then(Value::as_array);
        let Some(outputs) = outputs else { return };
        let Some(received) = usize::try_from(slot).ok().and_then(|s| outputs.get(s)) else {
            return report(format!(
                "{name} links to output {slot} of node {src_id} ({src_class}), which has {} output(s)",
                outputs.len()
            ));
        };
        let expected = Spec::of(spec).and_then(|s| s.kind.as_str());
        // Combo inputs and list-typed outputs have no type name to compare.
        if let (Some(received), Some(expected)) = (received.as_str(), expected)
            && expected != "COMBO"
            && !types_match(received, expected)
        {
            report(format!(
                "{name} takes {expected} but is linked to output {slot} of node {src_id} ({src_class}), which gives {received}"
            ));
        }
    }

    fn value(&mut self, id: &str, class: &str, name: &str, spec: &Value, raw: &Value) {
        let Some(spec) = Spec::of(spec) else { return };
        let problem = |msg: String| Problem::new(id, class, Some(name), msg).with_value(raw);
        // Lists are links, so the UI wraps list values as {"__value__": [...]};
        // ComfyUI unwraps them before checking.
        let value = match raw {
            Value::Object(m) => m.get("__value__").unwrap_or(raw),
            _ => raw,
        };
        let kind = spec.kind.as_str();
        // ComfyUI runs int()/float() on INT/FLOAT values first, then checks
        // min and max on the result.
        let number = match kind {
            Some("INT") => match to_int(value) {
                Some(n) => Some(n),
                None => {
                    let msg = format!("{name} {} is not an INT (a whole number)", show(value));
                    return self.problems.push(problem(msg));
                }
            },
            Some("FLOAT") => match to_float(value) {
                Some(n) => Some(n),
                None => {
                    let msg = format!("{name} {} is not a FLOAT (a number)", show(value));
                    return self.problems.push(problem(msg));
                }
            },
            _ => None,
        };
        if let Some(n) = number {
            let bound = |key| spec.opt(key).and_then(|b| json_num(b).map(|m| (b, m)));
            if let Some((shown, min)) = bound("min")
                && compare(n, min) == Some(Ordering::Less)
            {
                let msg = format!("{name} {} is below the minimum of {shown}", show(value));
                return self.problems.push(problem(msg));
            }
            if let Some((shown, max)) = bound("max")
                && compare(n, max) == Some(Ordering::Greater)
            {
                let msg = format!("{name} {} is above the maximum of {shown}", show(value));
                return self.problems.push(problem(msg));
            }
        }

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
        let mut p = problem(msg);
        p.is_model = is_model;
        p.did_you_mean = suggest_options(&bad, options);
        self.problems.push(p);
    }

    /// Reports every node on a dependency cycle, as ComfyUI does.
    fn cycles(&mut self) {
        let nodes = &self.workflow.nodes;
        let mut deps: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut users: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for (id, node) in nodes {
            deps.entry(id).or_default();
            users.entry(id).or_default();
            let inputs = node.get("inputs").and_then(Value::as_object);
            for value in inputs.into_iter().flat_map(Map::values) {
                if let Some(dep) = link_target(value)
                    && let Some((dep, _)) = nodes.get_key_value(dep)
                {
                    deps.entry(id).or_default().insert(dep);
                    users.entry(dep).or_default().insert(id);
                }
            }
        }
        // Peel off nodes that depend on nothing left or that nothing left
        // depends on: they cannot be on a cycle. What remains is small.
        let mut left: BTreeSet<&str> = deps.keys().copied().collect();
        let mut queue: VecDeque<&str> = left
            .iter()
            .copied()
            .filter(|n| deps[n].is_empty() || users[n].is_empty())
            .collect();
        while let Some(n) = queue.pop_front() {
            if !left.remove(n) {
                continue;
            }
            for m in deps[n].iter().chain(&users[n]) {
                let stuck = |set: &BTreeSet<&str>| set.iter().all(|x| !left.contains(x));
                if left.contains(m) && (stuck(&deps[m]) || stuck(&users[m])) {
                    queue.push_back(m);
                }
            }
        }
        let reach = |from: &str| {
            let mut seen = BTreeSet::new();
            let mut todo: Vec<&str> = deps[from].iter().copied().collect();
            while let Some(n) = todo.pop() {
                if left.contains(n) && seen.insert(n) {
                    todo.extend(deps[n].iter().copied());
                }
            }
            seen
        };
        let reaches: BTreeMap<&str, BTreeSet<&str>> = left.iter().map(|&n| (n, reach(n))).collect();
        for (&n, from_n) in &reaches {
            if !from_n.contains(n) {
                continue;
            }
            let mut with: Vec<&str> = from_n
                .iter()
                .copied()
                .filter(|&m| m != n && reaches[m].contains(n))
                .collect();
            with.sort_by(|a, b| node_key(a).cmp(&node_key(b)));
            let msg = if with.is_empty() {
                "links to itself, a dependency cycle".to_owned()
            } else {
                format!("is in a dependency cycle with node(s) {}", with.join(", "))
            };
            let class = self.workflow.class_type(n).unwrap_or_default();
            self.problems.push(Problem::new(n, class, None, msg));
        }
    }
}

/// The node id a value links to, if it is a well-formed link.
fn link_target(value: &Value) -> Option<&str> {
    match value.as_array()?.as_slice() {
        [Value::String(id), slot] if slot.is_u64() => Some(id),
        _ => None,
    }
}

/// ComfyUI's `validate_node_input`: equal, `*` on either side, or an
/// overlap between comma-separated unions such as "INT,FLOAT".
fn types_match(received: &str, expected: &str) -> bool {
    if received == expected || received == "*" || expected == "*" {
        return true;
    }
    let expected: BTreeSet<&str> = expected.split(',').map(str::trim).collect();
    received.split(',').any(|t| expected.contains(t.trim()))
}

/// A model input: a known loader input name (`clip_name1` counts as
/// `clip_name`), options that look like model files, or a value that does.
fn is_model_input(name: &str, options: &[Value], value: &Value) -> bool {
    let base = name.trim_end_matches(|c: char| c.is_ascii_digit());
    MODEL_INPUTS.contains(&base)
        || options.iter().filter_map(Value::as_str).any(has_model_ext)
        || value.as_str().is_some_and(has_model_ext)
}

fn has_model_ext(file: &str) -> bool {
    let file = file.to_ascii_lowercase();
    MODEL_EXTENSIONS.iter().any(|ext| file.ends_with(ext))
}

/// Python truthiness, for flags in the spec.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

/// Python's `==` as `in` uses it on combo options: 1 == 1.0 == True.
fn py_eq(a: &Value, b: &Value) -> bool {
    match (json_num(a), json_num(b)) {
        (Some(x), Some(y)) => compare(x, y) == Some(Ordering::Equal),
        _ => a == b,
    }
}

/// A number as Python holds it: exact integers, or floats.
#[derive(Debug, Clone, Copy)]
enum Num {
    Int(i128),
    Float(f64),
}

fn compare(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::Int(x), Num::Int(y)) => Some(x.cmp(&y)),
        _ => as_f64(a).partial_cmp(&as_f64(b)),
    }
}

fn as_f64(n: Num) -> f64 {
    match n {
        Num::Int(i) => i as f64,
        Num::Float(f) => f,
    }
}

/// A JSON number or boolean as a number (Python's bool is an int).
fn json_num(v: &Value) -> Option<Num> {
    match v {
        Value::Bool(b) => Some(Num::Int(i128::from(*b))),
        Value::Number(n) => Some(if let Some(i) = n.as_i64() {
            Num::Int(i.into())
        } else if let Some(u) = n.as_u64() {
            Num::Int(u.into())
        } else {
            Num::Float(n.as_f64()?)
        }),
        _ => None,
    }
}

/// Python's `int(v)`: truncates floats, parses base-10 strings.
fn to_int(v: &Value) -> Option<Num> {
    match json_num(v) {
        Some(Num::Float(f)) if f.is_finite() => Some(Num::Int(f.trunc() as i128)),
        Some(Num::Float(_)) => None,
        Some(int) => Some(int),
        None => parse_py_int(v.as_str()?),
    }
}

/// Python's `int(str)`: optional sign, digits with single `_` between them,
/// surrounding whitespace allowed.
fn parse_py_int(s: &str) -> Option<Num> {
    let s = s.trim();
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    let well_formed = !digits.is_empty()
        && digits
            .split('_')
            .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()));
    if !well_formed {
        return None;
    }
    let plain: String = s.chars().filter(|&c| c != '_').collect();
    // Python ints are unbounded; past i128 a float still orders correctly.
    match plain.parse::<i128>() {
        Ok(i) => Some(Num::Int(i)),
        Err(_) => plain.parse::<f64>().ok().map(Num::Float),
    }
}

/// Python's `float(v)`: numbers, booleans, and numeric strings ("1e3",
/// "inf", "nan").
fn to_float(v: &Value) -> Option<Num> {
    if let Some(n) = json_num(v) {
        return Some(Num::Float(as_f64(n)));
    }
    v.as_str()?.trim().parse::<f64>().ok().map(Num::Float)
}

/// A value for a one-line message: strings quoted and escaped, long values
/// cut.
fn show(value: &Value) -> String {
    match value {
        Value::String(s) => show_str(s),
        other => cut(&other.to_string()),
    }
}

fn show_str(s: &str) -> String {
    format!("'{}'", cut(&s.escape_debug().to_string()))
}

fn cut(s: &str) -> String {
    const MAX: usize = 80;
    match s.char_indices().nth(MAX) {
        Some((at, _)) => format!("{}…", &s[..at]),
        None => s.to_owned(),
    }
}

/// "Did you mean" for bad combo values. When the server offers only a
/// handful of options and none is close, those are the only valid choices,
/// so all of them are the most useful hint.
fn suggest_options(bad: &[&Value], options: &[Value]) -> Vec<String> {
    let strings: Vec<&str> = options.iter().filter_map(Value::as_str).collect();
    let mut out: Vec<String> = Vec::new();
    for wanted in bad.iter().filter_map(|v| v.as_str()) {
        for s in suggest(wanted, strings.iter().map(|&o| (o, o))) {
            if !out.contains(&s) && out.len() < SUGGEST_MAX {
                out.push(s);
            }
        }
    }
    if out.is_empty() && (1..=SUGGEST_MAX).contains(&strings.len()) {
        out = strings.iter().map(|&s| s.to_owned()).collect();
    }
    out
}

/// The candidates closest to `wanted`, best first. Each candidate is
/// (name to suggest, text to compare against).
fn suggest<'a>(
    wanted: &str,
    candidates: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<String> {
    let mut best: BTreeMap<&str, f64> = BTreeMap::new();
    for (name, against) in candidates {
        let score = similarity(wanted, against);
        let entry = best.entry(name).or_insert(score);
        *entry = entry.max(score);
    }
    let mut ranked: Vec<(&str, f64)> = best
        .into_iter()
        .filter(|&(_, score)| score >= SUGGEST_THRESHOLD)
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    ranked
        .into_iter()
        .take(SUGGEST_MAX)
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// 0 (nothing alike) to 1 (same up to case and path separators). Model
/// files are compared by file name without extension, so a file in a
/// different subfolder, or with `\` from a Windows server, still matches.
fn similarity(a: &str, b: &str) -> f64 {
    let norm = |s: &str| s.to_lowercase().replace('\\', "/");
    let (a, b) = (norm(a), norm(b));
    if a == b {
        return 1.0;
    }
    let base = |s: &str| s.rsplit('/').next().unwrap_or_default().to_owned();
    let (a, b) = (base(&a), base(&b));
    if a == b {
        return 0.95;
    }
    let (a, b) = (stem(&a), stem(&b));
    let (short, long) = if a.chars().count() <= b.chars().count() {
        (a, b)
    } else {
        (b, a)
    };
    let (short_len, long_len) = (short.chars().count(), long.chars().count());
    // A name inside the other ("euler_a" in "euler_ancestral") is close,
    // the more so the more of it it covers.
    if short_len >= 4 && long.contains(short) {
        return 0.7 + 0.2 * short_len as f64 / long_len as f64;
    }
    let longest = long_len.min(LEV_MAX);
    if longest == 0 {
        return 1.0;
    }
    1.0 - levenshtein(a, b) as f64 / longest as f64
}

/// A file name without its extension (one with a letter in it, so the ".0"
/// of "sd_xl_base_1.0" stays).
fn stem(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && (1..=12).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric())
                && ext.bytes().any(|b| b.is_ascii_alphabetic()) =>
        {
            stem
        }
        _ => name,
    }
}

/// Only this many characters are compared, so a long value against many
/// class names stays cheap.
const LEV_MAX: usize = 64;

/// Edit distance in characters (strsim is in the tree only through clap,
/// and this module may not add dependencies).
fn levenshtein(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().take(LEV_MAX).collect();
    let b: Vec<char> = b.chars().take(LEV_MAX).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Sort key for node ids: numeric parts as numbers, before text parts.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum IdPart<'a> {
    Num(u128),
    Text(&'a str),
}

fn node_key(id: &str) -> Vec<IdPart<'_>> {
    if id.is_empty() {
        return Vec::new();
    }
    id.split(':')
        .map(|part| match part.parse::<u128>() {
            Ok(n) if part.bytes().all(|b| b.is_ascii_digit()) => IdPart::Num(n),
            _ => IdPart::Text(part),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::json;

    use super::*;

    fn read_json(path: PathBuf) -> Value {
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        serde_json::from_str(&text).unwrap()
    }

    /// The real `/object_info` entries captured from ComfyUI 0.3.64 (no
    /// model files installed, so `ckpt_name` offers nothing).
    fn real_info() -> Value {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/comfyui/object_info_subset.json");
        read_json(path)["entries"].clone()
    }

    /// The mock's `/object_info` as it serves it with its default models:
    /// the data file leaves the model lists empty and the mock fills them
    /// (old combo shape for ckpt_name, new `COMBO` shape for lora_name).
    fn mock_info() -> Value {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("src/bin/comfyui-mock/data/object_info.json");
        let mut info = read_json(path);
        info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0] =
            json!(["v1-5-pruned-emaonly.safetensors"]);
        info["LoraLoader"]["input"]["required"]["lora_name"][1]["options"] =
            json!(["example_lora.safetensors"]);
        info
    }

    fn fixture(name: &str) -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name)
    }

    fn workflow(v: Value) -> Workflow {
        parse(&v.to_string(), "test.json").unwrap()
    }

    /// The workflow of the real captures: EmptyImage → PreviewImage.
    fn captured() -> Value {
        json!({
            "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
            "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}
        })
    }

    /// The API fixture, as JSON, to edit in tests.
    fn api() -> Value {
        read_json(fixture("workflow_api.json"))
    }

    fn only(report: &Report) -> &Problem {
        assert_eq!(report.problems.len(), 1, "{:#?}", report.problems);
        &report.problems[0]
    }

    #[test]
    fn api_fixture_is_valid_against_the_mock() {
        let wf = load(&fixture("workflow_api.json")).unwrap();
        assert_eq!(wf.len(), 7);
        assert_eq!(wf.node_ids(), ["3", "4", "5", "6", "7", "8", "9"]);
        assert_eq!(wf.class_type("4"), Some("CheckpointLoaderSimple"));
        let report = validate(&wf, &mock_info());
        assert_eq!(report.problems, []);
        assert!(report.workflow_ok() && report.models_ok());
        // ckpt_name only: sampler_name and scheduler are combos, not models.
        assert_eq!(report.models_checked, 1);
    }

    #[test]
    fn captured_workflow_is_valid_against_the_real_server() {
        let report = validate(&workflow(captured()), &real_info());
        assert!(report.workflow_ok(), "{:#?}", report.problems);
        assert_eq!(report.models_checked, 0);
    }

    #[test]
    fn prompt_body_is_accepted() {
        let body = load(&fixture("workflow_prompt_body.json")).unwrap();
        let api = load(&fixture("workflow_api.json")).unwrap();
        assert_eq!(body, api);
        assert!(validate(&body, &mock_info()).workflow_ok());
        // A node that happens to have the id "prompt" is not a body.
        let wf = workflow(json!({"prompt": {"class_type": "PreviewImage", "inputs": {}}}));
        assert_eq!(wf.node_ids(), ["prompt"]);
    }

    #[test]
    fn unknown_class_type() {
        let mut v = captured();
        v["1"]["class_type"] = json!("NoSuchNode");
        let report = validate(&workflow(v), &real_info());
        let p = only(&report);
        assert_eq!(
            (p.node_id.as_str(), p.class_type.as_str()),
            ("1", "NoSuchNode")
        );
        assert_eq!(p.input, None);
        assert!(
            p.message.contains("no node type 'NoSuchNode'"),
            "{}",
            p.message
        );
        assert!(p.did_you_mean.is_empty());
        assert!(!p.is_model && report.models_ok() && !report.workflow_ok());

        // A typo, and a display name, get suggestions.
        let mut v = captured();
        v["2"]["class_type"] = json!("PreviewImag");
        let report = validate(&workflow(v), &real_info());
        assert_eq!(only(&report).did_you_mean, ["PreviewImage"]);
        let v = json!({"4": {"class_type": "Load Checkpoint", "inputs": {}}});
        let report = validate(&workflow(v), &mock_info());
        assert_eq!(only(&report).did_you_mean, ["CheckpointLoaderSimple"]);
    }

    #[test]
    fn missing_class_type_and_inputs() {
        let v = json!({
            "1": {"inputs": {}},
            "2": {"class_type": "PreviewImage"}
        });
        let report = validate(&workflow(v), &real_info());
        let msgs: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "node 1: has no class_type; the workflow may be corrupted",
                "node 2 (PreviewImage): has no inputs object",
            ]
        );
    }

    /// Mirrors the captured `prompt_outputs_failed_validation` response.
    #[test]
    fn missing_required_input_and_below_min_like_the_real_server() {
        let mut v = captured();
        v["1"]["inputs"] = json!({"width": 0, "height": 64, "batch_size": 1});
        let report = validate(&workflow(v), &real_info());
        let got: Vec<(Option<&str>, &str)> = report
            .problems
            .iter()
            .map(|p| (p.input.as_deref(), p.message.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (Some("color"), "required input color is missing"),
                (Some("width"), "width 0 is below the minimum of 1"),
            ]
        );
        assert_eq!(report.problems[0].value, None);
        assert_eq!(report.problems[1].value, Some(json!(0)));
        // Hidden inputs (PreviewImage's prompt, extra_pnginfo) are not required.
        assert!(report.problems.iter().all(|p| p.node_id == "1"));
    }

    #[test]
    fn wrong_ckpt_name_with_did_you_mean() {
        let wf = load(&fixture("workflow_bad_ckpt.json")).unwrap();
        let report = validate(&wf, &mock_info());
        let p = only(&report);
        assert_eq!(p.node_id, "4");
        assert_eq!(p.input.as_deref(), Some("ckpt_name"));
        assert_eq!(p.value, Some(json!("sd_xl_base_1.0.safetensors")));
        assert!(p.is_model);
        assert_eq!(p.did_you_mean, ["v1-5-pruned-emaonly.safetensors"]);
        assert_eq!(
            p.to_string(),
            "node 4 (CheckpointLoaderSimple): ckpt_name 'sd_xl_base_1.0.safetensors' is not \
             among the 1 option(s) the server offers; did you mean 'v1-5-pruned-emaonly.safetensors'?"
        );
        assert!(!report.workflow_ok() && !report.models_ok());
        assert_eq!(report.models_checked, 1);
    }

    #[test]
    fn ckpt_name_on_a_server_with_no_checkpoints() {
        // The real capture's server had no model files: options are [].
        let mut v = captured();
        // Not connected to any output: checked all the same.
        v["4"] = json!({"class_type": "CheckpointLoaderSimple",
            "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}});
        let report = validate(&workflow(v), &real_info());
        let p = only(&report);
        assert!(p.is_model && p.did_you_mean.is_empty());
        assert_eq!(
            p.message,
            "ckpt_name 'v1-5-pruned-emaonly.safetensors' is not among the 0 option(s) the server offers"
        );
        assert_eq!(report.models_checked, 1);
    }

    #[test]
    fn close_model_names_are_suggested() {
        let mut info = mock_info();
        info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0] = json!([
            "SD1.5\\v1-5-pruned-emaonly.safetensors",
            "sd_xl_base_1.0.safetensors",
            "sd_xl_refiner_1.0.safetensors",
            "flux1-dev.safetensors",
        ]);
        let mut v = api();
        // A workflow from a Linux machine against a Windows server.
        v["4"]["inputs"]["ckpt_name"] = json!("SD1.5/v1-5-pruned-emaonly.safetensors");
        let report = validate(&workflow(v.clone()), &info);
        assert_eq!(
            only(&report).did_you_mean,
            ["SD1.5\\v1-5-pruned-emaonly.safetensors"]
        );

        v["4"]["inputs"]["ckpt_name"] = json!("sd_xl_base_1.0.ckpt");
        let report = validate(&workflow(v.clone()), &info);
        assert_eq!(only(&report).did_you_mean[0], "sd_xl_base_1.0.safetensors");

        // Nothing close among more than a handful: no guess.
        v["4"]["inputs"]["ckpt_name"] = json!("dreamshaper_8.safetensors");
        let report = validate(&workflow(v), &info);
        assert_eq!(only(&report).did_you_mean, Vec::<String>::new());
    }

    #[test]
    fn new_shape_combo() {
        let info = mock_info();
        // scheduler is ["COMBO", {"options": [...]}]; "normal" is valid
        // (the API fixture passes), "karas" is not.
        let mut v = api();
        v["3"]["inputs"]["scheduler"] = json!("karas");
        let report = validate(&workflow(v), &info);
        let p = only(&report);
        assert_eq!(p.input.as_deref(), Some("scheduler"));
        assert!(
            p.message
                .starts_with("scheduler 'karas' is not among the 9 option(s)")
        );
        assert_eq!(p.did_you_mean, ["karras"]);
        assert!(!p.is_model && report.models_ok());

        // lora_name is a new-shape combo of model files.
        let mut v = api();
        v["10"] = json!({"class_type": "LoraLoader", "inputs": {
            "model": ["4", 0], "clip": ["4", 1], "lora_name": "example_lora.safetensors",
            "strength_model": 1.0, "strength_clip": 1.0}});
        v["3"]["inputs"]["model"] = json!(["10", 0]);
        let report = validate(&workflow(v.clone()), &info);
        assert!(report.workflow_ok(), "{:#?}", report.problems);
        assert_eq!(report.models_checked, 2);

        v["10"]["inputs"]["lora_name"] = json!("example-lora.safetensors");
        let report = validate(&workflow(v), &info);
        let p = only(&report);
        assert_eq!(
            (p.node_id.as_str(), p.input.as_deref()),
            ("10", Some("lora_name"))
        );
        assert!(p.is_model && !report.models_ok());
        assert_eq!(p.did_you_mean, ["example_lora.safetensors"]);
    }

    #[test]
    fn old_shape_combo_that_is_not_a_model() {
        let mut v = api();
        v["3"]["inputs"]["sampler_name"] = json!("euler_a");
        let report = validate(&workflow(v), &mock_info());
        let p = only(&report);
        assert!(!p.is_model);
        assert!(
            p.did_you_mean.contains(&"euler_ancestral".to_owned()),
            "{p:?}"
        );
    }

    #[test]
    fn combo_wrapped_values_multiselect_and_remote() {
        let info = json!({
            "Pick": {"input": {"required": {
                "tags": ["COMBO", {"options": ["a", "b", "c"], "multiselect": true}],
                "one": [["x", "y"], {}],
                "remote": ["COMBO", {"options": [], "remote": {"route": "/models"}}]
            }}, "output": [], "output_node": true}
        });
        let v = json!({"1": {"class_type": "Pick", "inputs": {
            "tags": {"__value__": ["a", "c"]}, "one": {"__value__": "y"}, "remote": "anything"}}});
        let report = validate(&workflow(v), &info);
        assert!(report.workflow_ok(), "{:#?}", report.problems);

        let v = json!({"1": {"class_type": "Pick", "inputs": {
            "tags": {"__value__": ["a", "d", "e"]}, "one": "y", "remote": "anything"}}});
        let report = validate(&workflow(v), &info);
        assert_eq!(
            only(&report).message,
            "tags values 'd', 'e' are not among the 3 option(s) the server offers"
        );
    }

    #[test]
    fn dangling_and_malformed_links() {
        let mut v = api();
        v["8"]["inputs"]["samples"] = json!(["99", 0]);
        v["8"]["inputs"]["vae"] = json!([4, 2]);
        v["9"]["inputs"]["images"] = json!(["8"]);
        v["6"]["inputs"]["clip"] = json!(["4", "one"]);
        let report = validate(&workflow(v), &mock_info());
        let msgs: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "node 6 (CLIPTextEncode): clip links to output 'one' of node 4, which is not an output index",
                "node 8 (VAEDecode): samples links to node 99, which is not in the workflow",
                "node 8 (VAEDecode): vae links to node 4 written as a number; node ids are strings, as in [\"4\", 2]",
                "node 9 (SaveImage): images is [\"8\"], which is not a link; a link is [node id, output index]",
            ]
        );
        assert_eq!(report.problems[1].value, Some(json!(["99", 0])));
    }

    #[test]
    fn link_type_mismatch_and_missing_output() {
        let mut v = api();
        v["8"]["inputs"]["vae"] = json!(["4", 0]);
        v["9"]["inputs"]["images"] = json!(["8", 1]);
        let report = validate(&workflow(v), &mock_info());
        let msgs: Vec<&str> = report.problems.iter().map(|p| p.message.as_str()).collect();
        assert_eq!(
            msgs,
            [
                "vae takes VAE but is linked to output 0 of node 4 (CheckpointLoaderSimple), which gives MODEL",
                "images links to output 1 of node 8 (VAEDecode), which has 1 output(s)",
            ]
        );
        assert!(types_match("INT", "INT,FLOAT") && types_match("IMAGE", "*"));
        assert!(!types_match("IMAGE", "MASK"));
    }

    #[test]
    fn int_and_float_ranges_and_conversions() {
        let info = mock_info();
        let check = |node: &str, input: &str, value: Value| {
            let mut v = api();
            v[node]["inputs"][input] = value;
            validate(&workflow(v), &info).problems
        };
        let msg = |problems: Vec<Problem>| {
            assert_eq!(problems.len(), 1, "{problems:#?}");
            problems[0].message.clone()
        };
        assert_eq!(
            msg(check("3", "steps", json!(0))),
            "steps 0 is below the minimum of 1"
        );
        assert_eq!(
            msg(check("3", "steps", json!(10001))),
            "steps 10001 is above the maximum of 10000"
        );
        assert_eq!(
            msg(check("5", "width", json!(8))),
            "width 8 is below the minimum of 16"
        );
        assert_eq!(
            msg(check("3", "denoise", json!(1.5))),
            "denoise 1.5 is above the maximum of 1.0"
        );
        assert_eq!(
            msg(check("3", "steps", json!("twenty"))),
            "steps 'twenty' is not an INT (a whole number)"
        );
        assert_eq!(
            msg(check("3", "cfg", json!(null))),
            "cfg null is not a FLOAT (a number)"
        );
        // What Python's int()/float() accept passes, as on the server.
        for (input, value) in [
            ("steps", json!("20")),
            ("steps", json!(" 1_000 ")),
            ("steps", json!(20.7)),
            ("steps", json!(true)),
            ("cfg", json!("7.5")),
            ("denoise", json!(0)),
            ("seed", json!(18446744073709551615u64)),
        ] {
            assert_eq!(check("3", input, value.clone()), [], "{input} = {value}");
        }
        // Python truncates: 0.9 becomes 0, below steps' minimum of 1.
        assert_eq!(
            msg(check("3", "steps", json!(0.9))),
            "steps 0.9 is below the minimum of 1"
        );
        assert_eq!(
            msg(check("3", "seed", json!(-1))),
            "seed -1 is below the minimum of 0"
        );
    }

    #[test]
    fn every_problem_in_a_stable_order() {
        let mut v = api();
        v["10"] = json!({"class_type": "PreviewImage", "inputs": {"images": ["77", 0]}});
        v["2"] = json!({"class_type": "Nope", "inputs": {}});
        v["12:3"] = json!({"class_type": "EmptyLatentImage", "inputs": {"width": 1, "height": 1}});
        v["3"]["inputs"]["steps"] = json!(0);
        v["3"]["inputs"]["cfg"] = json!(-1);
        v["3"]["inputs"].as_object_mut().unwrap().remove("seed");
        let wf = workflow(v);
        let first = validate(&wf, &mock_info());
        let got: Vec<(&str, Option<&str>)> = first
            .problems
            .iter()
            .map(|p| (p.node_id.as_str(), p.input.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                ("2", None),
                ("3", Some("cfg")),
                ("3", Some("seed")),
                ("3", Some("steps")),
                ("10", Some("images")),
                ("12:3", Some("batch_size")),
                ("12:3", Some("height")),
                ("12:3", Some("width")),
            ]
        );
        assert_eq!(validate(&wf, &mock_info()), first);
    }

    #[test]
    fn dependency_cycles() {
        let mut v = api();
        // 3 → 8 → 3, and 9 on itself (through an output SaveImage lacks).
        v["3"]["inputs"]["latent_image"] = json!(["8", 0]);
        v["9"]["inputs"]["images"] = json!(["9", 0]);
        let report = validate(&workflow(v), &mock_info());
        let msgs: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "node 3 (KSampler): is in a dependency cycle with node(s) 8",
                "node 3 (KSampler): latent_image takes LATENT but is linked to output 0 of node 8 (VAEDecode), which gives IMAGE",
                "node 8 (VAEDecode): is in a dependency cycle with node(s) 3",
                "node 9 (SaveImage): links to itself, a dependency cycle",
                "node 9 (SaveImage): images links to output 0 of node 9 (SaveImage), which has 0 output(s)",
            ]
        );
    }

    #[test]
    fn no_output_node() {
        let v = json!({"1": captured()["1"].clone()});
        let report = validate(&workflow(v), &real_info());
        let p = only(&report);
        assert_eq!(p.node_id, "");
        assert!(p.to_string().starts_with("the workflow has no output node"));
    }

    #[test]
    fn ui_workflow_is_rejected_with_guidance() {
        let path = fixture("workflow_ui.json");
        let err = load(&path).unwrap_err();
        assert_eq!(
            err,
            format!(
                "{} is a UI workflow; in ComfyUI use Workflow → Export (API) and pass that file",
                path.display()
            )
        );
        let body = json!({"prompt": {"nodes": [], "links": []}}).to_string();
        assert!(
            parse(&body, "b.json")
                .unwrap_err()
                .contains("is a UI workflow")
        );
    }

    #[test]
    fn load_errors_name_the_path() {
        let dir = std::env::temp_dir().join(format!("comfyctl-workflow-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();

        let missing = dir.join("missing.json");
        let err = load(&missing).unwrap_err();
        assert_eq!(
            err,
            format!("cannot read {}: no such file", missing.display())
        );

        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{not json").unwrap();
        let err = load(&bad).unwrap_err();
        assert!(
            err.starts_with(&format!("{} is not JSON: ", bad.display())),
            "{err}"
        );
        assert!(!err.contains('\n'));

        let png = dir.join("image.png");
        std::fs::write(&png, b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
        let err = load(&png).unwrap_err();
        assert!(
            err.starts_with(&format!("{} is a PNG image", png.display())),
            "{err}"
        );

        let bom = dir.join("bom.json");
        std::fs::write(&bom, format!("\u{feff}{}", captured())).unwrap();
        assert_eq!(load(&bom).unwrap().len(), 2);

        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn shapes_that_are_not_workflows() {
        let err = |text: &str| parse(text, "w.json").unwrap_err();
        assert_eq!(
            err("[1, 2]"),
            "w.json is not a ComfyUI workflow: expected a JSON object of nodes, found an array"
        );
        assert_eq!(err("{}"), "w.json is a workflow with no nodes");
        assert_eq!(
            err(r#"{"prompt": {}, "client_id": "x"}"#),
            "w.json is a workflow with no nodes"
        );
        // `/object_info` itself is not a workflow.
        assert_eq!(
            err(&json!({"EmptyImage": {"input": {}, "output": []}}).to_string()),
            "w.json is not an API-format ComfyUI workflow: entry 'EmptyImage' is not a node (no class_type or inputs)"
        );
        assert!(err(r#"{"foo": 1}"#).contains("entry 'foo' is not a node"));
    }

    #[test]
    fn suggestions_and_helpers() {
        assert_eq!(levenshtein("kitten", "sitting"), 3);
        assert_eq!(levenshtein("", "abc"), 3);
        assert_eq!(stem("sd_xl_base_1.0"), "sd_xl_base_1.0");
        assert_eq!(stem("sd_xl_base_1.0.safetensors"), "sd_xl_base_1.0");
        assert_eq!(
            or_list(&["a".into(), "b".into(), "c".into()]),
            "'a', 'b' or 'c'"
        );
        assert_eq!(show(&json!("line\nbreak")), "'line\\nbreak'");
        assert!(show(&json!("x".repeat(200))).ends_with("…'"));
        assert!(is_model_input("clip_name2", &[], &json!("t5.safetensors")));
        assert!(is_model_input(
            "model",
            &[json!("None"), json!("a.gguf")],
            &json!("None")
        ));
        assert!(!is_model_input(
            "image",
            &[json!("cat.png")],
            &json!("cat.png")
        ));
    }
}
