use std::path::PathBuf;

use serde_json::json;

use super::check::{is_model_input, types_match};
use super::suggest::{levenshtein, stem};
use super::values::show;
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
    // Only the first 64 characters count, so long values stay cheap.
    assert_eq!(levenshtein(&"a".repeat(200), &"b".repeat(200)), 64);
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
