//! `comfyctl health`: one check now, or with `--wait` a readiness gate that
//! polls until every requested check passes or the deadline runs out.

use std::time::Duration;

use tokio::time::Instant;

use crate::config::HealthPlan;
use crate::error::{Error, Exit};
use crate::manager::jobs::{self, JobsReport};
use crate::manager::readiness::{self, CheckResult, Checks};
use crate::manager::{self, ErrorKind, FallbackMode, HttpClient, Status, Target, unix_ms};
use crate::render::jobs as jobs_text;
use crate::render::safe::term_safe;
use crate::render::view::short_duration;
use crate::render::{Output, human, json::Report, spinner::Spinner, style};

mod report;

use report::{report, report_many};

/// Poll period while connections are refused (when `--interval` is longer).
const UNREACHABLE_POLL: Duration = Duration::from_millis(250);

/// The jobs part of a poll: the report, or why there is none.
type JobsResult = Option<Result<JobsReport, String>>;

/// One poll: the health probe, then the readiness checks and one small page
/// of jobs if it is up.
async fn poll(
    http: &HttpClient,
    target: &Target,
    checks: &Checks,
    with_jobs: bool,
) -> (Status, Vec<CheckResult>, JobsResult) {
    let (mut status, queue) = http.probe(target).await;
    let results = if status.available && !checks.is_empty() {
        readiness::run(http, target, checks, &mut status).await
    } else {
        Vec::new()
    };
    let jobs = if status.available && with_jobs {
        let running = queue.and_then(|q| q.running_prompt_id);
        Some(
            jobs::fetch_recent(http, target)
                .await
                .map(|(_, page)| jobs::report(&page, running.as_deref(), unix_ms()))
                .map_err(|e| e.message),
        )
    } else {
        None
    };
    (status, results, jobs)
}

/// Why the jobs are not what `--max-failed` / `--max-job-time` ask for.
fn jobs_missing(plan: &HealthPlan, jobs: &JobsResult) -> Option<String> {
    if plan.max_failed.is_none() && plan.max_job_time.is_none() {
        return None;
    }
    let report = match jobs {
        None => return None,
        Some(Err(e)) => return Some(format!("jobs: cannot read the job list: {e}")),
        Some(Ok(r)) => r,
    };
    if let Some(max) = plan.max_failed
        && report.recent.failed > max
    {
        return Some(format!(
            "jobs: {} of the newest {} failed (--max-failed {max})",
            report.recent.failed,
            jobs::HEALTH_PAGE
        ));
    }
    if let Some(max) = plan.max_job_time
        && let Some(running) = &report.running
        && let Some(age) = running.age_ms
        && age > max.as_millis() as u64
    {
        return Some(format!(
            "jobs: the running job has run for {} (--max-job-time {})",
            short_duration(Duration::from_millis(age)),
            humantime::format_duration(max)
        ));
    }
    None
}

/// Why a poll is not what we wait for; `None` when it is.
fn missing(
    plan: &HealthPlan,
    status: &Status,
    results: &[CheckResult],
    jobs: &JobsResult,
) -> Option<String> {
    if plan.expect_down {
        return match &status.error {
            Some(e) if e.kind == ErrorKind::ConnectionRefused => None,
            Some(e) => Some(format!("the port is still held: {}", e.message)),
            None => Some("the server is still up and answering".into()),
        };
    }
    if let Some(e) = &status.error {
        return Some(e.message.clone());
    }
    results
        .iter()
        .find(|r| !r.ok)
        .map(|r| format!("{}: {}", r.check, r.detail))
        .or_else(|| jobs_missing(plan, jobs))
}

/// What `health` found for one server.
struct Outcome {
    status: Status,
    results: Vec<CheckResult>,
    jobs: JobsResult,
    exit: Exit,
    waited: Option<Duration>,
}

/// Runs `health` for every server at once, once or waiting.
pub async fn run(plan: &HealthPlan, out: &Output) -> Result<Exit, Error> {
    let common = &plan.common;
    let manager::Resolved {
        targets,
        candidates,
        ..
    } = super::resolve(common, out).await?;
    let http = HttpClient::new(&common.client);
    let multi = targets.len() > 1;
    let spinner = plan.wait.map(|_| Spinner::start(out, "waiting"));

    let outcomes = futures_util::future::join_all(
        targets
            .iter()
            .map(|t| check(&http, t, &candidates, plan, out, spinner.as_ref(), multi)),
    )
    .await;
    drop(spinner);

    // JSON is an array whenever the command line named a list (see
    // `Common::json_array`), so its shape never depends on a count.
    if multi || (out.json && common.json_array) {
        report_many(out, plan, &outcomes, common.fallback)?;
    } else if let Some(o) = outcomes.first() {
        report(out, plan, o, common.fallback)?;
    }
    let exits: Vec<Exit> = outcomes.iter().map(|o| o.exit).collect();
    Ok(super::combine(&exits, common.any))
}

/// Checks one server: once, or polling until ready or the deadline.
async fn check(
    http: &HttpClient,
    target: &Target,
    candidates: &[Target],
    plan: &HealthPlan,
    out: &Output,
    spinner: Option<&Spinner>,
    multi: bool,
) -> Outcome {
    let with_jobs = !plan.expect_down;
    let Some(wait) = plan.wait else {
        let (status, results, jobs) = poll(http, target, &plan.checks, with_jobs).await;
        let exit = verdict(plan, &status, &results, &jobs, status.available);
        return Outcome {
            status,
            results,
            jobs,
            exit,
            waited: None,
        };
    };
    let started = Instant::now();
    // `--wait` is bounded in config.rs; saturate anyway rather than panic.
    let deadline = started
        .checked_add(wait)
        .unwrap_or_else(|| started + Duration::from_secs(365 * 24 * 3600));
    let prefix = if multi {
        format!("{target}: ")
    } else {
        String::new()
    };
    let mut ever_reachable = false;
    let mut last_reason: Option<String> = None;
    let mut last: Option<(Status, Vec<CheckResult>, JobsResult)> = None;
    let mut first = true;
    // No URL given and nothing answered at the start: keep looking on every
    // candidate until one answers like ComfyUI, then wait on that one.
    let mut target = target.clone();
    let mut candidates = candidates.to_vec();
    loop {
        let mut candidates_refused = true;
        if !candidates.is_empty() {
            let Ok(round) =
                tokio::time::timeout_at(deadline, manager::discover_round(http, &candidates)).await
            else {
                break;
            };
            match round {
                Ok(found) => {
                    out.note(&format!("found ComfyUI at {found} (no --url given)"));
                    target = found;
                    candidates.clear();
                }
                Err(refused) => candidates_refused = refused,
            }
        }
        // The deadline covers the whole command, polls included, except
        // that the first check always runs to completion (each request
        // bounded by --timeout): `--wait 1ms` on a healthy server is 0.
        let polled = if std::mem::take(&mut first) {
            Ok(poll(http, &target, &plan.checks, with_jobs).await)
        } else {
            tokio::time::timeout_at(deadline, poll(http, &target, &plan.checks, with_jobs)).await
        };
        let Ok((status, results, jobs)) = polled else {
            break;
        };
        ever_reachable |= status.available;
        // A refused connection costs the server nothing, so a closed port
        // is polled faster: the gate opens soon after the port does. A peer
        // that answers (even with a 502 or a 401) or stays silent is polled
        // at --interval: checks may fetch MiBs, and a proxy must not be
        // loaded for the whole wait.
        let refused = candidates_refused
            && status
                .error
                .as_ref()
                .is_some_and(|e| e.kind == ErrorKind::ConnectionRefused);
        let pause = if refused {
            plan.interval.min(UNREACHABLE_POLL)
        } else {
            plan.interval
        };
        let reason = missing(plan, &status, &results, &jobs);
        last = Some((status, results, jobs));
        let Some(reason) = reason else { break };
        if last_reason.as_deref() != Some(reason.as_str()) {
            if !out.live && !out.json {
                out.eprintln(&format!(
                    "comfyctl: not yet: {prefix}{}",
                    term_safe(&reason)
                ));
            }
            last_reason = Some(reason.clone());
        }
        if let Some(spinner) = spinner {
            spinner.set(format!(
                "waited {} of {} · {prefix}{}",
                short_duration(started.elapsed()),
                short_duration(wait),
                term_safe(&reason)
            ));
        }
        if refused && candidates.is_empty() {
            // Watch the port between polls: a refused connect is free, and
            // the gate opens soon after the port does.
            let left = deadline.saturating_duration_since(Instant::now());
            manager::port::wait_until_not_refused(&target, pause.min(left)).await;
            if Instant::now() >= deadline {
                break;
            }
            continue;
        }
        if Instant::now() + pause >= deadline {
            tokio::time::sleep_until(deadline).await;
            break;
        }
        tokio::time::sleep(pause).await;
    }
    let (status, results, jobs) = last.unwrap_or_else(|| {
        let error = crate::manager::http::timeout_error(&target, "the whole --wait", wait);
        (Status::failed(target.to_string(), error), Vec::new(), None)
    });
    let exit = verdict(plan, &status, &results, &jobs, ever_reachable);
    Outcome {
        status,
        results,
        jobs,
        exit,
        waited: Some(started.elapsed()),
    }
}

/// The exit code: 0 when what was waited for holds; otherwise 1 if the
/// server was never reachable, 3 if it was but is not ready (or, for
/// `--expect down`, is still there).
fn verdict(
    plan: &HealthPlan,
    status: &Status,
    results: &[CheckResult],
    jobs: &JobsResult,
    ever_reachable: bool,
) -> Exit {
    // With `--expect down`, what is missing is the server's absence: it is
    // still there.
    let ready = missing(plan, status, results, jobs).is_none();
    Exit::judge(plan.expect_down || ever_reachable, ready)
}
