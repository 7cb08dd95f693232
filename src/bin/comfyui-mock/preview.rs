//! Binary preview frames, as ComfyUI sends them for `SaveImageWebsocket`
//! and as `--ws-binary` sends them unasked.

use serde_json::json;

/// A 1x1 PNG, the payload of simulated preview frames.
pub const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

/// Binary event type of a preview image (`BinaryEventTypes.PREVIEW_IMAGE`).
const PREVIEW_IMAGE: u32 = 1;
/// Binary event type of a preview with JSON metadata, for clients that sent
/// `feature_flags` with `supports_preview_metadata`.
const PREVIEW_IMAGE_WITH_METADATA: u32 = 4;
/// Image format code for PNG in type-1 frames.
const FORMAT_PNG: u32 = 2;

/// A preview frame as ComfyUI sends it: type 1 + format + image bytes, or
/// type 4 + metadata length + JSON metadata + image bytes.
pub fn preview_frame(with_metadata: bool, prompt_id: &str, node: &str) -> Vec<u8> {
    let mut frame = Vec::with_capacity(TINY_PNG.len() + 256);
    if with_metadata {
        let meta = json!({
            "node_id": node, "prompt_id": prompt_id, "display_node_id": node,
            "parent_node_id": null, "real_node_id": node, "image_type": "image/png",
        })
        .to_string();
        frame.extend_from_slice(&PREVIEW_IMAGE_WITH_METADATA.to_be_bytes());
        frame.extend_from_slice(&(meta.len() as u32).to_be_bytes());
        frame.extend_from_slice(meta.as_bytes());
    } else {
        frame.extend_from_slice(&PREVIEW_IMAGE.to_be_bytes());
        frame.extend_from_slice(&FORMAT_PNG.to_be_bytes());
    }
    frame.extend_from_slice(TINY_PNG);
    frame
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;

    #[test]
    fn preview_frames_have_captured_headers() {
        let plain = preview_frame(false, "p", "2");
        assert_eq!(&plain[..8], &[0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(&plain[8..16], &TINY_PNG[..8]);
        let meta = preview_frame(true, "p", "2");
        assert_eq!(&meta[..4], &[0, 0, 0, 4]);
        let len = u32::from_be_bytes(meta[4..8].try_into().unwrap()) as usize;
        let json: Value = serde_json::from_slice(&meta[8..8 + len]).unwrap();
        assert_eq!(json["image_type"], "image/png");
        assert_eq!(&meta[8 + len..], TINY_PNG);
    }
}
