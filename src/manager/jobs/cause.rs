//! Why a job failed, from its `execution_error`: the fixes differ (more
//! VRAM, a missing model file, a bad node), so operators count them apart.
//!
//! The rules, in order, on `exception_type` and the whole
//! `exception_message` (ComfyUI appends its tip after the first line):
//! 1. `oom`: the type's last dotted part is `OutOfMemoryError` (ComfyUI
//!    sends `full_type_name`, e.g. `torch.OutOfMemoryError`,
//!    `torch.cuda.OutOfMemoryError`), or the message holds ComfyUI's tip
//!    "This error means you ran out of memory on your GPU" (any case).
//! 2. `missing_file`: the type's last dotted part is `FileNotFoundError`
//!    (ComfyUI's `folder_paths.get_full_path_or_raise` raises it:
//!    "Model in folder 'checkpoints' with filename '…' not found."), or the
//!    message holds "No such file or directory", or "not found" together
//!    with "model" or "file" (any case).
//! 3. `exception`: everything else, a failed job without an error included.

/// The class of a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Cause {
    /// The GPU ran out of memory.
    Oom,
    /// A model or another file was not found.
    MissingFile,
    /// Any other exception.
    #[default]
    Exception,
}

/// Every cause, in the order metrics and docs list them.
pub const CAUSES: [Cause; 3] = [Cause::Oom, Cause::MissingFile, Cause::Exception];

/// ComfyUI's tip after an OOM (execution.py), lowercased.
const OOM_TIP: &str = "this error means you ran out of memory on your gpu";

impl Cause {
    /// The name used in JSON, metrics labels and text.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Oom => "oom",
            Cause::MissingFile => "missing_file",
            Cause::Exception => "exception",
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Classifies a failure by the rules in the module docs. `message` must be
/// the whole `exception_message`, not its first line.
pub fn classify(exception_type: Option<&str>, message: &str) -> Cause {
    let kind = exception_type
        .map(|t| t.trim().rsplit('.').next().unwrap_or(""))
        .unwrap_or("");
    let text = message.to_lowercase();
    if kind == "OutOfMemoryError" || text.contains(OOM_TIP) {
        return Cause::Oom;
    }
    let not_found = text.contains("not found") && (text.contains("model") || text.contains("file"));
    if kind == "FileNotFoundError" || text.contains("no such file or directory") || not_found {
        return Cause::MissingFile;
    }
    Cause::Exception
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIP: &str = "This error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before you might have accidentally set the batch_size to a large number.";

    #[test]
    fn oom_by_type_or_by_the_tip_past_the_first_line() {
        for t in [
            "torch.OutOfMemoryError",
            "torch.cuda.OutOfMemoryError",
            "OutOfMemoryError",
        ] {
            assert_eq!(classify(Some(t), "CUDA out of memory."), Cause::Oom, "{t}");
        }
        let message = format!("Allocation on device \n{TIP}");
        assert_eq!(classify(Some("RuntimeError"), &message), Cause::Oom);
        assert_eq!(classify(None, &message), Cause::Oom);
        // The first line alone says nothing: the tip is what tells.
        assert_eq!(
            classify(Some("RuntimeError"), "Allocation on device "),
            Cause::Exception
        );
        assert_eq!(
            classify(Some("torch.OutOfMemoryErrorX"), "x"),
            Cause::Exception
        );
    }

    #[test]
    fn missing_file_rules() {
        let model = "Model in folder 'checkpoints' with filename 'sd.safetensors' not found.\n";
        assert_eq!(
            classify(Some("FileNotFoundError"), model),
            Cause::MissingFile
        );
        assert_eq!(classify(Some("Exception"), model), Cause::MissingFile);
        assert_eq!(classify(Some("FileNotFoundError"), "x"), Cause::MissingFile);
        assert_eq!(
            classify(
                Some("OSError"),
                "[Errno 2] No such file or directory: '/m/x.pt'"
            ),
            Cause::MissingFile
        );
        assert_eq!(
            classify(Some("KeyError"), "'clip' not found"),
            Cause::Exception
        );
    }

    #[test]
    fn everything_else_is_an_exception() {
        let captured = "**** ERROR: Saving image outside the output folder is not allowed.\n full_output_folder: /x\n";
        assert_eq!(classify(Some("Exception"), captured), Cause::Exception);
        assert_eq!(classify(None, ""), Cause::Exception);
        // OOM wins over a missing file when both match.
        assert_eq!(classify(Some("FileNotFoundError"), TIP), Cause::Oom);
    }
}
