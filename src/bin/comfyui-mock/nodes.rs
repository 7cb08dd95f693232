//! The mock's node catalogue (`/object_info`), model folders (`/models`) and
//! the prompt validation ComfyUI does before queueing.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::args::Args;

/// Node entries in the captured `/object_info` shape. The four captured nodes
/// are copied verbatim; the others are written in the same shape.
const OBJECT_INFO: &str = include_str!("data/object_info.json");
/// Model folder names, as captured from `GET /models`.
const MODEL_FOLDERS: &str = include_str!("data/models.json");

const DEFAULT_MODELS: &[&str] = &[
    "checkpoints/v1-5-pruned-emaonly.safetensors",
    "loras/example_lora.safetensors",
];

/// Model files by folder, in the folder order of the real server.
#[derive(Debug, Clone)]
pub struct Models {
    folders: Vec<(String, Vec<String>)>,
}

impl Models {
    /// Builds the folder list from the defaults and `--model` flags.
    pub fn from_args(args: &Args) -> crate::Result<Self> {
        let names: Vec<String> = serde_json::from_str(MODEL_FOLDERS)?;
        let mut models = Self {
            folders: names.into_iter().map(|n| (n, Vec::new())).collect(),
        };
        let defaults = DEFAULT_MODELS.iter().filter(|_| !args.no_default_models);
        for spec in defaults
            .copied()
            .chain(args.models.iter().map(String::as_str))
        {
            let (folder, name) = spec
                .split_once('/')
                .filter(|(f, n)| !f.is_empty() && !n.is_empty())
                .ok_or_else(|| {
                    crate::Failure(format!("--model wants FOLDER/NAME, got {spec:?}"))
                })?;
            models.add(folder, name);
        }
        Ok(models)
    }

    fn add(&mut self, folder: &str, name: &str) {
        let idx = match self.folders.iter().position(|(f, _)| f == folder) {
            Some(idx) => idx,
            None => {
                self.folders.push((folder.to_owned(), Vec::new()));
                self.folders.len() - 1
            }
        };
        let files = &mut self.folders[idx].1;
        if !files.iter().any(|f| f == name) {
            files.push(name.to_owned());
        }
    }

    /// Folder names, for `GET /models`.
    pub fn folder_names(&self) -> Vec<&str> {
        self.folders.iter().map(|(f, _)| f.as_str()).collect()
    }

    /// Files of one folder, or `None` for an unknown folder.
    pub fn files(&self, folder: &str) -> Option<&[String]> {
        self.folders
            .iter()
            .find(|(f, _)| f == folder)
            .map(|(_, files)| files.as_slice())
    }
}

/// Builds the `/object_info` body, with combo options filled from `models`.
///
/// `CheckpointLoaderSimple.ckpt_name` uses the old combo shape (the options
/// list is the first element); `LoraLoader.lora_name` and `KSampler.scheduler`
/// use the newer `["COMBO", {"options": [...]}]` shape, so clients see both.
pub fn object_info(models: &Models) -> Value {
    let mut info: Value = serde_json::from_str(OBJECT_INFO).expect("embedded object_info.json");
    let list = |folder: &str| json!(models.files(folder).unwrap_or_default());
    info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0] = list("checkpoints");
    info["LoraLoader"]["input"]["required"]["lora_name"][1]["options"] = list("loras");
    info
}

/// A prompt rejected by validation: HTTP status 400 with this body.
pub struct Rejected(pub Value);

/// A prompt that passed validation.
pub struct Accepted {
    /// Output node ids that will run, sorted.
    pub outputs: Vec<String>,
    /// Errors of outputs that were dropped (ComfyUI still runs the good ones).
    pub node_errors: Value,
}

fn error(kind: &str, message: &str, details: &str) -> Value {
    json!({"type": kind, "message": message, "details": details, "extra_info": {}})
}

/// Validates a prompt like ComfyUI's `validate_prompt`: every node needs a
/// known `class_type`, there must be an output node, and the inputs of the
/// nodes feeding each output must be present and in range.
pub fn validate(prompt: &Map<String, Value>, info: &Value) -> Result<Accepted, Rejected> {
    let outputs = output_nodes(prompt, info)?;
    let (good, node_errors) = check_outputs(prompt, info, &outputs);
    if good.is_empty() {
        let err = error(
            "prompt_outputs_failed_validation",
            "Prompt outputs failed validation",
            "",
        );
        return Err(Rejected(json!({"error": err, "node_errors": node_errors})));
    }
    Ok(Accepted {
        outputs: good,
        node_errors: Value::Object(node_errors),
    })
}

/// The output nodes, sorted. A node without a known `class_type`, or a
/// prompt without an output, rejects the whole prompt before any input is
/// checked (with an empty `node_errors`).
fn output_nodes(prompt: &Map<String, Value>, info: &Value) -> Result<BTreeSet<String>, Rejected> {
    let mut outputs = BTreeSet::new();
    for (id, node) in prompt {
        let Some(class) = node.get("class_type").and_then(Value::as_str) else {
            let msg = "Cannot execute because a node is missing the class_type property.";
            return Err(reject(error(
                "invalid_prompt",
                msg,
                &format!("Node ID '#{id}'"),
            )));
        };
        let Some(entry) = info.get(class) else {
            let msg = format!("Cannot execute because node {class} does not exist.");
            return Err(reject(error(
                "invalid_prompt",
                &msg,
                &format!("Node ID '#{id}'"),
            )));
        };
        if entry["output_node"] == true {
            outputs.insert(id.clone());
        }
    }
    if outputs.is_empty() {
        return Err(reject(error(
            "prompt_no_outputs",
            "Prompt has no outputs",
            "",
        )));
    }
    Ok(outputs)
}

/// Checks the inputs of every node each output needs. An output runs only
/// if all its nodes pass; returns those outputs and the `node_errors` map,
/// where each bad node appears once, with every output that depends on it.
fn check_outputs(
    prompt: &Map<String, Value>,
    info: &Value,
    outputs: &BTreeSet<String>,
) -> (Vec<String>, Map<String, Value>) {
    let mut node_errors: BTreeMap<String, (Vec<Value>, Vec<String>)> = BTreeMap::new();
    let mut good = Vec::new();
    for output in outputs {
        let mut ok = true;
        for id in execution_order(prompt, std::slice::from_ref(output)) {
            let errors = input_errors(&prompt[&id], info);
            if !errors.is_empty() {
                ok = false;
                let entry = node_errors.entry(id).or_default();
                if entry.0.is_empty() {
                    entry.0 = errors;
                }
                entry.1.push(output.clone());
            }
        }
        if ok {
            good.push(output.clone());
        }
    }
    let node_errors = node_errors
        .into_iter()
        .map(|(id, (errors, dependents))| {
            let class = prompt[&id]["class_type"].clone();
            let v = json!({"errors": errors, "dependent_outputs": dependents, "class_type": class});
            (id, v)
        })
        .collect();
    (good, node_errors)
}

fn reject(err: Value) -> Rejected {
    Rejected(json!({"error": err, "node_errors": {}}))
}

/// Checks one node's required inputs against its `/object_info` entry.
fn input_errors(node: &Value, info: &Value) -> Vec<Value> {
    let class = node["class_type"].as_str().unwrap_or_default();
    let required = &info[class]["input"]["required"];
    // serde_json sorts keys; `input_order` keeps ComfyUI's declaration order,
    // which is the order errors are reported in.
    let Some(order) = info[class]["input_order"]["required"].as_array() else {
        return Vec::new();
    };
    let inputs = &node["inputs"];
    let mut errors = Vec::new();
    for name in order.iter().filter_map(Value::as_str) {
        let config = &required[name];
        let Some(value) = inputs.get(name) else {
            errors.push(json!({
                "type": "required_input_missing",
                "message": "Required input is missing",
                "details": name,
                "extra_info": {"input_name": name},
            }));
            continue;
        };
        if link_target(value).is_some() {
            continue;
        }
        if let Some(err) = value_error(name, config, value) {
            errors.push(err);
        }
    }
    errors
}

/// Range and combo checks for a literal input value.
fn value_error(name: &str, config: &Value, value: &Value) -> Option<Value> {
    let extra = json!({"input_name": name, "input_config": config, "received_value": value});
    let kind = &config[0];
    let options = match kind.as_str() {
        Some("COMBO") => config[1]["options"].as_array(),
        _ => kind.as_array(),
    };
    if let Some(options) = options {
        if options.contains(value) {
            return None;
        }
        let shown = options
            .iter()
            .map(|o| format!("'{}'", o.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(", ");
        let got = value
            .as_str()
            .map_or_else(|| value.to_string(), str::to_owned);
        let details = format!("{name}: '{got}' not in [{shown}]");
        return Some(
            json!({"type": "value_not_in_list", "message": "Value not in list", "details": details, "extra_info": extra}),
        );
    }
    if !matches!(kind.as_str(), Some("INT" | "FLOAT")) {
        return None;
    }
    let v = value.as_f64()?;
    let opts = &config[1];
    if let Some(min) = opts
        .get("min")
        .filter(|m| m.as_f64().is_some_and(|m| v < m))
    {
        let message = format!("Value {value} smaller than min of {min}");
        return Some(
            json!({"type": "value_smaller_than_min", "message": message, "details": name, "extra_info": extra}),
        );
    }
    if let Some(max) = opts
        .get("max")
        .filter(|m| m.as_f64().is_some_and(|m| v > m))
    {
        let message = format!("Value {value} bigger than max of {max}");
        return Some(
            json!({"type": "value_bigger_than_max", "message": message, "details": name, "extra_info": extra}),
        );
    }
    None
}

/// The node id an input links to (`["1", 0]`), if it is a link.
pub fn link_target(value: &Value) -> Option<&str> {
    match value.as_array().map(Vec::as_slice) {
        Some([Value::String(id), idx]) if idx.is_u64() => Some(id),
        _ => None,
    }
}

/// Ids of the nodes needed by `outputs`, dependencies first (a depth-first
/// post-order), each once. Links to missing nodes are ignored.
pub fn execution_order(prompt: &Map<String, Value>, outputs: &[String]) -> Vec<String> {
    fn visit(
        id: &str,
        prompt: &Map<String, Value>,
        seen: &mut BTreeSet<String>,
        order: &mut Vec<String>,
    ) {
        if !prompt.contains_key(id) || !seen.insert(id.to_owned()) {
            return;
        }
        if let Some(inputs) = prompt[id]["inputs"].as_object() {
            for value in inputs.values() {
                if let Some(dep) = link_target(value) {
                    visit(dep, prompt, seen, order);
                }
            }
        }
        order.push(id.to_owned());
    }
    let mut seen = BTreeSet::new();
    let mut order = Vec::new();
    for output in outputs {
        visit(output, prompt, &mut seen, &mut order);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models() -> Models {
        let args = <Args as clap::Parser>::parse_from(["comfyui-mock"]);
        Models::from_args(&args).unwrap()
    }

    fn prompt(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn captured_workflow_is_accepted() {
        let info = object_info(&models());
        let p = prompt(json!({
            "1": {"class_type": "EmptyImage", "inputs": {"width": 64, "height": 64, "batch_size": 1, "color": 0}},
            "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}
        }));
        let ok = validate(&p, &info).ok().unwrap();
        assert_eq!(ok.outputs, ["2"]);
        assert_eq!(execution_order(&p, &ok.outputs), ["1", "2"]);
    }

    #[test]
    fn validation_failure_matches_capture() {
        let info = object_info(&models());
        let p = prompt(json!({
            "1": {"class_type": "EmptyImage", "inputs": {"width": 0, "height": 64, "batch_size": 1}},
            "2": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}
        }));
        let Err(Rejected(body)) = validate(&p, &info) else {
            panic!("accepted")
        };
        let errs = &body["node_errors"]["1"]["errors"];
        assert_eq!(errs[0]["message"], "Value 0 smaller than min of 1");
        assert_eq!(errs[1]["type"], "required_input_missing");
        assert_eq!(body["node_errors"]["1"]["dependent_outputs"], json!(["2"]));
    }

    #[test]
    fn combo_options_come_from_models() {
        let info = object_info(&models());
        let ckpt = &info["CheckpointLoaderSimple"]["input"]["required"]["ckpt_name"][0];
        assert_eq!(ckpt, &json!(["v1-5-pruned-emaonly.safetensors"]));
        let lora = &info["LoraLoader"]["input"]["required"]["lora_name"];
        assert_eq!(lora[0], "COMBO");
        assert_eq!(lora[1]["options"], json!(["example_lora.safetensors"]));
    }
}
