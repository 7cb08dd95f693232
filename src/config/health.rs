//! `health`'s plan: the wait, the readiness checks, the job limits.

use super::*;

/// What `health` should do: check once or wait, for up or down, with which
/// readiness checks.
#[derive(Debug, Clone)]
pub struct HealthPlan {
    /// Servers, client and fallback.
    pub common: Common,
    /// The overall deadline of `--wait`; `None` checks once.
    pub wait: Option<Duration>,
    /// Poll interval while waiting.
    pub interval: Duration,
    /// Wait for the server to go away instead of coming up.
    pub expect_down: bool,
    /// The readiness checks.
    pub checks: Checks,
    /// Not ready when more than this many jobs of the newest page failed.
    pub max_failed: Option<u32>,
    /// Not ready when the running job is older than this.
    pub max_job_time: Option<Duration>,
}

/// Builds `health`'s plan; workflow files are read and parsed here, so a
/// missing or malformed file is a usage error (exit 2) naming the flag.
pub(super) fn health_plan(
    common: Common,
    args: &HealthArgs,
    problems: &mut Problems,
) -> HealthPlan {
    let wait = args
        .wait
        .as_deref()
        .and_then(|w| problems.take(parse_bounded("--wait", w)));
    // A poll period without polling is a mistake worth pointing out: the
    // user expected a loop that will not happen.
    if args.interval.is_some() && args.wait.is_none() {
        problems.extend(vec![
            "--interval needs --wait (without --wait, health checks once)".into(),
        ]);
    }
    let interval = args
        .interval
        .as_deref()
        .and_then(|i| problems.take(parse_bounded("--interval", i)))
        .unwrap_or(Duration::from_secs(1));
    let mut checks = Checks::default();
    for path in &args.workflow {
        let shown = path.display().to_string();
        if let Some(wf) =
            problems.take(workflow::load(path).map_err(|e| format!("--workflow: {e}")))
        {
            checks.workflows.push((shown, wf));
        }
    }
    checks.nodes = args.require_node.clone();
    for spec in &args.require_model {
        match spec.split_once('/') {
            Some((folder, name)) if !folder.is_empty() && !name.is_empty() => {
                checks.models.push((folder.to_string(), name.to_string()));
            }
            _ => problems.extend(vec![format!(
                "--require-model: '{spec}' must be FOLDER/NAME, e.g. checkpoints/v1-5-pruned-emaonly.safetensors"
            )]),
        }
    }
    if let Some(origin) = &args.require_cors {
        // An origin has no user:password; one that does is shown redacted.
        let valid = url::Url::parse(origin).ok().is_some_and(|u| {
            u.host_str().is_some()
                && matches!(u.scheme(), "http" | "https")
                && u.username().is_empty()
                && u.password().is_none()
        });
        if valid {
            checks.cors_origin = Some(origin.trim_end_matches('/').to_string());
        } else {
            problems.extend(vec![format!(
                "--require-cors: '{}' is not an origin; use e.g. http://localhost:5173",
                crate::manager::redact_str(origin)
            )]);
        }
    }
    checks.max_queue = args.max_queue;
    let expect_down = args.expect == ExpectArg::Down;
    let max_job_time = max_job_time(args.max_job_time.as_deref(), problems);
    let job_checks = args.max_failed.is_some() || max_job_time.is_some();
    if expect_down && (!checks.is_empty() || job_checks) {
        problems.extend(vec![
            "--expect down: readiness checks (--workflow, --require-*, --max-queue, --max-failed, --max-job-time) only apply to --expect up".into(),
        ]);
    }
    HealthPlan {
        common,
        wait,
        interval,
        expect_down,
        checks,
        max_failed: args.max_failed,
        max_job_time,
    }
}
