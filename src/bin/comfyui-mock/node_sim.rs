//! What each simulated node class does when it runs: how many steps it
//! reports, what UI output it leaves, and the run-time failure the captures
//! show. The worker decides when messages go out; this decides what a node is.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};

use crate::failures::{self, Failure};
use crate::nodes::{Models, link_target};
use crate::store::now_ms;

/// Caps simulated step counts so a silly `steps` value cannot wedge a test.
const MAX_STEPS: u64 = 1000;

static IMAGE_COUNTER: AtomicU64 = AtomicU64::new(1);

/// How a node spends its time.
pub enum Plan {
    /// One step, no `progress` messages (most nodes).
    Single,
    /// `progress` for each value; previews go out as binary frames.
    Steps {
        values: Vec<u64>,
        max: u64,
        previews: bool,
    },
}

/// The node about to run, with the prompt it belongs to.
pub struct NodeCall<'a> {
    /// The prompt's id.
    pub prompt_id: &'a str,
    /// The whole prompt, for the nodes this one links to.
    pub prompt: &'a Map<String, Value>,
    /// This node's id in the prompt.
    pub id: &'a str,
    /// Its `class_type`.
    pub class: &'a str,
    /// Its prompt entry (`class_type` and `inputs`).
    pub node: &'a Value,
}

impl NodeCall<'_> {
    /// KSampler reports `steps` (values 1..=steps, as its callback does);
    /// SaveImageWebsocket reports one step per image (values 0..batch) with a
    /// preview frame each, as in the captures. Other nodes take one step.
    pub fn plan(&self) -> Plan {
        match self.class {
            "KSampler" => {
                let steps = self.node["inputs"]["steps"].as_u64().unwrap_or(20);
                let steps = steps.clamp(1, MAX_STEPS);
                Plan::Steps {
                    values: (1..=steps).collect(),
                    max: steps,
                    previews: false,
                }
            }
            "SaveImageWebsocket" => {
                let batch = self.batch_size().clamp(1, MAX_STEPS);
                Plan::Steps {
                    values: (0..batch).collect(),
                    max: batch,
                    previews: true,
                }
            }
            _ => Plan::Single,
        }
    }

    /// `batch_size` of the node feeding `images`, when it has one.
    fn batch_size(&self) -> u64 {
        link_target(&self.node["inputs"]["images"])
            .and_then(|src| self.prompt.get(src))
            .and_then(|src| src["inputs"]["batch_size"].as_u64())
            .unwrap_or(1)
    }

    /// The run-time failure of this node, if it has one (see
    /// [`failures::failure`]), as ComfyUI's `execution_error` data: the
    /// keys of `api_job_C_failed_detail.json`. `executed` are the nodes
    /// that already ran.
    pub fn run_time_error(&self, executed: &[String], models: &Models) -> Option<Value> {
        let inputs = &self.node["inputs"];
        let Failure {
            exception_type,
            message,
            traceback,
        } = failures::failure(self.class, inputs, models)?;
        let mut outputs = executed.to_vec();
        outputs.push(self.id.to_owned());
        // Linked inputs show as the tensor they carried; SaveImage also
        // has its hidden `prompt` and `extra_pnginfo`.
        let mut current_inputs: Map<String, Value> = inputs
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| match link_target(v) {
                Some(_) => (k.clone(), json!(["tensor([[[[0.0000, 0.0000, 0.0039]]]])"])),
                None => (k.clone(), json!([v])),
            })
            .collect();
        if self.class == "SaveImage" {
            let prompt = Value::Object(self.prompt.clone()).to_string();
            current_inputs.insert("prompt".into(), json!([prompt]));
            current_inputs.insert("extra_pnginfo".into(), json!([null]));
        }
        Some(json!({
            "prompt_id": self.prompt_id,
            "node_id": self.id,
            "node_type": self.class,
            "executed": executed,
            "exception_message": message,
            "exception_type": exception_type,
            "traceback": traceback,
            "current_inputs": current_inputs,
            "current_outputs": outputs,
            "timestamp": now_ms(),
        }))
    }
}

/// The UI output of image-saving nodes (`executed.output`, history `outputs`).
pub fn ui_output(class: &str) -> Option<Value> {
    let (prefix, kind) = match class {
        "PreviewImage" => ("ComfyUI_temp_mock_", "temp"),
        "SaveImage" => ("ComfyUI_", "output"),
        _ => return None,
    };
    let n = IMAGE_COUNTER.fetch_add(1, Ordering::Relaxed);
    let filename = format!("{prefix}{n:05}_.png");
    Some(json!({"images": [{"filename": filename, "subfolder": "", "type": kind}]}))
}
