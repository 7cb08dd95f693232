//! The run-time failures the mock simulates, each with the exception type,
//! message and (short) traceback ComfyUI would send; the install folder is
//! replaced by `/opt/ComfyUI`.

use serde_json::Value;

use crate::nodes::Models;

/// The memory an EmptyImage may fill before the mock fails it like torch
/// out of memory: 16 GiB of float32 RGB.
pub const MOCK_VRAM: u64 = 16 << 30;

const ROOT: &str = "/opt/ComfyUI";

/// What `execution_error` says about an exception.
pub struct Failure {
    /// `exception_type`: ComfyUI's `full_type_name`.
    pub exception_type: &'static str,
    /// `exception_message`, ComfyUI's tips included.
    pub message: String,
    /// `traceback`, one string per frame.
    pub traceback: Vec<String>,
}

/// The failure of a `class` node with these `inputs`, if it fails:
/// - SaveImage with a `filename_prefix` that leaves the output folder: the
///   captured `Exception`;
/// - EmptyImage larger than [`MOCK_VRAM`]: `torch.OutOfMemoryError` with
///   ComfyUI's tip after the first line, as execution.py sends it;
/// - CheckpointLoaderSimple of a file not in `models` (only reachable past
///   validation, as with `/__mock/job?error=missing_file`): the
///   `FileNotFoundError` of `folder_paths.get_full_path_or_raise`.
pub fn failure(class: &str, inputs: &Value, models: &Models) -> Option<Failure> {
    match class {
        "SaveImage" => outside_output(inputs),
        "EmptyImage" => out_of_memory(inputs),
        "CheckpointLoaderSimple" => missing_checkpoint(inputs, models),
        _ => None,
    }
}

fn outside_output(inputs: &Value) -> Option<Failure> {
    let root = ROOT;
    if !inputs["filename_prefix"].as_str()?.contains("..") {
        return None;
    }
    Some(Failure {
        exception_type: "Exception",
        message: format!(
            "**** ERROR: Saving image outside the output folder is not allowed.\n full_output_folder: {root}\n         output_dir: {root}/output\n"
        ),
        traceback: vec![
            format!(
                "  File \"{root}/nodes.py\", line 1694, in save_images\n    full_output_folder, filename, counter, subfolder, filename_prefix = folder_paths.get_save_image_path(filename_prefix, self.output_dir, images[0].shape[1], images[0].shape[0])\n"
            ),
            format!(
                "  File \"{root}/folder_paths.py\", line 557, in get_save_image_path\n    raise Exception(err)\n"
            ),
        ],
    })
}

fn out_of_memory(inputs: &Value) -> Option<Failure> {
    let root = ROOT;
    let dim = |k: &str| inputs[k].as_u64().unwrap_or(1);
    let bytes = dim("width")
        .saturating_mul(dim("height"))
        .saturating_mul(dim("batch_size"))
        .saturating_mul(12);
    if bytes <= MOCK_VRAM {
        return None;
    }
    Some(Failure {
        exception_type: "torch.OutOfMemoryError",
        message: "Allocation on device \nThis error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before you might have accidentally set the batch_size to a large number.".to_string(),
        traceback: vec![format!(
            "  File \"{root}/nodes.py\", line 1968, in generate\n    r = torch.full([batch_size, height, width, 1], ((color >> 16) & 0xFF) / 0xFF)\n"
        )],
    })
}

fn missing_checkpoint(inputs: &Value, models: &Models) -> Option<Failure> {
    let root = ROOT;
    let name = inputs["ckpt_name"].as_str()?;
    if models
        .files("checkpoints")
        .is_some_and(|f| f.iter().any(|m| m == name))
    {
        return None;
    }
    Some(Failure {
        exception_type: "FileNotFoundError",
        message: format!("Model in folder 'checkpoints' with filename '{name}' not found."),
        traceback: vec![
            format!(
                "  File \"{root}/nodes.py\", line 600, in load_checkpoint\n    ckpt_path = folder_paths.get_full_path_or_raise(\"checkpoints\", ckpt_name)\n"
            ),
            format!(
                "  File \"{root}/folder_paths.py\", line 340, in get_full_path_or_raise\n    raise FileNotFoundError(f\"Model in folder '{{folder_name}}' with filename '{{filename}}' not found.\")\n"
            ),
        ],
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_failure_has_the_shape_comfyui_sends() {
        let args = <crate::args::Args as clap::Parser>::parse_from(["comfyui-mock"]);
        let models = Models::from_args(&args).unwrap();
        let big = json!({"width": 16384, "height": 16384, "batch_size": 4096});
        let oom = failure("EmptyImage", &big, &models).unwrap();
        assert_eq!(oom.exception_type, "torch.OutOfMemoryError");
        let (first, tip) = oom.message.split_once('\n').unwrap();
        assert_eq!(first, "Allocation on device ");
        assert!(tip.starts_with("This error means you ran out of memory on your GPU."));
        let small = json!({"width": 64, "height": 64, "batch_size": 1});
        assert!(failure("EmptyImage", &small, &models).is_none());

        let gone = json!({"ckpt_name": "gone.safetensors"});
        let missing = failure("CheckpointLoaderSimple", &gone, &models).unwrap();
        assert_eq!(missing.exception_type, "FileNotFoundError");
        assert_eq!(
            missing.message,
            "Model in folder 'checkpoints' with filename 'gone.safetensors' not found."
        );
        let there = json!({"ckpt_name": "v1-5-pruned-emaonly.safetensors"});
        assert!(failure("CheckpointLoaderSimple", &there, &models).is_none());
    }
}
