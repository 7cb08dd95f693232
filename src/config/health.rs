//! `health`'s plan: the wait, the readiness checks, the job limits.

use super::*;
use crate::manager::readiness::vram;

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
    /// The readiness checks, the job checks included.
    pub checks: Checks,
    /// The ComfyUI process whose exit ends the wait (`--pid`, `--pid-file`).
    pub process: Option<Process>,
}

/// Where the PID of the ComfyUI process a `--wait` watches comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Process {
    /// `--pid PID`.
    Pid(u32),
    /// `--pid-file FILE`, read again at every look: the file may be written
    /// after the gate starts, or rewritten when a supervisor restarts ComfyUI.
    File(std::path::PathBuf),
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
        .and_then(|w| problems.take(WAIT.parse(w)));
    // A poll period without polling is a mistake worth pointing out: the
    // user expected a loop that will not happen.
    if args.interval.is_some() && args.wait.is_none() {
        problems.extend(vec![
            "--interval needs --wait (without --wait, health checks once)".into(),
        ]);
    }
    let interval = HEALTH_INTERVAL.or_fallback(args.interval.as_deref(), problems);
    let mut checks = readiness_checks(args, problems);
    let expect_down = args.expect == ExpectArg::Down;
    checks.max_job_time = optional(&MAX_JOB_TIME, args.max_job_time.as_deref(), problems);
    // health reads the newest HEALTH_PAGE jobs, so a limit at or above the
    // page could never be exceeded: the table bounds it at 0–9.
    checks.max_failed = args
        .max_failed
        .as_deref()
        .and_then(|n| problems.take(MAX_FAILED.parse_u32(n)));
    checks.failed_within = FAILED_WITHIN.or_fallback(args.failed_within.as_deref(), problems);
    if args.failed_within.is_some() && args.max_failed.is_none() {
        problems.extend(vec![
            "--failed-within needs --max-failed (it is the window --max-failed counts in)".into(),
        ]);
    }
    if expect_down && !checks.is_empty() {
        problems.extend(vec![
            "--expect down: readiness checks (--workflow, --require-*, --max-queue, --max-failed, --max-job-time, --min-vram-free) only apply to --expect up".into(),
        ]);
    }
    let process = process(args, problems);
    HealthPlan {
        common,
        wait,
        interval,
        expect_down,
        checks,
        process,
    }
}

/// `--pid PID` or `--pid-file FILE`. A PID file that exists must already
/// hold a PID; one that does not exist yet is waited for.
fn process(args: &HealthArgs, problems: &mut Problems) -> Option<Process> {
    if cfg!(not(unix)) && (args.pid.is_some() || args.pid_file.is_some()) {
        problems.extend(vec![
            "--pid and --pid-file work only on Unix systems for now".into(),
        ]);
        return None;
    }
    let asked = args.pid.is_some() || args.pid_file.is_some();
    if asked && (args.wait.is_none() || args.expect == ExpectArg::Down) {
        problems.extend(vec![
            "--pid and --pid-file need --wait with --expect up (they end a wait for a server that is starting)".into(),
        ]);
    }
    if let Some(pid) = &args.pid {
        return problems.take(
            parse_pid(pid)
                .map_err(|e| format!("--pid: {e}"))
                .map(Process::Pid),
        );
    }
    let path = args.pid_file.as_ref()?;
    match std::fs::read_to_string(path) {
        Ok(text) if !text.trim().is_empty() => {
            let checked =
                parse_pid(&text).map_err(|e| format!("--pid-file: {}: {e}", path.display()));
            problems.take(checked)?;
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            let e = format!("--pid-file: cannot read {}: {e}", path.display());
            problems.extend(vec![e]);
            return None;
        }
    }
    Some(Process::File(path.clone()))
}

/// A process id: a decimal number from 1 to 2147483647 (0 and negative
/// numbers name process groups to kill(2), never one process).
pub fn parse_pid(text: &str) -> Result<u32, String> {
    let text = text.trim();
    match text.parse::<u32>() {
        Ok(pid) if pid >= 1 && i32::try_from(pid).is_ok() => Ok(pid),
        _ => Err(format!(
            "'{}' is not a process id; give the number of the ComfyUI process (e.g. $! after starting it)",
            crate::render::safe::term_safe_bounded(text, 40)
        )),
    }
}

/// The readiness checks `--workflow`, `--require-*` and `--max-queue` ask
/// for; each one that does not parse is a problem naming its flag.
fn readiness_checks(args: &HealthArgs, problems: &mut Problems) -> Checks {
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
        if let Some(model) = problems.take(model_spec(spec)) {
            checks.models.push(model);
        }
    }
    checks.cors_origin = args
        .require_cors
        .as_deref()
        .and_then(|origin| problems.take(cors_origin(origin)));
    checks.max_queue = args
        .max_queue
        .as_deref()
        .and_then(|n| problems.take(MAX_QUEUE.parse(n)));
    checks.min_vram_free = args.min_vram_free.as_deref().and_then(|s| {
        problems.take(vram::parse_size(s).map_err(|e| format!("--min-vram-free: {e}")))
    });
    checks
}

/// `--require-model FOLDER/NAME` as (folder, name).
fn model_spec(spec: &str) -> Result<(String, String), String> {
    match spec.split_once('/') {
        Some((folder, name)) if !folder.is_empty() && !name.is_empty() => {
            Ok((folder.to_string(), name.to_string()))
        }
        _ => Err(format!(
            "--require-model: '{spec}' must be FOLDER/NAME, e.g. checkpoints/v1-5-pruned-emaonly.safetensors"
        )),
    }
}

/// `--require-cors ORIGIN`, without a trailing slash. An origin has no
/// user:password; one that does is shown redacted.
fn cors_origin(origin: &str) -> Result<String, String> {
    let valid = url::Url::parse(origin).ok().is_some_and(|u| {
        u.host_str().is_some()
            && matches!(u.scheme(), "http" | "https")
            && u.username().is_empty()
            && u.password().is_none()
    });
    if valid {
        Ok(origin.trim_end_matches('/').to_string())
    } else {
        Err(format!(
            "--require-cors: '{}' is not an origin; use e.g. http://localhost:5173",
            crate::manager::redact_str(origin)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_is_a_folder_and_a_name_that_may_have_slashes() {
        assert_eq!(
            model_spec("loras/style/a.safetensors"),
            Ok(("loras".into(), "style/a.safetensors".into()))
        );
        for bad in ["a.safetensors", "checkpoints/", "/a.safetensors"] {
            let e = model_spec(bad).unwrap_err();
            assert!(e.starts_with("--require-model: "), "{e}");
        }
    }

    #[test]
    fn a_pid_is_one_positive_process_id() {
        assert_eq!(parse_pid("4242\n"), Ok(4242));
        for bad in ["0", "-1", "abc", "", "2147483648", "12 13"] {
            let e = parse_pid(bad).unwrap_err();
            assert!(e.contains("is not a process id"), "{e}");
        }
    }

    #[test]
    fn an_origin_is_http_with_a_host_and_no_credentials() {
        assert_eq!(
            cors_origin("http://localhost:5173/"),
            Ok("http://localhost:5173".into())
        );
        assert!(cors_origin("ftp://example.com").is_err());
        assert!(cors_origin("localhost:5173").is_err());
        let e = cors_origin("https://user:hunter2@example.com").unwrap_err();
        assert!(e.starts_with("--require-cors: "), "{e}");
        assert!(!e.contains("hunter2") && !e.contains("user"), "{e}");
    }
}
