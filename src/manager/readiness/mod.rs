//! Readiness checks: "the port is open" is not "ready". Each check asks the
//! server a read-only question; nothing is ever queued.

use std::fmt;
use std::time::Duration;

use super::http::{HttpClient, OBJECT_INFO_BODY_CAP};
use super::status::{ProbeError, Status};
use super::target::Target;
use super::workflow::{self, Workflow};

mod models;
pub mod vram;

use models::{model_check, model_listings};

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
    /// Ready only while at most this many of the newest jobs failed within
    /// `failed_within` (on the server's clock).
    pub max_failed: Option<u32>,
    /// The window of `max_failed`.
    pub failed_within: Duration,
    /// Ready only while the running job has run at most this long.
    pub max_job_time: Option<Duration>,
    /// Ready only while the primary device has at least this much free VRAM.
    pub min_vram_free: Option<vram::Size>,
}

impl Checks {
    /// True when no readiness check was asked for.
    pub fn is_empty(&self) -> bool {
        self.workflows.is_empty()
            && self.nodes.is_empty()
            && self.models.is_empty()
            && self.cors_origin.is_none()
            && self.max_queue.is_none()
            && self.min_vram_free.is_none()
            && !self.on_jobs()
    }

    /// True when a check reads the job list (`--max-failed`, `--max-job-time`).
    pub fn on_jobs(&self) -> bool {
        self.max_failed.is_some() || self.max_job_time.is_some()
    }

    fn needs_object_info(&self) -> bool {
        !self.workflows.is_empty() || !self.nodes.is_empty()
    }
}

/// One readiness question, as named in output (`node KSampler`,
/// `workflow flow.json`, `model checkpoints/x.safetensors`,
/// `cors http://app`, `queue ≤ 5`, `vram free ≥ 8GiB`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// A node class must be in `/object_info`.
    Node(String),
    /// A workflow (by its shown name) must validate against `/object_info`.
    Workflow(String),
    /// `GET /models/{folder}` must list `file`.
    Model {
        /// The model folder, e.g. `checkpoints`.
        folder: String,
        /// The file name.
        file: String,
    },
    /// The server must answer this Origin with CORS headers.
    Cors(String),
    /// `queue_remaining` must be at most this.
    MaxQueue(u64),
    /// At most `max` of the newest jobs may have failed within `within`.
    MaxFailed {
        /// The most failures allowed.
        max: u32,
        /// How far back, on the server's clock.
        within: Duration,
    },
    /// The running job must have run at most this long.
    MaxJobTime(Duration),
    /// `devices[0].vram_free` must be at least this.
    MinVramFree(vram::Size),
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Check::Node(node) => write!(f, "node {node}"),
            Check::Workflow(name) => write!(f, "workflow {name}"),
            Check::Model { folder, file } => write!(f, "model {folder}/{file}"),
            Check::Cors(origin) => write!(f, "cors {origin}"),
            Check::MaxQueue(max) => write!(f, "queue ≤ {max}"),
            Check::MaxFailed { max, within } => write!(
                f,
                "failed jobs ≤ {max} in {}",
                humantime::format_duration(*within)
            ),
            Check::MaxJobTime(max) => {
                write!(f, "running job ≤ {}", humantime::format_duration(*max))
            }
            Check::MinVramFree(min) => write!(f, "vram free ≥ {}", min.shown),
        }
    }
}

/// The result of one check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// What was checked.
    pub check: Check,
    /// Whether it passed.
    pub ok: bool,
    /// One line: why not, or what was found.
    pub detail: String,
    /// Per-node problems, for workflows; `[]` when there are none, so
    /// scripts need not test for the key.
    pub problems: Vec<workflow::Problem>,
}

impl CheckResult {
    /// A result with no per-node problems.
    pub fn new(check: Check, ok: bool, detail: impl Into<String>) -> CheckResult {
        CheckResult {
            check,
            ok,
            detail: detail.into(),
            problems: Vec::new(),
        }
    }
}

/// A fetched JSON document, or why it could not be read.
type Fetched = Result<serde_json::Value, ProbeError>;

/// What the server answered to the checks' questions, fetched before it is
/// known whether the server is up, so that they cost no time of their own.
#[derive(Debug, Default)]
pub struct Answers {
    /// `/object_info`, when a node or workflow check needs it.
    info: Option<Fetched>,
    /// Each model folder's listing.
    listings: Vec<(String, Fetched)>,
    /// The Origin the server granted, for `--require-cors`.
    cors: Option<Result<Option<String>, ProbeError>>,
}

/// When the answers are due: what is left of one `--timeout` (`budget`).
#[derive(Debug, Clone, Copy)]
pub struct Due {
    /// The end of the budget.
    pub deadline: tokio::time::Instant,
    /// The whole budget, as named in a timeout message.
    pub budget: Duration,
}

impl Due {
    /// `work`, or a timeout naming `what` once the deadline has passed.
    async fn within<T>(
        self,
        target: &Target,
        what: &str,
        work: impl Future<Output = Result<T, ProbeError>>,
    ) -> Result<T, ProbeError> {
        tokio::time::timeout_at(self.deadline, work)
            .await
            .unwrap_or_else(|_| Err(super::http::timeout_error(target, what, self.budget)))
    }
}

/// Asks every question the checks need, all at once and all by `due`:
/// `/object_info` once however many checks use it, and each model folder
/// once.
pub async fn fetch(http: &HttpClient, target: &Target, checks: &Checks, due: Due) -> Answers {
    let info = async {
        let route = "/object_info";
        let info = fetch_json(http, target, route, OBJECT_INFO_BODY_CAP);
        match checks.needs_object_info() {
            true => Some(due.within(target, "GET /object_info", info).await),
            false => None,
        }
    };
    let cors = async {
        match &checks.cors_origin {
            Some(origin) => {
                let asked = http.cors_allows(target, origin);
                Some(
                    due.within(target, "GET /system_stats with an Origin", asked)
                        .await,
                )
            }
            None => None,
        }
    };
    let (info, listings, cors) = tokio::join!(
        info,
        model_listings(http, target, &checks.models, due),
        cors
    );
    Answers {
        info,
        listings,
        cors,
    }
}

/// Judges the answers of an available server, adds `extra` results (the
/// job checks) and fills the readiness fields of `status`.
pub fn judge(
    checks: &Checks,
    answers: &Answers,
    status: &mut Status,
    extra: Vec<CheckResult>,
) -> Vec<CheckResult> {
    let mut results = Vec::new();
    let mut workflow_models_ok = true;
    if let Some(info) = &answers.info {
        for node in &checks.nodes {
            results.push(node_check(info, node));
        }
        for (name, wf) in &checks.workflows {
            let (result, models_ok) = workflow_check(info, name, wf);
            workflow_models_ok &= models_ok;
            results.push(result);
        }
    }
    for (folder, file) in &checks.models {
        let listing = answers.listings.iter().find(|(f, _)| f == folder);
        results.push(model_check(listing.map(|(_, l)| l), folder, file));
    }
    if let (Some(origin), Some(answer)) = (&checks.cors_origin, &answers.cors) {
        let result = cors_check(answer, origin);
        status.cors_enabled = Some(result.ok);
        results.push(result);
    }
    if let Some(max) = checks.max_queue {
        results.push(queue_check(status.queue_remaining, max));
    }
    if let Some(min) = &checks.min_vram_free {
        results.push(vram::check(&status.devices, min));
    }
    results.extend(extra);

    let all =
        |wanted: fn(&Check) -> bool| results.iter().filter(|r| wanted(&r.check)).all(|r| r.ok);
    if !checks.workflows.is_empty() {
        status.workflows_ready = Some(all(|c| matches!(c, Check::Workflow(_))));
    }
    if !checks.models.is_empty() || !checks.workflows.is_empty() {
        let models = all(|c| matches!(c, Check::Model { .. }));
        status.models_ready = Some(models && workflow_models_ok);
    }
    status.fully_ready = Some(status.available && results.iter().all(|r| r.ok));
    results
}

/// `node X`: the class is in `/object_info`.
fn node_check(info: &Fetched, node: &str) -> CheckResult {
    let check = Check::Node(node.to_string());
    match info {
        Err(e) => CheckResult::new(check, false, e.message.clone()),
        Ok(info) if info.get(node).is_some() => CheckResult::new(check, true, "present"),
        Ok(info) => CheckResult::new(
            check,
            false,
            format!(
                "{node} is not in /object_info (is its custom node installed and imported?){}",
                workflow::did_you_mean(&workflow::suggest_node(info, node))
            ),
        ),
    }
}

/// `workflow NAME`: it validates against `/object_info`. Also returns
/// whether the model files it names exist, which `models_ready` counts.
fn workflow_check(info: &Fetched, name: &str, wf: &Workflow) -> (CheckResult, bool) {
    let check = Check::Workflow(name.to_string());
    let info = match info {
        Err(e) => return (CheckResult::new(check, false, e.message.clone()), false),
        Ok(info) => info,
    };
    let report = workflow::validate(wf, info);
    let detail = match report.problems.first() {
        None => match report.models_checked {
            0 => "valid (it names no model files)".to_string(),
            1 => "valid (1 model input checked)".to_string(),
            n => format!("valid ({n} model inputs checked)"),
        },
        Some(first) if report.problems.len() == 1 => first.to_string(),
        Some(first) => format!("{first} (+{} more)", report.problems.len() - 1),
    };
    let models_ok = report.models_ok();
    let result = CheckResult {
        check,
        ok: report.workflow_ok(),
        detail,
        problems: report.problems,
    };
    (result, models_ok)
}

/// `cors ORIGIN`: the server answered that Origin with CORS headers.
fn cors_check(answer: &Result<Option<String>, ProbeError>, origin: &str) -> CheckResult {
    let check = Check::Cors(origin.to_string());
    match answer {
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
        Err(e) => CheckResult::new(check, false, e.message.clone()),
    }
}

/// `queue ≤ MAX`: no more than `max` prompts remain.
fn queue_check(remaining: Option<u64>, max: u64) -> CheckResult {
    let check = Check::MaxQueue(max);
    match remaining {
        Some(q) if q <= max => CheckResult::new(check, true, format!("{q} remaining")),
        Some(q) => CheckResult::new(check, false, format!("{q} remaining, more than {max}")),
        None => CheckResult::new(check, false, "queue unknown"),
    }
}

async fn fetch_json(http: &HttpClient, target: &Target, route: &str, cap: usize) -> Fetched {
    let body = http.get(target, route, cap).await?;
    serde_json::from_slice(&body).map_err(|e| {
        ProbeError::new(
            super::ErrorKind::NotComfyui,
            format!("not ComfyUI: GET {route} answered 200 with invalid JSON ({e})"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_are_named_as_before() {
        let model = Check::Model {
            folder: "checkpoints".into(),
            file: "x.safetensors".into(),
        };
        assert_eq!(model.to_string(), "model checkpoints/x.safetensors");
        assert_eq!(Check::MaxQueue(5).to_string(), "queue ≤ 5");
        let result = queue_check(Some(7), 5);
        assert_eq!(result.check.to_string(), "queue ≤ 5");
        assert!(!result.ok);
        assert_eq!(result.detail, "7 remaining, more than 5");
    }

    #[test]
    fn each_check_judges_its_own_answer() {
        let info: Fetched = Ok(serde_json::json!({"KSampler": {}}));
        assert!(node_check(&info, "KSampler").ok);
        assert!(!node_check(&info, "Missing").ok);
        let listing: Fetched = Ok(serde_json::json!(["a.safetensors"]));
        assert!(model_check(Some(&listing), "checkpoints", "a.safetensors").ok);
        let missing = model_check(Some(&listing), "checkpoints", "b.safetensors");
        assert!(!missing.ok && missing.detail.contains("1 file(s) there"));
        let gone = ProbeError::new(super::super::ErrorKind::HttpStatus, "404").with_status(404);
        let gone: Fetched = Err(gone);
        assert!(
            model_check(Some(&gone), "loras", "x")
                .detail
                .contains("no model folder")
        );
        assert!(queue_check(Some(5), 5).ok);
        assert!(!queue_check(None, 5).ok);
    }
}
