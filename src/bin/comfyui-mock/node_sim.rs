//! What each simulated node class does when it runs: how many steps it
//! reports, what UI output it leaves, and the run-time failure the captures
//! show. The worker decides when messages go out; this decides what a node is.

use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::{Map, Value, json};

use crate::nodes::link_target;
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

    /// SaveImage refuses a `filename_prefix` that leaves the output folder:
    /// the `execution_error` data of `api_job_C_failed_detail.json`, with a
    /// short traceback and the install folder replaced. `executed` are the
    /// nodes that already ran.
    pub fn run_time_error(&self, executed: &[String]) -> Option<Value> {
        let prefix = self.node["inputs"]["filename_prefix"].as_str()?;
        if self.class != "SaveImage" || !prefix.contains("..") {
            return None;
        }
        let root = "/opt/ComfyUI";
        let mut outputs = executed.to_vec();
        outputs.push(self.id.to_owned());
        Some(json!({
            "prompt_id": self.prompt_id,
            "node_id": self.id,
            "node_type": self.class,
            "executed": executed,
            "exception_message": format!(
                "**** ERROR: Saving image outside the output folder is not allowed.\n full_output_folder: {root}\n         output_dir: {root}/output\n"
            ),
            "exception_type": "Exception",
            "traceback": [
                format!("  File \"{root}/nodes.py\", line 1694, in save_images\n    full_output_folder, filename, counter, subfolder, filename_prefix = folder_paths.get_save_image_path(filename_prefix, self.output_dir, images[0].shape[1], images[0].shape[0])\n"),
                format!("  File \"{root}/folder_paths.py\", line 557, in get_save_image_path\n    raise Exception(err)\n"),
            ],
            "current_inputs": {
                "images": ["tensor([[[[0.0000, 0.0000, 0.0039]]]])"],
                "filename_prefix": [prefix],
                "prompt": [Value::Object(self.prompt.clone()).to_string()],
                "extra_pnginfo": [null],
            },
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
