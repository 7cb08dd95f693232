//! Readiness checks: "the port is open" is not "ready". Each check asks the
//! server a read-only question; nothing is ever queued.

use serde::Serialize;

use super::http::{HttpClient, OBJECT_INFO_BODY_CAP, QUEUE_BODY_CAP};
use super::status::{ProbeError, Status};
use super::target::Target;
use super::workflow::{self, Workflow};

/// What "ready" means for this caller.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    /// Workflows (shown name, parsed) that must validate against `/object_info`.
    pub workflows: Vec<(String, Workflow)>,
    /// Node classes that must exist in `/object_info`.
    pub nodes: Vec<String>,
    /// `(folder, file)` pairs that `GET /models/{folder}` must list.
    pub models: Vec<(String, String)>,
    /// An Origin the server must answer with CORS headers.
    pub cors_origin: Option<String>,
    /// Ready only while `queue_remaining` ≤ this.
    pub max_queue: Option<u64>,
}

impl Checks {
    /// True when no readiness check was asked for.
    pub fn is_empty(&self) -> bool {
        self.workflows.is_empty()
            && self.nodes.is_empty()
            && self.models.is_empty()
            && self.cors_origin.is_none()
            && self.max_queue.is_none()
    }

    fn needs_object_info(&self) -> bool {
        !self.workflows.is_empty() || !self.nodes.is_empty()
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckResult {
    /// What was checked, e.g. `node KSampler`, `model checkpoints/x.safetensors`.
    pub check: String,
    /// Whether it passed.
    pub ok: bool,
    /// One line: why not, or what was found.
    pub detail: String,
    /// Per-node problems, for workflows; `[]` when there are none, so
    /// scripts need not test for the key.
    pub problems: Vec<workflow::Problem>,
}

impl CheckResult {
    fn new(check: String, ok: bool, detail: impl Into<String>) -> CheckResult {
        CheckResult {
            check,
            ok,
            detail: detail.into(),
            problems: Vec::new(),
        }
    }
}

/// Runs every check against an available server and fills the readiness
/// fields of `status`. `/object_info` is fetched once, however many checks
/// use it, and each model folder once.
pub async fn run(
    http: &HttpClient,
    target: &Target,
    checks: &Checks,
    status: &mut Status,
) -> Vec<CheckResult> {
    let mut results = Vec::new();

    let object_info = if checks.needs_object_info() {
        Some(fetch_json(http, target, "/object_info", OBJECT_INFO_BODY_CAP).await)
    } else {
        None
    };
    let mut workflow_models_ok = true;
    if let Some(info) = &object_info {
        for node in &checks.nodes {
            let check = format!("node {node}");
            results.push(match info {
                Err(e) => CheckResult::new(check, false, e.message.clone()),
                Ok(info) if info.get(node).is_some() => CheckResult::new(check, true, "present"),
                Ok(_) => CheckResult::new(
                    check,
                    false,
                    format!(
                        "{node} is not in /object_info (is its custom node installed and imported?)"
                    ),
                ),
            });
        }
        for (name, wf) in &checks.workflows {
            let check = format!("workflow {name}");
            results.push(match info {
                Err(e) => {
                    workflow_models_ok = false;
                    CheckResult::new(check, false, e.message.clone())
                }
                Ok(info) => {
                    let report = workflow::validate(wf, info);
                    workflow_models_ok &= report.models_ok();
                    let detail = match report.problems.first() {
                        None => match report.models_checked {
                            0 => "valid (it names no model files)".to_string(),
                            1 => "valid (1 model input checked)".to_string(),
                            n => format!("valid ({n} model inputs checked)"),
                        },
                        Some(first) if report.problems.len() == 1 => first.to_string(),
                        Some(first) => format!("{first} (+{} more)", report.problems.len() - 1),
                    };
                    CheckResult {
                        check,
                        ok: report.workflow_ok(),
                        detail,
                        problems: report.problems,
                    }
                }
            });
        }
    }

    let mut folders: Vec<&str> = checks.models.iter().map(|(f, _)| f.as_str()).collect();
    folders.sort_unstable();
    folders.dedup();
    let mut listings = Vec::new();
    for folder in folders {
        let route = format!("/models/{}", encode_segment(folder));
        let listing = fetch_json(http, target, &route, QUEUE_BODY_CAP).await;
        listings.push((folder, listing));
    }
    for (folder, file) in &checks.models {
        let check = format!("model {folder}/{file}");
        let listing = listings.iter().find(|(f, _)| f == folder).map(|(_, l)| l);
        results.push(match listing {
            Some(Ok(serde_json::Value::Array(files))) => {
                if files.iter().any(|f| f.as_str() == Some(file)) {
                    CheckResult::new(check, true, "listed")
                } else {
                    CheckResult::new(
                        check,
                        false,
                        format!(
                            "'{file}' is not listed by GET /models/{folder} ({} file(s) there)",
                            files.len()
                        ),
                    )
                }
            }
            Some(Ok(_)) => CheckResult::new(
                check,
                false,
                format!("GET /models/{folder} did not answer with a list"),
            ),
            Some(Err(e)) if e.status == Some(404) => CheckResult::new(
                check,
                false,
                format!("the server has no model folder '{folder}'"),
            ),
            Some(Err(e)) => CheckResult::new(check, false, e.message.clone()),
            None => CheckResult::new(check, false, "not checked"),
        });
    }

    if let Some(origin) = &checks.cors_origin {
        let check = format!("cors {origin}");
        let result = match http.cors_allows(target, origin).await {
            Ok(Some(allowed)) => CheckResult::new(
                check,
                true,
                format!("Access-Control-Allow-Origin: {allowed}"),
            ),
            Ok(None) => CheckResult::new(
                check,
                false,
                "no Access-Control-Allow-Origin for that Origin (start ComfyUI with --enable-cors-header)",
            ),
            Err(e) => CheckResult::new(check, false, e.message),
        };
        status.cors_enabled = Some(result.ok);
        results.push(result);
    }

    if let Some(max) = checks.max_queue {
        let check = format!("queue ≤ {max}");
        results.push(match status.queue_remaining {
            Some(q) if q <= max => CheckResult::new(check, true, format!("{q} remaining")),
            Some(q) => CheckResult::new(check, false, format!("{q} remaining, more than {max}")),
            None => CheckResult::new(check, false, "queue unknown"),
        });
    }

    let all = |prefix: &str| {
        results
            .iter()
            .filter(|r| r.check.starts_with(prefix))
            .all(|r| r.ok)
    };
    if !checks.workflows.is_empty() {
        status.workflows_ready = Some(all("workflow "));
    }
    if !checks.models.is_empty() || !checks.workflows.is_empty() {
        status.models_ready = Some(all("model ") && workflow_models_ok);
    }
    status.fully_ready = Some(status.available && results.iter().all(|r| r.ok));
    results
}

async fn fetch_json(
    http: &HttpClient,
    target: &Target,
    route: &str,
    cap: usize,
) -> Result<serde_json::Value, ProbeError> {
    let body = http.get(target, route, cap).await?;
    serde_json::from_slice(&body).map_err(|e| {
        ProbeError::new(
            super::ErrorKind::NotComfyui,
            format!("not ComfyUI: GET {route} answered 200 with invalid JSON ({e})"),
        )
    })
}

/// Percent-encodes one path segment (folder names are plain, but be safe).
fn encode_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}
