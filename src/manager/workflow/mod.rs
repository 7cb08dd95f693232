//! Checks a ComfyUI workflow in API format against a server's `/object_info`
//! the way ComfyUI's own `validate_prompt` and `validate_inputs`
//! (`execution.py`) check a prompt before queueing it, without queueing
//! anything. Everything here is pure except [`load`], which reads one file.
//!
//! Where ComfyUI stops at the first unknown node type, this reports every
//! problem it finds, so one run lists everything to fix.

mod check;
mod cycles;
mod suggest;
#[cfg(test)]
mod tests;
mod values;

use std::fmt;
use std::path::Path;

use serde_json::{Map, Value};

use check::Checker;
use values::show_str;

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
#[derive(Debug, Clone, PartialEq)]
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
        f.write_str(&did_you_mean(&self.did_you_mean))
    }
}

/// The node classes closest to `class` (by name or display name), for a
/// `--require-node` the server lacks; best first, at most three.
pub fn suggest_node(object_info: &Value, class: &str) -> Vec<String> {
    suggest::suggest(class, suggest::node_candidates(object_info))
}

/// The files of a model folder's listing closest to `file`, for a
/// `--require-model` the folder lacks; best first, at most three.
pub fn suggest_file(file: &str, listing: &[Value]) -> Vec<String> {
    suggest::suggest(
        file,
        listing.iter().filter_map(Value::as_str).map(|f| (f, f)),
    )
}

/// `; did you mean 'a' or 'b'?`, as `--workflow` problems end, or nothing
/// when there is no close name.
pub fn did_you_mean(names: &[String]) -> String {
    if names.is_empty() {
        String::new()
    } else {
        format!("; did you mean {}?", or_list(names))
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
#[derive(Debug, Clone, PartialEq)]
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
